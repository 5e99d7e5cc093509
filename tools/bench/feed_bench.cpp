// Binance parser throughput against its ceiling: a bare simdjson On-Demand parse of the same
// buffer that extracts every field into a POD (prices through cats::parse_fixed), written the
// simplest correct way. Both run over the same >= 1 M messages in one process, so the ratio of
// their items/s is what the engine pays for normalising (dispatch, symbol lookup, events, sink).
//
// Run: build/release/bin/cats_feed_bench  (reads ../shared/data/messages; set CATS_SHARED_DATA
// to the folder that holds messages/ if it lives elsewhere).
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/venues/binance/parser.hpp"

namespace {

namespace fs = std::filesystem;
namespace od = simdjson::ondemand;

constexpr size_t corpus_messages = size_t{1} << 20;  // 1,048,576

fs::path shared_data() {
  if (const char* env = std::getenv("CATS_SHARED_DATA"); env != nullptr && *env != '\0') {
    return env;
  }
  return CATS_SHARED_DATA;
}

std::string read_message(const std::string& name) {
  std::ifstream in(shared_data() / "messages" / "binance" / name, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

/// A depthUpdate with 20 bids and 20 asks, in Binance's exact layout.
std::string synthetic_depth_20x20() {
  std::string s = R"({"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,)"
                  R"("s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[)";
  char level[64];
  for (int i = 0; i < 20; ++i) {
    std::snprintf(level, sizeof level, "%s[\"%d.%02d000000\",\"%d.%05d000\"]", i ? "," : "",
                  61837 - i / 7, 63 - (i * 3) % 60, i % 4, (i * 7919) % 100000);
    s += level;
  }
  s += R"(],"a":[)";
  for (int i = 0; i < 20; ++i) {
    std::snprintf(level, sizeof level, "%s[\"%d.%02d000000\",\"%d.%05d000\"]", i ? "," : "",
                  61837 + 1 + i / 7, (i * 3) % 60, i % 3, (i * 104729) % 100000);
    s += level;
  }
  s += "]}}";
  return s;
}

/// Messages laid end to end (newline-separated) with simdjson's padding after the last one.
struct corpus {
  std::string name;
  std::string buf;
  std::vector<std::pair<size_t, size_t>> spans;  ///< offset, size
  size_t bytes = 0;
};

enum class kind { trade, depth_real, depth_20x20 };

/// The corpus of one kind; only one is kept at a time (the 20x20 one is about 1.4 GB).
const corpus* get_corpus(kind k) {
  static std::unique_ptr<corpus> current;
  static int current_kind = -1;
  if (current_kind == static_cast<int>(k)) return current.get();
  current.reset();
  current_kind = static_cast<int>(k);
  std::string msg;
  switch (k) {
    case kind::trade:
      msg = read_message("spot_trade_combined_BTCUSDT.json");
      break;
    case kind::depth_real:
      msg = read_message("spot_depthUpdate_combined_BTCUSDT.json");
      break;
    case kind::depth_20x20:
      msg = synthetic_depth_20x20();
      break;
  }
  if (msg.empty()) return nullptr;
  auto c = std::make_unique<corpus>();
  c->buf.reserve((msg.size() + 1) * corpus_messages + simdjson::SIMDJSON_PADDING);
  c->spans.reserve(corpus_messages);
  for (size_t i = 0; i < corpus_messages; ++i) {
    c->spans.emplace_back(c->buf.size(), msg.size());
    c->buf += msg;
    c->buf += '\n';
  }
  c->bytes = msg.size() * corpus_messages;
  c->buf.append(simdjson::SIMDJSON_PADDING, ' ');
  current = std::move(c);
  return current.get();
}

const char* missing_data_message() {
  static const std::string text = "shared market data is missing (" +
                                  (shared_data() / "messages" / "binance").string() +
                                  "); set CATS_SHARED_DATA to the folder holding messages/";
  return text.c_str();
}

// ---- the ceiling: the simplest correct On-Demand code, every field into a POD -------------------

struct trade_pod {
  std::string_view stream;
  std::string_view type;
  int64_t event_time = 0;
  char symbol[16] = {};
  uint64_t trade_id = 0;
  int64_t price = 0;
  int64_t quantity = 0;
  int64_t trade_time = 0;
  bool buyer_is_maker = false;
  bool best_match = false;
};

bool ceiling_trade(od::parser& parser, const char* data, size_t size, trade_pod& out) {
  od::document doc;
  if (parser.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc)) return false;
  if (doc["stream"].get_string().get(out.stream)) return false;
  od::object d;
  if (doc["data"].get_object().get(d)) return false;
  std::string_view symbol, price, quantity;
  if (d["e"].get_string().get(out.type)) return false;
  if (d["E"].get_int64().get(out.event_time)) return false;
  if (d["s"].get_string().get(symbol) || symbol.size() >= sizeof out.symbol) return false;
  std::memcpy(out.symbol, symbol.data(), symbol.size());
  if (d["t"].get_uint64().get(out.trade_id)) return false;
  if (d["p"].get_string().get(price)) return false;
  if (cats::parse_fixed(price, out.price) != cats::parse_error::ok) return false;
  if (d["q"].get_string().get(quantity)) return false;
  if (cats::parse_fixed(quantity, out.quantity) != cats::parse_error::ok) return false;
  if (d["T"].get_int64().get(out.trade_time)) return false;
  if (d["m"].get_bool().get(out.buyer_is_maker)) return false;
  if (d["M"].get_bool().get(out.best_match)) return false;
  return true;
}

struct level_pod {
  int64_t price;
  int64_t quantity;
};

struct depth_pod {
  std::string_view stream;
  std::string_view type;
  int64_t event_time = 0;
  char symbol[16] = {};
  uint64_t first_id = 0;
  uint64_t last_id = 0;
  std::vector<level_pod> bids;  // reused: capacity stays
  std::vector<level_pod> asks;
};

bool ceiling_levels(od::value v, std::vector<level_pod>& out) {
  out.clear();
  od::array levels;
  if (v.get_array().get(levels)) return false;
  for (auto level : levels) {
    od::array pair;
    if (level.get_array().get(pair)) return false;
    std::string_view text[2];
    int n = 0;
    for (auto element : pair) {
      if (n < 2 && element.get_string().get(text[n])) return false;
      ++n;
    }
    level_pod l{};
    if (n < 2 || cats::parse_fixed(text[0], l.price) != cats::parse_error::ok) return false;
    if (cats::parse_fixed(text[1], l.quantity) != cats::parse_error::ok) return false;
    out.push_back(l);
  }
  return true;
}

bool ceiling_depth(od::parser& parser, const char* data, size_t size, depth_pod& out) {
  od::document doc;
  if (parser.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc)) return false;
  if (doc["stream"].get_string().get(out.stream)) return false;
  od::object d;
  if (doc["data"].get_object().get(d)) return false;
  std::string_view symbol;
  if (d["e"].get_string().get(out.type)) return false;
  if (d["E"].get_int64().get(out.event_time)) return false;
  if (d["s"].get_string().get(symbol) || symbol.size() >= sizeof out.symbol) return false;
  std::memcpy(out.symbol, symbol.data(), symbol.size());
  if (d["U"].get_uint64().get(out.first_id)) return false;
  if (d["u"].get_uint64().get(out.last_id)) return false;
  od::value b, a;
  if (d["b"].get(b) || !ceiling_levels(b, out.bids)) return false;
  if (d["a"].get(a) || !ceiling_levels(a, out.asks)) return false;
  return true;
}

// ---- ours ---------------------------------------------------------------------------------------

struct null_sink final : cats::feed_sink {
  int64_t sum = 0;
  void on_trade(const cats_trade_event_t& e) override { sum += e.price; }
  void on_quote(const cats_quote_event_t& e) override { sum += e.bid_price; }
  void on_bar(const cats_bar_event_t& e) override { sum += e.close; }
  // Leaves the update alone, so the parser keeps reusing its vectors (as the ceiling does).
  void on_book(cats::book_update&& u) override { sum += static_cast<int64_t>(u.bids.size()); }
};

const cats::symbol_map& symbols() {
  static const cats::symbol_map m = {{"BTCUSDT", 1}, {"ETHUSDT", 2}, {"BNBUSDT", 3}};
  return m;
}

void finish(benchmark::State& state, const corpus& c) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(c.spans.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.bytes));
}

void BM_ceiling_trade(benchmark::State& state) {
  const corpus* c = get_corpus(kind::trade);
  if (c == nullptr) return state.SkipWithError(missing_data_message());
  od::parser parser;
  trade_pod pod;
  int64_t sum = 0;
  for (auto _ : state) {
    for (const auto& [off, size] : c->spans) {
      if (!ceiling_trade(parser, c->buf.data() + off, size, pod)) {
        return state.SkipWithError("the ceiling failed to parse a message");
      }
      sum += pod.price;
    }
  }
  benchmark::DoNotOptimize(sum);
  finish(state, *c);
}

void BM_ours_trade(benchmark::State& state) {
  const corpus* c = get_corpus(kind::trade);
  if (c == nullptr) return state.SkipWithError(missing_data_message());
  cats::binance::parser parser(symbols());
  null_sink sink;
  for (auto _ : state) {
    for (const auto& [off, size] : c->spans) {
      if (parser.parse(c->buf.data() + off, size, 1, sink) != cats::parse_result::ok) {
        return state.SkipWithError(parser.last_error().c_str());
      }
    }
  }
  benchmark::DoNotOptimize(sink.sum);
  finish(state, *c);
}

void ceiling_depth_bench(benchmark::State& state, kind k) {
  const corpus* c = get_corpus(k);
  if (c == nullptr) return state.SkipWithError(missing_data_message());
  od::parser parser;
  depth_pod pod;
  int64_t sum = 0;
  for (auto _ : state) {
    for (const auto& [off, size] : c->spans) {
      if (!ceiling_depth(parser, c->buf.data() + off, size, pod)) {
        return state.SkipWithError("the ceiling failed to parse a message");
      }
      sum += static_cast<int64_t>(pod.bids.size());
    }
  }
  benchmark::DoNotOptimize(sum);
  finish(state, *c);
}

void ours_depth_bench(benchmark::State& state, kind k) {
  const corpus* c = get_corpus(k);
  if (c == nullptr) return state.SkipWithError(missing_data_message());
  cats::binance::parser parser(symbols());
  null_sink sink;
  for (auto _ : state) {
    for (const auto& [off, size] : c->spans) {
      if (parser.parse(c->buf.data() + off, size, 1, sink) != cats::parse_result::ok) {
        return state.SkipWithError(parser.last_error().c_str());
      }
    }
  }
  benchmark::DoNotOptimize(sink.sum);
  finish(state, *c);
}

void BM_ceiling_depth_real(benchmark::State& state) {
  ceiling_depth_bench(state, kind::depth_real);
}
void BM_ours_depth_real(benchmark::State& state) {
  ours_depth_bench(state, kind::depth_real);
}
void BM_ceiling_depth_20x20(benchmark::State& state) {
  ceiling_depth_bench(state, kind::depth_20x20);
}
void BM_ours_depth_20x20(benchmark::State& state) {
  ours_depth_bench(state, kind::depth_20x20);
}

// Pairs run back to back on the same corpus. Rates are per CPU second (the default), which a
// shared machine disturbs less than wall time; on an idle machine the two agree.
BENCHMARK(BM_ceiling_trade)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ours_trade)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ceiling_depth_real)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ours_depth_real)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ceiling_depth_20x20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ours_depth_20x20)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (!fs::exists(shared_data() / "messages" / "binance")) {
    std::fprintf(stderr, "cats_feed_bench: %s; every benchmark is skipped.\n",
                 missing_data_message());
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
