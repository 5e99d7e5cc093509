#include "cats/report/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "cats/util/time.hpp"

namespace cats {
namespace {

constexpr int64_t U = fixed_scale;

round_trip trade(int64_t pnl_units, double ret, int64_t hours) {
  round_trip t;
  t.pnl = pnl_units * U / 10;
  t.return_pct = ret;
  t.entry_ts_ns = 0;
  t.exit_ts_ns = hours * 3600 * ns_per_s;
  return t;
}

// Equity 100 -> 110 -> 99 -> 120 on daily bars. Worked by hand:
//   returns 0.1, -0.1, 0.2121...; mean 0.0707070707; sample stdev 0.1581090432
//   Sharpe = mean / stdev x sqrt(365) = 8.5438293832
//   downside deviation = sqrt(0.1^2 / 2) = 0.0707106781; Sortino = 19.1039985056
//   max drawdown 10 % (110 -> 99), from day 1 to the recovery on day 3
TEST(Metrics, HandWorkedEquityCurve) {
  metrics_accumulator m;
  m.begin(0, 100 * U);
  m.sample(1 * ns_per_day, 110 * U, true);
  m.sample(2 * ns_per_day, 99 * U, false);
  EXPECT_DOUBLE_EQ(m.drawdown_pct(), 10.0);
  m.sample(3 * ns_per_day, 120 * U, true);
  m.add_trade(trade(100, 10.0, 2));
  m.add_trade(trade(-50, -5.0, 4));
  m.add_trade(trade(25, 2.5, 6));
  const backtest_metrics r = m.finish(ns_per_day);
  EXPECT_EQ(r.samples, 3u);
  EXPECT_EQ(r.final_equity, 120 * U);
  EXPECT_NEAR(r.total_return_pct, 20.0, 1e-12);
  EXPECT_NEAR(r.sharpe, 8.54382938323176, 1e-9);
  EXPECT_NEAR(r.sortino, 19.10399850560488, 1e-9);
  EXPECT_NEAR(r.volatility_pct, 302.0669029127867, 1e-8);
  EXPECT_NEAR(r.max_drawdown_pct, 10.0, 1e-12);
  EXPECT_EQ(r.max_drawdown_peak_ts, 1 * ns_per_day);
  EXPECT_EQ(r.max_drawdown_trough_ts, 2 * ns_per_day);
  EXPECT_EQ(r.max_drawdown_end_ts, 3 * ns_per_day);
  EXPECT_TRUE(r.max_drawdown_recovered);
  EXPECT_EQ(r.max_drawdown_duration_ns, 2 * ns_per_day);
  EXPECT_EQ(r.max_drawdown_duration_bars, 2u);
  // CAGR over 3 days of a 365-day year: 1.2^(365/3) - 1.
  EXPECT_NEAR(r.cagr_pct / 430247414340.97736, 1.0, 1e-9);
  EXPECT_NEAR(r.calmar / 43024741434.09773, 1.0, 1e-9);
  EXPECT_NEAR(r.exposure_pct, 200.0 / 3.0, 1e-12);
  EXPECT_EQ(r.trades, 3u);
  EXPECT_EQ(r.wins, 2u);
  EXPECT_EQ(r.losses, 1u);
  EXPECT_NEAR(r.win_rate_pct, 200.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.profit_factor, 2.5, 1e-12);  // 12.5 / 5
  EXPECT_NEAR(r.avg_trade_pnl, 2.5, 1e-12);
  EXPECT_NEAR(r.avg_trade_return_pct, 2.5, 1e-12);
  EXPECT_NEAR(r.best_trade_pct, 10.0, 1e-12);
  EXPECT_NEAR(r.worst_trade_pct, -5.0, 1e-12);
  EXPECT_NEAR(r.avg_win, 6.25, 1e-12);
  EXPECT_NEAR(r.avg_loss, -5.0, 1e-12);
  EXPECT_NEAR(r.avg_trade_duration_ns, 4.0 * 3600 * 1e9, 1.0);
  EXPECT_NEAR(r.periods_per_year, 365.0, 1e-12);
}

TEST(Metrics, UnrecoveredDrawdownRunsToTheEnd) {
  metrics_accumulator m;
  m.begin(0, 100 * U);
  m.sample(1 * ns_per_day, 120 * U, false);
  m.sample(2 * ns_per_day, 90 * U, false);  // 25 % below 120
  m.sample(3 * ns_per_day, 100 * U, false);
  m.sample(4 * ns_per_day, 95 * U, false);
  const backtest_metrics r = m.finish(ns_per_day);
  EXPECT_NEAR(r.max_drawdown_pct, 25.0, 1e-12);
  EXPECT_FALSE(r.max_drawdown_recovered);
  EXPECT_EQ(r.max_drawdown_end_ts, 4 * ns_per_day);
  EXPECT_EQ(r.max_drawdown_duration_ns, 3 * ns_per_day);
  EXPECT_EQ(r.max_drawdown_duration_bars, 3u);
}

TEST(Metrics, DeeperLaterDrawdownReplacesTheEarlierOne) {
  metrics_accumulator m;
  m.begin(0, 100 * U);
  m.sample(1, 95 * U, false);   // 5 %
  m.sample(2, 101 * U, false);  // recovered
  m.sample(3, 80 * U, false);   // 20.79 %
  m.sample(4, 102 * U, false);  // recovered
  const backtest_metrics r = m.finish(1);
  EXPECT_NEAR(r.max_drawdown_pct, (1.0 - 80.0 / 101.0) * 100.0, 1e-12);
  EXPECT_EQ(r.max_drawdown_peak_ts, 2);
  EXPECT_EQ(r.max_drawdown_end_ts, 4);
  EXPECT_TRUE(r.max_drawdown_recovered);
}

// Episodes from each peak to its recovery, the deepest five kept, deepest first, the open one at
// the end included; the first is the maximum drawdown.
TEST(Metrics, TheDeepestDrawdownEpisodesAreKeptInOrder) {
  metrics_accumulator m;
  m.begin(0, 100 * U);
  // equity path (times in days):           depth of the episode
  const int64_t path[] = {110, 99,  111,  // 110 -> 99: 10 %, recovered at 111 (day 3)
                          105, 112,       // 111 -> 105: 5.4054 %
                          112, 111, 113,  // equal to the peak is no drawdown; 112 -> 111: 0.8929 %
                          100, 120,       // 113 -> 100: 11.5044 %
                          119, 121,       // 120 -> 119: 0.8333 %
                          118, 122,       // 121 -> 118: 2.4793 %
                          90};            // 122 -> 90: 26.2295 %, not recovered
  int64_t day = 0;
  for (int64_t e : path) m.sample(++day * ns_per_day, e * U, false);
  const backtest_metrics r = m.finish(ns_per_day);
  ASSERT_EQ(r.drawdown_count, 5u);
  const double want[] = {(1 - 90.0 / 122) * 100, (1 - 100.0 / 113) * 100, 10.0,
                         (1 - 105.0 / 111) * 100, (1 - 118.0 / 121) * 100};
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(r.drawdowns[i].depth_pct, want[i], 1e-9) << i;
  EXPECT_EQ(r.drawdowns[0].peak_ts, 14 * ns_per_day);
  EXPECT_EQ(r.drawdowns[0].trough_ts, 15 * ns_per_day);
  EXPECT_FALSE(r.drawdowns[0].recovered);
  EXPECT_EQ(r.drawdowns[0].end_ts, 15 * ns_per_day);
  EXPECT_DOUBLE_EQ(r.drawdowns[0].depth_pct, r.max_drawdown_pct);
  // 110 (day 1) -> 99 (day 2), back above at day 3.
  EXPECT_EQ(r.drawdowns[2].peak_ts, 1 * ns_per_day);
  EXPECT_EQ(r.drawdowns[2].trough_ts, 2 * ns_per_day);
  EXPECT_EQ(r.drawdowns[2].end_ts, 3 * ns_per_day);
  EXPECT_TRUE(r.drawdowns[2].recovered);
  // No drawdown at all: no episode.
  metrics_accumulator up;
  up.begin(0, 100 * U);
  for (int64_t k = 1; k < 5; ++k) up.sample(k * ns_per_day, (100 + k) * U, false);
  EXPECT_EQ(up.finish(ns_per_day).drawdown_count, 0u);
}

TEST(Metrics, UndefinedRatiosAreNaNNotZero) {
  metrics_accumulator m;
  m.begin(0, 100 * U);
  m.sample(ns_per_day, 100 * U, false);
  m.sample(2 * ns_per_day, 100 * U, false);
  const backtest_metrics r = m.finish(ns_per_day);
  EXPECT_TRUE(std::isnan(r.sharpe));  // zero variance
  EXPECT_TRUE(std::isnan(r.sortino));
  EXPECT_TRUE(std::isnan(r.calmar));  // no drawdown
  EXPECT_TRUE(std::isnan(r.win_rate_pct));
  EXPECT_TRUE(std::isnan(r.profit_factor));
  EXPECT_EQ(r.max_drawdown_pct, 0.0);
  EXPECT_EQ(r.total_return_pct, 0.0);
}

}  // namespace
}  // namespace cats
