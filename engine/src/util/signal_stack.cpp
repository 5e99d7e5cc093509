#include "cats/util/signal_stack.hpp"

#include <signal.h>

#include <cstddef>
#include <cstdlib>

namespace cats {

namespace {

// The thread's alternate stack, on the heap: a 64 KiB thread_local array would make the engine's
// static TLS too large for a library that is dlopen'ed (the Python module could not be imported:
// "cannot allocate memory in static TLS block"). At thread exit the stack is switched off before
// it is freed, so no signal can run on freed memory.
struct alt_stack {
  void* memory = nullptr;
  alt_stack() = default;
  alt_stack(const alt_stack&) = delete;
  alt_stack& operator=(const alt_stack&) = delete;
  ~alt_stack() {
    if (memory == nullptr) return;
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    ::sigaltstack(&off, nullptr);
    std::free(memory);
  }
};

}  // namespace

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
  thread_local alt_stack stack;
  if (stack.memory == nullptr) stack.memory = std::aligned_alloc(16, size);
  if (stack.memory == nullptr) return false;
  stack_t ss{};
  ss.ss_sp = stack.memory;
  ss.ss_size = size;
  installed = ::sigaltstack(&ss, nullptr) == 0;
  return installed;
}

}  // namespace cats
