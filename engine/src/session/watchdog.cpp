#include "cats/session/watchdog.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "cats/util/time.hpp"

namespace cats {

namespace {

std::string secs(int64_t ns) {
  return fmt::format("{:.1f} s", static_cast<double>(ns) / 1e9);
}

}  // namespace

watchdog::watchdog(callback_probe& probe, watchdog_options options)
    : probe_(probe), opt_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

watchdog::~watchdog() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void watchdog::run() {
  const auto period =
      std::chrono::nanoseconds(std::clamp<int64_t>(opt_.timeout_ns / 10, 5'000'000, 100'000'000));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!cv_.wait_for(lock, period, [this] { return quit_; })) look(steady_clock_ns());
}

void watchdog::look(int64_t now) {
  const uint64_t seq = probe_.seq.load(std::memory_order_acquire);
  if ((seq & 1) == 0) {  // no strategy code running
    watched_seq_ = 0;
    stop_seen_ = 0;
    return;
  }
  if (seq != watched_seq_) {  // a new callback since the last look
    watched_seq_ = seq;
    since_ = now;
    reported_at_ = 0;
    stop_seen_ = 0;
    return;
  }
  // Names read while the same callback still runs (re-checked): never another callback's.
  const std::string name = probe_.strategy.load(std::memory_order_relaxed);
  const char* where = probe_.where.load(std::memory_order_relaxed);
  if (probe_.seq.load(std::memory_order_acquire) != seq) return;
  const int64_t running = now - since_;
  if (reported_at_ == 0 && running >= opt_.timeout_ns) {
    reported_at_ = now;
    ++overruns_;
    if (opt_.disable_on_overrun) probe_.overran_seq.store(seq, std::memory_order_relaxed);
    spdlog::error(
        "watchdog: strategy '{}' has been running {} for {} (engine.callback_timeout {}){}", name,
        where, secs(running), secs(opt_.timeout_ns),
        opt_.disable_on_overrun
            ? "; the engine waits for it and disables the strategy once the callback returns"
            : "");
  } else if (reported_at_ != 0 && now - reported_at_ >= 10'000'000'000) {
    reported_at_ = now;
    spdlog::error("watchdog: strategy '{}' is still in {} after {}", name, where, secs(running));
  }
  if (reported_at_ == 0 || opt_.stop == nullptr || !opt_.stop->load()) return;
  if (stop_seen_ == 0) {
    stop_seen_ = now;
    spdlog::error("watchdog: stop requested while strategy '{}' is stuck in {}; waiting {} for it",
                  name, where, secs(opt_.stop_grace_ns));
    return;
  }
  if (now - stop_seen_ < opt_.stop_grace_ns) return;
  spdlog::critical(
      "watchdog: strategy '{}' has been stuck in {} for {} and cannot be stopped in-process; "
      "ending the process with exit code {} (no on_stop, no summary; recordings are closed)",
      name, where, secs(running), opt_.abandon_exit_code);
  if (opt_.on_abandon) {
    try {
      opt_.on_abandon();
    } catch (const std::exception& e) {
      spdlog::error("watchdog: {}", e.what());
    }
  }
  spdlog::default_logger()->flush();
  std::fflush(nullptr);
  ::_exit(opt_.abandon_exit_code);
}

}  // namespace cats
