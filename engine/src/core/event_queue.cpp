#include "cats/core/event_queue.hpp"

#include <algorithm>
#include <bit>

namespace cats {
namespace {
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

event_queue::event_queue(size_t capacity)
    : slots_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity)), mask_(slots_.size() - 1) {}

bool event_queue::try_push(owned_event& item) {
  const size_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - head_.load(std::memory_order_acquire) >= slots_.size()) return false;
  owned_event& slot = slots_[tail & mask_];
  slot.event = item.event;
  slot.book = std::move(item.book);
  slot.sequence = item.sequence;
  tail_.store(tail + 1, std::memory_order_release);
  notify_if_sleeping();
  return true;
}

void event_queue::notify_if_sleeping() {
  // Pairs with the fence in wait(): either the consumer sees the new tail, or we see it asleep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(mutex_);
    cv_.notify_one();
  }
}

bool event_queue::try_pop(owned_event& out) {
  const size_t head = head_.load(std::memory_order_relaxed);
  if (head == tail_.load(std::memory_order_acquire)) return false;
  owned_event& slot = slots_[head & mask_];
  out.event = slot.event;
  out.book = std::move(slot.book);
  out.event.book = out.book.get();
  out.sequence = slot.sequence;
  head_.store(head + 1, std::memory_order_release);
  return true;
}

void event_queue::wait(std::chrono::nanoseconds max_wait, std::chrono::nanoseconds spin) {
  // Spin a little first: at high message rates the next item is microseconds away, and waking a
  // sleeping thread costs tens of microseconds.
  const auto spin_until = std::chrono::steady_clock::now() + std::min(max_wait, spin);
  while (std::chrono::steady_clock::now() < spin_until) {
    if (!empty()) return;
    for (int i = 0; i < 64; ++i) cpu_relax();
  }
  std::unique_lock lock(mutex_);
  sleeping_.store(true, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (empty() && !woken_.load(std::memory_order_relaxed))
    cv_.wait_for(lock, max_wait,
                 [this] { return !empty() || woken_.load(std::memory_order_relaxed); });
  woken_.store(false, std::memory_order_relaxed);
  sleeping_.store(false, std::memory_order_relaxed);
}

void event_queue::wake() {
  std::lock_guard lock(mutex_);
  woken_.store(true, std::memory_order_relaxed);
  cv_.notify_one();
}

}  // namespace cats
