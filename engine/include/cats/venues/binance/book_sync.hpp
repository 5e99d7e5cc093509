// Binance (diff depth stream + REST snapshot): buffer the stream, fetch a snapshot, drop
// updates with u <= lastUpdateId, require the first applied update to straddle lastUpdateId + 1,
// then U == previous u + 1 for each update. A gap, or a snapshot older than the buffered stream,
// triggers a new snapshot.
//
// Only verified updates are passed on; every gap, checksum failure, stale update and resync is
// counted and reported through the `on_problem` callback.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "cats/venues/book_sync.hpp"

namespace cats {

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

}  // namespace cats
