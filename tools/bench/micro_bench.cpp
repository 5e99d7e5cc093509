// Micro-benchmarks of the replay hot path. Run: build/release/bin/cats_micro_bench
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#include "cats/book/order_book.hpp"
#include "cats/config/config.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/fixed.hpp"
#include "cats/exec/venue_broker.hpp"
#include "cats/net/signing.hpp"
#include "cats/plugin/params.hpp"
#include "cats/replay/kline_csv.hpp"
#include "cats/replay/sample_data.hpp"
#include "cats/util/crc32c.hpp"
#include "cats/venues/binance/orders.hpp"

namespace {

void BM_ParseFixed(benchmark::State& state) {
  const std::string_view values[] = {"46216.93000000", "0.00123000", "69879986.39049930", "38608"};
  int64_t sum = 0;
  for (auto _ : state) {
    for (std::string_view v : values) {
      int64_t out = 0;
      cats::parse_fixed(v, out);
      sum += out;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * 4);
}
BENCHMARK(BM_ParseFixed);

// The CRC-32C of one 64 KiB store block: the library (three lanes side by side) against one
// chain of crc32 instructions (what it did before) and the portable table.
std::vector<unsigned char> crc_block() {
  std::vector<unsigned char> b(65536);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>(i * 131 + 7);
  return b;
}

void BM_Crc32cBlock(benchmark::State& state) {
  const auto b = crc_block();
  for (auto _ : state) benchmark::DoNotOptimize(cats::crc32c(b.data(), b.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(b.size()));
}
BENCHMARK(BM_Crc32cBlock);

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) void BM_Crc32cBlockOneChain(benchmark::State& state) {
  const auto b = crc_block();
  for (auto _ : state) {
    uint64_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < b.size(); i += 8) {
      uint64_t v;
      std::memcpy(&v, b.data() + i, 8);
      c = _mm_crc32_u64(c, v);
    }
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(b.size()));
}
BENCHMARK(BM_Crc32cBlockOneChain);
#endif

void BM_Crc32cBlockTable(benchmark::State& state) {
  const auto b = crc_block();
  for (auto _ : state) benchmark::DoNotOptimize(cats::crc32c_portable(b.data(), b.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(b.size()));
}
BENCHMARK(BM_Crc32cBlockTable);

// One depth message with `range(0)` levels a side, worst price first (each level lands at the
// front of its side): taken as one message (sort + merge) or level by level (binary search and
// insert, what a message did before).
std::vector<cats::book_level> worst_first(int64_t n, bool bids) {
  std::vector<cats::book_level> out;
  for (int64_t i = 0; i < n; ++i)
    out.push_back({bids ? (1 + i) * cats::fixed_scale : (1'000'000 - i) * cats::fixed_scale, 1});
  return out;
}

void BM_BookMessageMerged(benchmark::State& state) {
  const auto bids = worst_first(state.range(0), true), asks = worst_first(state.range(0), false);
  for (auto _ : state) {
    cats::order_book b;
    b.apply(bids, asks);
    benchmark::DoNotOptimize(b.bids().data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_BookMessageMerged)->Arg(20'000)->Arg(200'000)->Unit(benchmark::kMillisecond);

void BM_BookMessageLevelByLevel(benchmark::State& state) {
  const auto bids = worst_first(state.range(0), true), asks = worst_first(state.range(0), false);
  for (auto _ : state) {
    cats::order_book b;
    for (size_t i = 0; i < bids.size(); ++i) b.apply({&bids[i], 1}, {&asks[i], 1});
    benchmark::DoNotOptimize(b.bids().data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * 2);
}
BENCHMARK(BM_BookMessageLevelByLevel)->Arg(20'000)->Arg(200'000)->Unit(benchmark::kMillisecond);

// Rows per second of the kline reader on a cached file.
void BM_KlineReader(benchmark::State& state) {
  const auto file = std::filesystem::temp_directory_path() / "cats-micro-bench.csv";
  cats::sample_options o;
  o.bars = 200'000;
  cats::write_sample_klines(file, o);
  int64_t sum = 0;
  uint64_t rows = 0;
  for (auto _ : state) {
    cats::kline_csv_reader r(file.string());
    r.open();
    cats::kline_row row;
    while (r.next(row) == cats::kline_csv_reader::status::row) {
      sum += row.close;
      ++rows;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  std::filesystem::remove(file);
}
BENCHMARK(BM_KlineReader)->Unit(benchmark::kMillisecond);

// One bar through the engine into the reference plugin (SMA 10/30), no orders.
void BM_DispatchBarToReferencePlugin(benchmark::State& state) {
  cats::instrument_registry instruments;
  cats::instrument_info i;
  i.symbol = "BINANCE:BTCUSDT";
  i.venue = "BINANCE";
  i.name = "BTCUSDT";
  const uint32_t id = instruments.add(i);
  cats::portfolio account(10'000 * cats::fixed_scale, "USDT");
  cats::engine eng(instruments, account);
  std::string err;
  auto lib = cats::plugin_library::load(std::string(CATS_PLUGIN_DIR) + "/ma_crossover.so", err);
  if (!lib) {
    state.SkipWithError(err.c_str());
    return;
  }
  cats::strategy_section s;
  s.name = "sma";
  eng.add_strategy("sma", lib, cats::build_params(s, *lib), err);
  eng.start();
  cats_bar_event_t b{};
  b.header.struct_size = sizeof b;
  b.header.type = CATS_EVENT_BAR;
  b.header.instrument_id = id;
  b.close = 100 * cats::fixed_scale;  // constant price: no crosses, no orders
  for (auto _ : state) {
    b.header.exchange_ts_ns += 60'000'000'000;
    eng.dispatch(b.header);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DispatchBarToReferencePlugin);

}  // namespace

// The live broker's own work per order, on the engine thread, with a gateway that only signs the
// query string (what the Binance gateway does before handing the request to its network thread):
// checks, rounding, the client id, the journal line (written to a file, not synced) and HMAC.
class signing_gateway final : public cats::order_gateway {
 public:
  signing_gateway() {
    std::string error;
    signer_ = cats::net::signer::make(cats::net::signer::kind::hmac_hex, "bench-secret", error);
  }
  void start(report_sink sink) override {
    sink_ = std::move(sink);
    st_.stream_up = true;
  }
  void stop() override {}
  void place(const cats::venue_order& o, uint64_t) override {
    benchmark::DoNotOptimize(
        signer_->sign(cats::binance_order_params(o) + "&recvWindow=5000&timestamp=1764900000000"));
  }
  void cancel(const std::string&, const std::string&, uint64_t) override {}
  void replace(const std::string&, const cats::venue_order&, uint64_t) override {}
  void query(const std::string&, const std::string&, uint64_t) override {}
  void fetch_fills(const std::string&, const std::string&, const std::string&, uint64_t) override {}
  void open_orders(const std::string& symbol, uint64_t tag) override {
    cats::order_report end;  // an empty listing
    end.listing = true;
    end.symbol = symbol;
    end.request_tag = tag;
    sink_(std::move(end));
  }
  std::vector<cats::venue_balance> balances(std::string&) override { return {}; }
  const cats::gateway_stats& stats() const noexcept override { return st_; }
  const char* name() const noexcept override { return "bench"; }

 private:
  report_sink sink_;
  std::unique_ptr<cats::net::signer> signer_;
  cats::gateway_stats st_;
};

void BM_LiveBrokerSubmit(benchmark::State& state) {
  cats::instrument_registry instruments;
  cats::portfolio account{1'000'000 * cats::fixed_scale, "USDT"};
  cats::engine eng{instruments, account};
  cats::instrument_info i;
  i.symbol = "BINANCE:BTCUSDT";
  i.venue = "BINANCE";
  i.name = "BTCUSDT";
  i.tick_size = 1'000'000;
  i.lot_size = 1'000;
  const uint32_t inst = instruments.add(i);
  signing_gateway gw;
  cats::venue_broker_options o;
  const auto dir = std::filesystem::temp_directory_path() / "cats-micro-bench-journal";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  o.journal_path = dir / "orders.journal";
  o.fsync = cats::journal_fsync::never;
  cats::venue_broker broker(eng, gw, o);
  broker.map_instrument(inst, "BTCUSDT");
  std::string error;
  if (!broker.start(1000, error)) state.SkipWithError(error.c_str());
  cats_order_request_t r{};
  r.struct_size = sizeof r;
  r.instrument_id = inst;
  r.side = CATS_SIDE_BUY;
  r.order_type = CATS_ORDER_LIMIT;
  r.time_in_force = CATS_TIF_IOC;
  r.quantity = 100'000;
  r.limit_price = 5'999'001'000'000;
  for (auto _ : state) {
    uint64_t id = 0;
    benchmark::DoNotOptimize(broker.submit(0, r, id, error));
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_LiveBrokerSubmit);

BENCHMARK_MAIN();
