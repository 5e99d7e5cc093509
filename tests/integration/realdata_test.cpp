// Real Binance kline files (../shared/data/klines, see PROVENANCE.md there) replayed by the real
// `cats` binary, checked against values worked out independently of the engine: buy-and-hold
// straight from the CSV text, everything else by tests/reference/sma_backtest.py, a separate
// implementation of the fill rules and metric formulas (docs/fill_rules.md, docs/metrics.md).
#include <cats/sdk.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "cats/util/time.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;

fs::path shared_data() {
  if (const char* env = std::getenv("CATS_SHARED_DATA")) return env;
  return CATS_SHARED_DATA;
}

// Flat "key": value pairs of a JSON object (numbers, strings, null), enough for both summaries.
std::map<std::string, std::string> flat_json(const std::string& s) {
  std::map<std::string, std::string> out;
  size_t i = 0;
  while ((i = s.find('"', i)) != std::string::npos) {
    const size_t kend = s.find('"', i + 1);
    const std::string key = s.substr(i + 1, kend - i - 1);
    size_t j = kend + 1;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\n')) ++j;
    if (j >= s.size() || s[j] != ':') {
      i = kend + 1;
      continue;
    }
    ++j;
    while (j < s.size() && s[j] == ' ') ++j;
    size_t vend = j;
    if (s[j] == '"') {
      vend = s.find('"', j + 1) + 1;
      out.emplace(key, s.substr(j + 1, vend - j - 2));
    } else if (s[j] == '{' || s[j] == '[') {
      vend = j + 1;
    } else {
      while (vend < s.size() && s[vend] != ',' && s[vend] != '}' && s[vend] != '\n') ++vend;
      out.emplace(key, s.substr(j, vend - j));
    }
    i = vend;
  }
  return out;
}

// First open and last close straight from the CSV text.
double buy_and_hold_pct(const fs::path& csv) {
  const std::string text = test::read_file(csv);
  const size_t first_comma = text.find(',');
  const double first_open = std::strtod(text.c_str() + first_comma + 1, nullptr);
  size_t last_line = text.rfind('\n', text.size() - 2);
  last_line = last_line == std::string::npos ? 0 : last_line + 1;
  size_t p = last_line;
  for (int i = 0; i < 4; ++i) p = text.find(',', p) + 1;
  const double last_close = std::strtod(text.c_str() + p, nullptr);
  return (last_close / first_open - 1.0) * 100.0;
}

struct scenario {
  const char* name;  // the test's name suffix
  const char* file;
  const char* symbol;
  int fast, slow;
  const char* fill;
  bool allow_short;
  const char* slippage_bps;
};

// Test names and failure messages show the scenario's name, not its bytes.
void PrintTo(const scenario& s, std::ostream* os) {
  *os << s.name;
}

class RealData : public ::testing::TestWithParam<scenario> {};

TEST_P(RealData, MatchesTheIndependentReference) {
  const scenario& sc = GetParam();
  const fs::path csv = shared_data() / "klines" / sc.file;
  if (!fs::exists(csv))
    GTEST_SKIP() << "real market data not found at " << csv
                 << " (set CATS_SHARED_DATA to the folder holding klines/)";
  test::temp_dir d;
  const fs::path cfg = d / "real.toml";
  test::write_file(cfg, std::string("[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"") +
                            sc.symbol + "\"\nfiles = [\"" + csv.string() +
                            "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n[backtest]\n"
                            "initial_cash = 10000\nfee_bps = 10\nslippage_bps = " +
                            sc.slippage_bps + "\nfill = \"" + sc.fill +
                            "\"\n[[strategy]]\nname = \"sma\"\n"
                            "plugin = \"ma_crossover\"\n[strategy.params]\nfast = " +
                            std::to_string(sc.fast) + "\nslow = " + std::to_string(sc.slow) +
                            "\nallow_short = " + (sc.allow_short ? "true" : "false") + "\n");
  const test::run_result eng =
      test::run({CATS_BINARY, "backtest", "--config", cfg.string(), "--json"});
  ASSERT_EQ(eng.exit_code, 0) << eng.err;
  std::vector<std::string> ref_cmd = {
      CATS_PYTHON,
      std::string(CATS_SOURCE_DIR) + "/tests/reference/sma_backtest.py",
      csv.string(),
      "--fast",
      std::to_string(sc.fast),
      "--slow",
      std::to_string(sc.slow),
      "--fee-bps",
      "10",
      "--slippage-bps",
      sc.slippage_bps,
      "--fill",
      sc.fill};
  if (sc.allow_short) ref_cmd.push_back("--allow-short");
  const test::run_result ref = test::run(ref_cmd);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;

  const auto e = flat_json(eng.out);
  const auto r = flat_json(ref.out);
  // Counts and exact money must agree exactly.
  for (const char* key : {"bars", "trades", "fills"}) EXPECT_EQ(e.at(key), r.at(key)) << key;
  for (const char* key : {"final_equity", "fees_paid", "open_position"}) {
    EXPECT_EQ(std::strtod(e.at(key).c_str(), nullptr), std::strtod(r.at(key).c_str(), nullptr))
        << key << ": engine " << e.at(key) << ", reference " << r.at(key);
  }
  // Ratios: the engine prints 6 decimals; the reference sums in another order.
  for (const char* key : {"total_return_pct", "cagr_pct", "max_drawdown_pct", "sharpe", "sortino",
                          "calmar", "volatility_pct", "win_rate_pct", "profit_factor",
                          "avg_trade_pnl", "exposure_pct", "buy_hold_return_pct"}) {
    const double ev = std::strtod(e.at(key).c_str(), nullptr);
    const double rv = std::strtod(r.at(key).c_str(), nullptr);
    EXPECT_NEAR(ev, rv, 2e-6 + 1e-9 * std::fabs(rv)) << key;
  }
  EXPECT_NEAR(std::strtod(e.at("buy_hold_return_pct").c_str(), nullptr), buy_and_hold_pct(csv),
              1e-6);
  EXPECT_GT(std::strtol(e.at("trades").c_str(), nullptr, 10), 10);
}

INSTANTIATE_TEST_SUITE_P(
    BinanceKlines, RealData,
    ::testing::Values(
        scenario{"BTC_2022_01_defaults", "binance_spot_BTCUSDT-1h-2022-01.csv", "BINANCE:BTCUSDT",
                 10, 30, "next_open", false, "0"},
        scenario{"BTC_2022_01_close_short", "binance_spot_BTCUSDT-1h-2022-01.csv",
                 "BINANCE:BTCUSDT", 5, 20, "close", true, "2"},
        scenario{"BTC_2023_defaults", "binance_spot_BTCUSDT-1h-2023_taker-zeroed.csv",
                 "BINANCE:BTCUSDT", 10, 30, "next_open", false, "2"},
        scenario{"BTC_2023_daily_short", "binance_spot_BTCUSDT-1h-2023_taker-zeroed.csv",
                 "BINANCE:BTCUSDT", 24, 96, "next_open", true, "1"},
        scenario{"ETH_2024_defaults", "binance_spot_ETHUSDT-1h-2024-05-13_2025-05-13.csv",
                 "BINANCE:ETHUSDT", 10, 30, "next_open", false, "0"},
        scenario{"ETH_2024_close_short", "binance_spot_ETHUSDT-1h-2024-05-13_2025-05-13.csv",
                 "BINANCE:ETHUSDT", 12, 48, "close", true, "5"}),
    [](const ::testing::TestParamInfo<scenario>& info) { return std::string(info.param.name); });

TEST(RealDataGaps, TheMissingHourOf2023IsReported) {
  const fs::path csv = shared_data() / "klines" / "binance_spot_BTCUSDT-1h-2023_taker-zeroed.csv";
  if (!fs::exists(csv)) GTEST_SKIP() << "real market data not found at " << csv;
  test::temp_dir d;
  const fs::path cfg = d / "gap.toml";
  test::write_file(
      cfg, "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BTCUSDT\"\nfiles = [\"" +
               csv.string() + "\"]\n[[strategy]]\nname = \"sma\"\nplugin = \"ma_crossover\"\n");
  const test::run_result r =
      test::run({CATS_BINARY, "backtest", "--config", cfg.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto e = flat_json(r.out);
  EXPECT_EQ(e.at("bars"), "8759");
  EXPECT_EQ(e.at("gaps"), "1");
  EXPECT_EQ(e.at("missing_bars"), "1");
  EXPECT_NE(
      r.out.find("gap: 1 bar(s) missing between 2023-03-24T12:00:00Z and 2023-03-24T14:00:00Z"),
      std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace cats

namespace cats {
namespace {

// The real Binance trades file replayed at trade level, with 1-minute bars built from it, into the
// probe plugin: every trade arrives once, in order, with the file's exact values; the bars equal
// the ones worked out here from the CSV text; the two feeds of a multi-feed config (the trades and
// a kline file of another symbol) arrive merged in time order.
TEST(RealDataTrades, TradeReplayWithBarsBuiltFromTrades) {
  const fs::path csv =
      shared_data() / "trades" / "binance_spot_BTCUSDT-trades-2024-08-08T2354Z.csv";
  if (!fs::exists(csv)) GTEST_SKIP() << "real data not found: " << csv << " (see PROVENANCE.md)";
  test::temp_dir dir;
  const fs::path log = dir.path() / "probe.log";
  const fs::path cfg = dir.path() / "trades.toml";
  test::write_file(cfg, "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" CATS_TEST_PLUGIN_DIR
                        "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nformat = \"binance_trades\"\n"
                        "bars = \"1m\"\nfiles = [\"" +
                            csv.string() +
                            "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n[[strategy]]\n"
                            "name = \"probe\"\nplugin = \"probe_strategy\"\n[strategy.params]\n"
                            "log = \"" +
                            log.string() + "\"\nbuy_at_trade = 100\nquantity = 0.01\n");
  const test::run_result r =
      test::run({CATS_BINARY, "backtest", "--config", cfg.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // Independent reading of the file: trades and per-minute close and count.
  struct minute {
    std::string close;
    int count = 0;
  };
  std::map<int64_t, minute> minutes;
  std::vector<std::string> expected_trades;
  {
    const std::string text = test::read_file(csv);
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t eol = text.find('\n', pos);
      const std::string line = text.substr(pos, eol - pos);
      pos = eol == std::string::npos ? text.size() : eol + 1;
      if (line.empty()) continue;
      std::vector<std::string> f;
      for (size_t s = 0, e; s <= line.size(); s = e + 1) {
        e = line.find(',', s);
        if (e == std::string::npos) e = line.size();
        f.push_back(line.substr(s, e - s));
      }
      // Prices and quantities as the engine prints fixed point: no trailing zeros.
      auto trim = [](std::string v) {
        if (v.find('.') != std::string::npos) {
          while (v.back() == '0') v.pop_back();
          if (v.back() == '.') v.pop_back();
        }
        return v;
      };
      const int64_t ms = std::stoll(f[4]);
      const int side = f[5] == "True" ? CATS_SIDE_SELL : CATS_SIDE_BUY;
      expected_trades.push_back(f[0] + " " + trim(f[1]) + " " + trim(f[2]) + " " +
                                std::to_string(side) + " " + std::to_string(ms * 1'000'000));
      minute& m = minutes[ms / 60'000];
      m.close = trim(f[1]);
      ++m.count;
    }
  }
  ASSERT_EQ(expected_trades.size(), 9757u);

  std::vector<std::string> trades, bars;
  size_t first_fill_line = 0, line_no = 0, trade_100_line = 0;
  std::string fill;
  {
    const std::string text = test::read_file(log);
    size_t pos = 0;
    while (pos < text.size()) {
      const size_t eol = text.find('\n', pos);
      if (eol == std::string::npos) break;
      const std::string line(text.begin() + static_cast<std::ptrdiff_t>(pos),
                             text.begin() + static_cast<std::ptrdiff_t>(eol));
      pos = eol + 1;
      ++line_no;
      if (line.rfind("trade ", 0) == 0) {
        trades.push_back(line.substr(line.find(' ', 6) + 1));  // drop the instrument id
        if (trades.size() == 100) trade_100_line = line_no;
      } else if (line.rfind("bar ", 0) == 0) {
        bars.push_back(line);
      } else if (line.rfind("fill ", 0) == 0 && fill.empty()) {
        fill = line;
        first_fill_line = line_no;
      }
    }
  }
  ASSERT_EQ(trades.size(), expected_trades.size());
  for (size_t i = 0; i < trades.size(); ++i)
    ASSERT_EQ(trades[i], expected_trades[i]) << "trade " << i + 1;

  // Every minute that closed before the last trade gives a bar (the last, unfinished one does
  // not); minutes without trades give flat bars at the previous close.
  const int64_t first_min = minutes.begin()->first, last_min = minutes.rbegin()->first;
  ASSERT_EQ(bars.size(), static_cast<size_t>(last_min - first_min));
  std::string close;
  for (int64_t m = first_min; m < last_min; ++m) {
    auto it = minutes.find(m);
    if (it != minutes.end()) close = it->second.close;
    const std::string& b = bars[static_cast<size_t>(m - first_min)];
    EXPECT_EQ(std::string(b.c_str() + b.rfind(' ') + 1), close) << b;
    std::string stamp(1, ' ');  // (GCC 12 warns falsely about " " + std::string here)
    stamp += std::to_string((m + 1) * 60 * ns_per_s);
    stamp += ' ';
    EXPECT_NE(b.find(stamp), std::string::npos) << b;
  }

  // The market buy at the 100th trade fills after it, at a traded price.
  ASSERT_FALSE(fill.empty()) << "no fill";
  EXPECT_GT(first_fill_line, trade_100_line);
  const size_t at = fill.find(" @ "), fee = fill.find(" fee");
  ASSERT_TRUE(at != std::string::npos && fee != std::string::npos && fee > at) << fill;
  const std::string price(fill.begin() + static_cast<std::ptrdiff_t>(at + 3),
                          fill.begin() + static_cast<std::ptrdiff_t>(fee));
  bool traded = false;
  for (size_t i = 100; i < expected_trades.size() && !traded; ++i)
    traded = expected_trades[i].find(" " + price + " ") != std::string::npos;
  EXPECT_TRUE(traded) << fill;
}

}  // namespace
}  // namespace cats
