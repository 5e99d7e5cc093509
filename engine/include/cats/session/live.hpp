// `cats live` (paper trading) and `cats record`: live market data from the venues, through the
// feed queue, into the engine thread's strategies and/or the recorder.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/session/backtest.hpp"
#include "cats/venues/venue_feed.hpp"

namespace cats {

struct live_options {
  bool record_only = false;  ///< `cats record`: no strategies, everything to the recorder
  bool json = false;         ///< print the summary as JSON on stdout
  std::optional<std::filesystem::path> out_dir;  ///< summary.json (with the final books)
  const std::atomic<bool>* stop = nullptr;       ///< set by the signal handler
  std::atomic<bool>* reload = nullptr;           ///< set on SIGHUP; the runner clears it
  std::vector<std::string> overrides;            ///< --set, for re-reading the config on SIGHUP
  std::atomic<bool>* kill = nullptr;             ///< set on SIGUSR1: the kill switch
  /// The run's folder (--out, else the current one): `cats.pid` is written there, and a file
  /// named KILL appearing there triggers the kill switch (`cats ctl kill` does both).
  std::filesystem::path run_dir = ".";
  /// The process exit code when a strategy callback is stuck at shutdown (the watchdog).
  int stuck_exit_code = 3;
  /// live.source = "nats": makes the market data source (the bus area builds it; it lives above
  /// this one). Called once, before the run starts; throws what stops the run.
  std::function<std::unique_ptr<venue_feed>(const instrument_registry&, event_queue&,
                                            feed_counters&, const std::atomic<bool>& stopping)>
      make_source;
  /// More stages that watch the stream on the engine thread (the collector's publisher). Called
  /// once the instruments are known, before the first event; the taps live until the run ends.
  std::function<std::vector<std::unique_ptr<market_tap>>(const instrument_registry&)> make_taps;
};

/// The kill file and the pid file of a run folder.
std::filesystem::path kill_file(const std::filesystem::path& run_dir);
std::filesystem::path pid_file(const std::filesystem::path& run_dir);
/// The pid in the run folder's pid file if it names a running `cats` process, else 0 (no file, or
/// a stale one whose pid is gone or reused).
int running_pid(const std::filesystem::path& run_dir);

/// Runs until `stop` is set, or [live] duration has passed. Returns the process exit code:
/// 0 clean, 1 a strategy failed or the recorder could not write, 2 configuration errors.
int run_live(const run_config& config, std::vector<prepared_strategy> strategies,
             const live_options& options);

}  // namespace cats
