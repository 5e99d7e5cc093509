// Runs a program the way a user would and captures what it prints.
#pragma once

#include <string>
#include <vector>

namespace cats::test {

struct run_result {
  int exit_code = -1;  ///< -1 if it did not exit normally (signal, timeout)
  std::string out, err;
};

/// Runs argv[0] with the arguments, in `cwd` if not empty; kills it after `timeout_s` seconds.
run_result run(const std::vector<std::string>& argv, const std::string& cwd = {},
               int timeout_s = 600);

/// This SDK's ABI version as the CLI prints it ("1.1").
std::string abi_version();

/// A program running in the background (a server, or `cats live`), its output sent to files.
/// Killed with SIGKILL when the object goes away if it is still running.
class background {
 public:
  background(const std::vector<std::string>& argv, const std::string& out_file,
             const std::string& err_file);
  ~background();
  background(const background&) = delete;
  background& operator=(const background&) = delete;
  /// Sends a signal (SIGINT, SIGTERM, ...).
  void signal(int sig);
  /// Waits up to `timeout_s` for the exit; returns the exit code, -1 on a signal or timeout.
  int wait(int timeout_s);
  bool running();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

/// What a running process holds, from /proc: resident memory, threads, open files, and the
/// mappings whose path contains `mapped` (when given).
struct process_usage {
  long rss_kb = 0;
  long threads = 0;
  long fds = 0;
  long mappings = 0;
};
process_usage usage_of(int pid, const std::string& mapped = {});

/// Polls `pred` every 20 ms until it is true or `timeout_s` has passed; returns its last value.
template <class Pred>
bool wait_until(Pred pred, double timeout_s);

}  // namespace cats::test

#include <chrono>
#include <thread>

template <class Pred>
bool cats::test::wait_until(Pred pred, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}
