// An alternate signal stack for the calling thread, so that a fatal signal raised by a stack
// overflow (runaway recursion in a strategy) can still run the crash handler, which then names the
// strategy. Each thread that runs strategy code installs its own (sigaltstack is per thread).
#pragma once

namespace cats {

/// Gives the calling thread a 64 KiB alternate signal stack (once; it lives as long as the
/// thread). Returns false if the system refused.
bool install_signal_stack() noexcept;

}  // namespace cats
