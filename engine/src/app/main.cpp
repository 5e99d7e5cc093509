// The `cats` command line. Exit codes: 0 ok, 1 run failure, 2 usage or config error.
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/plugin/loader.hpp"
#include "cats/plugin/params.hpp"
#include "cats/replay/sample_data.hpp"
#include "cats/session/backtest.hpp"
#include "cats/session/live.hpp"
#include "cats/session/sweep.hpp"
#include "cats/util/logging.hpp"
#include "cats/util/time.hpp"
#include "cats/version.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

const char* const main_help =
    "usage: cats <command> [options]\n"
    "\n"
    "commands:\n"
    "  backtest   replay historical data through strategy plugins and report metrics\n"
    "  sweep      run a backtest for every combination of parameter values, in parallel\n"
    "  live       paper-trade strategies on live market data (Binance, OKX)\n"
    "  record     record live market data to daily files that backtests replay\n"
    "  generate   write deterministic sample kline data (for demos and benchmarks)\n"
    "  plugins    list the plugins in a folder or inspect one plugin file\n"
    "  version    print the engine version and the SDK ABI version\n"
    "\n"
    "Run `cats <command> --help` for the options of a command.\n"
    "Exit codes: 0 ok, 1 run failure, 2 usage or configuration error.\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "cats: %s\n", msg.c_str());
  return exit_usage;
}

// Parses a command's options; returns an exit code when the command should not go on.
std::optional<int> parse(const std::vector<std::string>& args, const po::options_description& desc,
                         const po::positional_options_description* pos, po::variables_map& vm,
                         const char* usage) {
  try {
    po::command_line_parser parser(args);
    parser.options(desc);
    if (pos != nullptr) parser.positional(*pos);
    po::store(parser.run(), vm);
    if (vm.count("help") != 0) {
      std::cout << usage << "\n" << desc << "\n";
      return exit_ok;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(std::string(e.what()) + "\n" + usage);
  }
  return std::nullopt;
}

// Loads the config's enabled strategies; returns an exit code on failure.
// `private_copies`: load each plugin from a private copy (live mode, where the file in the
// plugin folder may be replaced by a new build while it runs).
std::optional<int> load_strategies(const cats::run_config& cfg,
                                   std::vector<cats::prepared_strategy>& strategies,
                                   bool private_copies = false) {
  const fs::path plugin_dir =
      cfg.engine.plugin_dir.empty() ? cats::default_plugin_dir() : cfg.engine.plugin_dir;
  for (const cats::strategy_section& s : cfg.strategies) {
    if (!s.enabled) {
      spdlog::info("strategy '{}' is disabled in the config", s.name);
      continue;
    }
    std::string why;
    const fs::path file = cats::resolve_plugin(s.plugin, plugin_dir, why);
    if (file.empty()) return usage_error(s.where + ": strategy '" + s.name + "': " + why);
    auto lib = private_copies
                   ? cats::plugin_library::load_copy(file, cats::private_plugin_dir(), why)
                   : cats::plugin_library::load(file, why);
    if (!lib) {
      spdlog::error("{}", why);
      return exit_failure;
    }
    cats::prepared_strategy p;
    p.name = s.name;
    p.library = lib;
    try {
      p.params = cats::build_params(s, *lib);
    } catch (const cats::config_error& e) {
      return usage_error(e.what());
    }
    spdlog::info("strategy '{}': {} {} from {} ({})", s.name, lib->name(), lib->version(),
                 file.string(), p.params.to_string());
    strategies.push_back(std::move(p));
  }
  return std::nullopt;
}

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

extern "C" void on_stop_signal(int) {
  g_stop.store(true);
}

extern "C" void on_reload_signal(int) {
  g_reload.store(true);
}

// ---- backtest ---------------------------------------------------------------------------------

int cmd_backtest(const std::vector<std::string>& args) {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string out_dir;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("config,c", po::value(&config_file)->required(),
                                                 "TOML config file (see config/backtest.toml)")(
      "set", po::value(&overrides)->composing(),
      "override a config key with a TOML value, e.g. --set backtest.fee_bps=10, "
      "--set 'data.files=[\"a.csv\"]', --set strategy.sma.fast=20 (repeatable)")(
      "out,o", po::value(&out_dir), "write summary.json, fills.csv, trades.csv, equity.csv here")(
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

  std::vector<cats::prepared_strategy> strategies;
  if (auto rc = load_strategies(cfg, strategies)) return *rc;
  if (strategies.empty()) return usage_error(config_file + ": every strategy is disabled");

  std::optional<fs::path> out;
  if (!out_dir.empty()) out = fs::path(out_dir);
  cats::run_options options;
  options.progress = !json;
  options.stop = &g_stop;
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
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (out)
      spdlog::info("wrote summary.json, fills.csv, trades.csv, equity.csv and report.html to {}",
                   out->string());
  }
  return result.exit_code;
}

// ---- sweep ------------------------------------------------------------------------------------

int cmd_sweep(const std::vector<std::string>& args) {
  cats::sweep_options opt;
  std::string config_file, out_dir;
  std::vector<std::string> params;
  uint64_t sample = 0;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("config,c", po::value(&config_file)->required(),
                                                 "TOML config file (see config/backtest.toml)")(
      "param,p", po::value(&params)->composing(),
      "a swept key and its values: strategy.fast=5:50:5 (from:to:step) or strategy.fast=5,10,20; "
      "strategy.<param> names the only strategy, strategy.<name>.<param> one of several; any "
      "backtest.* key works too (repeatable)")("set", po::value(&opt.overrides)->composing(),
                                               "override a config key for every run")(
      "jobs,j", po::value(&opt.jobs)->default_value(0), "parallel runs (0 = every core)")(
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
      "json", "print the ranked results as JSON on stdout");
  po::variables_map vm;
  if (auto rc = parse(args, desc, nullptr, vm,
                      "usage: cats sweep --config FILE --param key=from:to:step [--param ...] "
                      "[--jobs N] [--metric M] [--sample N] [--oos F | --walk-forward N] "
                      "[--out DIR] [--json]"))
    return *rc;
  const bool json = vm.count("json") != 0;
  opt.config = config_file;
  if (vm.count("sample") != 0) {
    if (sample == 0) return usage_error("--sample must be > 0");
    opt.sample = sample;
  }
  if (!out_dir.empty()) opt.out_dir = fs::path(out_dir);
  opt.progress = !json;
  opt.stop = &g_stop;
  try {
    const cats::run_config base = cats::load_config(config_file, opt.overrides);
    std::string err;
    // Runs log only warnings and errors: a sweep's own output is the ranking.
    const std::string level =
        base.engine.log_level == "info" ? std::string("warn") : base.engine.log_level;
    if (!cats::setup_logging(level, base.engine.log_file, err)) return usage_error(err);
    for (const std::string& p : params) opt.params.push_back(cats::parse_sweep_param(p, base));
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const cats::sweep_result r = cats::run_sweep(opt);
    const std::string text = json ? cats::sweep_json(r) : cats::sweep_table(r);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (r.interrupted) {
      std::fprintf(stderr, "cats: sweep interrupted; %zu finished runs kept\n", r.ranking.size());
      return 130;
    }
    if (!r.any_succeeded()) {
      std::fprintf(stderr, "cats: no run of the sweep succeeded\n");
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

// ---- live / record -----------------------------------------------------------------------------

int cmd_live(const std::vector<std::string>& args, bool record) {
  std::string config_file;
  std::vector<std::string> overrides;
  std::string out_dir;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("config,c", po::value(&config_file)->required(),
                                                 record
                                                     ? "TOML config file (see config/record.toml)"
                                                     : "TOML config file (see config/paper.toml)")(
      "set", po::value(&overrides)->composing(),
      "override a config key, e.g. --set live.duration=60 (repeatable)")(
      "out,o", po::value(&out_dir), "write summary.json (with the final order books) here")(
      "json", "print the summary as one JSON object on stdout");
  po::variables_map vm;
  const std::string usage = std::string("usage: cats ") + (record ? "record" : "live") +
                            " --config FILE [--set key=value]... [--out DIR] [--json]\n"
                            "Runs until SIGINT/SIGTERM or [live] duration; then prints a summary.";
  if (auto rc = parse(args, desc, nullptr, vm, usage.c_str())) return *rc;

  cats::run_config cfg;
  try {
    cfg = cats::load_config(config_file, overrides,
                            record ? cats::config_purpose::record : cats::config_purpose::live);
  } catch (const cats::config_error& e) {
    return usage_error(e.what());
  }
  std::string err;
  if (!cats::setup_logging(cfg.engine.log_level, cfg.engine.log_file, err)) return usage_error(err);
  std::vector<cats::prepared_strategy> strategies;
  if (!record) {
    if (auto rc = load_strategies(cfg, strategies, cfg.live.hot_reload)) return *rc;
    if (strategies.empty()) return usage_error(config_file + ": every strategy is disabled");
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = on_reload_signal;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  signal(SIGPIPE, SIG_IGN);

  cats::live_options opt;
  opt.record_only = record;
  opt.json = vm.count("json") != 0;
  if (!out_dir.empty()) opt.out_dir = fs::path(out_dir);
  opt.stop = &g_stop;
  opt.reload = &g_reload;
  opt.overrides = overrides;
  const int rc = cats::run_live(cfg, std::move(strategies), opt);
  cats::remove_private_plugin_dir();
  return rc;
}

// ---- generate ---------------------------------------------------------------------------------

int cmd_generate(const std::vector<std::string>& args) {
  std::string out, interval = "1m", start = "2024-01-01";
  uint64_t bars = 0;
  double days_opt = 0;
  cats::sample_options o;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("out,o", po::value(&out)->required(),
                                                 "output CSV file")(
      "bars", po::value(&bars), "number of bars (default: one year)")(
      "days", po::value(&days_opt), "number of days instead of --bars")(
      "interval", po::value(&interval)->default_value("1m"),
      "bar interval: 1s, 1m, 15m, 1h, 1d ...")(
      "start", po::value(&start)->default_value("2024-01-01"), "first bar's open time (UTC)")(
      "seed", po::value(&o.seed)->default_value(42), "random seed")(
      "price", po::value(&o.start_price)->default_value(42000.0), "starting price")(
      "micros", "write times in microseconds (Binance spot files from 2025)")("header",
                                                                              "write a header row")(
      "trades", po::value<uint64_t>(),
      "write N trades in the Binance public-data trades layout instead of klines, spread over "
      "--days (default 1)");
  po::variables_map vm;
  if (auto rc = parse(args, desc, nullptr, vm, "usage: cats generate --out FILE [options]"))
    return *rc;
  const auto iv = cats::parse_interval(interval);
  if (!iv)
    return usage_error("--interval: expected a number and s, m, h or d, got '" + interval + "'");
  const auto st = cats::parse_iso8601(start);
  if (!st) return usage_error("--start: expected a date like 2024-01-01, got '" + start + "'");
  if (!(o.start_price > 0)) return usage_error("--price must be positive");
  o.interval_ns = *iv;
  o.start_ns = *st;
  o.microseconds = vm.count("micros") != 0;
  o.header = vm.count("header") != 0;
  if (vm.count("trades") != 0) {
    cats::sample_trades_options t;
    t.trades = vm["trades"].as<uint64_t>();
    if (t.trades == 0) return usage_error("--trades must be > 0");
    t.start_ns = *st;
    t.seed = o.seed;
    t.start_price = o.start_price;
    t.microseconds = o.microseconds;
    t.header = o.header;
    if (vm.count("days") != 0) {
      if (!(days_opt > 0)) return usage_error("--days must be positive");
      t.span_ns = static_cast<int64_t>(days_opt * static_cast<double>(cats::ns_per_day));
    }
    try {
      cats::write_sample_trades(out, t);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cats: %s\n", e.what());
      return exit_failure;
    }
    std::printf("wrote %llu trades to %s\n", static_cast<unsigned long long>(t.trades),
                out.c_str());
    return exit_ok;
  }
  if (vm.count("bars") != 0 && vm.count("days") != 0)
    return usage_error("give --bars or --days, not both");
  if (vm.count("days") != 0) {
    if (!(days_opt > 0)) return usage_error("--days must be positive");
    bars = static_cast<uint64_t>(days_opt * static_cast<double>(cats::ns_per_day) /
                                 static_cast<double>(*iv));
  } else if (vm.count("bars") == 0) {
    bars = static_cast<uint64_t>(365 * cats::ns_per_day / *iv);
  }
  if (bars == 0) return usage_error("nothing to generate (0 bars)");
  o.bars = bars;
  try {
    if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
    cats::write_sample_klines(out, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cats: %s\n", e.what());
    return exit_failure;
  }
  std::fprintf(stderr, "wrote %llu %s bars from %s to %s\n", static_cast<unsigned long long>(bars),
               interval.c_str(), cats::format_iso8601(o.start_ns).c_str(), out.c_str());
  return exit_ok;
}

// ---- plugins ----------------------------------------------------------------------------------

void print_plugin(const cats::plugin_library& lib, bool details) {
  const auto& d = lib.descriptor();
  std::printf("%s %s  (ABI %u.%u)  %s\n", lib.name().c_str(), lib.version().c_str(), d.abi_major,
              d.abi_minor, lib.path().string().c_str());
  if (!details) return;
  if (!lib.description().empty()) std::printf("  %s\n", lib.description().c_str());
  if (lib.params().empty()) {
    std::printf("  parameters: none declared\n");
    return;
  }
  std::printf("  parameters:\n");
  for (const auto& p : lib.params())
    std::printf("    %-14s %-7s default %-18s %s\n", p.name.c_str(), cats::param_type_name(p.type),
                p.default_value.empty() ? "(required)" : p.default_value.c_str(),
                p.description.c_str());
}

int cmd_plugins(const std::vector<std::string>& args) {
  std::string action, target, dir;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("action", po::value(&action)->required(),
                                                 "list | inspect")("target", po::value(&target),
                                                                   "plugin file (inspect)")(
      "dir", po::value(&dir), "plugin folder (list; default: the installed plugin folder)");
  po::positional_options_description pos;
  pos.add("action", 1).add("target", 1);
  po::variables_map vm;
  const char* usage = "usage: cats plugins list [--dir DIR] | cats plugins inspect FILE";
  if (auto rc = parse(args, desc, &pos, vm, usage)) return *rc;
  std::string err;
  if (!cats::setup_logging("warn", {}, err)) return usage_error(err);
  if (action == "inspect") {
    if (target.empty()) return usage_error(std::string("inspect needs a plugin file\n") + usage);
    auto lib = cats::plugin_library::load(target, err);
    if (!lib) {
      std::fprintf(stderr, "cats: %s\n", err.c_str());
      return exit_failure;
    }
    print_plugin(*lib, true);
    return exit_ok;
  }
  if (action != "list") return usage_error("unknown action '" + action + "'\n" + usage);
  const fs::path folder = dir.empty() ? cats::default_plugin_dir() : fs::path(dir);
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return usage_error(folder.string() + ": not a folder");
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.path().extension() == ".so") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  int rc = exit_ok;
  for (const fs::path& f : files) {
    auto lib = cats::plugin_library::load(f, err);
    if (lib) {
      print_plugin(*lib, false);
    } else {
      std::printf("refused: %s\n", err.c_str());
      rc = exit_failure;
    }
  }
  if (files.empty()) std::printf("no plugins in %s\n", folder.string().c_str());
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(main_help, stderr);
    return exit_usage;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  try {
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::fputs(main_help, stdout);
      return exit_ok;
    }
    if (cmd == "version" || cmd == "--version") {
      std::printf("cats %s (SDK ABI %s)\n", cats::engine_version,
                  cats::abi_version_string().c_str());
      return exit_ok;
    }
    if (cmd == "backtest") return cmd_backtest(rest);
    if (cmd == "sweep") return cmd_sweep(rest);
    if (cmd == "generate") return cmd_generate(rest);
    if (cmd == "live") return cmd_live(rest, false);
    if (cmd == "record") return cmd_live(rest, true);
    if (cmd == "plugins") return cmd_plugins(rest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cats: unexpected error: %s\n", e.what());
    return exit_failure;
  }
  std::fprintf(stderr, "cats: unknown command '%s'\n\n%s", cmd.c_str(), main_help);
  return exit_usage;
}
