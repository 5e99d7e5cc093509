// What protects a run from its strategies' worst behaviour at the process level: a fatal signal
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) is reported naming the strategy and callback that was
// running, async-signal-safely, before the process dies of it; a strategy calling exit() is
// reported and the process exits with exit_strategy_abort instead of its status; stdout is kept
// for results (a plugin's printf goes to stderr).
#pragma once

namespace cats::cli {

/// The exit code when a strategy took the engine down: it called exit() or quick_exit() from a
/// callback, or a callback was still stuck when the run was asked to stop (cats live).
constexpr int exit_strategy_abort = 3;

/// Installs the guards; call once, before the first strategy is created. Idempotent.
void guard_strategies();

}  // namespace cats::cli
