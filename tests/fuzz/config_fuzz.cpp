// Fuzz target: any bytes loaded as a config file (for a backtest, a live run and a recording), and
// the input's first line given as a --set override to a fixed valid config, must give a config
// that keeps the loader's checks or a cats::config_error with a message, never a crash, a hang or
// another exception (run it under ASan and UBSan). An override applied twice must do what it does
// once. Driven like kline_csv_fuzz.cpp: libFuzzer with clang, the seeded mutation driver in the
// test suite.
//
// The files live in a folder of their own under /tmp (removed at exit): relative paths in a config
// resolve against its folder, and the loader reads one file a config names (venue_rules).
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/fixed.hpp"
#include "fuzz_common.hpp"

namespace {

namespace fs = std::filesystem;
using cats::config_purpose;

bool write_file(const fs::path& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  return std::fclose(f) == 0 && ok;
}

// A config valid for every purpose: the one the overrides are applied to.
constexpr std::string_view base_config = R"([engine]
log_level = "info"

[data]
symbol = "BINANCE:BTCUSDT"
files = ["data/BTCUSDT-1m-2024-01.csv", "data/BTCUSDT-1m-2024-02.csv"]
format = "binance_klines"
tick_size = "0.01"
lot_size = "0.00001"
min_notional = "5"

[backtest]
initial_cash = 10000
fill = "next_open"
fee_bps = 10
slippage_bps = 1
latency = "uniform:1ms:5ms"
start = 2024-01-01
end = "2024-03-01"

[live]
broker = "paper"
status_interval = 10

[record]
dir = "records"
prefix = "cats"

[[instrument]]
symbol = "BINANCE:BTCUSDT"
channels = ["trades", "quotes", "book"]

[[instrument]]
symbol = "OKX:BTC-USDT"
channels = ["trades", "book"]
tick_size = "0.1"

[risk]
max_position = 0.5
max_order_notional = 5000
order_rate = 10

[risk.strategy.sma]
max_open_orders = 4

[[strategy]]
name = "sma"
plugin = "ma_crossover"
[strategy.params]
symbol = "BINANCE:BTCUSDT"
fast = 10
slow = 30
fraction = 0.5
allow_short = false
)";

// What `cats live` writes and [data] venue_rules reads.
constexpr std::string_view venue_rules =
    R"({"venue": "binance", "symbols": {"BTCUSDT": {"tick_size": "0.01", "lot_size": "0.00001",)"
    R"( "min_quantity": "0.00001", "min_notional": "5"}}})";

// The folder, made on first use with the base config and a venue rules file in it.
const fs::path& work_dir() {
  return cats::fuzz::work_dir("cats-config-fuzz", [](const fs::path& dir) {
    return write_file(dir / "base.toml", base_config) &&
           write_file(dir / "venue_rules.binance.json", venue_rules);
  });
}

// The loader reads the file [data] venue_rules names to its end: a config naming /dev/zero or
// /dev/stdin would hang it, which is not what this target looks for. A value or key spelled with
// escapes or line continuations could hide such a name, so those inputs are left out too.
bool may_name_a_device(std::string_view in) {
  auto has = [&](std::string_view s) { return in.find(s) != std::string_view::npos; };
  if (has("\\u") || has("\\U")) return true;
  for (size_t at = in.find('\\'); at != std::string_view::npos; at = in.find('\\', at + 1)) {
    size_t k = at + 1;
    while (k < in.size() && (in[k] == ' ' || in[k] == '\t')) ++k;
    if (k < in.size() && (in[k] == '\n' || in[k] == '\r')) return true;
  }
  return has("venue_rules") && (has("dev") || has("proc") || has("sys"));
}

// What load_config() guarantees of a config it returns (engine/src/config/*.cpp).
void check_config(const cats::run_config& c, config_purpose purpose) {
  // config.cpp, load_config: only a recording may have no [[strategy]].
  if (purpose != config_purpose::record && c.strategies.empty()) __builtin_trap();
  // config.cpp, load_strategy: names are non-empty, without '.', ' ' or '=', and unique.
  for (size_t i = 0; i < c.strategies.size(); ++i) {
    const std::string& name = c.strategies[i].name;
    if (name.empty() || name.find_first_of(". =") != std::string::npos) __builtin_trap();
    for (size_t j = 0; j < i; ++j)
      if (c.strategies[j].name == name) __builtin_trap();
  }
  // config.cpp, load_data / load_feed: a backtest has a feed; each has files and VENUE:SYMBOL.
  if (purpose == config_purpose::backtest && c.data.feeds.empty()) __builtin_trap();
  for (const cats::feed_section& f : c.data.feeds)
    if (f.files.empty() || f.symbol.find(':') == std::string::npos) __builtin_trap();
  // config.cpp, load_backtest / load_costs: positive cash, costs in range, buying power capped,
  // end after start.
  const cats::backtest_section& b = c.backtest;
  for (const double bps : {b.fee_bps, b.maker_fee_bps, b.slippage_bps})
    if (!(bps >= 0 && bps <= 1000)) __builtin_trap();
  if (b.initial_cash <= 0 || !(b.leverage > 0 && b.leverage <= 100) ||
      cats::fixed_to_double(b.initial_cash) * b.leverage > 1e10)
    __builtin_trap();
  if (b.start_ns && b.end_ns && *b.end_ns <= *b.start_ns) __builtin_trap();
  // sim_settings.cpp, parse_latency: durations in [0, 1 h]; uniform high >= low.
  const cats::latency_model& lat = b.sim.latency;
  constexpr int64_t hour = int64_t{3600} * 1'000'000'000;
  if (lat.a_ns < 0 || lat.a_ns > hour || lat.b_ns < 0 || lat.b_ns > hour ||
      (lat.type == cats::latency_model::kind::uniform && lat.b_ns < lat.a_ns))
    __builtin_trap();
  // live_sections.cpp: live and record runs have instruments on BINANCE or OKX, each once, one
  // [venues] entry per venue used, and [live] integers in their ranges.
  if (purpose != config_purpose::backtest) {
    if (c.instruments.empty()) __builtin_trap();
    size_t venues_used = 0;
    for (size_t i = 0; i < c.instruments.size(); ++i) {
      const cats::instrument_section& in = c.instruments[i];
      if ((in.venue != "BINANCE" && in.venue != "OKX") || in.symbol != in.venue + ":" + in.name)
        __builtin_trap();
      bool first_of_venue = true;
      for (size_t j = 0; j < i; ++j) {
        if (c.instruments[j].symbol == in.symbol) __builtin_trap();
        first_of_venue = first_of_venue && c.instruments[j].venue != in.venue;
      }
      venues_used += first_of_venue ? 1 : 0;
    }
    if (c.venues.size() != venues_used) __builtin_trap();
    const cats::live_section& l = c.live;
    if (l.book_depth < 1 || l.book_depth > 1000 || l.queue_capacity < 1024 ||
        l.queue_capacity > 16777216 || l.spin_us < 0 || l.spin_us > 100000)
      __builtin_trap();
  }
  // live_sections.cpp, load_record: a recording has a folder; the prefix is a file name.
  if (purpose == config_purpose::record && c.record.dir.empty()) __builtin_trap();
  if (c.record.prefix.empty() || c.record.prefix.find_first_of("/\\") != std::string::npos)
    __builtin_trap();
  // risk_section.cpp, load_limits: a rate comes with a burst and a burst with a rate; fractions
  // in [0, 1]; [risk.strategy.X] names a strategy of the config.
  std::vector<const cats::risk_limits*> sets = {&c.risk.limits};
  for (const auto& [name, limits] : c.risk.instruments) sets.push_back(&limits);
  for (const auto& [name, limits] : c.risk.strategies) {
    sets.push_back(&limits);
    bool known = c.strategies.empty();
    for (const cats::strategy_section& st : c.strategies) known = known || st.name == name;
    if (!known) __builtin_trap();
  }
  for (const cats::risk_limits* l : sets) {
    if ((l->order_rate_milli > 0) != (l->order_burst > 0) ||
        (l->cancel_rate_milli > 0) != (l->cancel_burst > 0) || l->price_band < 0 ||
        l->price_band > cats::fixed_scale)
      __builtin_trap();
  }
  if (c.risk.max_drawdown < 0 || c.risk.max_drawdown > cats::fixed_scale) __builtin_trap();
}

// A config's outcome in a few words, to compare two loads: "error" or what was read.
std::string load(const fs::path& file, const std::vector<std::string>& overrides,
                 config_purpose purpose) {
  try {
    const cats::run_config c = cats::load_config(file, overrides, purpose);
    check_config(c, purpose);
    std::string out = cats::describe_routes(c);
    for (const cats::strategy_section& st : c.strategies) {
      out += ";" + st.name + "=" + st.plugin;
      for (const auto& [key, value] : st.params) out += "," + key + ":" + value.type_name;
    }
    out += ";" + std::to_string(c.backtest.initial_cash) + "," +
           std::to_string(c.backtest.fee_bps) + "," + std::to_string(c.data.feeds.size()) + "," +
           std::to_string(c.risk.limits.max_position) + "," + c.engine.log_level;
    return out;
  } catch (const cats::config_error& e) {
    if (e.what()[0] == '\0') __builtin_trap();  // a refusal says why
    return "error";
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const fs::path& dir = work_dir();
  if (dir.empty() || may_name_a_device(in)) return 0;
  // The whole input as a config file.
  const fs::path file = dir / "fuzz.toml";
  if (!write_file(file, in)) return 0;
  for (const auto p : {config_purpose::backtest, config_purpose::live, config_purpose::record})
    load(file, {}, p);
  // Its first line as --set, on a config that loads for every purpose.
  const std::string line(in.substr(0, in.find('\n')));
  const fs::path base = dir / "base.toml";
  const std::string once = load(base, {line}, config_purpose::backtest);
  // apply_override puts the value in (creating the tables it needs): doing it again changes
  // nothing, so the config is the same or the refusal is.
  if (load(base, {line, line}, config_purpose::backtest) != once) __builtin_trap();
  load(base, {line}, config_purpose::live);
  load(base, {line}, config_purpose::record);
  return 0;
}

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp): a backtest,
// paper-trading or recording config like those in config/. Its first line is a dotted key that
// reads the same as TOML and as a --set override ("backtest.fee_bps = 5"), with the rest of that
// table in dotted keys before the first [table].
extern const char* const fuzz_target_name = "config_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  auto pick = [&](std::initializer_list<const char*> xs) -> std::string {
    return *(xs.begin() + next(rng) % xs.size());
  };
  auto chance = [&](unsigned n) { return next(rng) % n == 0; };
  struct table {
    std::string header;  // "[backtest]", "[[strategy]]"
    std::vector<std::string> lines;
    bool dottable;  // a plain top-level [name] that may be written as name.key = ... instead
  };
  std::vector<table> tables;
  const uint64_t kind = next(rng) % 3;  // backtest, paper trading, recording
  const bool binance_only = chance(2);

  tables.push_back(
      {"[engine]", {"log_level = " + pick({"\"info\"", "\"debug\"", "\"warn\""})}, true});
  if (chance(3)) tables.back().lines.push_back("callback_timeout = " + pick({"0", "1", "0.25"}));

  if (kind == 0 || chance(4)) {
    table d{"[data]", {}, true};
    const bool trades = chance(3);
    const bool rules = !trades && chance(3);
    d.lines.push_back("symbol = " + (rules ? std::string("\"BINANCE:BTCUSDT\"")
                                           : pick({"\"BINANCE:BTCUSDT\"", "\"BINANCE:ETHUSDT\"",
                                                   "\"BTCUSDT\"", "\"OKX:BTC-USDT\""})));
    d.lines.push_back(chance(2) ? "files = [\"data/BTCUSDT-1m-2024-01.csv\", "
                                  "\"data/BTCUSDT-1m-2024-02.zip\"]"
                                : "files = \"../data/sample/BTCUSDT-1m-2024.csv\"");
    if (trades) {
      d.lines.push_back("format = " + pick({"\"binance_trades\"", "\"binance_agg_trades\""}));
      if (chance(2)) d.lines.push_back("bars = " + pick({"\"1m\"", "\"15m\"", "\"1h\""}));
    } else if (chance(2)) {
      d.lines.push_back("format = " + pick({"\"binance_klines\"", "\"cats_record\""}));
    }
    if (chance(2)) d.lines.push_back("on_error = " + pick({"\"stop\"", "\"skip\""}));
    if (rules) {
      d.lines.push_back("venue_rules = \"venue_rules.binance.json\"");
    } else {
      d.lines.push_back("tick_size = " + pick({"\"0.01\"", "\"0.1\"", "0.01"}));
      d.lines.push_back("lot_size = " + pick({"\"0.00001\"", "\"0.001\"", "0.00001"}));
      if (chance(2)) d.lines.push_back("min_notional = " + pick({"\"5\"", "10", "\"0\""}));
    }
    tables.push_back(d);
  }

  if (kind != 2) {
    table b{"[backtest]", {}, true};
    b.lines.push_back("initial_cash = " + pick({"10000", "\"2500.5\"", "100000", "1e4"}));
    if (chance(2)) b.lines.push_back("fill = " + pick({"\"next_open\"", "\"close\""}));
    b.lines.push_back("fee_bps = " + pick({"10", "7.5", "0"}));
    if (chance(2)) b.lines.push_back("maker_fee_bps = " + pick({"8", "2", "0"}));
    if (chance(2)) b.lines.push_back("slippage_bps = " + pick({"1", "0.5", "0"}));
    if (chance(2)) b.lines.push_back("leverage = " + pick({"1", "2.5", "10"}));
    if (chance(2)) {
      b.lines.push_back("latency = " + pick({"\"5ms\"", "\"uniform:2ms:8ms\"", "\"normal:5ms:1ms\"",
                                             "\"lognormal:5ms:0.5\"", "\"250us\"", "\"0\""}));
      if (chance(2)) b.lines.push_back("seed = " + std::to_string(next(rng) % 1000));
    }
    if (chance(3)) b.lines.push_back("participation = " + pick({"1.0", "0.25", "1"}));
    if (chance(2))
      b.lines.push_back("start = " +
                        pick({"2024-03-01", "\"2024-03-01\"", "2024-03-01T12:00:00Z"}));
    if (chance(2)) b.lines.push_back("end = " + pick({"2024-07-01", "\"2024-07-01T00:00:00Z\""}));
    tables.push_back(b);
  }

  if (kind != 0) {
    table l{"[live]", {}, true};
    if (kind == 1) {
      l.lines.push_back("broker = \"paper\"");
      if (chance(2)) l.lines.push_back("book_depth = " + pick({"20", "5", "1000"}));
      if (chance(2)) l.lines.push_back("queue_capacity = " + pick({"65536", "1024"}));
      if (chance(2)) l.lines.push_back("overflow = " + pick({"\"drop_quotes\"", "\"block\""}));
      if (chance(2)) l.lines.push_back("duration = " + pick({"0", "60", "0.5"}));
      if (chance(3)) l.lines.push_back("metrics = \"127.0.0.1:9464\"");
      if (chance(3)) l.lines.push_back("spin_us = " + pick({"30", "0"}));
      if (chance(3)) l.lines.push_back("journal_fsync = " + pick({"\"intents\"", "\"always\""}));
    }
    l.lines.push_back("status_interval = " + pick({"10", "60", "0"}));
    tables.push_back(l);
    if (kind == 2 || chance(3)) {
      tables.push_back(
          {"[record]",
           {"dir = " + pick({"\"../records\"", "\"records\"", "\"/var/lib/cats\""}),
            "prefix = " + pick({"\"cats\"", "\"md\""}), "csv = " + pick({"false", "true"})},
           true});
    }
    tables.push_back({"[[instrument]]",
                      {"symbol = \"BINANCE:BTCUSDT\"",
                       "channels = " + pick({"[\"trades\", \"quotes\", \"book\"]",
                                             "[\"trades\", \"quotes\", \"book\", \"bars\"]",
                                             "[\"agg_trades\"]"})},
                      false});
    if (chance(2)) tables.back().lines.push_back("bar_interval = " + pick({"\"1m\"", "\"1h\""}));
    if (chance(2)) tables.back().lines.push_back("tick_size = \"0.01\"");
    if (!binance_only) {
      tables.push_back({"[[instrument]]",
                        {"symbol = \"OKX:BTC-USDT\"", "channels = [\"trades\", \"book\"]"},
                        false});
    }
    table v{"[venues.binance]", {}, true};
    v.lines.push_back("read_timeout = " + pick({"20", "5", "0.5"}));
    if (chance(2))
      v.lines.push_back("ws_url = " + pick({"\"wss://stream.binance.com:9443\"",
                                            "\"wss://stream.testnet.binance.vision\""}));
    if (chance(2)) v.lines.push_back("rest_url = \"https://testnet.binance.vision/\"");
    if (chance(3)) v.lines.push_back("recv_window = 5");
    if (chance(3)) v.lines.push_back("key_type = " + pick({"\"hmac\"", "\"ed25519\""}));
    tables.push_back(v);
  }

  const bool strategy = kind != 2 || chance(4);
  if (chance(3)) {
    table r{"[risk]", {}, true};
    r.lines.push_back("max_position = " + pick({"0.5", "\"0.01\"", "10"}));
    if (chance(2)) r.lines.push_back("max_order_notional = " + pick({"5000", "100"}));
    if (chance(2)) r.lines.push_back("max_open_orders = " + pick({"4", "50"}));
    if (chance(2)) r.lines.push_back("order_rate = " + pick({"10", "0.5"}));
    if (chance(3)) r.lines.push_back("price_band = " + pick({"0.05", "\"0.1\""}));
    if (chance(3)) r.lines.push_back("max_daily_loss = 50");
    if (chance(3)) r.lines.push_back("max_drawdown = 0.2");
    if (chance(3)) r.lines.push_back("on_breach = " + pick({"\"halted\"", "\"reducing\""}));
    // [risk.strategy.X] after risk.key = ... lines is TOML too, but keep the seeds plain.
    const bool named = strategy && chance(2);
    r.dottable = !named;
    tables.push_back(r);
    if (named) {
      tables.push_back({"[risk.strategy.sma]", {"max_open_orders = 2"}, false});
      tables.push_back({"[risk.instrument.\"BINANCE:BTCUSDT\"]", {"max_position = 0.1"}, false});
    }
  }

  if (strategy) {
    tables.push_back(
        {"[[strategy]]",
         {"name = \"sma\"", "plugin = " + pick({"\"ma_crossover\"", "\"plugins/custom.so\""})},
         false});
    if (chance(3)) tables.back().lines.push_back("enabled = " + pick({"true", "false"}));
    tables.push_back(
        {"[strategy.params]",
         {"symbol = \"BINANCE:BTCUSDT\"", "fast = " + std::to_string(5 + next(rng) % 50),
          "slow = " + std::to_string(60 + next(rng) % 200),
          "fraction = " + pick({"1.0", "0.5", "0.005"}), "allow_short = false"},
         false});
    if (chance(3)) {
      tables.push_back({"[[strategy]]", {"name = \"mom\"", "plugin = \"momentum\""}, false});
      if (chance(2)) tables.back().lines.push_back("broker = \"paper\"");
    }
  }

  // The table written first, in dotted keys (its first line doubles as the --set override).
  std::vector<size_t> dottable;
  for (size_t i = 0; i < tables.size(); ++i)
    if (tables[i].dottable && !tables[i].lines.empty()) dottable.push_back(i);
  const size_t first = dottable[next(rng) % dottable.size()];
  const std::string prefix = tables[first].header.substr(1, tables[first].header.size() - 2);
  std::string out;
  for (const std::string& line : tables[first].lines) out += prefix + "." + line + "\n";
  if (chance(4)) out += "# generated by config_fuzz\n";
  for (size_t i = 0; i < tables.size(); ++i) {
    if (i == first) continue;
    out += "\n" + tables[i].header + (chance(6) ? "  # a comment\n" : "\n");
    for (const std::string& line : tables[i].lines) out += line + "\n";
  }
  return out;
}
