// How many cores this process may really use: the CPU affinity mask (taskset, cpusets) and the
// CPU quota of its cgroup and those above it (cgroup v2, or v1's cpu controller; containers'
// `--cpus`, systemd's CPUQuota=), whichever is smaller; a quota counts in whole cores, rounded
// down. And how much memory: the same walk for the memory limit.
#pragma once

#include <cstdint>
#include <string>

namespace cats {

/// Cores this process may run on at once (at least 1).
unsigned usable_cores() noexcept;

/// Bytes of memory this process may use: the machine's physical memory, the memory limit of its
/// cgroup or one above it (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`; containers'
/// `--memory`) and its address-space limit (`ulimit -v`), whichever is smallest.
uint64_t usable_memory() noexcept;

/// Whether `busy_threads` threads that never sleep fit: they need a core each, plus one for the
/// engine thread and one for the rest of the machine (the OS, other processes). Measured on 2
/// cores with one polling thread: wire-to-strategy p99 1.5x to 7x worse than sleeping in epoll.
/// When they do not fit, `why` says so in the user's terms.
bool busy_polling_fits(unsigned busy_threads, unsigned cores, std::string& why);

}  // namespace cats
