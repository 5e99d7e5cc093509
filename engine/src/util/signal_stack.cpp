#include "cats/util/signal_stack.hpp"

#include <signal.h>

#include <cstddef>

namespace cats {

bool install_signal_stack() noexcept {
  constexpr size_t size = 64 * 1024;
  thread_local bool installed = false;
  if (installed) return true;
  // A stack already there (a sanitizer runtime gives every thread one, and frees it itself when
  // the thread ends) is kept: replacing it would make that runtime free ours.
  stack_t old{};
  if (::sigaltstack(nullptr, &old) == 0 && (old.ss_flags & SS_DISABLE) == 0) {
    installed = true;
    return true;
  }
  // thread_local storage: freed with the thread, never while the thread can still take a signal.
  alignas(16) thread_local char stack[size];
  stack_t ss{};
  ss.ss_sp = stack;
  ss.ss_size = size;
  installed = ::sigaltstack(&ss, nullptr) == 0;
  return installed;
}

}  // namespace cats
