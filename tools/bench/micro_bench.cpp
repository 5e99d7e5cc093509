// Micro-benchmarks of the replay hot path. Run: build/release/bin/cats_micro_bench
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/config/config.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/fixed.hpp"
#include "cats/plugin/params.hpp"
#include "cats/replay/kline_csv.hpp"
#include "cats/replay/sample_data.hpp"

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

BENCHMARK_MAIN();
