#include "cats/venues/okx/book_sync.hpp"

#include <zlib.h>

#include <utility>

#include "cats/core/fixed.hpp"

namespace cats {

okx_book_sync::okx_book_sync(book_emit_fn emit, book_request_fn request, book_problem_fn problem,
                             book_sync_stats& stats)
    : emit_(std::move(emit)),
      request_fn_(std::move(request)),
      problem_(std::move(problem)),
      stats_(stats) {}

void okx_book_sync::reset() {
  synced_ = false;
  requested_ = false;
  last_seq_ = -1;
  book_.clear();
}

void okx_book_sync::resync(const std::string& why) {
  synced_ = false;
  problem_(why);
  if (requested_) return;
  requested_ = true;
  stats_.resyncs.fetch_add(1, std::memory_order_relaxed);
  request_fn_();
}

void okx_book_sync::on_message(book_update&& u) {
  if (u.snapshot) {
    requested_ = false;  // answered: a snapshot that fails its checksum asks again
    book_.assign(u.bids, u.asks);
    if (u.has_checksum && okx_checksum(book_) != u.checksum) {
      stats_.checksum_failures.fetch_add(1, std::memory_order_relaxed);
      resync("checksum mismatch on snapshot (venue " + std::to_string(u.checksum) + ", local " +
             std::to_string(okx_checksum(book_)) + "); resubscribing");
      return;
    }
    synced_ = true;
    last_seq_ = u.last_seq != 0 ? static_cast<int64_t>(u.last_seq) : -1;
    stats_.snapshots.fetch_add(1, std::memory_order_relaxed);
    const uint32_t flags = CATS_BOOK_FLAG_SNAPSHOT | (ever_synced_ ? CATS_BOOK_FLAG_RESYNC : 0u);
    ever_synced_ = true;
    emit_(std::move(u), flags);
    return;
  }
  if (!synced_) {
    stats_.stale_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (u.prev_seq >= 0 && last_seq_ >= 0 && u.prev_seq != last_seq_) {
    stats_.gaps.fetch_add(1, std::memory_order_relaxed);
    resync("books sequence gap: prevSeqId " + std::to_string(u.prev_seq) +
           " but the last seqId was " + std::to_string(last_seq_) + "; resubscribing");
    return;
  }
  book_.apply(u.bids, u.asks);
  if (u.has_checksum) {
    const int32_t local = okx_checksum(book_);
    if (local != u.checksum) {
      stats_.checksum_failures.fetch_add(1, std::memory_order_relaxed);
      resync("checksum mismatch after seqId " + std::to_string(u.last_seq) + " (venue " +
             std::to_string(u.checksum) + ", local " + std::to_string(local) + "); resubscribing");
      return;
    }
  }
  if (u.prev_seq >= 0) last_seq_ = static_cast<int64_t>(u.last_seq);
  stats_.updates.fetch_add(1, std::memory_order_relaxed);
  emit_(std::move(u), 0);
}

int32_t okx_checksum(const order_book& book) {
  std::string text;
  text.reserve(25 * 4 * 20);
  char buf[32];
  auto add = [&](const book_level& l) {
    if (!text.empty()) text.push_back(':');
    text.append(buf, static_cast<size_t>(format_fixed(l.price, buf)));
    text.push_back(':');
    text.append(buf, static_cast<size_t>(format_fixed(l.quantity, buf)));
  };
  const auto& b = book.bids();
  const auto& a = book.asks();
  for (size_t i = 0; i < 25; ++i) {
    if (i < b.size()) add(b[i]);
    if (i < a.size()) add(a[i]);
  }
  const uLong crc =
      crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()));
  return static_cast<int32_t>(static_cast<uint32_t>(crc));
}

}  // namespace cats
