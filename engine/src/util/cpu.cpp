#include "cats/util/cpu.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

namespace cats {

namespace {

// A quota as whole cores (150000 per 100000 -> 1: a thread that spins needs whole cores); 0 for
// none.
unsigned whole_cores(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<unsigned>(std::max(1LL, quota / period));
}

// cgroup v2: "<quota|max> <period>" in <dir>/cpu.max.
unsigned v2_cores(const std::string& dir) {
  std::ifstream in(dir + "/cpu.max");
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max") return 0;
  try {
    return whole_cores(std::stoll(quota), period);
  } catch (...) {
    return 0;
  }
}

// cgroup v1: <dir>/cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us.
unsigned v1_cores(const std::string& dir) {
  std::ifstream q(dir + "/cpu.cfs_quota_us"), p(dir + "/cpu.cfs_period_us");
  long long quota = 0, period = 0;
  if (!(q >> quota) || !(p >> period)) return 0;
  return whole_cores(quota, period);
}

// The smallest nonzero value `read(dir)` gives from `root` + `path` up to `root` (a limit set
// higher up the cgroup hierarchy bounds every group below it); 0 when none.
template <class T, class Read>
T smallest_up(const std::string& root, const std::string& path, Read read) {
  std::string dir = root + (path == "/" ? std::string() : path);
  T best = 0;
  for (;;) {
    if (const T v = read(dir); v != 0) best = best == 0 ? v : std::min(best, v);
    const size_t slash = dir.rfind('/');
    if (dir.size() <= root.size() || slash == std::string::npos || slash < root.size()) break;
    dir.resize(slash);
  }
  return best;
}

// Calls `fn(controllers, path)` for each line of /proc/self/cgroup: "0::/path" (v2, no
// controllers), "4:cpu,cpuacct:/path" (v1).
template <class Fn>
void each_cgroup(Fn fn) {
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    fn(line.substr(a + 1, b - a - 1), line.substr(b + 1));
  }
}

// Whether a v1 line's comma-separated controllers name `name` whole ("cpu" is not "cpuset").
bool lists(const std::string& controllers, const char* name) {
  return ("," + controllers + ",").find("," + std::string(name) + ",") != std::string::npos;
}

// The CPU quota on this process (cgroup v2, or v1's cpu controller), from its own cgroup
// (/proc/self/cgroup) up to the root; 0 when there is none.
unsigned quota_cores() {
  unsigned best = 0;
  auto keep = [&](unsigned c) {
    if (c != 0) best = best == 0 ? c : std::min(best, c);
  };
  each_cgroup([&](const std::string& controllers, const std::string& path) {
    if (controllers.empty()) {
      keep(smallest_up<unsigned>("/sys/fs/cgroup", path, v2_cores));
    } else if (lists(controllers, "cpu")) {
      keep(smallest_up<unsigned>("/sys/fs/cgroup/" + controllers, path, v1_cores));
      keep(smallest_up<unsigned>("/sys/fs/cgroup/cpu", path, v1_cores));
    }
  });
  return best;
}

// A memory limit in bytes from the first line of `file` (0 for none: "max", or v1's huge number
// for no limit, which is above any machine's memory and loses to it below).
uint64_t limit_in(const std::string& file) {
  std::ifstream in(file);
  std::string v;
  if (!(in >> v) || v == "max") return 0;
  try {
    return std::stoull(v);
  } catch (...) {
    return 0;
  }
}

}  // namespace

uint64_t usable_memory() noexcept {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  uint64_t bytes = pages > 0 && page > 0
                       ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page)
                       : uint64_t{4} << 30;
  try {
    each_cgroup([&](const std::string& controllers, const std::string& path) {
      uint64_t l = 0;
      if (controllers.empty())
        l = smallest_up<uint64_t>("/sys/fs/cgroup", path,
                                  [](const std::string& d) { return limit_in(d + "/memory.max"); });
      else if (lists(controllers, "memory"))
        l = smallest_up<uint64_t>("/sys/fs/cgroup/memory", path, [](const std::string& d) {
          return limit_in(d + "/memory.limit_in_bytes");
        });
      if (l != 0) bytes = std::min(bytes, l);
    });
  } catch (...) {
  }
  struct rlimit as {};  // ulimit -v
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
    bytes = std::min<uint64_t>(bytes, as.rlim_cur);
  return bytes;
}

unsigned usable_cores() noexcept {
  unsigned cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = static_cast<unsigned>(CPU_COUNT(&set));
  if (cores == 0) cores = std::max(1u, std::thread::hardware_concurrency());
  try {
    if (const unsigned q = quota_cores(); q != 0) cores = std::min(cores, q);
  } catch (...) {
  }
  return cores;
}

bool busy_polling_fits(unsigned busy_threads, unsigned cores, std::string& why) {
  const unsigned needed = busy_threads + 2;
  if (needed <= cores) return true;
  why = std::to_string(busy_threads) +
        " polling thread(s) need a core each, plus one for the engine thread and one for the rest "
        "of the machine: " +
        std::to_string(needed) + " cores, this process may use " + std::to_string(cores) +
        " (with fewer, polling makes latency worse, not better)";
  return false;
}

}  // namespace cats
