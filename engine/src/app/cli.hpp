// What the `cats` subcommands share: exit codes, option parsing, loading the config's strategies
// and the signal flags.
#pragma once

#include <boost/program_options.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/session/backtest.hpp"

namespace cats::cli {

namespace po = boost::program_options;

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

/// Prints "cats: <msg>" on stderr; returns exit_usage.
int usage_error(const std::string& msg);
/// Warns, once per feed, when a feed has no tick_size or lot_size (rounded to 1e-8 only).
void warn_missing_rules(const run_config& cfg);

/// Parses a command's options; returns an exit code when the command should not go on (--help,
/// or an error, already printed with `usage`).
std::optional<int> parse(const std::vector<std::string>& args, const po::options_description& desc,
                         const po::positional_options_description* pos, po::variables_map& vm,
                         const char* usage);

/// Loads the config's enabled strategies; returns an exit code on failure. `private_copies`: load
/// each plugin from a private copy (live mode, where the file in the plugin folder may be replaced
/// by a new build while it runs).
std::optional<int> load_strategies(const run_config& cfg,
                                   std::vector<prepared_strategy>& strategies,
                                   bool private_copies = false);

/// Set by SIGINT/SIGTERM (stop) and SIGHUP (reload) once the handlers are installed.
extern std::atomic<bool> stop_requested;
extern std::atomic<bool> reload_requested;
extern "C" void on_stop_signal(int);
extern "C" void on_reload_signal(int);
/// Set by SIGUSR1: the kill switch (cats live).
extern std::atomic<bool> kill_requested;
extern "C" void on_kill_signal(int);

int backtest_command(const std::vector<std::string>& args);
int sweep_command(const std::vector<std::string>& args);
/// `cats live` (strategies on live data), `cats record` (data to files), `cats collector` (data
/// to the bus, and to files with [record]).
enum class live_mode { live, record, collector };
int live_command(const std::vector<std::string>& args, live_mode mode);
int worker_command(const std::vector<std::string>& args);
int generate_command(const std::vector<std::string>& args);
int plugins_command(const std::vector<std::string>& args);
int ctl_command(const std::vector<std::string>& args);
int data_command(const std::vector<std::string>& args);

}  // namespace cats::cli
