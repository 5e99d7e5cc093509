#include "cats/report/metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

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

// The same bits: a double that is NaN in one is NaN in the other.
void expect_same(double a, double b, const char* what) {
  EXPECT_TRUE(std::memcmp(&a, &b, sizeof a) == 0) << what << ": " << a << " vs " << b;
}

void expect_same(const backtest_metrics& a, const backtest_metrics& b) {
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.end_ts_ns, b.end_ts_ns);
  EXPECT_EQ(a.final_equity, b.final_equity);
  expect_same(a.total_return_pct, b.total_return_pct, "total return");
  expect_same(a.max_drawdown_pct, b.max_drawdown_pct, "max drawdown");
  EXPECT_EQ(a.max_drawdown_peak_ts, b.max_drawdown_peak_ts);
  EXPECT_EQ(a.max_drawdown_trough_ts, b.max_drawdown_trough_ts);
  EXPECT_EQ(a.max_drawdown_end_ts, b.max_drawdown_end_ts);
  EXPECT_EQ(a.max_drawdown_recovered, b.max_drawdown_recovered);
  EXPECT_EQ(a.max_drawdown_duration_bars, b.max_drawdown_duration_bars);
  expect_same(a.volatility_pct, b.volatility_pct, "volatility");
  expect_same(a.sharpe, b.sharpe, "sharpe");
  expect_same(a.sortino, b.sortino, "sortino");
  expect_same(a.calmar, b.calmar, "calmar");
  expect_same(a.exposure_pct, b.exposure_pct, "exposure");
  ASSERT_EQ(a.drawdown_count, b.drawdown_count);
  for (size_t i = 0; i < a.drawdown_count; ++i) {
    expect_same(a.drawdowns[i].depth_pct, b.drawdowns[i].depth_pct, "episode depth");
    EXPECT_EQ(a.drawdowns[i].peak_ts, b.drawdowns[i].peak_ts) << i;
    EXPECT_EQ(a.drawdowns[i].trough_ts, b.drawdowns[i].trough_ts) << i;
    EXPECT_EQ(a.drawdowns[i].end_ts, b.drawdowns[i].end_ts) << i;
    EXPECT_EQ(a.drawdowns[i].recovered, b.drawdowns[i].recovered) << i;
  }
}

// A run's samples come one by one (sample), a run of bars at a time (sample_many), or as one
// flat run without exposure (sample_flat): every figure is the same to the bit, whatever the
// grouping. The path has flat stretches at a peak, in a drawdown, below the deepest drawdown's
// threshold, right after a move, at the start (a first return of 0) and after a first return
// that is not 0 (shifted sums), and an account ruined at the end.
TEST(Metrics, SamplesInRunsOrFlatRunsGiveTheSameFigures) {
  for (const int variant : {0, 1, 2}) {  // 1: the first return is not 0; 2: ruined at the end
    SCOPED_TRACE(variant);
    struct step {
      int64_t equity;
      size_t repeat;  // this equity this many times (a flat stretch when > 1)
      bool exposed;
    };
    std::vector<step> path = {
        {100, 5, false}, {104, 1, true},  {105, 1, true},  {103, 1, true}, {104, 7, false},
        {101, 3, true},  {97, 4, false},  {98, 1, true},   {99, 1, true},  {99, 6, false},
        {106, 2, true},  {106, 9, false}, {90, 5, false},  {88, 1, true},  {95, 3, false},
        {107, 4, true},  {103, 8, false}, {60, 1, true},   {61, 1, true},  {60, 3, true},
        {60, 12, false}, {70, 2, false},  {110, 5, false}, {111, 1, true}, {109, 1, true}};
    if (variant == 1) path.insert(path.begin(), {102, 1, true});
    if (variant == 2) path.insert(path.end(), {{0, 2, true}, {-5, 3, false}, {-5, 4, false}});
    std::vector<int64_t> ts, equity;
    std::vector<uint8_t> exposed;
    for (const step& s : path)
      for (size_t k = 0; k < s.repeat; ++k) {
        ts.push_back(static_cast<int64_t>(ts.size() + 1) * ns_per_day);
        equity.push_back(s.equity * U / 7);  // not round numbers: returns with long fractions
        exposed.push_back(s.exposed ? 1 : 0);
      }
    metrics_accumulator one;
    one.begin(0, 100 * U / 7);
    for (size_t i = 0; i < ts.size(); ++i) one.sample(ts[i], equity[i], exposed[i] != 0);
    const backtest_metrics want = one.finish(ns_per_day);
    // Groups of 1..6 samples: a group of one equity without exposure goes in as a flat run, any
    // other through sample_many.
    for (size_t seed = 1; seed <= 40; ++seed) {
      SCOPED_TRACE(seed);
      metrics_accumulator m, ref;  // ref: one by one, in step with m
      m.begin(0, 100 * U / 7);
      ref.begin(0, 100 * U / 7);
      size_t flat_runs = 0;
      for (size_t i = 0, g = seed; i < ts.size(); g = g * 7 + 3) {
        size_t n = std::min<size_t>(1 + g % 6, ts.size() - i);
        // One exposure per call, as a run of bars has.
        size_t same = 1;
        while (same < n && exposed[i + same] == exposed[i]) ++same;
        n = same;
        bool flat = n >= 2 && exposed[i] == 0;
        for (size_t k = 1; k < n && flat; ++k) flat = equity[i + k] == equity[i];
        if (flat) {
          m.sample_flat(ts[i], ts[i + n - 1], n, equity[i]);
          ++flat_runs;
        } else {
          m.sample_many(&ts[i], &equity[i], n, exposed[i] != 0);
        }
        for (size_t k = i; k < i + n; ++k) ref.sample(ts[k], equity[k], exposed[k] != 0);
        i += n;
        expect_same(m.drawdown_pct(), ref.drawdown_pct(), "drawdown after a group");
      }
      EXPECT_GT(flat_runs, 5u);
      expect_same(m.finish(ns_per_day), want);
    }
  }
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
