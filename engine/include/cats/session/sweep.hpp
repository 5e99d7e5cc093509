// Parameter sweeps: one backtest per combination of parameter values, run in parallel on a
// decoded copy of the market data that all runs share read-only, ranked by a metric, with an
// optional walk-forward (in-sample / out-of-sample) evaluation.
//
// Every run is exactly the backtest `cats backtest --config FILE --set key=value ...` would do for
// its combination: the combination is applied as --set overrides to the same config.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/report/metrics.hpp"

namespace cats {

/// One swept key and its values, as TOML literals ("10", "0.5", "true", "\"x\"").
struct sweep_param {
  std::string key;  ///< a --set key: "strategy.sma.fast", "backtest.fee_bps"
  std::vector<std::string> values;
};

/// Parses "strategy.fast=5:50:5" (from:to:step, inclusive), "key=1,2,5" (a list) or "key=7".
/// "strategy.<param>" names the config's only strategy (with several, write
/// strategy.<name>.<param>). Throws config_error.
sweep_param parse_sweep_param(const std::string& spec, const run_config& base);

/// The metrics a sweep can rank by; higher is better except for max_drawdown.
const std::vector<std::string>& sweep_metrics();
/// The value of a named metric (NaN when undefined or unknown).
double metric_value(const backtest_metrics& m, const std::string& name);
bool metric_lower_is_better(const std::string& name);

/// What another machine reports of one run (a distributed sweep, `cats sweep --workers`).
struct remote_outcome {
  backtest_metrics metrics;
  int64_t fees = 0;
  bool ok = false;
  std::string error;
  double seconds = 0;
};

/// One run for another machine: its index in sweep_result::runs and its values, one per param.
struct remote_job {
  size_t run = 0;
  std::vector<std::string> values;
};

/// Runs `jobs` elsewhere and calls `done` (on the calling thread) once per finished run; returns
/// when all are done or the sweep's stop flag is set. Throws std::runtime_error when it cannot.
using remote_runner =
    std::function<void(const std::vector<remote_job>& jobs,
                       const std::function<void(size_t run, remote_outcome&& outcome)>& done)>;

struct sweep_options {
  std::filesystem::path config;
  std::vector<std::string> overrides;  ///< --set, applied to every run
  std::vector<sweep_param> params;
  unsigned jobs = 0;               ///< 0 = usable_cores(): affinity and cgroup CPU quota
  std::optional<uint64_t> sample;  ///< run a random sample of this many combinations
  uint64_t seed = 1;
  std::string metric = "sharpe";
  /// Walk-forward: with oos_fraction > 0 and folds == 0, one split (in-sample = the first
  /// 1 - oos_fraction of the time range). With folds = K > 0, anchored walk-forward: the range is
  /// cut into K + 1 equal parts; fold k trains on parts 0..k-1 and tests on part k.
  double oos_fraction = 0;
  unsigned folds = 0;
  std::optional<std::filesystem::path> out_dir;
  bool progress = false;
  const std::atomic<bool>* stop = nullptr;
  /// Each run streams the data from its files instead of sharing a copy: memory stays constant
  /// however long the data. Chosen by itself for block stores, and for other files whose copy
  /// would take more than max_copy_bytes; `--stream` asks for it whatever the data.
  bool stream = false;
  uint64_t max_copy_bytes = 0;  ///< 0: a quarter of usable_memory()
  /// The copy the runs share holds decoded events (144 bytes each) instead of an in-memory block
  /// store (store_copy: 44 bytes a bar in runs); `--copy events`. Built bars always take events.
  bool decoded_copy = false;
  /// Runs on other machines (the bus's work queue) instead of local threads; no walk-forward.
  remote_runner remote;
  /// A worker's own folders: data files are looked up by name in data_dir, plugins in plugin_dir
  /// (instead of where the coordinator's config says).
  std::optional<std::filesystem::path> data_dir, plugin_dir;
};

struct sweep_run {
  std::vector<std::string> values;  ///< one per sweep_options::params
  std::vector<std::string> overrides;
  backtest_metrics metrics;  ///< the whole range, or the (first fold's) in-sample part
  int64_t fees_paid = 0;
  bool done = false, failed = false;
  std::string error;
  double seconds = 0;  ///< its lockstep batch's wall time divided by the batch's runs
};

struct sweep_fold {
  int64_t is_start = 0, is_end = 0, oos_start = 0, oos_end = 0;
  size_t best = 0;  ///< index into sweep_result::runs of the in-sample winner
  std::vector<backtest_metrics> is_metrics;  ///< per run, on this fold's in-sample range
  std::vector<uint8_t> is_ok;                ///< per run: its in-sample run succeeded
  backtest_metrics oos;                      ///< the winner on the out-of-sample range
  bool oos_done = false;
  /// The winner's equity on the in-sample range (run again to draw it) and out of sample.
  std::vector<std::pair<int64_t, int64_t>> is_curve, oos_curve;
};

struct sweep_result {
  std::vector<sweep_param> params;
  std::vector<sweep_run> runs;    ///< in combination order
  std::vector<size_t> ranking;    ///< indices of finished runs, best first
  std::vector<sweep_fold> folds;  ///< walk-forward only
  std::string metric;
  uint64_t combinations = 0;  ///< in the whole grid
  bool interrupted = false;
  double decode_seconds = 0, run_seconds = 0;
  size_t data_events = 0;
  size_t data_bytes = 0;    ///< what the shared copy holds (0 when streamed)
  bool streamed = false;    ///< runs streamed the data from the store (no copy)
  bool store_copy = false;  ///< the copy is an in-memory block store (else decoded events)
  unsigned jobs = 1;
  std::string command;  ///< how to rerun the best combination alone; empty if none succeeded
  /// Walk-forward: out-of-sample runs of a fold's winner that failed, and the first one's reason.
  size_t failed_out_of_sample = 0;
  std::string out_of_sample_error;
  /// Failed runs rank last: the first one tells.
  bool any_succeeded() const { return !ranking.empty() && !runs[ranking.front()].failed; }
  /// Finished runs that failed (a strategy error, a refused parameter value …).
  size_t failed_runs() const {
    size_t n = 0;
    for (size_t i : ranking) n += runs[i].failed ? 1 : 0;
    return n;
  }
};

/// Runs the sweep. Throws config_error on bad options or config, std::runtime_error on bad data.
/// With out_dir, writes runs.csv as runs finish (so an interrupted sweep keeps them), then
/// results.csv and results.json (ranked), best.txt and report.html (ranking and heat map).
sweep_result run_sweep(const sweep_options& options);

/// The ranked results as a table for the terminal (top `rows`), and as JSON.
std::string sweep_table(const sweep_result& r, size_t rows = 10);
std::string sweep_json(const sweep_result& r);

}  // namespace cats
