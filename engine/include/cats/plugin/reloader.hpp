// Hot reload of strategies in live mode.
//
// A loader thread watches the plugin folder with inotify (through Asio). When a .so that running
// strategies were loaded from is complete (closed after writing, or renamed into place), it is
// copied to a private path (the dynamic loader caches by path), loaded, checked against the ABI,
// and a new instance is created with the strategy's parameters — all off the engine thread. The
// engine thread then swaps it in between two events: save_state of the old instance goes to
// load_state of the new one, the old instance is destroyed, and its library is unloaded back on
// the loader thread. Events arriving meanwhile wait in the feed queue: none is lost or delivered
// twice. A build that fails any check is refused with a log line and the old version keeps
// running. SIGHUP re-reads the config's strategy list (added, removed, changed) the same way.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cats/util/histogram.hpp"

namespace cats {

class engine;

struct reload_options {
  std::filesystem::path plugin_dir;
  std::filesystem::path config_file;   ///< re-read on SIGHUP
  std::vector<std::string> overrides;  ///< --set, applied again on SIGHUP
  bool keep_on_remove = false;         ///< a removed .so: keep running the loaded copy
  /// The [[strategy]] broker values a strategy added by SIGHUP may have in this run (those its
  /// brokers can honour; "" = the instruments' routes); others are refused.
  std::vector<std::string> strategy_brokers = {""};
  /// describe_routes() of the running config: a SIGHUP config whose routes differ is not applied.
  std::string routes;
};

struct reload_stats {
  uint64_t reloads = 0;  ///< versions swapped in
  uint64_t refused = 0;  ///< builds or states refused (the old version kept running)
  uint64_t removed = 0;  ///< strategies stopped because their .so was removed (or by SIGHUP)
  uint64_t added = 0;    ///< strategies added by SIGHUP
  latency_histogram swap_pause;    ///< engine thread busy with a swap, ns
  latency_histogram file_to_live;  ///< file complete -> new version handles its first event, ns
};

class plugin_reloader {
 public:
  /// `wake` wakes the engine thread (it calls apply_pending()).
  plugin_reloader(engine& eng, reload_options options, std::function<void()> wake);
  ~plugin_reloader();
  plugin_reloader(const plugin_reloader&) = delete;
  plugin_reloader& operator=(const plugin_reloader&) = delete;

  /// Engine thread, after the strategies were added: starts watching. Throws std::runtime_error
  /// when the folder cannot be watched.
  void start();
  void stop();

  /// Engine thread: true when swaps, removals or additions wait (one relaxed load).
  bool pending() const noexcept { return pending_.load(std::memory_order_acquire); }
  /// Engine thread, between events: applies everything that is ready.
  void apply_pending();
  /// Engine thread, after each delivered event: completes file-to-live measurements.
  void after_event(int64_t now_ns) {
    if (!measuring_.empty()) finish_measurements(now_ns);
  }
  /// Any thread: re-read the config's strategy list (SIGHUP).
  void request_config_reload();

  const reload_stats& stats() const noexcept { return stats_; }

 private:
  struct impl;
  struct measurement {
    uint32_t slot;
    uint64_t events_before;
    int64_t ready_ns;
  };
  void finish_measurements(int64_t now_ns);

  engine& engine_;
  std::unique_ptr<impl> impl_;
  std::atomic<bool> pending_{false};
  std::vector<measurement> measuring_;
  reload_stats stats_;
};

}  // namespace cats
