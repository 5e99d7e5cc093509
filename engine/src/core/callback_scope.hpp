// Marking calls into strategy code on the engine's probe (internal to core): inlined into every
// callback, so it costs a few stores and no call.
#pragma once

#include <atomic>

#include "cats/core/engine.hpp"

namespace cats {

// The probe of the engine whose strategy code this thread last ran. Constant-initialized and
// initial-exec: reading it from a signal handler never allocates, and no TLS wrapper runs.
[[gnu::tls_model("initial-exec")]] inline constinit thread_local callback_probe* current_probe =
    nullptr;

/// Marks a call into strategy code on a probe for as long as it lives: the engine's (engine
/// thread), or one of its own for a strategy created off that thread (hot reload). Callbacks never
/// nest on a thread (the engine does not re-enter strategy code), so on exit the thread's current
/// probe is simply cleared: it never points at a probe that is gone.
class callback_scope {
 public:
  callback_scope(callback_probe& p, const char* strategy, const char* where) noexcept
      : probe_(p), seq_(p.seq.load(std::memory_order_relaxed) + 1) {
    current_probe = &probe_;
    probe_.strategy.store(strategy, std::memory_order_relaxed);
    probe_.where.store(where, std::memory_order_relaxed);
    probe_.seq.store(seq_, std::memory_order_release);
  }
  callback_scope(engine& e, const strategy_slot& s, const char* where) noexcept
      : callback_scope(e.probe(), s.name.c_str(), where) {}
  ~callback_scope() {
    probe_.seq.store(seq_ + 1, std::memory_order_release);
    current_probe = nullptr;
  }
  callback_scope(const callback_scope&) = delete;
  callback_scope& operator=(const callback_scope&) = delete;
  /// The watchdog flagged this call as too long.
  bool overran() const noexcept {
    return probe_.overran_seq.load(std::memory_order_relaxed) == seq_;
  }

 private:
  callback_probe& probe_;
  uint64_t seq_;
};

}  // namespace cats
