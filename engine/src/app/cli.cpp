#include "cli.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cats/plugin/loader.hpp"
#include "cats/plugin/params.hpp"
#include "guard.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

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
void warn_missing_rules(const cats::run_config& cfg) {
  for (const cats::feed_section& f : cfg.data.feeds)
    if (f.rules_missing)
      spdlog::warn(
          "{}: NO TRADING RULES: tick_size and lot_size are not set, so prices and "
          "quantities are rounded to 1e-8 only; set them in [data], or point venue_rules "
          "at the venue_rules.<venue>.json a live run wrote",
          f.symbol);
}

std::optional<int> load_strategies(const cats::run_config& cfg,
                                   std::vector<cats::prepared_strategy>& strategies,
                                   bool private_copies) {
  guard_strategies();
  try {
    strategies = cats::prepare_strategies(cfg, private_copies);
  } catch (const cats::config_error& e) {
    return usage_error(e.what());
  } catch (const cats::plugin_load_error& e) {
    spdlog::error("{}", e.what());
    return exit_failure;
  }
  return std::nullopt;
}

std::atomic<bool> stop_requested{false};
std::atomic<bool> reload_requested{false};

// The first SIGINT/SIGTERM asks the run to stop (outputs written); a second one, when the first
// was not enough (a strategy stuck in a callback with no watchdog), ends the process at once.
extern "C" void on_stop_signal(int) {
  if (!stop_requested.exchange(true)) return;
  static const char msg[] = "\ncats: interrupted again: exiting now, without writing outputs\n";
  [[maybe_unused]] const ssize_t n = ::write(2, msg, sizeof msg - 1);
  ::_exit(130);
}

extern "C" void on_reload_signal(int) {
  reload_requested.store(true);
}

std::atomic<bool> kill_requested{false};

extern "C" void on_kill_signal(int) {
  kill_requested.store(true);
}

}  // namespace cats::cli
