// Fuzz target: any bytes fed to the trades and aggTrades readers must give rows that keep the
// reader's promises or a clear error, never a crash, a hang or an out-of-bounds read (run it under
// ASan). Driven like kline_csv_fuzz.cpp: libFuzzer with clang, the seeded mutation driver in the
// test suite.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cats/replay/trade_csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("trades", 0);
  if (fd < 0) return 0;
  for (size_t off = 0; off < size;) {
    const ssize_t n = write(fd, data + off, size - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  for (const auto kind : {cats::trade_file_kind::trades, cats::trade_file_kind::agg_trades}) {
    for (const bool skip : {false, true}) {
      cats::kline_reader_options o;
      o.skip_malformed = skip;
      o.buffer_size = 4096;  // small, so that refills fall inside rows
      cats::trade_csv_reader r(path, kind, o);
      if (!r.open()) {
        if (r.error().empty()) __builtin_trap();  // a failure must say why
        continue;
      }
      cats::trade_row row;
      bool first = true;
      int64_t last_id = 0, last_time = 0;
      cats::trade_csv_reader::status st;
      while ((st = r.next(row)) == cats::trade_csv_reader::status::row) {
        if (row.price <= 0 || row.quantity <= 0 || row.quote_quantity < 0 || row.time_ns < 0 ||
            row.first_trade_id > row.last_trade_id)
          __builtin_trap();
        if (!first && (row.id <= last_id || row.time_ns < last_time)) __builtin_trap();
        first = false;
        last_id = row.id;
        last_time = row.time_ns;
      }
      if (st == cats::trade_csv_reader::status::error && r.error().empty()) __builtin_trap();
    }
  }
  close(fd);
  return 0;
}

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp): a spot or
// futures trades or aggTrades file, with or without a header, in ms or µs.
extern const char* const fuzz_target_name = "trade_csv_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  const bool agg = next(rng) % 2;
  const bool spot = next(rng) % 2;
  const bool micros = next(rng) % 3 == 0;
  std::string out;
  if (next(rng) % 2) {
    out += agg ? "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
                 "is_buyer_maker"
               : "id,price,qty,quote_qty,time,is_buyer_maker";
    out += spot ? ",is_best_match\n" : "\n";
  }
  int64_t t = 1'723'161'255'342;
  for (int i = 0; i < 40; ++i, t += static_cast<int64_t>(next(rng) % 3)) {
    const std::string time = std::to_string(micros ? t * 1000 + i : t);
    const std::string maker = next(rng) % 2 ? "True" : "false";
    if (agg)
      out += std::to_string(1'700'000'000 + i) + ",61837.63000000,0.06809," +
             std::to_string(3'735'683'259 + 3 * i) + "," + std::to_string(3'735'683'261 + 3 * i) +
             "," + time + "," + maker;
    else
      out += std::to_string(3'735'683'259 + i) + ",61837.63000000,0.02000000,1236.7526," + time +
             "," + maker;
    out += spot ? ",True" : "";
    out += i % 7 == 0 ? "\r\n" : "\n";
  }
  return out;
}
