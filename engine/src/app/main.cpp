// The `cats` command line: one subcommand per mode (cli.hpp). Exit codes: 0 ok, 1 run failure,
// 2 usage or config error, 3 a strategy took the engine down, 130 interrupted.
#include <cstdio>
#include <string>
#include <vector>

#include "cats/version.hpp"
#include "cli.hpp"

namespace {

const char* const main_help =
    "usage: cats <command> [options]\n"
    "\n"
    "commands:\n"
    "  backtest   replay historical data through strategy plugins and report metrics\n"
    "  sweep      run a backtest for every combination of parameter values, in parallel\n"
    "  live       paper-trade strategies on live market data (Binance, OKX)\n"
    "  record     record live market data to daily files that backtests replay\n"
    "  collector  publish live market data to NATS JetStream for engines elsewhere\n"
    "  worker     run sweep runs that `cats sweep --workers` hands out over NATS\n"
    "  generate   write deterministic sample kline data (for demos and benchmarks)\n"
    "  data       data convert: Binance files and recordings into one block-store file\n"
    "  plugins    list the plugins in a folder or inspect one plugin file\n"
    "  ctl        control a running `cats live` (ctl kill: the kill switch)\n"
    "  version    print the engine version and the SDK ABI version\n"
    "\n"
    "Run `cats <command> --help` for the options of a command.\n"
    "Exit codes: 0 ok, 1 run failure, 2 usage or configuration error, 3 a strategy took the\n"
    "engine down (called exit(), or stuck in a callback at shutdown), 130 interrupted; a\n"
    "strategy that crashes the process is reported and the process dies of the signal.\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(main_help, stderr);
    return cats::cli::exit_usage;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> rest(argv + 2, argv + argc);
  try {
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
      std::fputs(main_help, stdout);
      return cats::cli::exit_ok;
    }
    if (cmd == "version" || cmd == "--version") {
      std::printf("cats %s (SDK ABI %s)\n", cats::engine_version,
                  cats::abi_version_string().c_str());
      return cats::cli::exit_ok;
    }
    if (cmd == "backtest") return cats::cli::backtest_command(rest);
    if (cmd == "sweep") return cats::cli::sweep_command(rest);
    if (cmd == "generate") return cats::cli::generate_command(rest);
    if (cmd == "live") return cats::cli::live_command(rest, cats::cli::live_mode::live);
    if (cmd == "record") return cats::cli::live_command(rest, cats::cli::live_mode::record);
    if (cmd == "worker") return cats::cli::worker_command(rest);
    if (cmd == "collector") return cats::cli::live_command(rest, cats::cli::live_mode::collector);
    if (cmd == "plugins") return cats::cli::plugins_command(rest);
    if (cmd == "ctl") return cats::cli::ctl_command(rest);
    if (cmd == "data") return cats::cli::data_command(rest);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cats: unexpected error: %s\n", e.what());
    return cats::cli::exit_failure;
  }
  std::fprintf(stderr, "cats: unknown command '%s'\n\n%s", cmd.c_str(), main_help);
  return cats::cli::exit_usage;
}
