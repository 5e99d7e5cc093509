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

#include "cats/replay/bar_replay.hpp"
#include "cats/replay/kline_csv.hpp"

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

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp).
extern const char* const fuzz_target_name = "kline_csv_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  std::string out;
  if (next(rng) % 2)
    out += "open_time,open,high,low,close,volume,close_time,quote_volume,count,x,y,ignore\n";
  const bool micros = next(rng) % 3 == 0;
  int64_t t = 1'640'995'200'000;
  for (int i = 0; i < 40; ++i, t += 60'000) {
    const int64_t m = micros ? 1000 : 1;
    out += std::to_string(t * m) + ",46216.93000000,46731.39,46208.3,46656.13000000,1503.33095," +
           std::to_string((t + 59'999) * m + (micros ? 999 : 0)) +
           ",69879986.3904993,38608,806.06536000,37462156.917644,0" + (i % 7 == 0 ? "\r\n" : "\n");
  }
  return out;
}
