#include "integration/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <cats/sdk.h>

#include "test_util.hpp"

namespace cats::test {

namespace {
// Starts argv[0] with stdout and stderr sent to files (and in `cwd` if not empty).
pid_t spawn(const std::vector<std::string>& argv, const std::string& out_file,
            const std::string& err_file, const std::string& cwd) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (o < 0 || e < 0) ::_exit(127);
  ::dup2(o, 1);
  ::dup2(e, 2);
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(127);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}
}  // namespace

run_result run(const std::vector<std::string>& argv, const std::string& cwd, int timeout_s) {
  temp_dir d;
  const std::string out_file = (d / "stdout").string(), err_file = (d / "stderr").string();
  run_result r;
  const pid_t pid = spawn(argv, out_file, err_file, cwd);
  if (pid < 0) return r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err = "timed out after " + std::to_string(timeout_s) + " s\n";
      r.out = read_file(out_file);
      r.err += read_file(err_file);
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  r.out = read_file(out_file);
  r.err = read_file(err_file);
  return r;
}

std::string abi_version() {
  return std::to_string(CATS_ABI_MAJOR) + "." + std::to_string(CATS_ABI_MINOR);
}

background::background(const std::vector<std::string>& argv, const std::string& out_file,
                       const std::string& err_file) {
  pid_ = spawn(argv, out_file, err_file, {});
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

background::~background() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(10);
  }
}

void background::signal(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

bool background::running() {
  if (reaped_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

int background::wait(int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

}  // namespace cats::test

cats::test::process_usage cats::test::usage_of(int pid, const std::string& mapped) {
  process_usage u;
  const std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream status(proc + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kb = std::atol(line.c_str() + 6);
    if (line.rfind("Threads:", 0) == 0) u.threads = std::atol(line.c_str() + 8);
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator it(proc + "/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++u.fds;
  if (!mapped.empty()) {
    std::ifstream maps(proc + "/maps");
    while (std::getline(maps, line))
      if (line.find(mapped) != std::string::npos) ++u.mappings;
  }
  return u;
}
