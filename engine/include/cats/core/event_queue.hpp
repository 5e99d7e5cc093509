// The bounded queue between the network thread (one producer) and the engine thread (the
// consumer). Lock-free single-producer/single-consumer ring; the consumer spins briefly, then
// sleeps on a condition variable that the producer signals only when the consumer sleeps.
#pragma once

#include <cats/sdk.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cats/core/market_event.hpp"

namespace cats {

struct feed_item {
  enum class kind : uint8_t { none, trade, quote, bar, book };
  kind type = kind::none;
  uint32_t book_flags = 0;  ///< CATS_BOOK_FLAG_* for books
  union payload {
    cats_trade_event_t trade;
    cats_quote_event_t quote;
    cats_bar_event_t bar;
  } event{};
  std::unique_ptr<book_update> book;  ///< for kind::book
};

class feed_queue {
 public:
  /// `capacity` is rounded up to a power of two.
  explicit feed_queue(size_t capacity);

  /// Producer side. False when full (the item is left untouched).
  bool try_push(feed_item& item);
  /// Consumer side. False when empty.
  bool try_pop(feed_item& out);
  /// Consumer side: returns when an item may be available, after `max_wait`, or after wake().
  /// Spins for up to `spin` first (cheap wake-ups at high rates), then sleeps.
  void wait(std::chrono::nanoseconds max_wait,
            std::chrono::nanoseconds spin = std::chrono::microseconds(30));
  /// Wakes a waiting consumer (e.g. to stop).
  void wake();

  size_t size() const noexcept {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }
  size_t capacity() const noexcept { return slots_.size(); }

 private:
  bool empty() const noexcept {
    return head_.load(std::memory_order_relaxed) == tail_.load(std::memory_order_acquire);
  }
  void notify_if_sleeping();

  std::vector<feed_item> slots_;
  size_t mask_;
  alignas(64) std::atomic<size_t> head_{0};  // next to pop (consumer)
  alignas(64) std::atomic<size_t> tail_{0};  // next to push (producer)
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> woken_{false};  // wake() was called: the next wait() returns at once
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace cats
