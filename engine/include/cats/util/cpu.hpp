// How many cores this process may really use: the CPU affinity mask (taskset, cpusets) and the
// cgroup v2 CPU quota (containers: `docker run --cpus`), whichever is smaller.
#pragma once

#include <string>

namespace cats {

/// Cores this process may run on at once (at least 1).
unsigned usable_cores() noexcept;

/// Whether `busy_threads` threads that never sleep leave a core for everything else: they need
/// busy_threads + 1 cores. When not, `why` says so in the user's terms.
bool busy_polling_fits(unsigned busy_threads, unsigned cores, std::string& why);

}  // namespace cats
