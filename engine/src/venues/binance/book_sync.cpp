#include "cats/venues/binance/book_sync.hpp"

#include <utility>

namespace cats {

binance_book_sync::binance_book_sync(book_emit_fn emit, book_request_fn request,
                                     book_problem_fn problem, book_sync_stats& stats,
                                     size_t max_buffer)
    : emit_(std::move(emit)),
      request_fn_(std::move(request)),
      problem_(std::move(problem)),
      stats_(stats),
      max_buffer_(max_buffer) {}

void binance_book_sync::request() {
  if (requested_) return;
  requested_ = true;
  if (ever_synced_) stats_.resyncs.fetch_add(1, std::memory_order_relaxed);
  request_fn_();
}

void binance_book_sync::resync(const std::string& why) {
  synced_ = false;
  problem_(why);
  request();
}

void binance_book_sync::reset() {
  synced_ = false;
  buffer_.clear();
  requested_ = false;
}

void binance_book_sync::on_update(book_update&& u) {
  if (!synced_) {
    if (buffer_.size() >= max_buffer_) {
      buffer_.pop_front();
      stats_.buffer_overflows.fetch_add(1, std::memory_order_relaxed);
    }
    buffer_.push_back(std::move(u));
    request();
    return;
  }
  if (u.last_seq <= last_) {
    stats_.stale_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool continuous =
      first_after_snapshot_ ? u.first_seq <= last_ + 1 : u.first_seq == last_ + 1;
  if (!continuous) {
    stats_.gaps.fetch_add(1, std::memory_order_relaxed);
    const std::string why = "depth gap: expected update " + std::to_string(last_ + 1) + ", got " +
                            std::to_string(u.first_seq) + ".." + std::to_string(u.last_seq) +
                            "; fetching a new snapshot";
    buffer_.clear();
    buffer_.push_back(std::move(u));
    resync(why);
    return;
  }
  last_ = u.last_seq;
  first_after_snapshot_ = false;
  stats_.updates.fetch_add(1, std::memory_order_relaxed);
  emit_(std::move(u), 0);
}

void binance_book_sync::on_snapshot(book_update&& s) {
  if (!requested_) {
    // Nobody waits for it any more (a reset came in between): a late answer is not applied.
    stats_.stale_snapshots.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  requested_ = false;
  while (!buffer_.empty() && buffer_.front().last_seq <= s.last_seq) {
    buffer_.pop_front();
    stats_.stale_dropped.fetch_add(1, std::memory_order_relaxed);
  }
  if (!buffer_.empty() && buffer_.front().first_seq > s.last_seq + 1) {
    // The stream has moved past the snapshot: updates between them are missing.
    stats_.stale_snapshots.fetch_add(1, std::memory_order_relaxed);
    synced_ = false;
    problem_("stale snapshot: lastUpdateId " + std::to_string(s.last_seq) +
             " but the buffered stream starts at " + std::to_string(buffer_.front().first_seq) +
             "; fetching another");
    request();
    return;
  }
  last_ = s.last_seq;
  synced_ = true;
  first_after_snapshot_ = true;
  stats_.snapshots.fetch_add(1, std::memory_order_relaxed);
  const uint32_t flags = CATS_BOOK_FLAG_SNAPSHOT | (ever_synced_ ? CATS_BOOK_FLAG_RESYNC : 0u);
  ever_synced_ = true;
  s.snapshot = true;
  emit_(std::move(s), flags);
  std::deque<book_update> pending;
  pending.swap(buffer_);
  for (auto& u : pending) on_update(std::move(u));
}

}  // namespace cats
