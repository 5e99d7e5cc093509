#include "cats/report/html_report.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "cats/core/engine.hpp"
#include "cats/util/time.hpp"

namespace cats {
namespace {

constexpr int64_t U = fixed_scale;

int64_t at(int64_t y, unsigned m, unsigned d, unsigned hour = 0) {
  return days_from_civil(y, m, d) * ns_per_day + int64_t{hour} * 3600 * ns_per_s;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Four points at most, ten samples. Worked by hand: samples 1-4 fill the buffer and merge into
// buckets {1,2} {3,4} (stride 2); 5-6 and 7-8 add two buckets, the full buffer merges into
// {1..4} {5..8} (stride 4); 9-10 are the unfinished bucket. Each point is the last sample of its
// bucket with the deepest drawdown in it.
TEST(HtmlReport, DecimationByHand) {
  report_collector c(nullptr, 4);
  const double dd[] = {0, 5, 1, 0, 0, 0, 7, 0, 3, 2};
  for (int i = 1; i <= 10; ++i) c.sample(i * ns_per_s, i * U, dd[i - 1], 100 * U + i);
  const std::vector<equity_point> p = c.points();
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(c.stride(), 4u);
  EXPECT_EQ(c.samples(), 10u);
  EXPECT_EQ(p[0].ts_ns, 4 * ns_per_s);
  EXPECT_EQ(p[0].equity, 4 * U);
  EXPECT_EQ(p[0].price, 100 * U + 4);
  EXPECT_DOUBLE_EQ(p[0].drawdown_pct, 5.0);
  EXPECT_EQ(p[1].ts_ns, 8 * ns_per_s);
  EXPECT_DOUBLE_EQ(p[1].drawdown_pct, 7.0);
  EXPECT_EQ(p[2].ts_ns, 10 * ns_per_s);
  EXPECT_EQ(p[2].equity, 10 * U);
  EXPECT_DOUBLE_EQ(p[2].drawdown_pct, 3.0);
}

// A million samples stay within 4000 points, the last sample is kept and the single deepest
// drawdown (one sample in the middle of a bucket) survives every merge.
TEST(HtmlReport, DecimationIsBoundedAndKeepsTheDeepestDrawdown) {
  report_collector c;
  constexpr int n = 1'000'000;
  constexpr int deepest = 612'345;  // not the last sample of any power-of-two bucket
  for (int i = 0; i < n; ++i) {
    const double dd = i == deepest ? 42.5 : (i % 1000) / 100.0;  // else at most 9.99
    c.sample(int64_t{i} * 60 * ns_per_s, (10'000 + i % 777) * U, dd, 50'000 * U);
  }
  const std::vector<equity_point> p = c.points();
  EXPECT_LE(p.size(), 4000u);
  EXPECT_GE(p.size(), 2000u);
  EXPECT_EQ(c.samples(), static_cast<uint64_t>(n));
  EXPECT_EQ(p.back().ts_ns, int64_t{n - 1} * 60 * ns_per_s);
  double max_dd = 0;
  for (const equity_point& e : p) max_dd = std::max(max_dd, e.drawdown_pct);
  EXPECT_DOUBLE_EQ(max_dd, 42.5);
  EXPECT_TRUE(std::is_sorted(p.begin(), p.end(), [](const equity_point& a, const equity_point& b) {
    return a.ts_ns < b.ts_ns;
  }));
}

// Equity 100 -> 110 at the end of January -> 99 at the end of February -> 108.9 in March:
// +10 %, -10 %, +10 %; the year compounds to 1.1 x 0.9 x 1.1 = 1.089, +8.90 %. The sample at
// exactly 2024-03-01 00:00 is the close of February's last bar and counts for February.
TEST(HtmlReport, MonthlyReturnsByHand) {
  report_collector c;
  c.sample(at(2024, 1, 15), 105 * U, 0, 0);
  c.sample(at(2024, 1, 31, 12), 110 * U, 0, 0);
  c.sample(at(2024, 2, 10), 90 * U, 0, 0);
  c.sample(at(2024, 2, 29, 12), 95 * U, 0, 0);
  c.sample(at(2024, 3, 1), 99 * U, 0, 0);
  c.sample(at(2024, 3, 5), 1089 * U / 10, 0, 0);
  ASSERT_EQ(c.month_ends().size(), 3u);
  EXPECT_EQ(c.month_ends()[1].month, 2);
  EXPECT_EQ(c.month_ends()[1].equity, 99 * U);
  const std::vector<monthly_return> r = c.monthly_returns(100 * U);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].year, 2024);
  EXPECT_EQ(r[0].month, 1);
  EXPECT_NEAR(r[0].return_pct, 10.0, 1e-9);
  EXPECT_EQ(r[1].month, 2);
  EXPECT_NEAR(r[1].return_pct, -10.0, 1e-9);
  EXPECT_EQ(r[2].month, 3);
  EXPECT_NEAR(r[2].return_pct, 10.0, 1e-9);

  backtest_report rep;
  rep.symbol = "BINANCE:BTCUSDT";
  rep.currency = "USDT";
  rep.metrics.samples = 6;
  rep.metrics.initial_equity = 100 * U;
  const std::string html = render_html_report(rep, c);
  EXPECT_NE(html.find(">+10.00 %</td>"), std::string::npos);
  EXPECT_NE(html.find(">-10.00 %</td>"), std::string::npos);
  EXPECT_NE(html.find(">+8.90 %</td></tr>"), std::string::npos);  // the year column
}

// Fills and trades are forwarded to the next listener and capped in memory; the report says so.
TEST(HtmlReport, CapsFillsAndTradesAndForwardsThem) {
  struct counting final : fill_listener {
    int fills = 0, trades = 0;
    void on_fill(const strategy_slot&, const instrument_info&, const cats_fill_event_t&,
                 int64_t) override {
      ++fills;
    }
    void on_round_trip(const strategy_slot&, const instrument_info&, const round_trip&) override {
      ++trades;
    }
  } next;
  report_collector c(&next, 4000, 2, 1);
  strategy_slot slot;
  slot.name = "sma";
  instrument_info inst;
  inst.symbol = "BINANCE:BTCUSDT";
  cats_fill_event_t f{};
  f.side = CATS_SIDE_SELL;
  f.price = 42 * U;
  f.quantity = U;
  for (int i = 0; i < 3; ++i) c.on_fill(slot, inst, f, 0);
  round_trip t;
  t.direction = 1;
  c.on_round_trip(slot, inst, t);
  c.on_round_trip(slot, inst, t);
  EXPECT_EQ(next.fills, 3);
  EXPECT_EQ(next.trades, 2);
  ASSERT_EQ(c.fills().size(), 2u);
  EXPECT_EQ(c.fills()[0].side, -1);
  EXPECT_EQ(c.fills()[0].price, 42 * U);
  EXPECT_EQ(c.total_fills(), 3u);
  EXPECT_EQ(c.trades().size(), 1u);
  EXPECT_EQ(c.total_trades(), 2u);
  backtest_report rep;
  rep.symbol = inst.symbol;
  const std::string html = render_html_report(rep, c);
  EXPECT_NE(html.find("the first 2 of 3 fills; all are in fills.csv"), std::string::npos);
  EXPECT_NE(html.find("First 1 of 2 trades; all are in trades.csv."), std::string::npos);
}

// A symbol, a strategy name and a parameter with markup end up as text: escaped in HTML, and as
// \u003c escapes in the embedded JSON, so the only </script> tags are the page's own two.
TEST(HtmlReport, EscapesEverythingEmbedded) {
  EXPECT_EQ(html_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
  EXPECT_EQ(script_safe_json(R"({"s":"</script><!--&"})"),
            R"({"s":"\u003c/script\u003e\u003c!--\u0026"})");

  report_collector c;
  c.sample(at(2024, 1, 2), 100 * U, 0, 10 * U);
  backtest_report rep;
  rep.symbol = "X</script><img src=x onerror=alert(1)>";
  rep.currency = "<b>";
  rep.metrics.samples = 1;
  strategy_report s;
  s.name = "n<1";
  s.plugin = "p";
  s.params = "tag=</script><script>alert(2)</script>";
  rep.strategies.push_back(s);
  const std::string html = render_html_report(rep, c);
  EXPECT_EQ(count(html, "</script>"), 2u);
  EXPECT_EQ(count(html, "<img"), 0u);
  EXPECT_EQ(count(html, "<b>&lt;"), 0u);
  EXPECT_NE(html.find("X&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("n&lt;1"), std::string::npos);
  EXPECT_NE(html.find(R"("symbol":"X\u003c/script\u003e\u003cimg)"), std::string::npos);

  sweep_html_input in;
  in.title = "t</script>";
  in.metric = "sharpe";
  in.param_names = {"a<", "b"};
  in.rows.push_back({{"</script>", "1"}, {std::nan(""), 1}, {{"sharpe", 1.0}}, false, ""});
  in.notes = {{"k<", "v</script>"}};
  const std::string sweep = render_sweep_html(in);
  EXPECT_EQ(count(sweep, "</script>"), 2u);
  EXPECT_NE(sweep.find("a&lt;"), std::string::npos);
}

// Three runs ranked best first; two share the cell fast=10, slow=30 (they differ in `fraction`):
// the cell shows the best-ranked one (rank 1, value 5) and counts two runs. Numeric axes are in
// numeric order whatever the order of the rows.
TEST(HtmlReport, SweepHeatMapKeepsTheBestRunOfACell) {
  sweep_html_input in;
  in.title = "SMA grid";
  in.metric = "sharpe";
  in.param_names = {"fast", "slow", "fraction"};
  using row = sweep_html_input::row;
  in.rows.push_back(row{{"10", "30", "1"}, {10, 30, 1}, {{"sharpe", 5}, {"trades", 7}}, false, ""});
  in.rows.push_back(row{{"5", "30", "1"}, {5, 30, 1}, {{"sharpe", 4}, {"trades", 9}}, false, ""});
  in.rows.push_back(row{{"10", "30", "0.5"}, {10, 30, 0.5}, {{"sharpe", 3}}, false, ""});
  in.rows.push_back(row{{"5", "60", "1"}, {5, 60, 1}, {}, true, "bad"});
  const std::string html = render_sweep_html(in);
  EXPECT_NE(html.find(R"("xs":["5","10"])"), std::string::npos);
  EXPECT_NE(html.find(R"("ys":["30","60"])"), std::string::npos);
  EXPECT_NE(html.find("[1,0,5,1,2]"), std::string::npos);  // x=10, y=30: rank 1 of 2 runs
  EXPECT_NE(html.find("[0,0,4,2,1]"), std::string::npos);
  EXPECT_EQ(html.find("[0,1,"), std::string::npos);  // the failed run has no cell
  EXPECT_NE(html.find(R"("lowerBetter":false)"), std::string::npos);
  EXPECT_NE(html.find("each cell shows the best-ranked of its runs"), std::string::npos);
  EXPECT_NE(html.find("failed: bad"), std::string::npos);
}

}  // namespace
}  // namespace cats
