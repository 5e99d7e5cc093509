// cats worker: runs the sweeps' runs that coordinators (`cats sweep --workers`) put on the bus.
#include <spdlog/spdlog.h>

#include <csignal>

#include "cats/bus/bus.hpp"
#include "cats/util/logging.hpp"
#include "cli.hpp"
#include "guard.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

int worker_command(const std::vector<std::string>& args) {
  std::string url, store, plugins, config_file, log_level = "info";
  cats::bus::worker_options w;
  std::vector<std::string> overrides;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("nats", po::value(&url)->required(),
                                                 "the bus: nats://HOST:PORT")(
      "store", po::value(&store)->required(),
      "the folder with this machine's copy of the data files (found by file name)")(
      "plugins", po::value(&plugins),
      "the strategy plugins' folder (default: the installed plugins)")(
      "jobs,j", po::value(&w.jobs)->default_value(1), "runs at once")(
      "config,c", po::value(&config_file),
      "a TOML file whose [bus] section gives the stream, credentials and ack_wait")(
      "set", po::value(&overrides)->composing(),
      "override a [bus] key, e.g. --set bus.ack_wait=60")(
      "log-level", po::value(&log_level)->default_value("info"), "trace ... error");
  po::variables_map vm;
  if (auto rc = parse(args, desc, nullptr, vm,
                      "usage: cats worker --nats nats://HOST:PORT --store DIR [--plugins DIR] "
                      "[--jobs N] [--config FILE] [--set bus.key=value]...\n"
                      "Takes sweep runs from the bus until SIGINT/SIGTERM."))
    return *rc;
  std::string err;
  if (!cats::setup_logging(log_level, {}, err)) return usage_error(err);
  cats::bus_section bus;
  if (!overrides.empty() && config_file.empty())
    return usage_error("--set needs --config (the file whose [bus] it changes)");
  if (!config_file.empty()) {
    try {
      bus = cats::load_bus_config(config_file, overrides);  // only [bus] matters here
    } catch (const cats::config_error& e) {
      return usage_error(e.what());
    }
  }
  bus.url = url;
  std::error_code ec;
  if (!fs::is_directory(store, ec)) return usage_error("--store " + store + ": not a folder");
  w.store_dir = fs::absolute(store);
  if (!plugins.empty()) w.plugin_dir = fs::absolute(plugins);
  if (w.jobs == 0) return usage_error("--jobs must be at least 1");
  w.stop = &stop_requested;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  guard_strategies();
  const int rc = cats::bus::run_worker(bus, w);
  cats::bus::close_library();
  return rc;
}

}  // namespace cats::cli
