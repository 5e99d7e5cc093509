// Keeping a local order book in step with a venue, the way each venue documents it. Runs on the
// network thread; pure logic (no I/O), so every path is unit-tested.
//
// Binance (diff depth stream + REST snapshot): buffer the stream, fetch a snapshot, drop
// updates with u <= lastUpdateId, require the first applied update to straddle lastUpdateId + 1,
// then U == previous u + 1 for each update. A gap, or a snapshot older than the buffered stream,
// triggers a new snapshot.
//
// OKX (books channel): a snapshot, then updates whose prevSeqId equals the previous seqId (when
// the venue sends sequence numbers), each followed by a CRC32 check of the top 25 levels. A gap
// or a checksum mismatch triggers a resubscription, which brings a fresh snapshot.
//
// Only verified updates are passed on. A desync is never silent: every gap, checksum failure,
// stale update and resync is counted and reported through the `on_problem` callback.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "cats/book/order_book.hpp"
#include "cats/venues/feed.hpp"

namespace cats {

struct book_sync_stats {
  std::atomic<uint64_t> updates{0};    ///< verified updates passed on
  std::atomic<uint64_t> snapshots{0};  ///< snapshots applied
  std::atomic<uint64_t> gaps{0};       ///< sequence breaks
  std::atomic<uint64_t> checksum_failures{0};
  std::atomic<uint64_t> stale_dropped{0};     ///< updates older than the book
  std::atomic<uint64_t> stale_snapshots{0};   ///< snapshots older than the buffered stream
  std::atomic<uint64_t> resyncs{0};           ///< snapshot requests after the first
  std::atomic<uint64_t> buffer_overflows{0};  ///< buffered updates dropped while waiting
};

/// What a synchroniser hands on: a verified update, with CATS_BOOK_FLAG_* bits.
using book_emit_fn = std::function<void(book_update&&, uint32_t book_flags)>;
/// Asks the network side for a new snapshot (Binance: REST; OKX: resubscribe).
using book_request_fn = std::function<void()>;
/// A desync, in words, for the log.
using book_problem_fn = std::function<void(const std::string&)>;

class binance_book_sync {
 public:
  binance_book_sync(book_emit_fn emit, book_request_fn request, book_problem_fn problem,
                    book_sync_stats& stats, size_t max_buffer = 20000);

  /// A depthUpdate from the stream.
  void on_update(book_update&& u);
  /// A REST snapshot (snapshot = true, last_seq = lastUpdateId).
  void on_snapshot(book_update&& s);
  /// The connection was lost: the stream will have a gap; start over.
  void reset();

  bool synced() const noexcept { return synced_; }
  bool waiting_for_snapshot() const noexcept { return requested_; }
  uint64_t last_update_id() const noexcept { return last_; }

 private:
  void request();
  void resync(const std::string& why);
  bool apply_buffered();

  book_emit_fn emit_;
  book_request_fn request_fn_;
  book_problem_fn problem_;
  book_sync_stats& stats_;
  size_t max_buffer_;
  std::deque<book_update> buffer_;
  bool synced_ = false;
  bool requested_ = false;
  bool first_after_snapshot_ = false;
  bool ever_synced_ = false;
  uint64_t last_ = 0;
};

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

}  // namespace cats
