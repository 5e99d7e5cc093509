// cats sweep: a backtest for every combination of parameter values, in parallel.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <optional>

#include "cats/bus/bus.hpp"
#include "cats/session/sweep.hpp"
#include "cats/util/logging.hpp"
#include "cli.hpp"
#include "guard.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

namespace {

// --copy and --max-copy into `opt`; the exit code of a bad value.
std::optional<int> copy_flags(const std::string& copy, bool max_given, uint64_t max_copy_mb,
                              cats::sweep_options& opt) {
  if (copy != "store" && copy != "events")
    return usage_error("--copy: expected store or events, got '" + copy + "'");
  opt.decoded_copy = copy == "events";
  if (max_given) {
    if (max_copy_mb == 0 || max_copy_mb > (uint64_t{1} << 40))
      return usage_error("--max-copy must be a number of MB from 1 to 2^40");
    opt.max_copy_bytes = max_copy_mb << 20;
  }
  return std::nullopt;
}

}  // namespace

int sweep_command(const std::vector<std::string>& args) {
  cats::sweep_options opt;
  std::string config_file, out_dir;
  std::vector<std::string> params;
  std::string workers, copy = "store";
  uint64_t sample = 0, max_copy_mb = 0;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("config,c", po::value(&config_file)->required(),
                                                 "TOML config file (see config/backtest.toml)")(
      "param,p", po::value(&params)->composing(),
      "a swept key and its values: strategy.fast=5:50:5 (from:to:step) or strategy.fast=5,10,20; "
      "strategy.<param> names the only strategy, strategy.<name>.<param> one of several; any "
      "backtest.* key works too (repeatable)")("set", po::value(&opt.overrides)->composing(),
                                               "override a config key for every run")(
      "jobs,j", po::value(&opt.jobs)->default_value(0),
      "parallel runs (0 = every core this process may use)")(
      "metric,m", po::value(&opt.metric)->default_value("sharpe"),
      "rank by: sharpe, sortino, calmar, total_return, cagr, max_drawdown, volatility, "
      "profit_factor, win_rate, trades, exposure, avg_trade_return")(
      "sample", po::value(&sample), "run a random sample of N combinations")(
      "seed", po::value(&opt.seed)->default_value(1), "seed of --sample")(
      "oos", po::value(&opt.oos_fraction)->default_value(0),
      "walk-forward: keep this last fraction of the time range out of sample (e.g. 0.3)")(
      "walk-forward", po::value(&opt.folds)->default_value(0),
      "anchored walk-forward with N folds: the range is cut into N+1 parts; fold k picks the "
      "best combination on parts 1..k and tests it on part k+1")(
      "out,o", po::value(&out_dir),
      "write runs.csv (as runs finish), results.csv, results.json, best.txt and report.html")(
      "json", "print the ranked results as JSON on stdout")(
      "stream",
      "each run streams the data from its files (constant memory) instead of sharing one copy; "
      "chosen by itself for block stores and for data whose copy would pass --max-copy")(
      "copy", po::value(&copy),
      "what the copy the runs share holds: store (default: an in-memory block store, 44 bytes a "
      "bar) or events (decoded, 144 bytes each); bars built from trades always take events")(
      "max-copy", po::value(&max_copy_mb),
      "the most memory, in MB, the copy of the data may take (default: a quarter of the memory "
      "this process may use); past it the runs stream the files")(
      "workers", po::value(&workers),
      "run on `cats worker`s elsewhere through the bus: nats://HOST:PORT ([bus] in the config "
      "for the stream and credentials)")(
      "allow-failures",
      "exit 0 even when some runs failed (they are listed and ranked last either way)");
  po::variables_map vm;
  if (auto rc =
          parse(args, desc, nullptr, vm,
                "usage: cats sweep --config FILE --param key=from:to:step [--param ...] "
                "[--set key=value]... [--jobs N] [--metric M] [--sample N] "
                "[--oos F | --walk-forward N] [--out DIR] [--json] [--allow-failures] [--stream] "
                "[--copy store|events] [--max-copy MB] [--workers nats://HOST:PORT]"))
    return *rc;
  const bool json = vm.count("json") != 0;
  opt.config = config_file;
  if (vm.count("sample") != 0) {
    if (sample == 0) return usage_error("--sample must be > 0");
    opt.sample = sample;
  }
  if (!out_dir.empty()) opt.out_dir = fs::path(out_dir);
  opt.progress = !json;
  opt.stop = &stop_requested;
  opt.stream = vm.count("stream") != 0;
  if (auto rc = copy_flags(copy, vm.count("max-copy") != 0, max_copy_mb, opt)) return *rc;
  try {
    const cats::run_config base = cats::load_config(config_file, opt.overrides);
    std::string err;
    // Runs log only warnings and errors: a sweep's own output is the ranking.
    const std::string level =
        base.engine.log_level == "info" ? std::string("warn") : base.engine.log_level;
    if (!cats::setup_logging(level, base.engine.log_file, err)) return usage_error(err);
    warn_missing_rules(base);
    for (const std::string& p : params) opt.params.push_back(cats::parse_sweep_param(p, base));
    if (!workers.empty()) {
      cats::bus_section bus = base.bus;
      bus.url = workers;
      opt.remote =
          cats::bus::make_sweep_coordinator(bus, opt.config, opt.overrides, opt.params, opt.stop);
    }
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    guard_strategies();
    const cats::sweep_result r = cats::run_sweep(opt);
    if (opt.remote) cats::bus::close_library();
    const std::string text = json ? cats::sweep_json(r) : cats::sweep_table(r);
    std::fwrite(text.data(), 1, text.size(), cats::results_stream());
    std::fflush(cats::results_stream());
    if (r.interrupted) {
      std::fprintf(stderr, "cats: sweep interrupted; %zu finished runs kept\n", r.ranking.size());
      return 130;
    }
    if (!r.any_succeeded()) {
      std::fprintf(stderr, "cats: no run of the sweep succeeded\n");
      return exit_failure;
    }
    // A failed run is not a run with zero return: a sweep that lost some of its grid says so in
    // its exit code, unless the user accepts that.
    const size_t failed = r.failed_runs();
    if ((failed != 0 || r.failed_out_of_sample != 0) && vm.count("allow-failures") == 0) {
      if (failed != 0)
        std::fprintf(stderr, "cats: %zu of %zu runs failed (listed above and in the outputs)\n",
                     failed, r.ranking.size());
      if (r.failed_out_of_sample != 0)
        std::fprintf(stderr, "cats: %zu out-of-sample run(s) failed, first: %s\n",
                     r.failed_out_of_sample, r.out_of_sample_error.c_str());
      std::fprintf(stderr, "cats: --allow-failures accepts a partial sweep\n");
      return exit_failure;
    }
    return exit_ok;
  } catch (const cats::config_error& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_failure;
  }
}

}  // namespace cats::cli
