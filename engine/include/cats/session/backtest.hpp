// Runs one backtest: replay -> simulated exchange -> engine -> strategies, with metrics and
// reports.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
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

struct run_options {
  /// Decoded market data shared by several runs (a sweep); null = stream the config's files.
  std::shared_ptr<const market_data> shared;
  /// Draw a progress bar on stderr (only when it is a terminal).
  bool progress = false;
  /// Set from another thread (a signal) to stop the replay early; the run then reports
  /// exit_code 130 and error "interrupted".
  const std::atomic<bool>* stop = nullptr;
};

/// Runs the backtest described by `config` with already loaded strategies. Writes summary.json,
/// fills.csv, trades.csv and equity.csv into `out_dir` when given.
backtest_outcome run_backtest(const run_config& config, std::vector<prepared_strategy> strategies,
                              const std::optional<std::filesystem::path>& out_dir,
                              const run_options& options = {});

}  // namespace cats
