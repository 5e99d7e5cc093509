#include "guard.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cats/core/engine.hpp"
#include "cats/util/logging.hpp"
#include "cats/util/signal_stack.hpp"

namespace cats::cli {

namespace {

// Async-signal-safe text building: a fixed buffer and write(2), nothing else.
struct text {
  char buf[768];
  size_t n = 0;
  text& operator<<(const char* s) noexcept {
    while (s != nullptr && *s != '\0' && n < sizeof buf) buf[n++] = *s++;
    return *this;
  }
  void emit() const noexcept {
    for (size_t done = 0; done < n;) {
      const ssize_t w = ::write(2, buf + done, n - done);
      if (w <= 0) return;
      done += static_cast<size_t>(w);
    }
  }
};

const char* signal_name(int sig) noexcept {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV (invalid memory access)";
    case SIGBUS:
      return "SIGBUS (bus error)";
    case SIGFPE:
      return "SIGFPE (arithmetic error)";
    case SIGILL:
      return "SIGILL (illegal instruction)";
    case SIGABRT:
      return "SIGABRT (abort)";
    default:
      return "a fatal signal";
  }
}

// The strategy callback running on this thread, if any.
bool in_strategy(const char*& name, const char*& where) noexcept {
  const callback_probe* p = current_callback_probe();
  if (p == nullptr || (p->seq.load(std::memory_order_relaxed) & 1) == 0) return false;
  name = p->strategy.load(std::memory_order_relaxed);
  where = p->where.load(std::memory_order_relaxed);
  return name != nullptr;
}

// The first thread to take a fatal signal: the one that reports and ends the process.
std::atomic<long> crashing_thread{0};

[[noreturn]] void die_of(int sig) noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
  ::_exit(128 + sig);  // not reached: the default action of these signals ends the process
}

extern "C" void on_fatal_signal(int sig, siginfo_t*, void*) {
  // Two strategies on two sweep workers can crash at once. The handler stays installed (no
  // SA_RESETHAND) so the second one cannot take the default action and end the process before
  // the first has said what happened: it waits here for the first one's signal to end it.
  const long me = ::syscall(SYS_gettid);
  long first = 0;
  if (!crashing_thread.compare_exchange_strong(first, me)) {
    if (first == me) die_of(sig);  // the report itself crashed: end now rather than hang
    for (;;) ::pause();
  }
  text t;
  const char *name = nullptr, *where = nullptr;
  t << "\ncats: fatal: " << signal_name(sig);
  if (in_strategy(name, where))
    t << " in strategy '" << name << "' during " << where
      << ". The strategy's code crashed the engine; the process ends now. Output files of this run "
         "are incomplete (recordings lose at most their last second).\n";
  else
    t << " in the engine (no strategy code was running). Please report this as a bug.\n";
  t.emit();
  // The default action again, and SA_NODEFER lets it act now: the process dies of the signal
  // (and dumps core where enabled), so its exit status says what happened.
  die_of(sig);
}

void on_process_exit() noexcept {
  const char *name = nullptr, *where = nullptr;
  if (!in_strategy(name, where)) return;  // the engine's own, normal exit
  text t;
  t << "\ncats: strategy '" << name << "' called exit() during " << where
    << "; a strategy must not end the engine. The run is aborted; its outputs are incomplete.\n";
  t.emit();
  ::_exit(exit_strategy_abort);
}

extern "C" void on_exit_hook() {
  on_process_exit();
}

std::atomic<bool> installed{false};

}  // namespace

void guard_strategies() {
  if (installed.exchange(true)) return;
  // Stack overflow in a strategy (runaway recursion) must still reach the handler; sweep workers
  // install their own.
  install_signal_stack();
  struct sigaction sa {};
  sa.sa_sigaction = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &sa, nullptr);
  // Registered last, so run first: before any static object of the engine is destroyed.
  std::atexit(on_exit_hook);
  std::at_quick_exit(on_exit_hook);
  divert_stdout();
}

}  // namespace cats::cli
