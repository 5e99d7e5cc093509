// cats ctl: commands to a running `cats live`, through its run folder.
#include <signal.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "cats/session/live.hpp"
#include "cli.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

int ctl_command(const std::vector<std::string>& args) {
  std::string action, run_dir = ".";
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")(
      "run,r", po::value(&run_dir), "the run folder of the `cats live` to control (its --out)")(
      "action", po::value(&action)->required(), "kill");
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  const char* usage =
      "usage: cats ctl kill [--run DIR]\n"
      "kill: the kill switch of the `cats live` whose run folder is DIR: every working order is\n"
      "cancelled, positions are closed if [risk] flatten_on_kill is set, and trading halts.\n"
      "Writes DIR/KILL (a run there acts on it within 100 ms; a run started while it is there\n"
      "starts halted) and sends SIGUSR1 to the pid in DIR/cats.pid. Trading stays halted until\n"
      "that run ends.";
  if (auto rc = parse(args, desc, &pos, vm, usage)) return *rc;
  if (action != "kill") return usage_error("unknown ctl action '" + action + "'; valid: kill");
  const fs::path dir(run_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return usage_error(run_dir + ": no such folder");
  {
    std::ofstream kill(kill_file(dir), std::ios::app);
    if (!kill) {
      std::fprintf(stderr, "cats: cannot write %s: %s\n", kill_file(dir).c_str(),
                   std::strerror(errno));
      return exit_failure;
    }
  }
  const int pid = running_pid(dir);
  if (pid == 0) {
    std::fprintf(stderr,
                 "cats: wrote %s, but %s has no cats.pid naming a running cats process, so no "
                 "signal was sent: a run there halts when it sees the file (within 100 ms), a run "
                 "started there starts halted\n",
                 kill_file(dir).c_str(), run_dir.c_str());
    return exit_failure;
  }
  if (::kill(pid, SIGUSR1) != 0) {
    std::fprintf(stderr, "cats: wrote %s; cannot signal pid %d: %s\n", kill_file(dir).c_str(), pid,
                 std::strerror(errno));
    return exit_failure;
  }
  std::fprintf(stderr, "cats: kill switch sent to pid %d (and %s written)\n", pid,
               kill_file(dir).c_str());
  return exit_ok;
}

}  // namespace cats::cli
