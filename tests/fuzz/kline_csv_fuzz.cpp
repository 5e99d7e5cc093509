// Fuzz target: any bytes fed to the kline reader and the replay must give rows or a clear error,
// never a crash, a hang or an out-of-bounds read (run it under ASan).
//
// With clang: build with -fsanitize=fuzzer,address (CATS_BUILD_FUZZERS=ON) for libFuzzer. The
// test suite links tests/fuzz/mutation_driver.cpp instead, which runs a fixed, seeded set of
// mutations of real-looking rows on every compiler.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "cats/backtest/bar_replay.hpp"
#include "cats/backtest/kline_csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("kline", 0);
  if (fd < 0) return 0;
  for (size_t off = 0; off < size;) {
    const ssize_t n = write(fd, data + off, size - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  for (const bool skip : {false, true}) {
    cats::kline_reader_options o;
    o.skip_malformed = skip;
    o.buffer_size = 4096;  // small, so that refills fall inside rows
    cats::bar_replay replay({{path, 1}}, o);
    if (replay.open()) {
      cats_bar_event_t bar{};
      int64_t last_close = INT64_MIN;
      while (replay.next(bar) == cats::bar_replay::status::bar) {
        // What the replay promises for every bar it delivers.
        if (bar.low > bar.open || bar.low > bar.close || bar.high < bar.open ||
            bar.high < bar.close || bar.low <= 0 || bar.header.exchange_ts_ns <= last_close)
          __builtin_trap();
        last_close = bar.header.exchange_ts_ns;
      }
    } else if (replay.error().empty()) {
      __builtin_trap();  // a failure must say why
    }
  }
  close(fd);
  return 0;
}
