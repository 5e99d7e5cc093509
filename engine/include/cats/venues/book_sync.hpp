// What the venues' book synchronisers share: their counters and the callbacks that connect them
// to the network side. Each venue's synchroniser (venues/<venue>/book_sync.hpp) keeps a local
// order book in step with the venue the way it documents it; it runs on the network thread and
// is pure logic (no I/O), so every path is unit-tested.
//
// Only verified updates are passed on. A desync is never silent: every gap, checksum failure,
// stale update and resync is counted and reported through the `on_problem` callback.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "cats/core/market_event.hpp"

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

}  // namespace cats
