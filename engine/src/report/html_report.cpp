#include "cats/report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "cats/core/engine.hpp"
#include "cats/core/fixed.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"
#include "html_report_assets.hpp"
#include "number_format.hpp"

namespace cats {

// ---- collector --------------------------------------------------------------------------------

report_collector::report_collector(fill_listener* next, size_t max_points, size_t max_fills,
                                   size_t max_trades)
    : next_(next),
      // Even, so that a full buffer halves into whole pairs.
      max_points_(std::max<size_t>(4, max_points & ~size_t{1})),
      max_fills_(max_fills),
      max_trades_(max_trades) {
  points_.reserve(max_points_);
}

void report_collector::sample(int64_t ts_ns, int64_t equity, double drawdown_pct, int64_t price,
                              int64_t open, int64_t high, int64_t low) {
  if (open == 0) open = high = low = price;  // no candle given: a flat one at the price
  ++samples_;
  if (first_sampled_price_ == 0 && price > 0) first_sampled_price_ = price;

  // Month ends. A sample at exactly midnight is the close of the last bar of the previous month,
  // so a sample belongs to the month that contains ts - 1 ns.
  if (months_.empty() || ts_ns > month_limit_ns_) {
    const civil_time c = to_civil(ts_ns - 1);
    months_.push_back({static_cast<int32_t>(c.year), static_cast<int32_t>(c.month), equity});
    const int64_t ny = c.month == 12 ? c.year + 1 : c.year;
    const unsigned nm = c.month == 12 ? 1 : c.month + 1;
    month_limit_ns_ = days_from_civil(ny, nm, 1) * ns_per_day;
  } else {
    months_.back().equity = equity;
  }

  // Day ends, the same way (the daily tables, the rolling Sharpe ratio, the distribution).
  if (day_ends_.empty() || ts_ns > day_limit_ns_) {
    const int64_t day = (ts_ns - 1) / ns_per_day;
    day_ends_.emplace_back(day, equity);
    day_limit_ns_ = (day + 1) * ns_per_day;
  } else {
    day_ends_.back().second = equity;
  }

  // Decimation: a bucket of `stride_` samples becomes one point (its last sample, its deepest
  // drawdown); when the buffer is full, neighbours merge and the stride doubles.
  if (pending_count_ == 0) {
    pending_ = {ts_ns, equity, drawdown_pct, price, open, high, low};
  } else {
    pending_.ts_ns = ts_ns;
    pending_.equity = equity;
    pending_.price = price;
    pending_.drawdown_pct = std::max(pending_.drawdown_pct, drawdown_pct);
    if (pending_.open == 0) pending_.open = open;  // the first price seen in the bucket
    if (high > pending_.high) pending_.high = high;
    if (low > 0 && (pending_.low == 0 || low < pending_.low)) pending_.low = low;
  }
  if (++pending_count_ == stride_) {
    push(pending_);
    pending_count_ = 0;
  }
}

void report_collector::push(const equity_point& p) {
  points_.push_back(p);
  if (points_.size() < max_points_) return;
  const size_t half = points_.size() / 2;
  for (size_t i = 0; i < half; ++i) {
    const equity_point& first = points_[2 * i];
    equity_point merged = points_[2 * i + 1];
    merged.drawdown_pct = std::max(merged.drawdown_pct, first.drawdown_pct);
    if (first.open != 0) merged.open = first.open;
    merged.high = std::max(merged.high, first.high);
    if (first.low > 0 && (merged.low == 0 || first.low < merged.low)) merged.low = first.low;
    points_[i] = merged;
  }
  points_.resize(half);
  stride_ *= 2;
}

std::vector<equity_point> report_collector::points() const {
  std::vector<equity_point> out = points_;
  if (pending_count_ > 0) out.push_back(pending_);
  return out;
}

void report_collector::plot(std::string_view strategy, uint32_t index, std::string_view name,
                            std::string_view panel, int64_t ts_ns, double value) {
  auto it = std::find_if(plots_.begin(), plots_.end(), [&](const plot_series& s) {
    return s.index == index && s.strategy == strategy;
  });
  if (it == plots_.end()) {
    plots_.push_back({std::string(strategy), std::string(name), std::string(panel), index, {}});
    it = std::prev(plots_.end());
    it->points.reserve(64);
  }
  plot_series& s = *it;
  if (!std::isfinite(value)) value = std::nan("");
  // The same time again replaces the value: the last point, or the bucket being filled.
  if (!s.points.empty() && s.points.back().first == ts_ns) {
    s.points.back().second = value;
    return;
  }
  ++s.values;
  // Buckets of `stride` values become one point (the last); a full buffer halves and the stride
  // doubles, as for the equity curve: memory is bounded whatever the length of the run.
  if (s.pending == 0) {
    s.points.emplace_back(ts_ns, value);
  } else {
    s.points.back() = {ts_ns, value};
  }
  if (++s.pending < s.stride) return;
  s.pending = 0;
  if (s.points.size() < max_points_) return;
  const size_t half = s.points.size() / 2;
  for (size_t i = 0; i < half; ++i) s.points[i] = s.points[2 * i + 1];
  s.points.resize(half);
  s.stride *= 2;
}

int64_t report_collector::first_price() const noexcept {
  return first_price_ > 0 ? first_price_ : first_sampled_price_;
}

std::vector<monthly_return> report_collector::monthly_returns(int64_t initial_equity) const {
  std::vector<monthly_return> out;
  out.reserve(months_.size());
  int64_t prev = initial_equity;
  for (const month_end& m : months_) {
    const double r = prev > 0
                         ? (static_cast<double>(m.equity) / static_cast<double>(prev) - 1.0) * 100.0
                         : std::nan("");
    out.push_back({m.year, m.month, r});
    prev = m.equity;
  }
  return out;
}

std::vector<std::pair<int64_t, double>> report_collector::daily_returns(
    int64_t initial_equity) const {
  std::vector<std::pair<int64_t, double>> out;
  out.reserve(day_ends_.size());
  int64_t prev = initial_equity;
  for (const auto& [day, equity] : day_ends_) {
    out.emplace_back(
        day, prev > 0 ? (static_cast<double>(equity) / static_cast<double>(prev) - 1.0) * 100.0
                      : std::nan(""));
    prev = equity;
  }
  return out;
}

void report_collector::on_fill(const strategy_slot& owner, const instrument_info& inst,
                               const cats_fill_event_t& fill, int64_t cash_after) {
  if (next_ != nullptr) next_->on_fill(owner, inst, fill, cash_after);
  ++total_fills_;
  if (fills_.size() < max_fills_)
    fills_.push_back({fill.header.exchange_ts_ns, fill.side == CATS_SIDE_BUY ? 1 : -1, fill.price,
                      fill.quantity, inst.symbol});
}

void report_collector::on_round_trip(const strategy_slot& owner, const instrument_info& inst,
                                     const round_trip& trade) {
  if (next_ != nullptr) next_->on_round_trip(owner, inst, trade);
  ++total_trades_;
  if (trades_.size() < max_trades_) trades_.push_back({owner.name, inst.symbol, trade});
}

// ---- helpers ----------------------------------------------------------------------------------

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string script_safe_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (const char c : json) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

using report_format::group;
using report_format::money;
using report_format::num;

// Whole numbers without decimals (counts, integer parameters), large values with 2, others 4.
std::string sweep_number(double v) {
  if (!std::isfinite(v)) return "n/a";
  if (v == std::trunc(v) && std::abs(v) < 1e15) return group(num(v, 0));
  return group(num(v, std::abs(v) >= 100 ? 2 : 4));
}

std::string money(double v) {
  return std::isfinite(v) ? group(num(v, 2)) : "n/a";
}

std::string pct(double v, int prec = 2, bool sign = true) {
  if (!std::isfinite(v)) return "n/a";
  std::string s = num(v, prec);
  if (sign && v > 0) s.insert(0, "+");
  return s + " %";
}

const char* tone(double v) {
  return !std::isfinite(v) || v == 0 ? "" : v > 0 ? "pos" : "neg";
}

std::string date_time(int64_t ts) {
  std::string s = format_iso8601(ts);
  return s.substr(0, 10) + " " + s.substr(11, 5);
}

std::string date_only(int64_t ts) {
  return format_iso8601(ts).substr(0, 10);
}

void kv(std::string& o, std::string_view label, const std::string& value, std::string_view cls = {},
        const std::string& note = {}) {
  o += "<tr><td>";
  o += label;
  o += "</td><td";
  if (!cls.empty()) {
    o += " class=\"";
    o += cls;
    o += '"';
  }
  o += '>';
  o += html_escape(value);
  if (!note.empty()) o += " <small>" + html_escape(note) + "</small>";
  o += "</td></tr>\n";
}

void kv_head(std::string& o, std::string_view title) {
  o += "<tr class=\"h\"><td colspan=\"2\">";
  o += title;
  o += "</td></tr>\n";
}

void page_begin(std::string& o, const std::string& title) {
  o += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  o += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  o += "<title>" + html_escape(title) + "</title>\n<style>";
  o += html_assets::css;
  o += "</style>\n</head>\n<body>\n<div class=\"wrap\">\n";
}

void page_end(std::string& o, const std::string& data_id, const std::string& json,
              const char* page_js) {
  o += "<footer>CATS &middot; self-contained report: no network access needed</footer>\n</div>\n";
  o += "<script type=\"application/json\" id=\"" + data_id + "\">";
  o += script_safe_json(json);
  o += "</script>\n<script>";
  o += html_assets::chart_js;
  o += page_js;
  o += "</script>\n</body>\n</html>\n";
}

void chart_card(std::string& o, const char* id, const char* title, const std::string& legend,
                const std::string& note = {}) {
  o += "<section class=\"card\"><h2>";
  o += title;
  o += "</h2>";
  o += legend;
  o += "<div class=\"chart\" id=\"";
  o += id;
  o += "\"><svg id=\"";
  o += id;
  o += "-svg\" role=\"img\" aria-label=\"";
  o += title;
  o += "\"></svg><div class=\"tip\"></div></div>";
  if (!note.empty()) o += "<p class=\"note\">" + note + "</p>";
  o += "</section>\n";
}

std::string legend_item(const char* color, const char* label, bool triangle_up = false,
                        bool triangle_down = false) {
  std::string s = "<span><i";
  if (triangle_up)
    s += std::string(" class=\"tri\" style=\"border-bottom:9px solid ") + color + "\"";
  else if (triangle_down)
    s += std::string(" class=\"tri\" style=\"border-top:9px solid ") + color + "\"";
  else
    s += std::string(" style=\"background:") + color + "\"";
  return s + "></i>" + label + "</span>";
}

// Background of a monthly return cell: green for gains, red for losses, stronger with size
// (full strength at `scale` percent).
std::string cell_colour(double r, double scale) {
  if (!std::isfinite(r)) return "background:#f3f4f6";
  const double a = std::min(1.0, std::abs(r) / scale) * 0.75 + 0.08;
  char buf[64];
  if (r >= 0)
    std::snprintf(buf, sizeof buf, "background:rgba(21,128,61,%.2f)", a);
  else
    std::snprintf(buf, sizeof buf, "background:rgba(194,65,12,%.2f)", a);
  std::string s = buf;
  if (a > 0.55) s += ";color:#fff";
  return s;
}

}  // namespace

// ---- backtest report --------------------------------------------------------------------------

namespace {

// The title, the strategies, the settings and the fill rules; then any failure and warning.
void backtest_header(std::string& o, const backtest_report& r) {
  const backtest_metrics& m = r.metrics;
  o += "<header class=\"top\"><h1>" + html_escape(r.symbol) + " &middot; backtest</h1>";
  o += "<div class=\"sub\"><b>" + html_escape(format_interval(r.interval_ns)) + "</b> bars";
  if (m.samples > 0)
    o += " &middot; <b>" + html_escape(date_time(m.start_ts_ns)) + "</b> &rarr; <b>" +
         html_escape(date_time(m.end_ts_ns)) + "</b> UTC";
  o += " &middot; " + std::to_string(r.bars) + " bars &middot; account currency " +
       html_escape(r.currency) + "</div>\n";
  o += "<div class=\"chips\">";
  for (const strategy_report& s : r.strategies) {
    o += std::string("<span class=\"chip") + (s.failed ? " fail" : "") + "\">" +
         html_escape(s.name) + " = " + html_escape(s.plugin) + " " + html_escape(s.version);
    if (!s.params.empty()) o += " &middot; " + html_escape(s.params);
    if (s.failed) o += " &middot; FAILED in " + html_escape(s.failed_in);
    o += "</span>";
  }
  o += "</div>\n";
  // The settings, then the fill rules the simulated exchange applied (bars or ticks).
  o += "<div class=\"sub\" id=\"fill-assumptions\" style=\"margin-top:8px\">Leverage " +
       num(r.leverage, 2) + ". ";
  if (r.fill_assumptions.empty())
    o += "Fees: taker " + num(r.fee_bps, 2) + " bps, maker " + num(r.maker_fee_bps, 2) +
         " bps; slippage " + num(r.slippage_bps, 2) + " bps.";
  else
    o += "Fill rules: " + html_escape(r.fill_assumptions);
  o += "</div>\n</header>\n";

  for (const strategy_report& s : r.strategies)
    if (s.failed)
      o += "<div class=\"warn\">Strategy <b>" + html_escape(s.name) + "</b> failed in " +
           html_escape(s.failed_in) + " at " + html_escape(format_iso8601(s.failed_at_ns)) + ": " +
           html_escape(s.error) + "</div>\n";
  for (const std::string& w : r.warnings) o += "<div class=\"warn\">" + html_escape(w) + "</div>\n";
}

void key_figures(std::string& o, const backtest_report& r) {
  const backtest_metrics& m = r.metrics;
  auto kpi = [&](const char* label, const std::string& value, const char* cls) {
    o += std::string("<div class=\"kpi\"><div class=\"l\">") + label + "</div><div class=\"v " +
         cls + "\">" + html_escape(value) + "</div></div>";
  };
  o += "<div class=\"kpis\">";
  kpi("Total return", pct(m.total_return_pct), tone(m.total_return_pct));
  kpi("Buy &amp; hold", pct(r.buy_hold_return_pct), tone(r.buy_hold_return_pct));
  kpi("CAGR", pct(m.cagr_pct), tone(m.cagr_pct));
  kpi("Max drawdown", pct(-m.max_drawdown_pct, 2, false), m.max_drawdown_pct > 0 ? "neg" : "");
  kpi("Sharpe", num(m.sharpe, 2), "");
  kpi("Trades", std::to_string(m.trades), "");
  o += "</div>\n";
}

void metrics_tables(std::string& o, const backtest_report& r) {
  const backtest_metrics& m = r.metrics;
  const std::string& cur = r.currency;
  const bool dd = m.max_drawdown_pct > 0;
  o += "<section class=\"card\"><h2>Metrics</h2><div class=\"grid3\">";
  o += "<table class=\"kv\" id=\"metrics-returns\">";
  kv_head(o, "Returns");
  kv(o, "Initial equity", money(m.initial_equity), {}, cur);
  kv(o, "Final equity", money(m.final_equity), {}, cur);
  kv(o, "Total return", pct(m.total_return_pct), tone(m.total_return_pct));
  kv(o, "CAGR", pct(m.cagr_pct), tone(m.cagr_pct));
  kv(o, "Buy &amp; hold return", pct(r.buy_hold_return_pct), tone(r.buy_hold_return_pct));
  kv(o, "Exposure", pct(m.exposure_pct, 2, false));
  kv(o, "Fees paid", money(r.fees_paid), {}, cur);
  if (r.final_position != 0) kv(o, "Open position at end", fixed_to_string(r.final_position));
  o += "</table><table class=\"kv\" id=\"metrics-risk\">";
  kv_head(o, "Risk");
  kv(o, "Max drawdown", pct(-m.max_drawdown_pct, 2, false), dd ? "neg" : "");
  if (dd) {
    kv(o, "Drawdown peak", date_time(m.max_drawdown_peak_ts));
    kv(o, "Drawdown trough", date_time(m.max_drawdown_trough_ts));
    kv(o, m.max_drawdown_recovered ? "Recovered" : "Not recovered by",
       date_time(m.max_drawdown_end_ts));
    kv(o, "Drawdown duration", format_duration(m.max_drawdown_duration_ns), {},
       std::to_string(m.max_drawdown_duration_bars) + " bars");
  }
  kv(o, "Volatility (annual)", pct(m.volatility_pct, 2, false));
  kv(o, "Sharpe", num(m.sharpe, 3));
  kv(o, "Sortino", num(m.sortino, 3));
  kv(o, "Calmar", num(m.calmar, 3));
  o += "</table><table class=\"kv\" id=\"metrics-trades\">";
  kv_head(o, "Trades");
  kv(o, "Round-trip trades", std::to_string(m.trades), {},
     std::to_string(m.wins) + " won, " + std::to_string(m.losses) + " lost");
  kv(o, "Win rate", pct(m.win_rate_pct, 2, false));
  kv(o, "Profit factor",
     m.gross_loss == 0 && m.gross_profit > 0 ? std::string("inf") : num(m.profit_factor, 3));
  kv(o, "Average trade", money(m.avg_trade_pnl), tone(m.avg_trade_pnl), cur);
  kv(o, "Average trade return", pct(m.avg_trade_return_pct, 3), tone(m.avg_trade_return_pct));
  kv(o, "Best trade", pct(m.best_trade_pct), tone(m.best_trade_pct));
  kv(o, "Worst trade", pct(m.worst_trade_pct), tone(m.worst_trade_pct));
  kv(o, "Average win / loss", money(m.avg_win) + " / " + money(m.avg_loss), {}, cur);
  kv(o, "Average duration", num(m.avg_trade_duration_ns / 3.6e12, 1) + " h");
  kv(o, "Orders / fills", std::to_string(r.orders.orders) + " / " + std::to_string(r.orders.fills));
  if (r.orders.rejected > 0) kv(o, "Rejected orders", std::to_string(r.orders.rejected));
  if (r.orders.capped > 0) kv(o, "Capped by buying power", std::to_string(r.orders.capped));
  o += "</table></div></section>\n";
}

// The panels the strategies' series are drawn in, in order of first use ("" = the price chart).
std::vector<std::string> plot_panels(const report_collector& data) {
  std::vector<std::string> panels;
  for (const plot_series& s : data.plots())
    if (!s.panel.empty() && std::find(panels.begin(), panels.end(), s.panel) == panels.end())
      panels.push_back(s.panel);
  return panels;
}

const char* plot_color(size_t i) {
  static const char* const palette[] = {"#7c3aed", "#0891b2", "#d97706", "#db2777",
                                        "#65a30d", "#4f46e5", "#0d9488", "#b45309"};
  return palette[i % (sizeof palette / sizeof palette[0])];
}

// The series' name, with its strategy's when several strategies plot.
std::string plot_label(const report_collector& data, const plot_series& s) {
  for (const plot_series& o : data.plots())
    if (o.strategy != s.strategy) return s.strategy + ": " + s.name;
  return s.name;
}

// Equity vs buy and hold, drawdown, and the price with the fills marked (drawn by the page's
// script from the chart data).
void chart_cards(std::string& o, const backtest_report& r, const report_collector& data,
                 size_t points) {
  const backtest_metrics& m = r.metrics;
  const bool dd = m.max_drawdown_pct > 0;
  std::string curve_note = std::to_string(data.samples()) + " equity samples";
  if (data.stride() > 1)
    curve_note += ", drawn as " + std::to_string(points) + " points (one per " +
                  std::to_string(data.stride()) +
                  " samples; the drawdown curve keeps the deepest value of each)";
  curve_note += ". Buy &amp; hold: initial equity &times; price / first price, no fees.";
  if (dd)
    curve_note +=
        " Shaded: the maximum drawdown, from its peak to " +
        std::string(m.max_drawdown_recovered ? "its recovery." : "the end (not recovered).");
  chart_card(o, "equity", "Equity vs buy &amp; hold",
             "<div class=\"legend\">" + legend_item("#2563eb", "Strategy") +
                 legend_item("#9aa3af", "Buy &amp; hold") + "</div>",
             curve_note);
  chart_card(o, "drawdown", "Drawdown", {});
  size_t marker_count = 0;
  for (const report_fill& f : data.fills()) marker_count += f.symbol == r.symbol;
  std::string fills_note = std::to_string(marker_count) + " fills marked";
  if (data.total_fills() > data.fills().size())
    fills_note += " (the first " + std::to_string(data.fills().size()) + " of " +
                  std::to_string(data.total_fills()) + " fills; all are in fills.csv)";
  fills_note += ".";
  std::string overlay_legend, panel_legend;
  const std::vector<std::string> panels = plot_panels(data);
  std::vector<std::string> panel_legends(panels.size());
  uint64_t plotted = 0;
  for (size_t i = 0; i < data.plots().size(); ++i) {
    const plot_series& s = data.plots()[i];
    plotted += s.values;
    const std::string item = legend_item(plot_color(i), html_escape(plot_label(data, s)).c_str());
    if (s.panel.empty()) {
      overlay_legend += item;
    } else {
      panel_legends[static_cast<size_t>(std::find(panels.begin(), panels.end(), s.panel) -
                                        panels.begin())] += item;
    }
  }
  if (!data.plots().empty())
    fills_note += " " + std::to_string(data.plots().size()) +
                  " series plotted by the strategies (" + std::to_string(plotted) +
                  " values, each series drawn with at most 4000 points; every value is in "
                  "plots.csv).";
  chart_card(o, "price", ("Price &middot; " + html_escape(r.symbol)).c_str(),
             "<div class=\"legend\">" + legend_item("#334155", "Price") +
                 legend_item("#15803d", "Buy", true) + legend_item("#c2410c", "Sell", false, true) +
                 overlay_legend +
                 "<label><input type=\"checkbox\" id=\"price-candles\" checked>candles</label>"
                 "<label><input type=\"checkbox\" id=\"price-log\">log scale</label></div>",
             fills_note +
                 " Time charts: the wheel zooms, dragging pans, a double click shows everything; "
                 "they move together.");
  for (size_t k = 0; k < panels.size(); ++k)
    chart_card(o, ("panel-" + std::to_string(k)).c_str(), html_escape(panels[k]).c_str(),
               "<div class=\"legend\">" + panel_legends[k] + "</div>");
}

void monthly_returns(std::string& o, const backtest_report& r, const report_collector& data) {
  const backtest_metrics& m = r.metrics;
  const std::vector<monthly_return> months = data.monthly_returns(m.initial_equity);
  o += "<section class=\"card\"><h2>Monthly returns</h2><div class=\"hscroll\">";
  o += "<table class=\"months\" id=\"monthly\"><thead><tr><th></th>";
  static constexpr const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (const char* n : names) o += std::string("<th>") + n + "</th>";
  o += "<th>Year</th></tr></thead><tbody>\n";
  double scale = 1.0;  // colour saturation at the largest monthly move (at least 1 %)
  for (const monthly_return& mr : months)
    if (std::isfinite(mr.return_pct)) scale = std::max(scale, std::abs(mr.return_pct));
  for (size_t i = 0; i < months.size();) {
    const int32_t year = months[i].year;
    double cells[12];
    bool present[12] = {};
    double growth = 1.0;
    for (; i < months.size() && months[i].year == year; ++i) {
      const int idx = months[i].month - 1;
      cells[idx] = months[i].return_pct;
      present[idx] = true;
      growth *= 1.0 + months[i].return_pct / 100.0;
    }
    o += "<tr><td class=\"y\">" + std::to_string(year) + "</td>";
    for (int k = 0; k < 12; ++k) {
      if (!present[k]) {
        o += "<td></td>";
        continue;
      }
      o += "<td style=\"" + cell_colour(cells[k], scale) + "\">" + pct(cells[k], 2, true) + "</td>";
    }
    const double year_pct = (growth - 1.0) * 100.0;
    o += "<td class=\"tot\" style=\"" + cell_colour(year_pct, scale * 3) + "\">" +
         pct(year_pct, 2, true) + "</td></tr>\n";
  }
  o += "</tbody></table></div><p class=\"note\">Equity at each month's last sample against the "
       "month before (the first month against the initial equity); the year column compounds "
       "them.</p></section>\n";
}

// Rolling Sharpe ratio and the distribution of daily returns (drawn by the page's script).
void analysis_cards(std::string& o, const report_collector& data) {
  chart_card(
      o, "rolling-sharpe", "Rolling Sharpe ratio &middot; 30 days", {},
      "Annualised (&radic;365) Sharpe ratio of the daily returns over the 30 days up to each "
      "day; zero risk-free rate.");
  chart_card(o, "returns-hist", "Distribution of daily returns", {},
             std::to_string(data.daily_returns(0).size()) +
                 " days; each bar counts the days whose return falls in its range.");
}

// One row per month, one cell per day (colour: the day's return; the value in the tooltip), then
// one row per year with a cell per week (Monday to Sunday, compounded).
void daily_and_weekly_returns(std::string& o, const backtest_report& r,
                              const report_collector& data) {
  const auto days = data.daily_returns(r.metrics.initial_equity);
  if (days.empty()) return;
  double scale = 0.5;
  for (const auto& d : days)
    if (std::isfinite(d.second)) scale = std::max(scale, std::abs(d.second));
  static constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  o += "<section class=\"card\"><h2>Daily returns</h2><div class=\"hscroll\"><table "
       "class=\"months cal\" id=\"daily\"><thead><tr><th></th>";
  for (int d = 1; d <= 31; ++d) o += "<th>" + std::to_string(d) + "</th>";
  o += "</tr></thead><tbody>\n";
  for (size_t i = 0; i < days.size();) {
    const civil_time first = to_civil(days[i].first * ns_per_day);
    std::string cells[31];
    for (; i < days.size(); ++i) {
      const civil_time c = to_civil(days[i].first * ns_per_day);
      if (c.year != first.year || c.month != first.month) break;
      const double v = days[i].second;
      cells[c.day - 1] = "<td class=\"d\" style=\"" + cell_colour(v, scale) + "\" title=\"" +
                         date_only(days[i].first * ns_per_day) + ": " + pct(v, 2, true) +
                         "\"></td>";
    }
    o += "<tr><td class=\"y\">" + std::to_string(first.year) + " " + month_names[first.month - 1] +
         "</td>";
    for (const std::string& c : cells) o += c.empty() ? "<td></td>" : c;
    o += "</tr>\n";
  }
  o += "</tbody></table></div>";
  // Weeks: Monday-based, numbered by the year of their Monday (1970-01-01 was a Thursday).
  struct week {
    int64_t monday;
    double growth;
  };
  std::vector<week> weeks;
  for (const auto& [day, ret] : days) {
    const int64_t monday = day - ((day + 3) % 7 + 7) % 7;
    if (weeks.empty() || weeks.back().monday != monday) weeks.push_back({monday, 1.0});
    if (std::isfinite(ret)) weeks.back().growth *= 1.0 + ret / 100.0;
  }
  double wscale = 1.0;
  for (const week& w : weeks) wscale = std::max(wscale, std::abs((w.growth - 1.0) * 100.0));
  o += "<h2 style=\"margin-top:16px\">Weekly returns</h2><div class=\"hscroll\"><table "
       "class=\"months cal\" id=\"weekly\"><thead><tr><th></th>";
  for (int w = 1; w <= 53; ++w) o += "<th>" + std::to_string(w) + "</th>";
  o += "</tr></thead><tbody>\n";
  for (size_t i = 0; i < weeks.size();) {
    const int64_t year = to_civil(weeks[i].monday * ns_per_day).year;
    const int64_t jan1 = days_from_civil(year, 1, 1);
    std::string cells[53];
    for (; i < weeks.size() && to_civil(weeks[i].monday * ns_per_day).year == year; ++i) {
      const size_t k = static_cast<size_t>(std::min<int64_t>(52, (weeks[i].monday - jan1) / 7));
      const double v = (weeks[i].growth - 1.0) * 100.0;
      cells[k] = "<td class=\"d\" style=\"" + cell_colour(v, wscale) + "\" title=\"week of " +
                 date_only(weeks[i].monday * ns_per_day) + ": " + pct(v, 2, true) + "\"></td>";
    }
    o += "<tr><td class=\"y\">" + std::to_string(year) + "</td>";
    for (const std::string& c : cells) o += c.empty() ? "<td></td>" : c;
    o += "</tr>\n";
  }
  o += "</tbody></table></div><p class=\"note\">Colour: the return (green up, red down; hover "
       "for the value). A day is its last equity sample against the day before; a week "
       "compounds its days, Monday to Sunday, numbered within the year of its Monday.</p>"
       "</section>\n";
}

// The deepest drawdowns, from peak to recovery.
void drawdown_table(std::string& o, const backtest_report& r) {
  const backtest_metrics& m = r.metrics;
  o += "<section class=\"card\"><h2>Deepest drawdowns</h2><div class=\"scroll\"><table "
       "class=\"data sortable\" id=\"drawdowns\"><thead><tr><th>#</th><th>Depth</th>"
       "<th class=\"t\">Peak</th><th class=\"t\">Trough</th><th class=\"t\">Recovered</th>"
       "<th>Length</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < m.drawdown_count; ++i) {
    const drawdown_episode& d = m.drawdowns[i];
    o += "<tr><td>" + std::to_string(i + 1) + "</td><td class=\"neg\" data-v=\"" +
         num(d.depth_pct, 6) + "\">" + pct(-d.depth_pct, 2, false) + "</td><td class=\"t\">" +
         date_time(d.peak_ts) + "</td><td class=\"t\">" + date_time(d.trough_ts) +
         "</td><td class=\"t\">" + (d.recovered ? date_time(d.end_ts) : "not recovered") +
         "</td><td data-v=\"" + std::to_string(d.end_ts - d.peak_ts) + "\">" +
         html_escape(format_duration(d.end_ts - d.peak_ts)) + "</td></tr>\n";
  }
  if (m.drawdown_count == 0) o += "<tr><td colspan=\"6\" class=\"t\">No drawdown.</td></tr>\n";
  o += "</tbody></table></div><p class=\"note\">Each from an equity peak to the sample where "
       "the peak was reached again; all samples count, not only the drawn points.</p></section>\n";
}

// Closed round trips per strategy and per instrument.
void breakdown_tables(std::string& o, const backtest_report& r) {
  auto table = [&](const char* title, const char* id, const std::vector<pnl_breakdown>& rows) {
    o += std::string("<section class=\"card\"><h2>") + title +
         "</h2><div class=\"scroll\"><table class=\"data sortable\" id=\"" + id +
         "\"><thead><tr><th class=\"t\">Name</th><th>Trades</th><th>Win rate</th><th>PnL</th>"
         "<th>Fees</th></tr></thead><tbody>\n";
    for (const pnl_breakdown& b : rows) {
      const double win =
          b.trades > 0 ? 100.0 * static_cast<double>(b.wins) / static_cast<double>(b.trades) : 0.0;
      o += "<tr><td class=\"t\">" + html_escape(b.name) + "</td><td>" + std::to_string(b.trades) +
           "</td><td data-v=\"" + num(win, 4) + "\">" + pct(win, 1, false) + "</td><td class=\"" +
           tone(static_cast<double>(b.pnl)) + "\" data-v=\"" + fixed_to_string(b.pnl) + "\">" +
           money(b.pnl) + "</td><td data-v=\"" + fixed_to_string(b.fees) + "\">" + money(b.fees) +
           "</td></tr>\n";
    }
    if (rows.empty()) o += "<tr><td colspan=\"5\" class=\"t\">No round-trip trades.</td></tr>\n";
    o += "</tbody></table></div><p class=\"note\">Closed round trips, PnL net of fees; an "
         "open position at the end is not included.</p></section>\n";
  };
  table("PnL by strategy", "by-strategy", r.pnl_by_strategy);
  table("PnL by instrument", "by-symbol", r.pnl_by_symbol);
}

void trade_list(std::string& o, const report_collector& data) {
  o += "<section class=\"card\"><h2>Trades</h2>";
  if (data.total_trades() > data.trades().size())
    o += "<p class=\"note\" style=\"margin:0 0 8px\">First " +
         std::to_string(data.trades().size()) + " of " + std::to_string(data.total_trades()) +
         " trades; all are in trades.csv.</p>";
  o +=
      "<div class=\"scroll\"><table class=\"data sortable\" id=\"trades\"><thead><tr><th>#</th>"
      "<th class=\"t\">Strategy</th><th class=\"t\">Side</th><th class=\"t\">Entry</th>"
      "<th class=\"t\">Exit</th><th>Duration</th><th>Quantity</th><th>Entry price</th>"
      "<th>Exit price</th><th>PnL</th><th>Return</th><th>Fees</th><th class=\"t\">Entry reason</th>"
      "<th class=\"t\">Exit reason</th></tr></thead><tbody>\n";
  size_t n = 0;
  for (const report_trade& t : data.trades()) {
    const round_trip& rt = t.trade;
    o += "<tr><td>" + std::to_string(++n) + "</td><td class=\"t\">" + html_escape(t.strategy) +
         "</td><td class=\"t\">" + (rt.direction > 0 ? "long" : "short") + "</td><td class=\"t\">" +
         date_time(rt.entry_ts_ns) + "</td><td class=\"t\">" + date_time(rt.exit_ts_ns) +
         "</td><td data-v=\"" + std::to_string(rt.exit_ts_ns - rt.entry_ts_ns) + "\">" +
         html_escape(format_duration(rt.exit_ts_ns - rt.entry_ts_ns)) + "</td><td>" +
         fixed_to_string(rt.max_quantity) + "</td><td data-v=\"" + fixed_to_string(rt.entry_price) +
         "\">" + group(fixed_to_string(rt.entry_price)) + "</td><td data-v=\"" +
         fixed_to_string(rt.exit_price) + "\">" + group(fixed_to_string(rt.exit_price)) +
         "</td><td class=\"" + tone(static_cast<double>(rt.pnl)) + "\" data-v=\"" +
         fixed_to_string(rt.pnl) + "\">" + money(rt.pnl) + "</td><td class=\"" +
         tone(rt.return_pct) + "\" data-v=\"" + num(rt.return_pct, 6) + "\">" + pct(rt.return_pct) +
         "</td><td data-v=\"" + fixed_to_string(rt.fees) + "\">" + money(rt.fees) +
         "</td><td class=\"t\">" + html_escape(rt.entry_reason) + "</td><td class=\"t\">" +
         html_escape(rt.exit_reason) + "</td></tr>\n";
  }
  if (n == 0) o += "<tr><td colspan=\"14\" class=\"t\">No round-trip trades.</td></tr>\n";
  o += "</tbody></table></div></section>\n";
}

// The chart data. Times in ms (JavaScript dates), amounts as exact decimals.
std::string chart_data(const backtest_report& r, const report_collector& data,
                       const std::vector<equity_point>& pts) {
  const backtest_metrics& m = r.metrics;
  const bool dd = m.max_drawdown_pct > 0;
  json_writer j;
  j.begin_object();
  j.key("symbol").value(r.symbol);
  j.key("currency").value(r.currency);
  j.key("initial_equity").number(fixed_text(m.initial_equity));
  j.key("bh_base").number(fixed_text(data.first_price()));
  if (dd) {
    j.key("max_dd").begin_array();
    j.value(m.max_drawdown_peak_ts / ns_per_ms).value(m.max_drawdown_end_ts / ns_per_ms);
    j.end_array();
  }
  j.key("points").begin_array();
  // The curve starts at the first bar's open with the initial equity.
  if (m.samples > 0 && (pts.empty() || pts.front().ts_ns > m.start_ts_ns)) {
    j.begin_array().value(m.start_ts_ns / ns_per_ms).number(fixed_text(m.initial_equity)).value(0);
    j.number(fixed_text(data.first_price())).end_array();
  }
  for (const equity_point& p : pts) {
    j.begin_array()
        .value(p.ts_ns / ns_per_ms)
        .number(fixed_text(p.equity))
        .value(p.drawdown_pct, 4);
    j.number(fixed_text(p.price));
    j.number(fixed_text(p.open)).number(fixed_text(p.high)).number(fixed_text(p.low));
    j.end_array();
  }
  j.end_array();
  // Daily returns: the rolling Sharpe ratio and the distribution are drawn from them.
  j.key("daily").begin_array();
  for (const auto& [day, ret] : data.daily_returns(m.initial_equity)) {
    j.begin_array().value(day * 86'400'000);
    if (std::isfinite(ret))
      j.value(ret, 6);
    else
      j.null();
    j.end_array();
  }
  j.end_array();
  j.key("fills").begin_array();
  for (const report_fill& f : data.fills()) {
    if (f.symbol != r.symbol) continue;
    j.begin_array()
        .value(f.ts_ns / ns_per_ms)
        .value(f.side)
        .number(fixed_text(f.price))
        .number(fixed_text(f.quantity));
    j.end_array();
  }
  j.end_array();
  const std::vector<std::string> panels = plot_panels(data);
  j.key("plots").begin_array();
  for (size_t i = 0; i < data.plots().size(); ++i) {
    const plot_series& s = data.plots()[i];
    j.begin_object();
    j.key("label").value(plot_label(data, s));
    j.key("color").value(plot_color(i));
    j.key("panel").value(
        s.panel.empty() ? int64_t{-1}
                        : static_cast<int64_t>(std::find(panels.begin(), panels.end(), s.panel) -
                                               panels.begin()));
    j.key("pts").begin_array();
    for (const auto& [ts, v] : s.points) {
      j.begin_array().value(ts / ns_per_ms);
      if (std::isfinite(v))
        j.value(v);
      else
        j.null();
      j.end_array();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

}  // namespace

std::string render_html_report(const backtest_report& r, const report_collector& data) {
  std::string o;
  o.reserve(1u << 20);
  page_begin(o, "CATS backtest " + r.symbol);
  backtest_header(o, r);
  key_figures(o, r);
  metrics_tables(o, r);
  const std::vector<equity_point> pts = data.points();
  chart_cards(o, r, data, pts.size());
  analysis_cards(o, data);
  monthly_returns(o, r, data);
  daily_and_weekly_returns(o, r, data);
  drawdown_table(o, r);
  breakdown_tables(o, r);
  trade_list(o, data);
  page_end(o, "report-data", chart_data(r, data, pts), html_assets::backtest_js);
  return o;
}

// ---- sweep report -----------------------------------------------------------------------------

namespace {

// Which metric columns: the union in first-seen order.
std::vector<std::string> metric_columns(const sweep_html_input& in) {
  std::vector<std::string> names;
  for (const sweep_html_input::row& row : in.rows)
    for (const auto& [name, value] : row.metrics)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  return names;
}

double metric_of(const sweep_html_input::row& row, const std::string& name) {
  for (const auto& [k, v] : row.metrics)
    if (k == name) return v;
  return std::nan("");
}

// The values of parameter `p` along a heat-map axis: numeric ones in numeric order, others in
// order of appearance.
std::vector<std::string> heat_axis(const sweep_html_input& in, size_t p) {
  struct axis_value {
    std::string label;
    double numeric;
    size_t first_seen;
  };
  std::vector<axis_value> vals;
  for (const sweep_html_input::row& row : in.rows) {
    if (p >= row.params.size()) continue;
    const std::string& label = row.params[p];
    if (std::none_of(vals.begin(), vals.end(),
                     [&](const axis_value& a) { return a.label == label; }))
      vals.push_back(
          {label, p < row.param_numeric.size() ? row.param_numeric[p] : std::nan(""), vals.size()});
  }
  const bool numeric = std::all_of(vals.begin(), vals.end(),
                                   [](const axis_value& a) { return std::isfinite(a.numeric); });
  if (numeric)
    std::stable_sort(vals.begin(), vals.end(), [](const axis_value& a, const axis_value& b) {
      return a.numeric < b.numeric;
    });
  std::vector<std::string> labels;
  for (const axis_value& a : vals) labels.push_back(a.label);
  return labels;
}

// The heat map of the ranking metric over parameters hx and hy: its data into `j`, its card into
// `o`.
void heat_map(std::string& o, json_writer& j, const sweep_html_input& in, size_t hx, size_t hy) {
  const std::vector<std::string> xs = heat_axis(in, hx), ys = heat_axis(in, hy);
  auto find = [](const std::vector<std::string>& v, const std::string& s) {
    return static_cast<size_t>(std::find(v.begin(), v.end(), s) - v.begin());
  };
  // Cell -> (best rank, value, runs). Rows are ranked best first, so the first row that lands in
  // a cell is its best, whichever direction the metric is better in.
  struct cell {
    size_t rank;
    double value;
    size_t runs;
  };
  std::map<std::pair<size_t, size_t>, cell> cells;
  double first_value = std::nan(""), last_value = std::nan("");
  bool multi = false;
  for (size_t i = 0; i < in.rows.size(); ++i) {
    const sweep_html_input::row& row = in.rows[i];
    if (row.failed || hx >= row.params.size() || hy >= row.params.size()) continue;
    const double v = metric_of(row, in.metric);
    if (std::isfinite(v)) {
      if (!std::isfinite(first_value)) first_value = v;
      last_value = v;
    }
    const auto key = std::make_pair(find(xs, row.params[hx]), find(ys, row.params[hy]));
    auto [it, inserted] = cells.try_emplace(key, cell{i + 1, v, 0});
    if (!inserted) multi = true;
    ++it->second.runs;
  }
  j.key("heat").begin_object();
  j.key("xName").value(in.param_names[hx]);
  j.key("yName").value(in.param_names[hy]);
  j.key("metric").value(in.metric);
  // The ranking tells which way is better: a best run with a lower value than the worst means
  // lower is better (a drawdown, say), and the colours follow.
  j.key("lowerBetter").value(std::isfinite(first_value) && first_value < last_value);
  j.key("xs").begin_array();
  for (const std::string& s : xs) j.value(s);
  j.end_array();
  j.key("ys").begin_array();
  for (const std::string& s : ys) j.value(s);
  j.end_array();
  j.key("cells").begin_array();
  for (const auto& [key, c] : cells) {
    j.begin_array()
        .value(static_cast<uint64_t>(key.first))
        .value(static_cast<uint64_t>(key.second));
    j.value(c.value).value(static_cast<uint64_t>(c.rank)).value(static_cast<uint64_t>(c.runs));
    j.end_array();
  }
  j.end_array();
  j.end_object();
  std::string note =
      "Colour: " + html_escape(in.metric) + " (greener is better). Empty cells: no run.";
  if (multi)
    note +=
        " Other parameters vary too: each cell shows the best-ranked of its runs "
        "(hover for how many).";
  chart_card(o, "heatmap",
             ("Heat map &middot; " + html_escape(in.metric) + " over " +
              html_escape(in.param_names[hx]) + " &times; " + html_escape(in.param_names[hy]))
                 .c_str(),
             {}, note);
}

// The column title of a sweep metric; the key itself stays in the title attribute (and in
// results.csv / results.json, where programs read it).
std::string metric_label(const std::string& key) {
  static const std::pair<const char*, const char*> labels[] = {
      {"total_return", "Return %"},   {"cagr", "CAGR %"},
      {"sharpe", "Sharpe"},           {"sortino", "Sortino"},
      {"calmar", "Calmar"},           {"max_drawdown", "Max drawdown %"},
      {"volatility", "Volatility %"}, {"profit_factor", "Profit factor"},
      {"win_rate", "Win rate %"},     {"trades", "Trades"},
      {"exposure", "Exposure %"},     {"avg_trade_return", "Avg trade %"}};
  for (const auto& [k, label] : labels)
    if (key == k) return label;
  return key;
}

void ranked_table(std::string& o, const sweep_html_input& in,
                  const std::vector<std::string>& metric_names) {
  o += "<section class=\"card\"><h2>Runs, best first</h2><div class=\"scroll\"><table "
       "class=\"data\" id=\"ranking\"><thead><tr><th>#</th>";
  for (const std::string& p : in.param_names) o += "<th class=\"t\">" + html_escape(p) + "</th>";
  for (const std::string& name : metric_names)
    o += "<th title=\"" + html_escape(name) + "\">" + html_escape(metric_label(name)) + "</th>";
  o += "<th class=\"t\">Status</th></tr></thead><tbody>\n";
  for (size_t i = 0; i < in.rows.size(); ++i) {
    const sweep_html_input::row& row = in.rows[i];
    o += "<tr><td>" + std::to_string(i + 1) + "</td>";
    for (size_t p = 0; p < in.param_names.size(); ++p)
      o += "<td class=\"t\">" + (p < row.params.size() ? html_escape(row.params[p]) : "") + "</td>";
    for (const std::string& name : metric_names) {
      if (row.failed) {  // a failed run has no metrics: a dash, not a zero that looks like one
        o += "<td>&ndash;</td>";
        continue;
      }
      const double v = metric_of(row, name);
      o += std::string("<td") + (name == in.metric ? " style=\"font-weight:650\"" : "") + ">" +
           sweep_number(v) + "</td>";
    }
    o += "<td class=\"t" +
         std::string(row.failed ? " neg\">failed: " + html_escape(row.error) : "\">ok") +
         "</td></tr>\n";
  }
  o += "</tbody></table></div></section>\n";
}

// One chart per walk-forward fold: the winner's return in sample, then out of sample.
void fold_charts(std::string& o, json_writer& j, const sweep_html_input& in) {
  if (in.folds.empty()) return;
  o += "<section class=\"card\"><h2>Walk-forward: in-sample vs out-of-sample</h2>"
       "<div class=\"legend\">" +
       legend_item("#2563eb", "In sample (the fold's winner)") +
       legend_item("#ea580c", "Out of sample (the same parameters, never seen)") +
       "</div><p class=\"note\" style=\"margin:0 0 8px\">Return in percent from the start of each "
       "range. A strategy that only fits its in-sample data falls apart on the right.</p>"
       "<div class=\"grid3\">";
  j.key("folds").begin_array();
  for (size_t k = 0; k < in.folds.size(); ++k) {
    const sweep_html_input::fold& f = in.folds[k];
    const std::string id = "fold-" + std::to_string(k + 1);
    o += "<div><h2 style=\"font-size:13px;margin:8px 0 4px\">" + html_escape(f.title) +
         "</h2><div class=\"chart\" id=\"" + id + "\"><svg id=\"" + id +
         "-svg\" role=\"img\"></svg><div class=\"tip\"></div></div><p class=\"note\">" +
         html_escape(in.metric) + ": " + sweep_number(f.in_sample_value) + " in sample, " +
         sweep_number(f.out_of_sample_value) + " out of sample</p></div>";
    j.begin_object().key("id").value(id);
    for (const auto& [key, pts] :
         {std::pair{"is", &f.in_sample}, std::pair{"oos", &f.out_of_sample}}) {
      j.key(key).begin_array();
      for (const auto& [t, v] : *pts) j.begin_array().value(t / 1'000'000).value(v).end_array();
      j.end_array();
    }
    j.end_object();
  }
  j.end_array();
  o += "</div></section>\n";
}

std::string failed_note(const sweep_html_input& in) {
  size_t failed = 0;
  for (const auto& row : in.rows) failed += row.failed ? 1 : 0;
  if (failed == 0) return {};
  return " &middot; <span class=\"neg\">" + std::to_string(failed) +
         " failed</span> (ranked last, reasons in the table)";
}

}  // namespace

std::string render_sweep_html(const sweep_html_input& in) {
  std::string o;
  o.reserve(1u << 18);
  const std::string title = in.title.empty() ? std::string("Parameter sweep") : in.title;
  page_begin(o, "CATS " + title);
  o += "<header class=\"top\"><h1>" + html_escape(title) + "</h1><div class=\"sub\">" +
       std::to_string(in.rows.size()) + " runs ranked by <b>" +
       html_escape(metric_label(in.metric)) + "</b>" + failed_note(in) + "</div></header>\n";
  if (!in.notes.empty()) {
    o += "<section class=\"card\"><dl class=\"notes\">";
    for (const auto& [k, v] : in.notes)
      o += "<dt>" + html_escape(k) + "</dt><dd>" + html_escape(v) + "</dd>";
    o += "</dl></section>\n";
  }
  // Heat map axes: the asked parameters, or the first two.
  auto index_of = [&](const std::string& name, size_t fallback) -> size_t {
    if (name.empty()) return fallback;
    for (size_t i = 0; i < in.param_names.size(); ++i)
      if (in.param_names[i] == name) return i;
    return in.param_names.size();
  };
  const size_t hx = index_of(in.heat_x, 0), hy = index_of(in.heat_y, 1);
  json_writer j;
  j.begin_object();
  if (hx < in.param_names.size() && hy < in.param_names.size() && hx != hy) {
    heat_map(o, j, in, hx, hy);
  } else {
    o += "<section class=\"card\"><p class=\"note\" style=\"margin:0\">No heat map: it needs two "
         "different parameters";
    if (!in.heat_x.empty() || !in.heat_y.empty())
      o += " (asked for '" + html_escape(in.heat_x) + "' and '" + html_escape(in.heat_y) + "')";
    o += ".</p></section>\n";
  }
  fold_charts(o, j, in);
  j.end_object();
  ranked_table(o, in, metric_columns(in));
  page_end(o, "sweep-data", j.str(), html_assets::sweep_js);
  return o;
}

}  // namespace cats
