// The watchdog: a thread that watches an engine's callback probe (core/engine.hpp) and reports a
// strategy callback that runs longer than engine.callback_timeout, naming the strategy and the
// callback. It reads the probe every timeout/10 (at least every 100 ms): the engine thread pays a
// few plain stores per callback and never reads a clock for it.
//
// A callback that overran is flagged; when it returns, the engine disables that strategy (its
// orders cancelled, no more events) and the others go on (live mode). A callback that never
// returns cannot be stopped in-process: the engine thread is inside the strategy's code. Then,
// when SIGINT/SIGTERM asks to stop, the watchdog waits `stop_grace_ns`, runs `on_abandon` (the
// recorder closes its files), logs what happened and ends the process with `abandon_exit_code`.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "cats/core/engine.hpp"

namespace cats {

struct watchdog_options {
  int64_t timeout_ns = 1'000'000'000;
  /// Flag the callback so that the engine disables its strategy when it returns.
  bool disable_on_overrun = true;
  /// SIGINT/SIGTERM: set when the run should stop (null: the watchdog never ends the process).
  const std::atomic<bool>* stop = nullptr;
  int64_t stop_grace_ns = 2'000'000'000;
  /// Runs on the watchdog thread before the process ends with a callback stuck.
  std::function<void()> on_abandon;
  int abandon_exit_code = 3;
};

class watchdog {
 public:
  watchdog(callback_probe& probe, watchdog_options options);
  ~watchdog();
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

  /// Callbacks reported as too long so far.
  uint64_t overruns() const noexcept { return overruns_.load(); }

 private:
  void run();
  /// One look at the probe at steady-clock time `now`.
  void look(int64_t now);

  callback_probe& probe_;
  watchdog_options opt_;
  std::atomic<uint64_t> overruns_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool quit_ = false;
  // Watchdog thread only.
  uint64_t watched_seq_ = 0;
  int64_t since_ = 0, reported_at_ = 0, stop_seen_ = 0;
  std::thread thread_;
};

}  // namespace cats
