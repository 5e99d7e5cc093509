// The real `cats` binary with real plugin .so files, driven the way a user drives it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cats/core/events.hpp"
#include "cats/core/fixed.hpp"
#include "cats/record/record_file.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::run_result;

const std::string cats_bin = CATS_BINARY;
const std::string test_plugins = CATS_TEST_PLUGIN_DIR;

// Finds `"key": <number>` in the summary JSON; NaN when absent or null.
double json_number(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\": ";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + at + needle.size(), nullptr);
}

std::string json_string(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\": \"";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return "<absent>";
  const size_t start = at + needle.size();
  return json.substr(start, json.find('"', start) - start);
}

// The rows of a CSV file, quoted fields unquoted.
std::vector<std::vector<std::string>> csv_rows(const fs::path& file) {
  std::vector<std::vector<std::string>> rows;
  const std::string text = test::read_file(file);
  std::vector<std::string> row(1);
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        row.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        row.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.emplace_back();
    } else if (c == '\n') {
      rows.push_back(std::move(row));
      row.assign(1, std::string());
    } else {
      row.back() += c;
    }
  }
  return rows;
}

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::temp_dir();
    // Two weeks of 1-minute bars: enough for trades, fast enough for many runs.
    const run_result g =
        run({cats_bin, "generate", "--out", data(), "--days", "14", "--seed", "7"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string data() { return (dir_->path() / "sample.csv").string(); }

  // A config in its own folder; `extra_strategy` is appended verbatim.
  static std::string config(const std::string& name, const std::string& data_file,
                            const std::string& extra = "") {
    const fs::path file = dir_->path() / (name + ".toml");
    test::write_file(
        file,
        "[engine]\nlog_level = \"warn\"\n\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
        "files = [\"" +
            data_file +
            "\"]\ntick_size = \"0.01\"\n"
            "lot_size = \"0.00001\"\n\n[backtest]\ninitial_cash = 10000\nfee_bps = 10\n"
            "slippage_bps = 1\n\n[[strategy]]\nname = \"sma\"\nplugin = \"ma_crossover\"\n"
            "[strategy.params]\nfast = 30\nslow = 120\n" +
            extra);
    return file.string();
  }

  static test::temp_dir* dir_;
};
test::temp_dir* Cli::dir_ = nullptr;

TEST_F(Cli, VersionAndHelp) {
  run_result r = run({cats_bin, "version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "cats 0.1.0 (SDK ABI " + test::abi_version() + ")\n");
  r = run({cats_bin, "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("backtest"), std::string::npos);
  r = run({cats_bin});
  EXPECT_EQ(r.exit_code, 2);
  r = run({cats_bin, "bogus"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'bogus'"), std::string::npos);
  r = run({cats_bin, "backtest", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--set"), std::string::npos);
  r = run({cats_bin, "backtest"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--config"), std::string::npos) << r.err;
}

TEST_F(Cli, BacktestPrintsATableAndJson) {
  const std::string cfg = config("basic", data());
  run_result r = run({cats_bin, "backtest", "--config", cfg});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* label : {"Total return", "Max drawdown", "Sharpe", "Sortino", "Calmar",
                            "Win rate", "Profit factor", "Exposure", "Fees paid", "Buy & hold"})
    EXPECT_NE(r.out.find(label), std::string::npos) << label;
  r = run({cats_bin, "backtest", "--config", cfg, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* key : {"bars", "trades", "final_equity", "total_return_pct", "max_drawdown_pct",
                          "sharpe", "sortino", "win_rate_pct", "profit_factor", "fees_paid",
                          "buy_hold_return_pct", "cagr_pct", "calmar", "exposure_pct"})
    EXPECT_NE(r.out.find(std::string("\"") + key + "\": "), std::string::npos) << key;
  EXPECT_EQ(json_number(r.out, "bars"), 14 * 1440);
  EXPECT_GT(json_number(r.out, "trades"), 0);
  EXPECT_EQ(json_string(r.out, "interval"), "1m");
  EXPECT_EQ(r.out.front(), '{');
  EXPECT_EQ(r.out.substr(r.out.size() - 2), "}\n");
}

TEST_F(Cli, OutputIsByteIdenticalForIdenticalInput) {
  const std::string cfg = config("determinism", data());
  const fs::path a = dir_->path() / "out_a", b = dir_->path() / "out_b";
  const run_result ra = run({cats_bin, "backtest", "--config", cfg, "--out", a.string(), "--json"});
  const run_result rb = run({cats_bin, "backtest", "--config", cfg, "--out", b.string(), "--json"});
  ASSERT_EQ(ra.exit_code, 0) << ra.err;
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_EQ(ra.out, rb.out);
  for (const char* f :
       {"summary.json", "fills.csv", "trades.csv", "orders.csv", "equity.csv", "report.html"}) {
    ASSERT_TRUE(fs::exists(a / f)) << f;
    EXPECT_EQ(test::read_file(a / f), test::read_file(b / f)) << f;
  }
  EXPECT_EQ(test::read_file(a / "summary.json"), ra.out);
  // One equity row per bar, one fills row per fill.
  const std::string equity = test::read_file(a / "equity.csv");
  EXPECT_EQ(std::count(equity.begin(), equity.end(), '\n'), 14 * 1440 + 1);
  EXPECT_EQ(equity.substr(0, equity.find('\n')), "time,equity,cash,position_value,drawdown_pct");
  const std::string fills = test::read_file(a / "fills.csv");
  EXPECT_EQ(std::count(fills.begin(), fills.end(), '\n'), json_number(ra.out, "fills") + 1);
  const std::string trades = test::read_file(a / "trades.csv");
  EXPECT_EQ(std::count(trades.begin(), trades.end(), '\n'), json_number(ra.out, "trades") + 1);
  // One orders row per order, each final at the end of a backtest, its filled quantity that of
  // its fills.
  const std::vector<std::vector<std::string>> orders = csv_rows(a / "orders.csv");
  ASSERT_FALSE(orders.empty());
  EXPECT_EQ(orders.size() - 1, static_cast<size_t>(json_number(ra.out, "orders")));
  std::map<std::string, int64_t> filled;
  for (const auto& row : csv_rows(a / "fills.csv")) {
    if (row[0] == "time") continue;
    int64_t q = 0;
    ASSERT_EQ(parse_fixed(row[8], q), parse_error::ok) << row[8];
    filled[row[2]] += q;
  }
  for (const auto& row : orders) {
    if (row[0] == "created") continue;
    ASSERT_EQ(row.size(), 18u);
    EXPECT_TRUE(row[12] == "filled" || row[12] == "cancelled" || row[12] == "rejected") << row[12];
    int64_t q = 0;
    ASSERT_EQ(parse_fixed(row[13], q), parse_error::ok) << row[13];
    EXPECT_EQ(q, filled[row[3]]) << "order " << row[3];
    // The reference plugin names its signal on every order (ABI 1.4).
    EXPECT_TRUE(row[17] == "fast crossed above slow" || row[17] == "fast crossed below slow")
        << row[17];
  }
  // ... and the trades carry them: long only, so in on the cross up, out on the cross down.
  size_t trade_rows = 0;
  for (const auto& row : csv_rows(a / "trades.csv")) {
    if (row[0] == "entry_time") continue;
    ASSERT_EQ(row.size(), 13u);
    EXPECT_EQ(row[11], "fast crossed above slow");
    EXPECT_EQ(row[12], "fast crossed below slow");
    ++trade_rows;
  }
  EXPECT_GT(trade_rows, 0u);
}

// Multiple timeframes end to end: the reference plugin with timeframe = "1h" on 1-minute klines
// (the engine builds the hourly bars, ABI 1.4) trades exactly as it does on hourly klines made
// here from the same minutes: same entries and exits at the same prices, same PnL to the 1e-8.
TEST_F(Cli, HourlyBarsBuiltByTheEngineTradeLikeHourlyKlines) {
  // The 1-minute file, aggregated into hourly klines (Binance layout) in plain code.
  const fs::path hourly = dir_->path() / "hourly.csv";
  {
    std::string out;
    std::vector<std::vector<std::string>> group;
    auto flush = [&] {
      if (group.size() != 60) return;  // whole hours only (the file has whole days)
      int64_t hi = 0, lo = INT64_MAX, sums[4] = {0, 0, 0, 0}, trades = 0;
      for (const auto& r : group) {
        int64_t v = 0;
        EXPECT_EQ(parse_fixed(r[2], v), parse_error::ok);
        hi = std::max(hi, v);
        EXPECT_EQ(parse_fixed(r[3], v), parse_error::ok);
        lo = std::min(lo, v);
        const size_t cols[4] = {5, 7, 9, 10};
        for (int k = 0; k < 4; ++k) {
          EXPECT_EQ(parse_fixed(r[cols[k]], v), parse_error::ok);
          sums[k] += v;
        }
        trades += std::stoll(r[8]);
      }
      const int64_t open_ms = std::stoll(group.front()[0]);
      out += group.front()[0] + "," + group.front()[1] + "," + fixed_to_string(hi) + "," +
             fixed_to_string(lo) + "," + group.back()[4] + "," + fixed_to_string(sums[0]) + "," +
             std::to_string(open_ms + 3'600'000 - 1) + "," + fixed_to_string(sums[1]) + "," +
             std::to_string(trades) + "," + fixed_to_string(sums[2]) + "," +
             fixed_to_string(sums[3]) + ",0\n";
    };
    for (const auto& r : csv_rows(data())) {
      if (r.size() < 11) continue;
      if (!group.empty() && std::stoll(r[0]) / 3'600'000 != std::stoll(group[0][0]) / 3'600'000) {
        flush();
        group.clear();
      }
      group.push_back(r);
    }
    flush();
    test::write_file(hourly, out);
  }
  auto config = [&](const std::string& name, const std::string& file, const std::string& tf) {
    const fs::path cfg = dir_->path() / name;
    test::write_file(cfg, "[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" + file +
                              "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n\n[backtest]\n"
                              "initial_cash = 10000\nfee_bps = 10\nslippage_bps = 2\n\n"
                              "[[strategy]]\nname = \"sma\"\nplugin = \"ma_crossover\"\n"
                              "[strategy.params]\nfast = 4\nslow = 12\ntimeframe = \"" +
                              tf + "\"\n");
    return cfg.string();
  };
  const fs::path built = dir_->path() / "built", klines = dir_->path() / "klines";
  const run_result a = run({cats_bin, "backtest", "--config", config("built.toml", data(), "1h"),
                            "--out", built.string(), "--json"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const run_result b =
      run({cats_bin, "backtest", "--config", config("klines.toml", hourly.string(), ""), "--out",
           klines.string(), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto ta = csv_rows(built / "trades.csv"), tb = csv_rows(klines / "trades.csv");
  ASSERT_GT(ta.size(), 5u) << "too few trades to compare";
  EXPECT_EQ(ta, tb);
  EXPECT_EQ(json_number(a.out, "final_equity"), json_number(b.out, "final_equity"));
  EXPECT_EQ(json_number(a.out, "fees_paid"), json_number(b.out, "fees_paid"));
  // A timeframe the feed cannot make is an error that says why, not a silent run on 1m bars.
  const run_result bad =
      run({cats_bin, "backtest", "--config", config("bad.toml", hourly.string(), "15m")});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("cannot build 15m bars from the feed's 1h bars"), std::string::npos)
      << bad.err;
}

// A recording of bars only (no trades, quotes or books) used to leave a bar strategy with no fill
// at all: its orders waited for ticks that never came. Its orders match on the bars now, as with
// the same bars as klines, and the run says so.
TEST_F(Cli, ABarOnlyRecordingTradesLikeTheSameKlines) {
  const fs::path rec = dir_->path() / "bars-rec";
  {
    record_writer_options o;
    o.dir = rec;
    o.version = 1;  // a block store says what it holds up front (StoreCli tests): no warning
    record_writer w(o);
    for (const auto& r : csv_rows(data())) {
      if (r.size() < 11) continue;
      cats_bar_event_t b{};
      const int64_t open = std::stoll(r[0]) * 1'000'000;
      b.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, 1, open + 60'000'000'000, 0);
      b.open_time_ns = open;
      b.interval_ns = 60'000'000'000;
      int64_t* fields[] = {&b.open, &b.high, &b.low, &b.close, &b.volume};
      for (int k = 0; k < 5; ++k) ASSERT_EQ(parse_fixed(r[1 + k], *fields[k]), parse_error::ok);
      w.write_bar("BINANCE:BTCUSDT", b);
    }
  }
  std::vector<std::string> days;  // one file per UTC day, replayed in date order
  for (const auto& e : fs::directory_iterator(rec)) days.push_back(e.path().string());
  std::sort(days.begin(), days.end());
  std::string files;
  for (const std::string& f : days) files += (files.empty() ? "\"" : ", \"") + f + "\"";
  auto config = [&](const std::string& name, const std::string& data_lines) {
    const fs::path cfg = dir_->path() / name;
    test::write_file(cfg, "[data]\nsymbol = \"BINANCE:BTCUSDT\"\n" + data_lines +
                              "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n\n[backtest]\n"
                              "initial_cash = 10000\nfee_bps = 10\n\n[[strategy]]\nname = "
                              "\"sma\"\nplugin = \"ma_crossover\"\n[strategy.params]\nfast = 30\n"
                              "slow = 120\n");
    return cfg.string();
  };
  const fs::path a = dir_->path() / "rec-out", b = dir_->path() / "kl-out";
  const run_result r =
      run({cats_bin, "backtest", "--config",
           config("rec.toml", "files = [" + files + "]\nformat = \"cats_record\"\n"), "--out",
           a.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const run_result k =
      run({cats_bin, "backtest", "--config", config("kl.toml", "files = [\"" + data() + "\"]\n"),
           "--out", b.string(), "--json"});
  ASSERT_EQ(k.exit_code, 0) << k.err;
  const auto ta = csv_rows(a / "trades.csv"), tb = csv_rows(b / "trades.csv");
  ASSERT_GT(ta.size(), 10u);
  EXPECT_EQ(ta, tb);
  EXPECT_NE(r.out.find("the recording has only bars of it (no trades, quotes or books), so its "
                       "orders matched on the bars"),
            std::string::npos)
      << r.out;
}

// The README's indicator example, a real plugin built against the SDK, trades exactly where the
// bands computed here, with the two-pass formula in long double, say it should: a buy at the
// close of every bar that closes below the lower band while flat, a sell at the close of the
// first bar back at the middle.
TEST_F(Cli, BollingerExampleTradesWhereTheBandsSay) {
  const fs::path cfg = dir_->path() / "bollinger.toml";
  test::write_file(cfg,
                   "[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" + data() +
                       "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n\n[backtest]\n"
                       "initial_cash = 10000\nfill = \"close\"\nfee_bps = 0\nslippage_bps = 0\n"
                       "\n[[strategy]]\nname = \"bb\"\nplugin = \"bollinger_reversion\"\n"
                       "[strategy.params]\nwindow = 30\nwidth = 2.5\n");
  const fs::path out = dir_->path() / "bollinger_out";
  const run_result r = run({cats_bin, "backtest", "--config", cfg.string(), "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  std::vector<int64_t> closes;
  for (const auto& row : csv_rows(data())) {
    int64_t c = 0;
    ASSERT_EQ(parse_fixed(row.at(4), c), parse_error::ok) << row.at(4);
    closes.push_back(c);
  }
  struct signal {
    std::string side;
    int64_t price;
  };
  std::vector<signal> want;
  bool long_ = false;
  const size_t n = 30;
  for (size_t i = n - 1; i < closes.size(); ++i) {
    long double mean = 0, m2 = 0;
    for (size_t k = i + 1 - n; k <= i; ++k) mean += closes[k] / 1e8L;
    mean /= n;
    for (size_t k = i + 1 - n; k <= i; ++k)
      m2 += (closes[k] / 1e8L - mean) * (closes[k] / 1e8L - mean);
    const long double lower = mean - 2.5L * std::sqrt(m2 / n), close = closes[i] / 1e8L;
    if (!long_ && close < lower) {
      want.push_back({"buy", closes[i]});
      long_ = true;
    } else if (long_ && close >= mean) {
      want.push_back({"sell", closes[i]});
      long_ = false;
    }
  }
  ASSERT_GT(want.size(), 10u) << "the data should give the strategy something to do";
  std::vector<signal> got;
  for (const auto& row : csv_rows(out / "fills.csv")) {
    if (row[0] == "time") continue;
    int64_t price = 0;
    ASSERT_EQ(parse_fixed(row.at(7), price), parse_error::ok) << row.at(7);
    got.push_back({row.at(5), price});
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].side, want[i].side) << "fill " << i;
    EXPECT_EQ(got[i].price, want[i].price) << "fill " << i;
  }
  // The bands it plots are in plots.csv, every bar from the first full window on.
  const auto plots = csv_rows(out / "plots.csv");
  ASSERT_EQ(plots.at(0),
            (std::vector<std::string>{"time", "strategy", "series", "panel", "value"}));
  ASSERT_EQ(plots.size(), 1 + 2 * (closes.size() - n + 1));
  for (size_t i = n - 1, row = 1; i < closes.size(); ++i, row += 2) {
    long double mean = 0, m2 = 0;
    for (size_t k = i + 1 - n; k <= i; ++k) mean += closes[k] / 1e8L;
    mean /= n;
    for (size_t k = i + 1 - n; k <= i; ++k)
      m2 += (closes[k] / 1e8L - mean) * (closes[k] / 1e8L - mean);
    const long double sd = std::sqrt(m2 / n);
    ASSERT_EQ(plots[row][2], "upper");
    ASSERT_EQ(plots[row + 1][2], "lower");
    EXPECT_EQ(plots[row][0], plots[row + 1][0]);
    EXPECT_NEAR(std::stod(plots[row][4]), static_cast<double>(mean + 2.5L * sd), 1e-9 * mean) << i;
    EXPECT_NEAR(std::stod(plots[row + 1][4]), static_cast<double>(mean - 2.5L * sd), 1e-9 * mean);
    if (row > 1) {
      EXPECT_LT(plots[row - 2][0], plots[row][0]) << "rows in time order";
    }
  }
}

TEST_F(Cli, SetOverridesChangeTheRun) {
  const std::string cfg = config("overrides", data());
  const run_result base = run({cats_bin, "backtest", "--config", cfg, "--json"});
  const run_result fast = run({cats_bin, "backtest", "--config", cfg, "--json", "--set",
                               "strategy.sma.fast=10", "--set", "strategy.sma.slow=40"});
  const run_result close =
      run({cats_bin, "backtest", "--config", cfg, "--json", "--set", "backtest.fill=close"});
  const run_result fees = run({cats_bin, "backtest", "--config", cfg, "--json", "--set",
                               "backtest.fee_bps=0", "--set", "backtest.slippage_bps=0"});
  ASSERT_EQ(base.exit_code, 0) << base.err;
  ASSERT_EQ(fast.exit_code, 0) << fast.err;
  ASSERT_EQ(close.exit_code, 0) << close.err;
  ASSERT_EQ(fees.exit_code, 0) << fees.err;
  EXPECT_GT(json_number(fast.out, "trades"), json_number(base.out, "trades"));
  EXPECT_EQ(json_string(close.out, "fill"), "close");
  EXPECT_NE(json_number(close.out, "final_equity"), json_number(base.out, "final_equity"));
  EXPECT_EQ(json_number(fees.out, "fees_paid"), 0);
  EXPECT_EQ(json_number(fees.out, "trades"), json_number(base.out, "trades"));
  EXPECT_NE(fast.out.find("\"fast\": 10"), std::string::npos);
}

TEST_F(Cli, ConfigErrorsExitWithCodeTwoAndSayWhere) {
  const std::string cfg = config("errors", data());
  run_result r = run({cats_bin, "backtest", "--config", cfg, "--set", "backtest.fee_bps=abc"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--set backtest.fee_bps=abc: backtest.fee_bps: expected a number"),
            std::string::npos)
      << r.err;
  r = run({cats_bin, "backtest", "--config", cfg, "--set", "strategy.sma.fsat=3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--set strategy.sma.fsat=3: strategy 'sma' (ma_crossover 1.0.0) has no "
                       "parameter 'fsat'; valid: fast, slow, symbol, fraction, allow_short"),
            std::string::npos)
      << r.err;
  r = run({cats_bin, "backtest", "--config", cfg, "--set", "strategy.sma.fast=150"});
  EXPECT_EQ(r.exit_code, 1);  // the strategy itself refuses fast >= slow
  EXPECT_NE(r.err.find("fast (150) must be shorter than slow (120)"), std::string::npos) << r.err;
  const std::string bad = (dir_->path() / "bad.toml").string();
  test::write_file(bad, test::read_file(cfg) + "\n[backtest2]\n");
  r = run({cats_bin, "backtest", "--config", bad});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(bad + ":"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown top-level key 'backtest2'"), std::string::npos) << r.err;
  r = run({cats_bin, "backtest", "--config", config("nodata", "/nonexistent/x.csv")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/x.csv: cannot open"), std::string::npos) << r.err;
  r = run({cats_bin, "backtest", "--config", cfg, "--set", "strategy.sma.plugin=no_such_plugin"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no plugin 'no_such_plugin'"), std::string::npos) << r.err;
}

TEST_F(Cli, MalformedDataStopsWithFileAndLineOrIsSkipped) {
  const std::string bad = (dir_->path() / "bad.csv").string();
  std::string text = test::read_file(data()).substr(0, 200'000);
  text = text.substr(0, text.rfind('\n') + 1);
  const size_t line3 = text.find('\n', text.find('\n') + 1) + 1;
  text.insert(line3, "1704067320000,1,2,3\n");
  test::write_file(bad, text);
  const std::string cfg = config("malformed", bad);
  run_result r = run({cats_bin, "backtest", "--config", cfg, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ":3: expected 12 comma-separated columns, found 4"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.out, "");
  r = run({cats_bin, "backtest", "--config", cfg, "--json", "--set", "data.on_error=skip"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_number(r.out, "skipped_rows"), 1);
  // A bad first row is a data error too (exit 1), not a usage error.
  const std::string first = (dir_->path() / "bad_first.csv").string();
  test::write_file(first, "1704067200000,1,2\n" + text);
  r = run({cats_bin, "backtest", "--config", config("bad_first", first)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(first + ":1: expected 12 comma-separated columns, found 3"),
            std::string::npos)
      << r.err;
}

TEST_F(Cli, MicrosecondFilesGiveTheSameResult) {
  const std::string us = (dir_->path() / "sample_us.csv").string();
  const run_result g = run(
      {cats_bin, "generate", "--out", us, "--days", "14", "--seed", "7", "--micros", "--header"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  const run_result a = run({cats_bin, "backtest", "--config", config("ms", data()), "--json"});
  const run_result b = run({cats_bin, "backtest", "--config", config("us", us), "--json"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  for (const char* key : {"bars", "trades", "final_equity", "sharpe", "max_drawdown_pct"})
    EXPECT_EQ(json_number(a.out, key), json_number(b.out, key)) << key;
}

TEST_F(Cli, AFailingStrategyIsDisabledAndTheOthersRunOn) {
  const std::string cfg = config("failing", data(),
                                 "\n[[strategy]]\nname = \"probe\"\nplugin = \"" + test_plugins +
                                     "/probe_strategy.so\"\n"
                                     "[strategy.params]\nthrow_at_bar = 100\n");
  const run_result r = run({cats_bin, "backtest", "--config", cfg, "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("strategy 'probe' (probe 2.3.4) failed in on_event(bar) at "
                       "2024-01-01T01:40:00Z: probe: deliberate failure at bar 100"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("\"status\": \"failed\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"error\": \"probe: deliberate failure at bar 100\""), std::string::npos);
  // The probe saw 100 bars; the SMA strategy went on to the end and traded.
  EXPECT_NE(r.out.find("\"events\": 100,"), std::string::npos) << r.out;
  EXPECT_EQ(json_number(r.out, "bars"), 14 * 1440);
  EXPECT_GT(json_number(r.out, "trades"), 0);
}

TEST_F(Cli, RefusedPluginsAreNamedWithTheReason) {
  const std::string cfg = config("refused", data());
  const run_result r = run({cats_bin, "backtest", "--config", cfg, "--set",
                            "strategy.sma.plugin=" + test_plugins + "/c_strategy_major.so"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("plugin " + test_plugins + "/c_strategy_major.so: built for ABI major 2"),
            std::string::npos)
      << r.err;
}

TEST_F(Cli, EventsReachTheStrategyInOrder) {
  const std::string log = (dir_->path() / "probe.log").string();
  const std::string cfg = (dir_->path() / "probe.toml").string();
  test::write_file(cfg,
                   "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                   "files = [\"" +
                       data() +
                       "\"]\nlot_size = \"0.00001\"\n"
                       "[backtest]\nfee_bps = 10\nend = 2024-01-01T00:06:00\n"
                       "[[strategy]]\nname = \"p\"\nplugin = \"" +
                       test_plugins + "/probe_strategy.so\"\n[strategy.params]\nlog = \"" + log +
                       "\"\n"
                       "buy_at_bar = 3\nsell_at_bar = 5\ntimer_at_bar = 2\nquantity = 0.01\n");
  const run_result r = run({cats_bin, "backtest", "--config", cfg, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string got = test::read_file(log);
  // Expected from the first six rows of the sample (closes), the fill rules and the event rules:
  // a timer set at bar 2's close (00:02:00) for 30 s later fires between bar 2 and bar 3; the buy
  // submitted on bar 3 is accepted at once and fills at bar 4's open before bar 4 is delivered.
  std::vector<std::string> lines;
  for (size_t s = 0, e; (e = got.find('\n', s)) != std::string::npos; s = e + 1)
    lines.push_back(got.substr(s, e - s));
  ASSERT_EQ(lines.size(), 15u) << got;
  EXPECT_EQ(lines[0], "start");
  EXPECT_EQ(lines[1].rfind("bar 1 1704067260000000000 ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("bar 2 1704067320000000000 ", 0), 0u) << lines[2];
  EXPECT_EQ(lines[3], "timer 1704067350000000000 data 7");
  EXPECT_EQ(lines[4].rfind("bar 3 1704067380000000000 ", 0), 0u) << lines[4];
  EXPECT_EQ(lines[5], "order 1 status 1 filled 0 reason ");
  EXPECT_EQ(lines[6].rfind("fill 1 0.01 @ ", 0), 0u) << lines[6];
  EXPECT_NE(lines[6].find(" pos 0.01"), std::string::npos) << lines[6];
  EXPECT_EQ(lines[7], "order 1 status 3 filled 0.01 reason ");
  EXPECT_EQ(lines[8].rfind("bar 4 1704067440000000000 ", 0), 0u) << lines[8];
  EXPECT_EQ(lines[9].rfind("bar 5 ", 0), 0u) << lines[9];
  EXPECT_EQ(lines[10], "order 2 status 1 filled 0 reason ");
  EXPECT_EQ(lines[11].rfind("fill 2 0.01 @ ", 0), 0u) << lines[11];
  EXPECT_NE(lines[11].find(" pos 0"), std::string::npos) << lines[11];
  EXPECT_EQ(lines[12], "order 2 status 3 filled 0.01 reason ");
  EXPECT_EQ(lines[13].rfind("bar 6 ", 0), 0u) << lines[13];
  EXPECT_EQ(lines[14], "stop");
  EXPECT_EQ(json_number(r.out, "trades"), 1);
  EXPECT_EQ(json_number(r.out, "bars"), 6);
}

// A kline CSV parsed ahead on several threads (data.parse_threads) gives the very run one thread
// gives: the report (with the rows it skipped), every output file, and with on_error = "stop" the
// same error at the same line. The file (2.8 MB) spans three read-ahead
// windows, and the bad rows sit in two of them.
TEST_F(Cli, ParseThreadsChangeNothingButTheSpeed) {
  const auto cores = [] { return std::max(1u, std::thread::hardware_concurrency()); };
  const std::string text = test::read_file(data());
  std::string bad;
  size_t line = 0;
  for (size_t a = 0, e; (e = text.find('\n', a)) != std::string::npos; a = e + 1) {
    bad += text.substr(a, e + 1 - a);
    if (++line == 3000) bad += "1704067200000,abc,1,1,1,1,1704067259999,1,1,1,1,0\n";
    if (line == 17000) bad += "1704067200000,1,1\n";
  }
  ASSERT_GT(bad.size(), 2'500'000u);
  const std::string file = (dir_->path() / "threads_bad.csv").string();
  test::write_file(file, bad);
  const std::string cfg = config("threads", file);
  std::map<std::string, run_result> res;
  for (const char* threads : {"1", "2", "4", "0"}) {
    SCOPED_TRACE(threads);
    const fs::path out = dir_->path() / (std::string("threads_") + threads);
    res[threads] = run({cats_bin, "backtest", "--config", cfg, "--out", out.string(), "--json",
                        "--set", "data.on_error=skip", "--set", "engine.log_level=debug", "--set",
                        std::string("data.parse_threads=") + threads});
    ASSERT_EQ(res[threads].exit_code, 0) << res[threads].err;
    // Read ahead on the threads asked for (every core: this machine's, at most 4 a file).
    const size_t said = res[threads].err.find("threads_bad.csv: parsed ahead on ");
    if (std::string(threads) == "1" || (std::string(threads) == "0" && cores() < 2)) {
      EXPECT_EQ(said, std::string::npos) << res[threads].err;
    } else {
      ASSERT_NE(said, std::string::npos) << res[threads].err;
      const unsigned want = std::string(threads) == "0" ? std::min(cores(), 4u)
                                                        : static_cast<unsigned>(std::stoi(threads));
      EXPECT_EQ(res[threads].err.substr(said + 33, res[threads].err.find('\n', said) - said - 33),
                std::to_string(want) + " threads");
    }
    EXPECT_EQ(json_number(res[threads].out, "skipped_rows"), 2) << res[threads].out;
    // Stopping at the first bad row: its file, line and column (the log's clock not compared).
    const run_result stop = run({cats_bin, "backtest", "--config", cfg, "--json", "--set",
                                 std::string("data.parse_threads=") + threads});
    EXPECT_EQ(stop.exit_code, 1);
    const size_t at = stop.err.find("threads_bad.csv:");
    ASSERT_NE(at, std::string::npos) << stop.err;
    res[std::string(threads) + "_stop"].out = stop.err.substr(at, stop.err.find('\n', at) - at);
  }
  EXPECT_EQ(res["1_stop"].out, "threads_bad.csv:3001: column 2 (open): not a number: 'abc'");
  for (const char* threads : {"2", "4", "0"}) {
    SCOPED_TRACE(threads);
    EXPECT_TRUE(res[threads].out == res["1"].out) << res[threads].out;
    EXPECT_EQ(res[std::string(threads) + "_stop"].out, res["1_stop"].out);
    for (const char* f : {"summary.json", "fills.csv", "trades.csv", "orders.csv", "equity.csv"}) {
      const fs::path a = dir_->path() / "threads_1" / f;
      const fs::path b = dir_->path() / (std::string("threads_") + threads) / f;
      ASSERT_TRUE(fs::exists(a) && fs::exists(b)) << f;
      EXPECT_TRUE(test::read_file(a) == test::read_file(b)) << f;
    }
  }
  EXPECT_GT(json_number(res["1"].out, "trades"), 10);
}

// Runs of bars in one call (ABI 1.5 on_bars) change nothing a strategy sees or a run reports:
// the probe trades, sets a timer, fails or not, asks the host for the time, the account and its
// position and plots on bars inside runs, and every line it logs and every output file are the
// same with [backtest] bar_spans = false, which hands it every bar through on_event. The runs are
// really used: the log says how many bars went that way.
TEST_F(Cli, RunsOfBarsInOneCallChangeNothing) {
  // From the block store: its reader decodes 64 bars at a time, so runs are up to 64 bars long
  // (a CSV source hands out one row at a time: runs of one bar).
  const std::string store = (dir_->path() / "spans.catsrec").string();
  const run_result conv = run({cats_bin, "data", "convert", data(), "--out", store, "--symbol",
                               "BINANCE:BTCUSDT", "--format", "binance_klines"});
  ASSERT_EQ(conv.exit_code, 0) << conv.err;
  struct variant {
    std::string name, strategy;
  };
  const std::string probe = "[[strategy]]\nname = \"p\"\nplugin = \"" + test_plugins +
                            "/probe_strategy.so\"\n[strategy.params]\n";
  const std::vector<variant> variants = {
      {"trading", probe + "buy_at_bar = 300\nsell_at_bar = 2000\ntimer_at_bar = 1200\n"
                          "query_every = 7\nquantity = 0.05\n"},
      {"failing", probe + "buy_at_bar = 50\nthrow_at_bar = 4000\nquery_every = 13\n"},
      {"c", "[[strategy]]\nname = \"c\"\nplugin = \"" + test_plugins +
                "/c_strategy_good.so\"\n[strategy.params]\nfail_at_bar = 5000\n"},
      {"sma",
       "[[strategy]]\nname = \"sma\"\nplugin = \"ma_crossover\"\n"
       "[strategy.params]\nfast = 20\nslow = 90\n"}};
  for (const variant& v : variants) {
    SCOPED_TRACE(v.name);
    std::map<bool, run_result> res;
    std::map<bool, std::string> logs;  // one file name for both: the params are in the summary
    const fs::path log = dir_->path() / ("spans_" + v.name + ".log");
    for (const bool spans : {true, false}) {
      const std::string tag = v.name + (spans ? "_runs" : "_single");
      const fs::path out = dir_->path() / ("spans_" + tag);
      std::string strategy = v.strategy;
      if (v.name == "trading" || v.name == "failing")
        strategy += "log = \"" + log.string() + "\"\n";
      const std::string cfg = (dir_->path() / ("spans_" + tag + ".toml")).string();
      test::write_file(cfg,
                       "[engine]\nlog_level = \"info\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                       "files = [\"" +
                           store +
                           "\"]\nformat = \"cats_record\"\ntick_size = \"0.01\"\n"
                           "lot_size = \"0.00001\"\n[backtest]\nfee_bps = 10\nbar_spans = " +
                           (spans ? "true" : "false") + "\n" + strategy);
      res[spans] = run({cats_bin, "backtest", "--config", cfg, "--out", out.string(), "--json"});
      ASSERT_EQ(res[spans].exit_code, v.name == "failing" || v.name == "c" ? 1 : 0)
          << res[spans].err;
      if (fs::exists(log)) logs[spans] = test::read_file(log);
      fs::remove(log);
      // Without files the samples of a run of bars go to the metrics in one call.
      const run_result bare = run({cats_bin, "backtest", "--config", cfg, "--json"});
      EXPECT_TRUE(bare.out == res[spans].out) << bare.out;
      fs::remove(log);
      // A watchdog times every call: then every bar is its own call.
      if (spans && v.name == "sma") {
        const run_result timed = run({cats_bin, "backtest", "--config", cfg, "--json", "--set",
                                      "engine.callback_timeout=10"});
        EXPECT_TRUE(timed.out == res[spans].out) << timed.out;
        EXPECT_EQ(timed.err.find("runs of bars"), std::string::npos) << timed.err;
      }
    }
    const fs::path a = dir_->path() / ("spans_" + v.name + "_runs");
    const fs::path b = dir_->path() / ("spans_" + v.name + "_single");
    EXPECT_TRUE(res[true].out == res[false].out) << res[true].out;
    for (const char* f : {"summary.json", "fills.csv", "trades.csv", "orders.csv", "equity.csv",
                          "plots.csv", "report.html"}) {
      EXPECT_EQ(fs::exists(a / f), fs::exists(b / f)) << f;
      if (fs::exists(a / f)) {
        EXPECT_TRUE(test::read_file(a / f) == test::read_file(b / f)) << f;
      }
    }
    if (v.name == "trading" || v.name == "failing") {
      EXPECT_TRUE(logs[true] == logs[false]) << "the probe saw something else";
      EXPECT_NE(logs[true].find("\nquery "), std::string::npos);
      EXPECT_NE(logs[true].find("\nfill "), std::string::npos);
    }
    // Most bars went in runs many bars long (all but those around orders); none without them.
    const size_t said = res[true].err.find(" runs of bars (on_bars)");
    ASSERT_NE(said, std::string::npos) << res[true].err;
    // "I 12:00:00.000 19987 of 20160 events reached the strategy in 12 runs of bars (on_bars)"
    const size_t line = res[true].err.rfind('\n', said) + 1;
    const size_t count = res[true].err.find(' ', res[true].err.find(' ', line) + 1) + 1;
    const double in_runs = std::stod(res[true].err.substr(count));
    const double runs = std::stod(res[true].err.substr(res[true].err.rfind(' ', said - 1)));
    EXPECT_GT(in_runs, 3000.0) << res[true].err.substr(line, said - line);
    EXPECT_GT(in_runs / runs, 20.0) << res[true].err.substr(line, said - line);
    EXPECT_EQ(res[false].err.find("runs of bars"), std::string::npos);
  }
  // A window that starts and ends inside the store's blocks of 64 bars: the runs stop at its end.
  {
    std::map<bool, run_result> windowed;
    for (const bool spans : {true, false}) {
      windowed[spans] =
          run({cats_bin, "backtest", "--config", (dir_->path() / "spans_sma_runs.toml").string(),
               "--json", "--set", "backtest.start=2024-01-02T03:17:00Z", "--set",
               "backtest.end=2024-01-09T13:03:00Z", "--set",
               std::string("backtest.bar_spans=") + (spans ? "true" : "false")});
      ASSERT_EQ(windowed[spans].exit_code, 0) << windowed[spans].err;
    }
    EXPECT_TRUE(windowed[true].out == windowed[false].out) << windowed[true].out;
    EXPECT_NE(windowed[true].out.find("\"end\": \"2024-01-09T13:03:00Z\""), std::string::npos)
        << windowed[true].out;
  }
  // A plugin that breaks the contract is disabled with a message that says how, at the bar where
  // it was asked to stop; the bars after it are stepped without it. Delivered one by one, the
  // same plugin just trades.
  const std::string c_cfg = (dir_->path() / "spans_abuse.toml").string();
  test::write_file(c_cfg,
                   "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                   "files = [\"" +
                       store +
                       "\"]\nformat = \"cats_record\"\ntick_size = \"0.01\"\n"
                       "lot_size = \"0.00001\"\n[backtest]\nfee_bps = 10\n[[strategy]]\n"
                       "name = \"c\"\nplugin = \"" +
                       test_plugins +
                       "/c_strategy_good.so\"\n[strategy.params]\norder_at_bar = 100\n");
  for (const char* abuse : {"1", "2"}) {
    SCOPED_TRACE(abuse);
    const run_result bad = run({cats_bin, "backtest", "--config", c_cfg, "--json", "--set",
                                std::string("strategy.c.span_abuse=") + abuse});
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
    EXPECT_NE(bad.err.find(std::string(abuse) == "1"
                               ? "on_bars called the host from bar 37 of a run of 64 after it "
                                 "was asked to stop after bar 36"
                               : "on_bars reported 64 of 64 bars handled; it was asked to stop "
                                 "after bar 36"),
              std::string::npos)
        << bad.err;
    // Failed at bar 100 (the 36th of the run from bar 65), its order cancelled with it.
    EXPECT_NE(bad.err.find("failed in on_event(bar) at 2024-01-01T01:40:00Z"), std::string::npos);
    EXPECT_EQ(json_number(bad.out, "fills"), 0) << bad.out;
    const run_result fine =
        run({cats_bin, "backtest", "--config", c_cfg, "--json", "--set",
             std::string("strategy.c.span_abuse=") + abuse, "--set", "backtest.bar_spans=false"});
    EXPECT_EQ(fine.exit_code, 0) << fine.err;
    EXPECT_EQ(json_number(fine.out, "fills"), 1) << fine.out;
  }
  // Sweeps (lockstep blocks over the shared copy, and the store streamed) give the same results.
  for (const char* stream : {"false", "true"}) {
    std::map<bool, std::string> rows;
    for (const bool spans : {true, false}) {
      const fs::path out =
          dir_->path() / (std::string("spans_sweep_") + stream + (spans ? "1" : "0"));
      std::vector<std::string> argv = {
          cats_bin,   "sweep",
          "--config", (dir_->path() / "spans_sma_runs.toml").string(),
          "--param",  "strategy.fast=10:30:10",
          "--param",  "strategy.slow=60:120:60",
          "--out",    out.string(),
          "--set",    std::string("backtest.bar_spans=") + (spans ? "true" : "false")};
      if (std::string(stream) == "true") argv.push_back("--stream");
      const run_result r = run(argv);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      // Rows in the order the runs finished (two threads): sorted.
      std::vector<std::string> lines;
      const std::string csv = test::read_file(out / "runs.csv");
      for (size_t a = 0, e; (e = csv.find('\n', a)) != std::string::npos; a = e + 1)
        lines.push_back(csv.substr(a, e - a));
      std::sort(lines.begin(), lines.end());
      std::string kept;
      for (const std::string& l : lines) kept += l + "\n";
      rows[spans] = kept;
    }
    EXPECT_EQ(rows[true], rows[false]);
    EXPECT_GT(rows[true].size(), 200u);
  }
  // The failures happened inside runs, at the same bar and time either way.
  EXPECT_NE(test::read_file(dir_->path() / "spans_failing_runs" / "summary.json")
                .find("probe: deliberate failure at bar 4000"),
            std::string::npos);
}

TEST_F(Cli, PluginsInspectAndList) {
  run_result r =
      run({cats_bin, "plugins", "inspect", std::string(CATS_PLUGIN_DIR) + "/ma_crossover.so"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("ma_crossover 1.0.0  (ABI " + test::abi_version() + ")"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("allow_short"), std::string::npos) << r.out;
  r = run({cats_bin, "plugins", "list", "--dir", test_plugins});
  EXPECT_EQ(r.exit_code, 1);  // some test plugins are refused on purpose
  EXPECT_NE(r.out.find("probe 2.3.4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("refused: plugin " + test_plugins + "/c_strategy_major.so"),
            std::string::npos);
  r = run({cats_bin, "plugins", "inspect", test_plugins + "/no_entry.so"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no entry symbol"), std::string::npos);
}

TEST_F(Cli, GenerateRefusesBadArguments) {
  EXPECT_EQ(run({cats_bin, "generate", "--out", "/tmp/x.csv", "--interval", "7q"}).exit_code, 2);
  EXPECT_EQ(run({cats_bin, "generate", "--out", "/tmp/x.csv", "--start", "soon"}).exit_code, 2);
  EXPECT_EQ(run({cats_bin, "generate"}).exit_code, 2);
}

}  // namespace
}  // namespace cats

namespace cats {
namespace {

// Two feeds of two kinds in one run: 1-minute klines of BTCUSDT and a zipped Binance trades file
// of ETHUSDT with 5-minute bars built from it. The strategy sees one stream in time order; the zip
// replays exactly like the plain file.
TEST(CliFeeds, KlinesAndZippedTradesMergeInTimeOrder) {
  test::temp_dir dir;
  const std::string klines = (dir.path() / "btc.csv").string();
  const std::string trades = (dir.path() / "eth.csv").string();
  const std::string zip = (dir.path() / "eth.zip").string();
  ASSERT_EQ(run({cats_bin, "generate", "--out", klines, "--days", "3"}).exit_code, 0);
  ASSERT_EQ(run({cats_bin, "generate", "--out", trades, "--trades", "20000", "--days", "1",
                 "--start", "2024-01-02", "--price", "2500", "--seed", "5"})
                .exit_code,
            0);
  const run_result z = run({CATS_PYTHON, "-c",
                            "import sys, zipfile\n"
                            "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n"
                            "    z.write(sys.argv[2], 'ETHUSDT-trades-2024-01-02.csv')\n",
                            zip, trades});
  ASSERT_EQ(z.exit_code, 0) << z.err;

  auto config = [&](const std::string& name, const std::string& trade_file) {
    const fs::path file = dir.path() / (name + ".toml");
    test::write_file(file, "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" + test_plugins +
                               "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" + klines +
                               "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n"
                               "[[data.feed]]\nsymbol = \"BINANCE:ETHUSDT\"\n"
                               "format = \"binance_trades\"\nbars = \"5m\"\nfiles = [\"" +
                               trade_file +
                               "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n"
                               "[[strategy]]\nname = \"probe\"\nplugin = \"probe_strategy\"\n"
                               "[strategy.params]\nlog = \"" +
                               (dir.path() / (name + ".log")).string() +
                               "\"\nbuy_at_trade = 10\nquantity = 0.1\n");
    return file.string();
  };
  const run_result plain =
      run({cats_bin, "backtest", "--config", config("plain", trades), "--json"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const run_result zipped = run({cats_bin, "backtest", "--config", config("zip", zip), "--json"});
  ASSERT_EQ(zipped.exit_code, 0) << zipped.err;
  EXPECT_EQ(test::read_file(dir.path() / "plain.log"), test::read_file(dir.path() / "zip.log"));

  // The merged stream: every bar and trade, with times that never go back.
  const std::string log = test::read_file(dir.path() / "zip.log");
  size_t pos = 0, bars = 0, trade_lines = 0, fills = 0;
  int64_t last = 0, first_trade = 0, last_trade = 0;
  std::string last_fill;
  while (pos < log.size()) {
    const size_t eol = log.find('\n', pos);
    if (eol == std::string::npos) break;
    const std::string line(log.begin() + static_cast<std::ptrdiff_t>(pos),
                           log.begin() + static_cast<std::ptrdiff_t>(eol));
    pos = eol + 1;
    int64_t ts = 0;
    if (line.rfind("bar ", 0) == 0) {
      ++bars;
      ts = std::stoll(line.substr(line.find(' ', 4) + 1));
    } else if (line.rfind("trade ", 0) == 0) {
      ++trade_lines;
      ts = std::stoll(line.substr(line.rfind(' ') + 1));
      if (first_trade == 0) first_trade = ts;
      last_trade = ts;
    } else if (line.rfind("fill ", 0) == 0) {
      ++fills;
      last_fill = line;
    }
    if (ts != 0) {
      EXPECT_GE(ts, last) << line;
      last = ts;
    }
  }
  EXPECT_EQ(trade_lines, 20000u);
  // 3 days of 1-minute klines, and the trades' 5-minute bars (the last one unfinished).
  const int64_t five = 300'000'000'000;
  EXPECT_EQ(bars, 3u * 1440 + static_cast<size_t>(last_trade / five - first_trade / five));
  // The market buy of 0.1 walks through the small trades after it: several fills, all of it.
  EXPECT_GT(fills, 1u);
  EXPECT_NE(last_fill.find(" pos 0.1"), std::string::npos) << last_fill;
  EXPECT_EQ(json_number(zipped.out, "events"), static_cast<double>(bars + trade_lines));
  EXPECT_EQ(json_number(zipped.out, "rows"), 3.0 * 1440 + 20000);
}

}  // namespace
}  // namespace cats

namespace cats {
namespace {

// backtest.end cuts bars by their open time in every feed: with daily and hourly klines and an
// end at noon, the day that opened at midnight (and closes after the end) is still replayed.
TEST(CliFeeds, EndKeepsEveryBarThatOpenedBeforeIt) {
  test::temp_dir dir;
  const std::string daily = (dir.path() / "d.csv").string();
  const std::string hourly = (dir.path() / "h.csv").string();
  ASSERT_EQ(
      run({cats_bin, "generate", "--out", daily, "--days", "5", "--interval", "1d"}).exit_code, 0);
  ASSERT_EQ(
      run({cats_bin, "generate", "--out", hourly, "--days", "5", "--interval", "1h"}).exit_code, 0);
  const fs::path log = dir.path() / "probe.log";
  const fs::path cfg = dir.path() / "end.toml";
  test::write_file(cfg, "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" + test_plugins +
                            "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" + daily +
                            "\"]\n[[data.feed]]\nsymbol = \"BINANCE:ETHUSDT\"\nfiles = [\"" +
                            hourly +
                            "\"]\n[backtest]\nend = 2024-01-03T12:00:00Z\n[[strategy]]\n"
                            "name = \"probe\"\nplugin = \"probe_strategy\"\n[strategy.params]\n"
                            "log = \"" +
                            log.string() + "\"\n");
  const run_result r = run({cats_bin, "backtest", "--config", cfg.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = test::read_file(log);
  // Days opening Jan 1, 2 and 3; hours from Jan 1 00:00 to Jan 3 11:00.
  EXPECT_EQ(std::count(text.begin(), text.end(), 'b'), 3 + 60) << text.substr(0, 400);
  EXPECT_NE(text.find(" " + std::to_string(1'704'326'400'000'000'000) + " "), std::string::npos)
      << "the Jan 3 daily bar (closing Jan 4 00:00) is missing";
  EXPECT_EQ(json_string(r.out, "interval"), "1h") << "annualised by the shortest interval";
}

}  // namespace
}  // namespace cats
