// OKX (books channel): a snapshot, then updates whose prevSeqId equals the previous seqId (when
// the venue sends sequence numbers), each followed by a CRC32 check of the top 25 levels. A gap
// or a checksum mismatch triggers a resubscription, which brings a fresh snapshot.
//
// Only verified updates are passed on; every gap, checksum failure, stale update and resync is
// counted and reported through the `on_problem` callback.
#pragma once

#include <cstdint>
#include <string>

#include "cats/book/order_book.hpp"
#include "cats/venues/book_sync.hpp"

namespace cats {

class okx_book_sync {
 public:
  okx_book_sync(book_emit_fn emit, book_request_fn request, book_problem_fn problem,
                book_sync_stats& stats);

  /// A books message (snapshot or update).
  void on_message(book_update&& u);
  /// The connection was lost; the next snapshot rebuilds the book.
  void reset();

  bool synced() const noexcept { return synced_; }
  const order_book& book() const noexcept { return book_; }

 private:
  void resync(const std::string& why);

  book_emit_fn emit_;
  book_request_fn request_fn_;
  book_problem_fn problem_;
  book_sync_stats& stats_;
  order_book book_;
  bool synced_ = false;
  bool ever_synced_ = false;
  bool requested_ = false;
  int64_t last_seq_ = -1;
};

/// OKX's book checksum: CRC32 (signed) of "bid1px:bid1sz:ask1px:ask1sz:..." over the top 25
/// levels of each side, interleaved, with the numbers written as the venue writes them (shortest
/// decimal, no trailing zeros).
int32_t okx_checksum(const order_book& book);

}  // namespace cats
