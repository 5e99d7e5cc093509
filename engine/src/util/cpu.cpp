#include "cats/util/cpu.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>

namespace cats {

namespace {

// The cgroup v2 quota as cores ("200000 100000" -> 2), 0 when there is none.
unsigned quota_cores() {
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota;
  long long period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return 0;
  try {
    const long long q = std::stoll(quota);
    if (q <= 0) return 0;
    return static_cast<unsigned>(std::max(1.0, std::ceil(static_cast<double>(q) / period)));
  } catch (...) {
    return 0;
  }
}

}  // namespace

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
