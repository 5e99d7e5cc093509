// Performance metrics computed online from the equity curve and the round-trip trades, in O(1)
// memory. docs/metrics.md gives every formula.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "cats/core/portfolio.hpp"

namespace cats {

/// One drawdown: from a peak of the equity to the sample where it was reached again.
struct drawdown_episode {
  double depth_pct = 0;  ///< (peak - trough) / peak, percent
  int64_t peak_ts = 0, trough_ts = 0;
  int64_t end_ts = 0;  ///< recovery, or the last sample when not recovered
  bool recovered = false;
};

/// The deepest drawdowns a run keeps, deepest first.
inline constexpr size_t max_drawdown_episodes = 5;

struct backtest_metrics {
  uint64_t samples = 0;  ///< equity samples (one per bar close time)
  int64_t start_ts_ns = 0, end_ts_ns = 0;
  int64_t initial_equity = 0, final_equity = 0;
  double total_return_pct = 0;
  double cagr_pct = 0;
  double max_drawdown_pct = 0;
  int64_t max_drawdown_peak_ts = 0;
  int64_t max_drawdown_trough_ts = 0;
  int64_t max_drawdown_end_ts = 0;  ///< recovery time, or the end of the data if not recovered
  bool max_drawdown_recovered = false;
  int64_t max_drawdown_duration_ns = 0;
  uint64_t max_drawdown_duration_bars = 0;
  double volatility_pct = 0;  ///< annualised stdev of per-bar returns
  double sharpe = 0;          ///< NaN when undefined
  double sortino = 0;
  double calmar = 0;
  uint64_t trades = 0, wins = 0, losses = 0;
  double win_rate_pct = 0;
  double profit_factor = 0;
  int64_t gross_profit = 0, gross_loss = 0;
  double avg_trade_pnl = 0;
  double avg_trade_return_pct = 0;
  double best_trade_pct = 0, worst_trade_pct = 0;
  double avg_win = 0, avg_loss = 0;
  double avg_trade_duration_ns = 0;
  double exposure_pct = 0;
  double periods_per_year = 0;
  /// The deepest drawdowns (up to max_drawdown_episodes), deepest first; the first is the maximum
  /// drawdown above.
  std::array<drawdown_episode, max_drawdown_episodes> drawdowns{};
  size_t drawdown_count = 0;
};

class metrics_accumulator {
 public:
  /// Starts the curve at `ts_ns` (the first bar's open) with the initial equity.
  void begin(int64_t ts_ns, int64_t initial_equity) noexcept;
  /// One equity sample at a bar close.
  void sample(int64_t ts_ns, int64_t equity, bool exposed) noexcept;
  /// `n` samples in a row, as sample() for each (a run of bars: the loop keeps its sums close).
  void sample_many(const int64_t* ts_ns, const int64_t* equity, size_t n, bool exposed) noexcept;
  /// `n` samples without exposure, all with equity `equity`, at strictly increasing times from
  /// `first_ts` to `last_ts`: the same figures as sample() for each. O(1) when the first return
  /// of the run was 0 (the sums then do not move); else two adds per sample.
  void sample_flat(int64_t first_ts, int64_t last_ts, size_t n, int64_t equity) noexcept;
  void add_trade(const round_trip& t) noexcept;
  /// Final figures; `interval_ns` annualises the per-bar statistics on a 365-day year.
  backtest_metrics finish(int64_t interval_ns) const noexcept;

  /// Current drawdown from the running peak, in percent (for the equity CSV).
  double drawdown_pct() const noexcept;

 private:
  inline void add_sample(int64_t ts_ns, int64_t equity, bool exposed) noexcept;
  inline void move_extremes(int64_t ts_ns, int64_t equity) noexcept;
  int64_t start_ts_ = 0, last_ts_ = 0;
  int64_t initial_ = 0, last_equity_ = 0;
  uint64_t n_ = 0;
  // Sums of the per-bar returns minus the first one (a shift that keeps the variance exact).
  double shift_ = 0, sum_ = 0, sum_sq_ = 0;
  double downside_sq_ = 0;
  uint64_t exposed_ = 0;
  bool ruined_ = false;  // equity reached zero or below: return statistics are undefined
  // Drawdown state.
  int64_t peak_ = 0, peak_ts_ = 0;
  uint64_t peak_index_ = 0;
  double max_dd_ = 0;
  double dd_threshold_ = 0;  // equity below this is a new maximum drawdown
  int64_t max_dd_peak_ts_ = 0, max_dd_trough_ts_ = 0, max_dd_end_ts_ = 0;
  uint64_t max_dd_peak_index_ = 0, max_dd_end_index_ = 0;
  bool max_dd_open_ = false;  // the deepest drawdown has not recovered yet
  // The current episode's trough, and the deepest finished episodes (deepest first).
  int64_t trough_ = 0, trough_ts_ = 0;
  std::array<drawdown_episode, max_drawdown_episodes> episodes_{};
  size_t episode_count_ = 0;
  static void keep_episode(std::array<drawdown_episode, max_drawdown_episodes>& top, size_t& n,
                           const drawdown_episode& e) noexcept;
  drawdown_episode current_episode(int64_t end_ts, bool recovered) const noexcept;
  // Trades.
  uint64_t trades_ = 0, wins_ = 0, losses_ = 0;
  int64_t gross_profit_ = 0, gross_loss_ = 0, pnl_sum_ = 0;
  double return_sum_ = 0, best_ = 0, worst_ = 0, duration_sum_ = 0;
};

}  // namespace cats
