// Runs one backtest: replay -> simulated exchange -> engine -> strategies, with metrics and
// reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/params.hpp"
#include "cats/plugin/loader.hpp"
#include "cats/replay/replay.hpp"
#include "cats/report/report.hpp"

namespace cats {

struct prepared_strategy {
  std::string name;
  std::shared_ptr<plugin_library> library;
  param_set params;
};

/// A plugin that cannot be loaded (missing entry, refused ABI, not a shared object).
struct plugin_load_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The config's enabled strategies with their plugins loaded (private copies, for hot reload:
/// `private_copies`) and their parameters checked. Throws config_error for a plugin that is not
/// found or a bad parameter, plugin_load_error for one that cannot be loaded.
std::vector<prepared_strategy> prepare_strategies(const run_config& cfg,
                                                  bool private_copies = false);

struct backtest_outcome {
  int exit_code = 0;  ///< 0 ok, 1 run failure (bad data, strategy refused or failed), 2 config
  std::string error;  ///< set when the run could not complete
  backtest_report report;
  double seconds = 0;  ///< wall time of the replay loop
};

/// An equity curve kept to at most about `max_points` points (every stride-th sample; the stride
/// doubles when the curve fills up; the first and the last sample always stay): a sweep's
/// walk-forward folds draw it.
struct equity_curve {
  size_t max_points = 240;
  std::vector<std::pair<int64_t, int64_t>> points;  ///< (time, equity)

  void add(int64_t ts, int64_t equity) {
    last_ = {ts, equity};
    if (seen_++ % stride_ != 0) return;
    points.push_back(last_);
    if (points.size() < 2 * max_points) return;
    for (size_t i = 1; i < points.size() / 2; ++i) points[i] = points[2 * i];
    points.resize(points.size() / 2);
    stride_ *= 2;
  }
  /// Adds the last sample if the stride skipped it.
  void finish() {
    if (seen_ != 0 && (points.empty() || points.back() != last_)) points.push_back(last_);
  }

 private:
  uint64_t seen_ = 0, stride_ = 1;
  std::pair<int64_t, int64_t> last_{};
};

/// A lockstep batch (a sweep): one cursor read once, each event offered to every run in turn.
struct lockstep_source {
  event_cursor* cursor = nullptr;
  instrument_registry* instruments = nullptr;  ///< filled by the cursor as instruments appear
  std::vector<feed_info> feeds;
};

struct run_options {
  /// Decoded market data shared by several runs (a sweep); null = stream the config's files.
  std::shared_ptr<const market_data> shared;
  /// Set: the run reads no data itself; backtest_run::offer hands it the batch's events.
  const lockstep_source* lockstep = nullptr;
  /// Draw a progress bar on stderr (only when it is a terminal).
  bool progress = false;
  /// Set from another thread (a signal) to stop the replay early; the run then reports
  /// exit_code 130 and error "interrupted".
  const std::atomic<bool>* stop = nullptr;
  /// Receives the run's equity curve (its first sample is the start); null = none.
  equity_curve* curve = nullptr;
};

/// One backtest, step by step: set up (the strategies started at the first event), then either
/// replay() through its own cursor or offer() run by run (a sweep's lockstep batch), then
/// finish() for the outcome. `config` and `options` (and what options point to) must outlive it.
class backtest_run {
 public:
  backtest_run(const run_config& config, std::vector<prepared_strategy> strategies,
               const std::optional<std::filesystem::path>& out_dir, const run_options& options);
  ~backtest_run();
  backtest_run(const backtest_run&) = delete;
  backtest_run& operator=(const backtest_run&) = delete;

  /// False when it could not be set up (finish() says why) or failed while running.
  bool ready() const noexcept;
  /// Events [first, first + count) of the batch's cursor, consecutive in memory, the first
  /// `uniform` of them session::uniform_bars(); false once the run's window has ended.
  bool offer(const market_event* first, size_t count, size_t uniform);
  /// Every event of the run's own cursor.
  void replay();
  /// The run's events have ended (its window, or the batch's cursor): the cursor's error and
  /// counts as they are now are the run's. finish() calls it when nobody did.
  void end_input();
  /// The outcome; `interrupted`: the batch was stopped (exit code 130).
  backtest_outcome finish(bool interrupted);

 private:
  void report(backtest_report& rep);
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Runs the backtest described by `config` with already loaded strategies. Writes summary.json,
/// fills.csv, trades.csv and equity.csv into `out_dir` when given.
backtest_outcome run_backtest(const run_config& config, std::vector<prepared_strategy> strategies,
                              const std::optional<std::filesystem::path>& out_dir,
                              const run_options& options = {});

}  // namespace cats
