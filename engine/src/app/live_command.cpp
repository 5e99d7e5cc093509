// cats live (paper trading on live market data) and cats record (the data collector).
#include <spdlog/spdlog.h>

#include <csignal>

#include "cats/bus/bus.hpp"
#include "cats/plugin/loader.hpp"
#include "cats/session/live.hpp"
#include "cats/util/logging.hpp"
#include "cli.hpp"
#include "guard.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

int live_command(const std::vector<std::string>& args, live_mode mode) {
  const bool record = mode != live_mode::live;
  const bool collector = mode == live_mode::collector;
  const char* name = mode == live_mode::live ? "live" : collector ? "collector" : "record";
  std::string config_file, source;
  std::vector<std::string> overrides;
  std::string out_dir;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")(
      "config,c", po::value(&config_file)->required(),
      collector ? "TOML config file (see config/collector.toml)"
      : record  ? "TOML config file (see config/record.toml)"
                : "TOML config file (see config/paper.toml)")(
      "set", po::value(&overrides)->composing(),
      "override a config key, e.g. --set live.duration=60 (repeatable)")(
      "out,o", po::value(&out_dir),
      "the run folder: summary.json (with the final order books), cats.pid; a file KILL here "
      "triggers the kill switch (default: the current folder)")(
      "json", "print the summary as one JSON object on stdout");
  if (mode == live_mode::live)
    desc.add_options()("source", po::value(&source),
                       "where market data comes from: \"venues\" (default) or a collector's "
                       "stream, nats://HOST:PORT ([bus] in the config: stream, durable, "
                       "credentials)");
  po::variables_map vm;
  const std::string usage = std::string("usage: cats ") + name +
                            " --config FILE [--set key=value]... [--out DIR] [--json]" +
                            (mode == live_mode::live ? " [--source nats://HOST:PORT]" : "") +
                            "\n"
                            "Runs until SIGINT/SIGTERM or [live] duration; then prints a summary.";
  if (auto rc = parse(args, desc, nullptr, vm, usage.c_str())) return *rc;

  if (!source.empty()) overrides.push_back("live.source=\"" + source + "\"");
  cats::run_config cfg;
  try {
    cfg = cats::load_config(config_file, overrides,
                            collector ? cats::config_purpose::collector
                            : record  ? cats::config_purpose::record
                                      : cats::config_purpose::live);
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
  struct sigaction usr1 {};
  usr1.sa_handler = on_kill_signal;
  sigemptyset(&usr1.sa_mask);
  sigaction(SIGUSR1, &usr1, nullptr);

  cats::live_options opt;
  opt.record_only = record;
  opt.json = vm.count("json") != 0;
  if (!out_dir.empty()) opt.out_dir = fs::path(out_dir);
  opt.stop = &stop_requested;
  opt.reload = &reload_requested;
  opt.kill = &kill_requested;
  opt.run_dir = out_dir.empty() ? fs::path(".") : fs::path(out_dir);
  opt.stuck_exit_code = exit_strategy_abort;
  opt.overrides = overrides;
  if (collector)
    opt.make_taps = [&cfg](const cats::instrument_registry& instruments) {
      std::vector<std::unique_ptr<cats::market_tap>> taps;
      taps.push_back(std::make_unique<cats::bus::publisher>(cfg.bus, instruments, &stop_requested));
      return taps;
    };
  if (cfg.live.source == "nats") {
    if (record)
      return usage_error(std::string("live.source: `cats ") + name +
                         "` reads the venues; only `cats live` reads the bus");
    opt.make_source = [&cfg, dir = opt.run_dir](
                          const cats::instrument_registry& instruments, cats::event_queue& queue,
                          cats::feed_counters& counters, const std::atomic<bool>& stopping) {
      return cats::bus::make_source(cfg.bus, instruments, dir, queue, counters, stopping);
    };
  }
  const int rc = cats::run_live(cfg, std::move(strategies), opt);
  if (collector || cfg.live.source == "nats") cats::bus::close_library();
  cats::remove_private_plugin_dir();
  return rc;
}

}  // namespace cats::cli
