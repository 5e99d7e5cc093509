// The bounded queue between the network thread (one producer) and the engine thread (the
// consumer). Lock-free single-producer/single-consumer ring of market events; the consumer spins
// briefly, then sleeps on a condition variable that the producer signals only when the consumer
// sleeps.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "cats/core/market_event.hpp"

namespace cats {

class event_queue {
 public:
  /// `capacity` is rounded up to a power of two.
  explicit event_queue(size_t capacity);

  /// Producer side. False when full (the item is left untouched).
  bool try_push(owned_event& item);
  /// Consumer side. False when empty. `out.event.book` points into `out.book` (null if none).
  bool try_pop(owned_event& out);
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

  std::vector<owned_event> slots_;
  size_t mask_;
  alignas(64) std::atomic<size_t> head_{0};  // next to pop (consumer)
  alignas(64) std::atomic<size_t> tail_{0};  // next to push (producer)
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> woken_{false};  // wake() was called: the next wait() returns at once
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace cats
