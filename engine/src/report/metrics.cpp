#include "cats/report/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cats/util/time.hpp"

namespace cats {

namespace {
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double year_ns = 365.0 * 86400.0 * 1e9;

// The return from `last` to `equity`: 0 for a flat period (no division) and once the account is
// ruined (equity at or below zero: returns have no meaning).
[[gnu::always_inline]] inline double period_return(int64_t equity, int64_t last) noexcept {
  return equity == last || last <= 0
             ? 0.0
             : static_cast<double>(equity) / static_cast<double>(last) - 1.0;
}

// A return's share of the downside sum, without a branch: the sign of a return is a coin toss
// (the same bits as adding r * r only when r < 0).
[[gnu::always_inline]] inline double downside_square(double r) noexcept {
  const double below = std::min(r, 0.0);
  return below * below;
}
}  // namespace

void metrics_accumulator::begin(int64_t ts_ns, int64_t initial_equity) noexcept {
  *this = metrics_accumulator{};
  start_ts_ = last_ts_ = ts_ns;
  initial_ = last_equity_ = initial_equity;
  peak_ = trough_ = initial_equity;
  peak_ts_ = trough_ts_ = ts_ns;
  dd_threshold_ = static_cast<double>(initial_equity);
}

[[gnu::always_inline]] inline void metrics_accumulator::add_sample(int64_t ts_ns, int64_t equity,
                                                                   bool exposed) noexcept {
  // Once equity has gone to zero or below, returns have no meaning (the account is ruined).
  if (last_equity_ <= 0) ruined_ = true;
  const double r = period_return(equity, last_equity_);
  // Sums shifted by the first return keep the variance accurate without a division per sample.
  if (n_ == 0) shift_ = r;
  ++n_;
  const double d = r - shift_;
  sum_ += d;
  sum_sq_ += d * d;
  downside_sq_ += downside_square(r);
  if (exposed) ++exposed_;
  last_equity_ = equity;
  last_ts_ = ts_ns;
  if (equity >= peak_ || equity < trough_ || static_cast<double>(equity) < dd_threshold_)
    move_extremes(ts_ns, equity);
}

// A sample (the n_-th) at a new peak, a new trough, or below the deepest drawdown's threshold.
[[gnu::always_inline]] inline void metrics_accumulator::move_extremes(int64_t ts_ns,
                                                                      int64_t equity) noexcept {
  if (equity >= peak_) {
    if (trough_ < peak_) {  // an episode ended: rare, so the top list costs nothing per bar
      keep_episode(episodes_, episode_count_, current_episode(ts_ns, true));
    }
    trough_ = equity;
    trough_ts_ = ts_ns;
    if (max_dd_open_) {  // the deepest drawdown so far just recovered
      max_dd_open_ = false;
      max_dd_end_ts_ = ts_ns;
      max_dd_end_index_ = n_;
    }
    peak_ = equity;
    peak_ts_ = ts_ns;
    peak_index_ = n_;
    dd_threshold_ = static_cast<double>(peak_) * (1.0 - max_dd_ / 100.0);
    return;
  }
  if (equity < trough_) {
    trough_ = equity;
    trough_ts_ = ts_ns;
  }
  // Below the peak; only a new maximum drawdown needs the division.
  if (static_cast<double>(equity) >= dd_threshold_) return;
  const double dd =
      peak_ > 0 ? (1.0 - static_cast<double>(equity) / static_cast<double>(peak_)) * 100.0 : 100.0;
  if (dd > max_dd_) {
    max_dd_ = dd;
    max_dd_peak_ts_ = peak_ts_;
    max_dd_peak_index_ = peak_index_;
    max_dd_trough_ts_ = ts_ns;
    max_dd_open_ = true;
    dd_threshold_ = static_cast<double>(peak_) * (1.0 - max_dd_ / 100.0);
  }
}

void metrics_accumulator::sample(int64_t ts_ns, int64_t equity, bool exposed) noexcept {
  add_sample(ts_ns, equity, exposed);
}

// As add_sample for each, with the sums and counts in registers: the loop stores nothing per
// sample but at a new peak, trough or drawdown.
void metrics_accumulator::sample_many(const int64_t* ts_ns, const int64_t* equity, size_t n,
                                      bool exposed) noexcept {
  if (n == 0) return;
  add_sample(ts_ns[0], equity[0], exposed);  // the first return sets the shift
  const double shift = shift_;
  double sum = sum_, sum_sq = sum_sq_, down = downside_sq_;
  int64_t last = last_equity_;
  bool ruined = ruined_;
  for (size_t i = 1; i < n; ++i) {
    const int64_t e = equity[i];
    if (last <= 0) ruined = true;
    const double r = period_return(e, last);
    const double d = r - shift;
    sum += d;
    sum_sq += d * d;
    down += downside_square(r);
    last = e;
    if (e >= peak_ || e < trough_ || static_cast<double>(e) < dd_threshold_) {
      n_ += i;  // move_extremes reads the sample's index
      move_extremes(ts_ns[i], e);
      n_ -= i;
    }
  }
  sum_ = sum;
  sum_sq_ = sum_sq;
  downside_sq_ = down;
  ruined_ = ruined;
  last_equity_ = last;
  n_ += n - 1;
  if (exposed) exposed_ += n - 1;
  last_ts_ = ts_ns[n - 1];
}

void metrics_accumulator::sample_flat(int64_t first_ts, int64_t last_ts, size_t n,
                                      int64_t equity) noexcept {
  // The first sample may move the equity (from the last one) and the peak, trough and open
  // drawdown with it; each later one has a return of 0, so it moves nothing but the count, the
  // shifted sums, the last time and, at a peak, the peak's (and trough's) time and index. The
  // shifted sums take a step per sample only when the first return was not 0 (the same adds as
  // add_sample's, for the same rounding).
  if (n == 0) return;
  add_sample(first_ts, equity, false);
  if (n == 1) return;
  const size_t more = n - 1;
  const double d = 0.0 - shift_;
  if (d != 0.0) {
    for (size_t i = 0; i < more; ++i) {
      sum_ += d;
      sum_sq_ += d * d;
    }
  }
  if (last_equity_ <= 0) ruined_ = true;
  n_ += more;
  last_ts_ = last_ts;
  if (equity >= peak_) {  // the first sample made it the peak (and the trough)
    peak_ts_ = trough_ts_ = last_ts;
    peak_index_ = n_;
  }
}

drawdown_episode metrics_accumulator::current_episode(int64_t end_ts,
                                                      bool recovered) const noexcept {
  drawdown_episode e;
  e.depth_pct =
      peak_ > 0 ? (1.0 - static_cast<double>(trough_) / static_cast<double>(peak_)) * 100.0 : 100.0;
  e.peak_ts = peak_ts_;
  e.trough_ts = trough_ts_;
  e.end_ts = end_ts;
  e.recovered = recovered;
  return e;
}

void metrics_accumulator::keep_episode(std::array<drawdown_episode, max_drawdown_episodes>& top,
                                       size_t& n, const drawdown_episode& e) noexcept {
  size_t at = n;
  while (at > 0 && top[at - 1].depth_pct < e.depth_pct) --at;
  if (at >= top.size()) return;  // shallower than every kept one
  for (size_t i = std::min(n, top.size() - 1); i > at; --i) top[i] = top[i - 1];
  top[at] = e;
  n = std::min(n + 1, top.size());
}

double metrics_accumulator::drawdown_pct() const noexcept {
  if (last_equity_ >= peak_ || peak_ <= 0) return 0.0;
  return (1.0 - static_cast<double>(last_equity_) / static_cast<double>(peak_)) * 100.0;
}

void metrics_accumulator::add_trade(const round_trip& t) noexcept {
  ++trades_;
  pnl_sum_ += t.pnl;
  return_sum_ += t.return_pct;
  duration_sum_ += static_cast<double>(t.exit_ts_ns - t.entry_ts_ns);
  if (trades_ == 1 || t.return_pct > best_) best_ = t.return_pct;
  if (trades_ == 1 || t.return_pct < worst_) worst_ = t.return_pct;
  if (t.pnl > 0) {
    ++wins_;
    gross_profit_ += t.pnl;
  } else if (t.pnl < 0) {
    ++losses_;
    gross_loss_ += -t.pnl;
  }
}

backtest_metrics metrics_accumulator::finish(int64_t interval_ns) const noexcept {
  backtest_metrics m;
  m.drawdowns = episodes_;
  m.drawdown_count = episode_count_;
  if (trough_ < peak_)
    keep_episode(m.drawdowns, m.drawdown_count, current_episode(last_ts_, false));
  m.samples = n_;
  m.start_ts_ns = start_ts_;
  m.end_ts_ns = last_ts_;
  m.initial_equity = initial_;
  m.final_equity = last_equity_;
  const double growth =
      initial_ > 0 ? static_cast<double>(last_equity_) / static_cast<double>(initial_) : nan;
  m.total_return_pct = (growth - 1.0) * 100.0;
  const double years = static_cast<double>(last_ts_ - start_ts_) / year_ns;
  if (years > 0 && growth > 0)
    m.cagr_pct = (std::pow(growth, 1.0 / years) - 1.0) * 100.0;
  else if (years > 0)
    m.cagr_pct = -100.0;
  else
    m.cagr_pct = nan;

  m.max_drawdown_pct = max_dd_;
  m.max_drawdown_peak_ts = max_dd_peak_ts_;
  m.max_drawdown_trough_ts = max_dd_trough_ts_;
  if (max_dd_ > 0) {
    m.max_drawdown_recovered = !max_dd_open_;
    m.max_drawdown_end_ts = max_dd_open_ ? last_ts_ : max_dd_end_ts_;
    m.max_drawdown_duration_ns = m.max_drawdown_end_ts - max_dd_peak_ts_;
    m.max_drawdown_duration_bars = (max_dd_open_ ? n_ : max_dd_end_index_) - max_dd_peak_index_;
  }

  m.periods_per_year = interval_ns > 0 ? year_ns / static_cast<double>(interval_ns) : nan;
  const double n = static_cast<double>(n_);
  const double mean = n_ > 0 ? shift_ + sum_ / n : nan;
  const double var = n_ > 1 ? std::max(0.0, (sum_sq_ - sum_ * sum_ / n) / (n - 1)) : nan;
  const double sd = std::sqrt(var);
  const double dd = n_ > 1 ? std::sqrt(downside_sq_ / static_cast<double>(n_ - 1)) : nan;
  const double ann = std::sqrt(m.periods_per_year);
  m.volatility_pct = ruined_ ? nan : sd * ann * 100.0;
  m.sharpe = sd > 0 && !ruined_ ? mean / sd * ann : nan;
  m.sortino = dd > 0 && !ruined_ ? mean / dd * ann : nan;
  m.calmar = max_dd_ > 0 ? m.cagr_pct / max_dd_ : nan;

  m.trades = trades_;
  m.wins = wins_;
  m.losses = losses_;
  m.gross_profit = gross_profit_;
  m.gross_loss = gross_loss_;
  m.win_rate_pct =
      trades_ > 0 ? static_cast<double>(wins_) / static_cast<double>(trades_) * 100.0 : nan;
  m.profit_factor =
      gross_loss_ > 0 ? static_cast<double>(gross_profit_) / static_cast<double>(gross_loss_) : nan;
  const double t = static_cast<double>(trades_);
  m.avg_trade_pnl = trades_ > 0 ? static_cast<double>(pnl_sum_) / 1e8 / t : nan;
  m.avg_trade_return_pct = trades_ > 0 ? return_sum_ / t : nan;
  m.best_trade_pct = trades_ > 0 ? best_ : nan;
  m.worst_trade_pct = trades_ > 0 ? worst_ : nan;
  m.avg_win =
      wins_ > 0 ? static_cast<double>(gross_profit_) / 1e8 / static_cast<double>(wins_) : nan;
  m.avg_loss =
      losses_ > 0 ? -static_cast<double>(gross_loss_) / 1e8 / static_cast<double>(losses_) : nan;
  m.avg_trade_duration_ns = trades_ > 0 ? duration_sum_ / t : nan;
  m.exposure_pct = n_ > 0 ? static_cast<double>(exposed_) / static_cast<double>(n_) * 100.0 : nan;
  return m;
}

}  // namespace cats
