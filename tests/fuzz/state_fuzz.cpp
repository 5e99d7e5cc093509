// Fuzz target: the strategy state readers, as a hot reload drives them. The reference plugin
// (ma_crossover.so, loaded through the real loader into a real engine) gets the input as the state
// blob of the version it replaces, through the C ABI's load_state: the SDK's state_reader and the
// plugin's own reader. It must accept the blob or refuse it with a message, never crash or read
// beyond it (run it under ASan). An accepted state must be a state: saved again, it loads into a
// fresh instance and saves to the same bytes, and the strategy goes on trading from it without a
// failure. The first byte picks the windows (fast 1-4, slow up to 6 longer), the next four are
// the state's version. Driven like kline_csv_fuzz.cpp: libFuzzer with clang, the seeded mutation
// driver in the test suite.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/events.hpp"
#include "cats/core/portfolio.hpp"
#include "cats/plugin/loader.hpp"
#include "cats/plugin/params.hpp"
#include "cats/util/logging.hpp"
#include "fuzz_common.hpp"

namespace {

using cats::fuzz::require;

const std::shared_ptr<cats::plugin_library>& reference_plugin() {
  static const std::shared_ptr<cats::plugin_library> lib = [] {
    std::string error;
    if (!cats::setup_logging("warn", {}, error))
      std::fprintf(stderr, "state_fuzz: %s\n", error.c_str());
    auto l = cats::plugin_library::load(std::string(CATS_PLUGIN_DIR) + "/ma_crossover.so", error);
    if (!l) {
      std::fprintf(stderr, "state_fuzz: %s\n", error.c_str());
      std::abort();
    }
    return l;
  }();
  return lib;
}

cats::config_value int_value(int64_t v) {
  cats::config_value c;
  c.type = cats::config_value::kind::integer;
  c.i = v;
  c.type_name = "integer";
  return c;
}

class no_orders final : public cats::order_router {
 public:
  cats_status_t submit(uint32_t, const cats_order_request_t&, uint64_t& id, std::string&) override {
    id = ++sent;
    return CATS_OK;
  }
  cats_status_t cancel(uint32_t, uint64_t, std::string&) override { return CATS_E_NOT_FOUND; }
  void cancel_all(uint32_t, std::string_view) override {}
  uint64_t sent = 0;
};

// One engine with one ma_crossover instance on one instrument.
struct sma_run {
  cats::instrument_registry instruments;
  cats::portfolio account{10'000 * cats::fixed_scale, "USDT"};
  cats::engine eng{instruments, account};
  no_orders router;
  uint32_t inst = 0;
  sma_run(int64_t fast, int64_t slow) {
    cats::instrument_info i;
    i.symbol = "BINANCE:BTCUSDT";
    i.venue = "BINANCE";
    i.name = "BTCUSDT";
    i.lot_size = 1000;
    inst = instruments.add(i);
    eng.set_router(&router);
    cats::strategy_section s;
    s.name = "sma";
    s.params = {{"fast", int_value(fast)}, {"slow", int_value(slow)}};
    std::string err;
    require(eng.add_strategy("sma", reference_plugin(), build_params(s, *reference_plugin()), err));
    eng.start();
  }
  void bar(int64_t k, int64_t close) {
    cats_bar_event_t b{};
    b.header.struct_size = sizeof b;
    b.header.type = CATS_EVENT_BAR;
    b.header.instrument_id = inst;
    b.header.exchange_ts_ns = k * 60'000'000'000;
    b.open = b.high = b.low = b.close = close;
    eng.set_time(b.header.exchange_ts_ns);
    account.mark(inst, b.close);
    eng.dispatch(b.header);
  }
  cats::strategy_slot& slot() { return *eng.strategies()[0]; }
  cats_status_t load(uint32_t version, const void* data, size_t size) {
    return slot().desc.load_state(slot().instance, version, data, size);
  }
  std::string save(uint32_t& version) {
    std::string blob;
    cats_state_sink_t sink{};
    sink.struct_size = sizeof sink;
    sink.context = &blob;
    sink.write = [](void* ctx, const void* p, uint64_t n) -> cats_status_t {
      static_cast<std::string*>(ctx)->append(static_cast<const char*>(p), n);
      return CATS_OK;
    };
    require(slot().desc.save_state(slot().instance, &sink, &version) == CATS_OK);
    return blob;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const int64_t fast = 1 + data[0] % 4, slow = fast + 1 + (data[0] / 4) % 6;
  uint32_t version = 0;
  std::memcpy(&version, data + 1, 4);
  // The blob in a block of its exact size: ASan sees any read beyond it.
  const size_t n = size - 5;
  std::unique_ptr<unsigned char[]> blob(new unsigned char[n == 0 ? 1 : n]);
  if (n != 0) std::memcpy(blob.get(), data + 5, n);

  sma_run a(fast, slow);
  if (a.load(version, blob.get(), n) != CATS_OK) {
    require(!cats::to_string(a.slot().desc.last_error(a.slot().instance)).empty());
    return 0;
  }
  // Accepted: it saves, and what it saves is a fixed point of load + save.
  uint32_t v1 = 0;
  const std::string saved = a.save(v1);
  sma_run b(fast, slow);
  require(b.load(v1, saved.data(), saved.size()) == CATS_OK);
  uint32_t v2 = 0;
  require(b.save(v2) == saved && v2 == v1);
  // And the strategy trades on from it.
  for (int64_t k = 1; k <= 4; ++k) a.bar(k, (60'000 + 37 * k) * cats::fixed_scale);
  require(a.slot().running && !a.slot().failure);
  return 0;
}

// ---- seeds
// ---------------------------------------------------------------------------------------

extern const char* const fuzz_target_name = "state";

// A real state: the windows' byte, then ma_crossover's own save after 0-40 bars of a random walk.
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  const auto windows = static_cast<uint8_t>(next(rng) % 24);
  const int64_t fast = 1 + windows % 4, slow = fast + 1 + (windows / 4) % 6;
  sma_run r(fast, slow);
  int64_t price = 60'000 * cats::fixed_scale;
  const int bars = static_cast<int>(next(rng) % 41);
  for (int k = 1; k <= bars; ++k) {
    price += static_cast<int64_t>(next(rng) % 2001) * (cats::fixed_scale / 100) -
             1000 * (cats::fixed_scale / 100);
    r.bar(k, price);
  }
  uint32_t version = 0;
  const std::string blob = r.save(version);
  std::string s(1, static_cast<char>(windows));
  s.append(reinterpret_cast<const char*>(&version), 4);
  return s + blob;
}
