// cats backtest: replay historical data through strategy plugins and report metrics.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>

#include "cats/util/logging.hpp"
#include "cli.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

int backtest_command(const std::vector<std::string>& args) {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string out_dir;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("config,c", po::value(&config_file)->required(),
                                                 "TOML config file (see config/backtest.toml)")(
      "set", po::value(&overrides)->composing(),
      "override a config key with a TOML value, e.g. --set backtest.fee_bps=10, "
      "--set 'data.files=[\"a.csv\"]', --set strategy.sma.fast=20 (repeatable)")(
      "out,o", po::value(&out_dir),
      "write summary.json, fills.csv, trades.csv, orders.csv, equity.csv here")(
      "json", "print the summary as one JSON object on stdout instead of the table");
  po::variables_map vm;
  if (auto rc =
          parse(args, desc, nullptr, vm,
                "usage: cats backtest --config FILE [--set key=value]... [--out DIR] [--json]"))
    return *rc;
  const bool json = vm.count("json") != 0;

  cats::run_config cfg;
  try {
    cfg = cats::load_config(config_file, overrides);
  } catch (const cats::config_error& e) {
    return usage_error(e.what());
  }
  std::string err;
  if (!cats::setup_logging(cfg.engine.log_level, cfg.engine.log_file, err)) return usage_error(err);
  warn_missing_rules(cfg);

  std::vector<cats::prepared_strategy> strategies;
  if (auto rc = load_strategies(cfg, strategies)) return *rc;
  if (strategies.empty()) return usage_error(config_file + ": every strategy is disabled");

  std::optional<fs::path> out;
  if (!out_dir.empty()) out = fs::path(out_dir);
  cats::run_options options;
  options.progress = !json;
  options.stop = &stop_requested;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const cats::backtest_outcome result =
      cats::run_backtest(cfg, std::move(strategies), out, options);
  // An interrupted run still reports what it replayed.
  const bool completed =
      result.report.bars > 0 &&
      (result.error.empty() || result.exit_code == 130 || result.report.any_strategy_failed());
  if (!result.error.empty()) spdlog::error("{}", result.error);
  if (result.exit_code == exit_usage) return usage_error(result.error);
  if (completed) {
    const double rate =
        result.seconds > 0 ? static_cast<double>(result.report.events) / result.seconds : 0;
    spdlog::info("replayed {} events in {:.3f} s ({:.2f} M events/s)", result.report.events,
                 result.seconds, rate / 1e6);
    const std::string text =
        json ? cats::summary_json(result.report) : cats::summary_table(result.report);
    std::fwrite(text.data(), 1, text.size(), cats::results_stream());
    std::fflush(cats::results_stream());
    if (out)
      spdlog::info(
          "wrote summary.json, fills.csv, trades.csv, orders.csv, equity.csv, plots.csv and "
          "report.html to {}",
          out->string());
  }
  return result.exit_code;
}

}  // namespace cats::cli
