// The HTML report of a backtest (report.html with --out) and of a parameter sweep: one
// self-contained file, inline CSS and JavaScript, the data embedded as JSON; nothing is fetched
// when it is viewed. The charts are drawn by the inline script into SVG.
//
// report_collector gathers what the report shows while the backtest runs, in memory bounded
// independently of the length of the data: the equity curve is decimated online, fills and round
// trips are capped (the report says so), the monthly table has one entry per calendar month.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cats/report/report.hpp"
#include "cats/sim/sim_exchange.hpp"

namespace cats {

/// One point of the decimated equity curve: the last sample of its bucket, with the deepest
/// drawdown of any sample in the bucket (so the deepest drawdown of the run is never lost).
struct equity_point {
  int64_t ts_ns = 0;
  int64_t equity = 0;       ///< fixed point, account currency
  double drawdown_pct = 0;  ///< >= 0: the deepest drawdown within the bucket
  int64_t price = 0;        ///< last price of the primary instrument, 0 if none seen yet
  int64_t open = 0, high = 0, low = 0;  ///< the price's candle over the bucket
};

/// Equity at the end of a calendar month (UTC), from the full-resolution samples.
struct month_end {
  int32_t year = 0;
  int32_t month = 0;  ///< 1..12
  int64_t equity = 0;
};

struct monthly_return {
  int32_t year = 0, month = 0;
  double return_pct = 0;  ///< against the previous month's end (the initial equity for the first)
};

struct report_fill {
  int64_t ts_ns = 0;
  int32_t side = 0;  ///< +1 buy, -1 sell
  int64_t price = 0, quantity = 0;
  std::string symbol;
};

/// A series a strategy plots (host API plot), decimated like the equity curve: at most
/// `max_points`, each the last value of its bucket; NaN is a gap.
struct plot_series {
  std::string strategy, name, panel;  ///< panel "" = over the price chart
  uint32_t index = 0;                 ///< the strategy's own index of the series
  std::vector<std::pair<int64_t, double>> points;
  uint64_t values = 0;  ///< values received (a replaced value at the same time counts once)
  uint64_t stride = 1, pending = 0;
};

struct report_trade {
  std::string strategy, symbol;
  round_trip trade;
};

/// Collects the report's data during a run. It is a fill_listener that forwards every call to
/// `next` (the fills_recorder), so the exchange keeps one listener.
class report_collector final : public fill_listener {
 public:
  explicit report_collector(fill_listener* next = nullptr, size_t max_points = 4000,
                            size_t max_fills = 5000, size_t max_trades = 2000);

  /// One equity sample (a bar close). `drawdown_pct` >= 0; `price` 0 = not known yet.
  void sample(int64_t ts_ns, int64_t equity, double drawdown_pct, int64_t price, int64_t open = 0,
              int64_t high = 0, int64_t low = 0);
  /// The price buy & hold starts from (the first bar's open); else the first sampled price.
  void set_first_price(int64_t price) noexcept { first_price_ = price; }

  void on_fill(const strategy_slot& owner, const instrument_info& inst,
               const cats_fill_event_t& fill, int64_t cash_after) override;
  void on_round_trip(const strategy_slot& owner, const instrument_info& inst,
                     const round_trip& trade) override;

  /// The decimated curve (at most max_points), the last sample always included.
  std::vector<equity_point> points() const;
  uint64_t samples() const noexcept { return samples_; }
  /// Samples per stored point (a power of two).
  uint64_t stride() const noexcept { return stride_; }
  int64_t first_price() const noexcept;

  const std::vector<month_end>& month_ends() const noexcept { return months_; }
  /// Return of every month; the first month is measured from `initial_equity`.
  std::vector<monthly_return> monthly_returns(int64_t initial_equity) const;
  /// Return of every UTC day with a sample, as (days since the epoch, percent); the first day is
  /// measured from `initial_equity`.
  std::vector<std::pair<int64_t, double>> daily_returns(int64_t initial_equity) const;

  const std::vector<report_fill>& fills() const noexcept { return fills_; }
  uint64_t total_fills() const noexcept { return total_fills_; }
  const std::vector<report_trade>& trades() const noexcept { return trades_; }
  /// A value a strategy plotted; a second value of a series at the same time replaces the first.
  void plot(std::string_view strategy, uint32_t index, std::string_view name,
            std::string_view panel, int64_t ts_ns, double value);
  const std::vector<plot_series>& plots() const noexcept { return plots_; }
  uint64_t total_trades() const noexcept { return total_trades_; }

 private:
  void push(const equity_point& p);

  fill_listener* next_;
  size_t max_points_, max_fills_, max_trades_;
  std::vector<equity_point> points_;
  equity_point pending_{};  // the bucket being filled
  uint64_t pending_count_ = 0;
  uint64_t stride_ = 1;
  uint64_t samples_ = 0;
  int64_t first_price_ = 0, first_sampled_price_ = 0;
  std::vector<month_end> months_;
  int64_t month_limit_ns_ = 0;  // samples after this belong to the next month
  std::vector<std::pair<int64_t, int64_t>> day_ends_;  // (day since the epoch, equity)
  int64_t day_limit_ns_ = 0;
  std::vector<report_fill> fills_;
  std::vector<report_trade> trades_;
  uint64_t total_fills_ = 0, total_trades_ = 0;
  std::vector<plot_series> plots_;
};

/// The backtest report: one self-contained HTML page. Throws nothing but std::bad_alloc.
std::string render_html_report(const backtest_report& summary, const report_collector& data);

/// What the sweep page shows. Plain data so that the sweep can fill it without knowing HTML.
struct sweep_html_input {
  std::string title;
  std::string metric;  ///< the metric the rows are ranked by and the heat map shows
  std::vector<std::string> param_names;
  struct row {
    std::vector<std::string> params;    ///< as text, one per param_names entry
    std::vector<double> param_numeric;  ///< the same as numbers; NaN where not numeric
    std::vector<std::pair<std::string, double>> metrics;  ///< name, value (NaN = n/a)
    bool failed = false;
    std::string error;
  };
  std::vector<row> rows;       ///< ranked, best first
  std::string heat_x, heat_y;  ///< parameter names; empty = the first two
  std::vector<std::pair<std::string, std::string>> notes;  ///< key/value lines shown above
  /// Walk-forward: per fold, the in-sample winner's return (percent from its start) over the
  /// in-sample range and over the out-of-sample range that follows.
  struct fold {
    std::string title;  ///< "Fold 1: fast=10 slow=120"
    std::vector<std::pair<int64_t, double>> in_sample, out_of_sample;  ///< (time, return %)
    double in_sample_value = 0, out_of_sample_value = 0;               ///< the ranking metric
  };
  std::vector<fold> folds;
};

/// The sweep report: the ranked table and a heat map of `metric` over two parameters (the best
/// ranked run of each cell when other parameters vary too).
std::string render_sweep_html(const sweep_html_input& in);

/// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(std::string_view text);
/// JSON text made safe inside <script>: every < > & becomes a \u escape (valid JSON, and no
/// "</script>" or "<!--" can appear).
std::string script_safe_json(std::string_view json);

}  // namespace cats
