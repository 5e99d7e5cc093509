#include "cats/report/report.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "cats/core/events.hpp"
#include "cats/core/fixed.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"
#include "number_format.hpp"

namespace cats {

bool backtest_report::any_strategy_failed() const {
  for (const strategy_report& s : strategies)
    if (s.failed) return true;
  return false;
}

void append_time(std::string& out, int64_t ts_ns) {
  char buf[24];
  out.append(buf, static_cast<size_t>(format_iso8601_seconds(ts_ns, buf)));
}

void append_equity_row(std::string& out, int64_t ts_ns, const portfolio& account) {
  append_time(out, ts_ns);
  out += ',';
  append_fixed(out, account.equity());
  out += ',';
  append_fixed(out, account.cash());
  out += ',';
  append_fixed(out, account.equity() - account.cash());
}

void append_fixed(std::string& out, int64_t raw) {
  char buf[32];
  out.append(buf, static_cast<size_t>(format_fixed(raw, buf)));
}

namespace {

constexpr int decimals = 6;  // ratios and percentages in JSON

double days(int64_t ns) {
  return static_cast<double>(ns) / static_cast<double>(ns_per_day);
}

}  // namespace

risk_report make_risk_report(const risk_engine& risk, bool configured) {
  risk_report out;
  const risk_stats& st = risk.stats();
  out.refused = st.refused_total();
  out.shown = configured || out.refused > 0 || risk.state() != trading_state::active;
  out.state = trading_state_name(risk.state());
  out.state_reason = risk.state_reason();
  out.breaches = st.breaches;
  out.cancels_refused = st.cancels_refused;
  for (size_t i = 0; i < st.refused.size(); ++i)
    if (st.refused[i] != 0)
      out.refused_by_limit.emplace_back(risk_reason_name(static_cast<risk_reason>(i)),
                                        st.refused[i]);
  return out;
}

void write_risk(json_writer& j, const risk_report& r) {
  j.key("risk").begin_object();
  j.key("state").value(r.state);
  j.key("state_reason").value(r.state_reason);
  j.key("refused_orders").value(r.refused);
  j.key("refused_by_limit").begin_object();
  for (const auto& [k, v] : r.refused_by_limit) j.key(k).value(v);
  j.end_object();
  j.key("refused_cancels").value(r.cancels_refused);
  j.key("breaches").value(r.breaches);
  j.end_object();
}

namespace {

// The deepest drawdowns and the PnL by strategy and by instrument (summary.json).
void write_drawdowns_and_breakdowns(json_writer& j, const backtest_report& r) {
  const backtest_metrics& m = r.metrics;
  j.key("drawdowns").begin_array();
  for (size_t i = 0; i < m.drawdown_count; ++i) {
    const drawdown_episode& d = m.drawdowns[i];
    j.begin_object();
    j.key("depth_pct").value(d.depth_pct, decimals);
    j.key("peak").value(format_iso8601(d.peak_ts));
    j.key("trough").value(format_iso8601(d.trough_ts));
    j.key("end").value(format_iso8601(d.end_ts));
    j.key("recovered").value(d.recovered);
    j.key("duration_days").value(static_cast<double>(d.end_ts - d.peak_ts) / 86400e9, decimals);
    j.end_object();
  }
  j.end_array();
  auto breakdown = [&j](const char* key, const std::vector<pnl_breakdown>& rows) {
    j.key(key).begin_array();
    for (const pnl_breakdown& b : rows) {
      j.begin_object();
      j.key("name").value(b.name);
      j.key("trades").value(b.trades);
      j.key("wins").value(b.wins);
      j.key("pnl").number(fixed_text(b.pnl));
      j.key("fees").number(fixed_text(b.fees));
      j.end_object();
    }
    j.end_array();
  };
  breakdown("pnl_by_strategy", r.pnl_by_strategy);
  breakdown("pnl_by_symbol", r.pnl_by_symbol);
}

}  // namespace

namespace {

// "data": what was read, and what was missing from it.
void write_data(json_writer& j, const backtest_report& r) {
  j.key("data").begin_object();
  j.key("files").begin_array();
  for (const std::string& f : r.files) j.value(f);
  j.end_array();
  j.key("rows").value(r.rows);
  j.key("events").value(r.events);
  j.key("skipped_rows").value(r.skipped_rows);
  j.key("gaps").value(r.gaps);
  j.key("missing_bars").value(r.missing_bars);
  j.key("trade_id_gaps").value(r.trade_id_gaps);
  j.key("missing_trades").value(r.missing_trades);
  j.key("damaged_blocks").value(r.damaged_blocks);
  j.end_object();
}

}  // namespace

std::string summary_json(const backtest_report& r) {
  const backtest_metrics& m = r.metrics;
  json_writer j(2);
  j.begin_object();
  j.key("symbol").value(r.symbol);
  j.key("interval").value(format_interval(r.interval_ns));
  j.key("start").value(m.samples > 0 ? format_iso8601(m.start_ts_ns) : "");
  j.key("end").value(m.samples > 0 ? format_iso8601(m.end_ts_ns) : "");
  j.key("bars").value(r.bars);
  j.key("currency").value(r.currency);
  j.key("initial_cash").number(fixed_text(m.initial_equity));
  j.key("final_equity").number(fixed_text(m.final_equity));
  j.key("total_return_pct").value(m.total_return_pct, decimals);
  j.key("cagr_pct").value(m.cagr_pct, decimals);
  j.key("buy_hold_return_pct").value(r.buy_hold_return_pct, decimals);
  j.key("max_drawdown_pct").value(m.max_drawdown_pct, decimals);
  j.key("max_drawdown_start")
      .value(m.max_drawdown_pct > 0 ? format_iso8601(m.max_drawdown_peak_ts) : "");
  j.key("max_drawdown_trough")
      .value(m.max_drawdown_pct > 0 ? format_iso8601(m.max_drawdown_trough_ts) : "");
  j.key("max_drawdown_end")
      .value(m.max_drawdown_pct > 0 ? format_iso8601(m.max_drawdown_end_ts) : "");
  j.key("max_drawdown_recovered").value(m.max_drawdown_recovered);
  j.key("max_drawdown_duration_bars").value(m.max_drawdown_duration_bars);
  j.key("max_drawdown_duration_days").value(days(m.max_drawdown_duration_ns), decimals);
  j.key("volatility_pct").value(m.volatility_pct, decimals);
  j.key("sharpe").value(m.sharpe, decimals);
  j.key("sortino").value(m.sortino, decimals);
  j.key("calmar").value(m.calmar, decimals);
  j.key("trades").value(m.trades);
  j.key("wins").value(m.wins);
  j.key("losses").value(m.losses);
  j.key("win_rate_pct").value(m.win_rate_pct, decimals);
  j.key("profit_factor").value(m.profit_factor, decimals);
  j.key("gross_profit").number(fixed_text(m.gross_profit));
  j.key("gross_loss").number(fixed_text(m.gross_loss));
  j.key("avg_trade_pnl").value(m.avg_trade_pnl, decimals);
  j.key("avg_trade_return_pct").value(m.avg_trade_return_pct, decimals);
  j.key("best_trade_pct").value(m.best_trade_pct, decimals);
  j.key("worst_trade_pct").value(m.worst_trade_pct, decimals);
  j.key("avg_win").value(m.avg_win, decimals);
  j.key("avg_loss").value(m.avg_loss, decimals);
  j.key("avg_trade_duration_hours").value(m.avg_trade_duration_ns / 3.6e12, decimals);
  j.key("exposure_pct").value(m.exposure_pct, decimals);
  j.key("fees_paid").number(fixed_text(r.fees_paid));
  j.key("open_position").number(fixed_text(r.final_position));
  j.key("orders").value(r.orders.orders);
  j.key("fills").value(r.orders.fills);
  j.key("rejected_orders").value(r.orders.rejected);
  j.key("cancelled_orders").value(r.orders.canceled);
  j.key("capped_orders").value(r.orders.capped);
  j.key("periods_per_year").value(m.periods_per_year, decimals);
  if (r.risk.shown) write_risk(j, r.risk);

  j.key("settings").begin_object();
  j.key("fill").value(r.fill_model);
  j.key("fee_bps").value(r.fee_bps, decimals);
  j.key("maker_fee_bps").value(r.maker_fee_bps, decimals);
  j.key("slippage_bps").value(r.slippage_bps, decimals);
  j.key("leverage").value(r.leverage, decimals);
  j.key("fill_assumptions").value(r.fill_assumptions);
  j.end_object();

  write_data(j, r);

  j.key("strategies").begin_array();
  for (const strategy_report& s : r.strategies) {
    j.begin_object();
    j.key("name").value(s.name);
    j.key("plugin").value(s.plugin);
    j.key("version").value(s.version);
    j.key("params").begin_object();
    for (const param_set::entry& e : s.param_values) {
      j.key(e.name);
      switch (e.type) {
        case CATS_PARAM_BOOL:
          j.value(e.b);
          break;
        case CATS_PARAM_INT:
          j.value(e.i);
          break;
        case CATS_PARAM_FLOAT:
          j.value(e.f);
          break;
        default:
          j.value(e.s);
          break;
      }
    }
    j.end_object();
    j.key("status").value(s.failed ? "failed" : "ok");
    if (s.failed) {
      j.key("failed_in").value(s.failed_in);
      j.key("failed_at").value(format_iso8601(s.failed_at_ns));
      j.key("error").value(s.error);
    }
    j.key("events").value(s.events);
    j.key("orders").value(s.orders);
    j.key("fills").value(s.fills);
    j.end_object();
  }
  j.end_array();

  j.key("warnings").begin_array();
  for (const std::string& w : r.warnings) j.value(w);
  j.end_array();

  write_drawdowns_and_breakdowns(j, r);
  j.end_object();
  return j.str() + "\n";
}

namespace {

using report_format::money;
using report_format::num;

void line(std::string& out, std::string_view label, const std::string& value,
          std::string_view unit = {}) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %-26.*s %18s", static_cast<int>(label.size()), label.data(),
                value.c_str());
  out += buf;
  if (!unit.empty()) {
    out += ' ';
    out += unit;
  }
  out += '\n';
}

}  // namespace

std::string summary_table(const backtest_report& r) {
  const backtest_metrics& m = r.metrics;
  std::string out;
  out += "\nCATS backtest  " + r.symbol + "  " + format_interval(r.interval_ns) + " bars  ";
  if (m.samples > 0) out += format_iso8601(m.start_ts_ns) + " -> " + format_iso8601(m.end_ts_ns);
  out += "\n";
  for (const strategy_report& s : r.strategies) {
    out += "  strategy " + s.name + " = " + s.plugin + " " + s.version + "  " + s.params;
    if (s.failed) out += "  [FAILED in " + s.failed_in + "]";
    out += "\n";
  }
  out += "  fills at " + r.fill_model + ", fee " + num(r.fee_bps, 2) + " bps (maker " +
         num(r.maker_fee_bps, 2) + "), slippage " + num(r.slippage_bps, 2) + " bps, leverage " +
         num(r.leverage, 2) + "\n";
  if (!r.fill_assumptions.empty()) {
    // Wrapped at 100 columns, indented under the settings line.
    std::string row = "  fill rules:";
    size_t start = 0;
    const std::string& text = r.fill_assumptions;
    while (start < text.size()) {
      size_t end = text.find(' ', start);
      if (end == std::string::npos) end = text.size();
      const std::string word = text.substr(start, end - start);
      if (row.size() + 1 + word.size() > 100) {
        out += row + "\n";
        row = "    " + word;
      } else {
        row += " " + word;
      }
      start = end + 1;
    }
    out += row + "\n";
  }
  out += std::string(64, '-') + "\n";
  const std::string& c = r.currency;
  line(out, "Bars", std::to_string(r.bars));
  if (r.events != r.bars) line(out, "Events replayed", std::to_string(r.events));
  line(out, "Initial cash", money(m.initial_equity), c);
  line(out, "Final equity", money(m.final_equity), c);
  line(out, "Total return", num(m.total_return_pct, 2), "%");
  line(out, "Buy & hold return", num(r.buy_hold_return_pct, 2), "%");
  line(out, "CAGR", num(m.cagr_pct, 2), "%");
  line(out, "Max drawdown", num(m.max_drawdown_pct, 2), "%");
  if (m.max_drawdown_pct > 0)
    line(out, "Max drawdown duration", format_duration(m.max_drawdown_duration_ns),
         m.max_drawdown_recovered ? "" : "(not recovered)");
  line(out, "Volatility (annual)", num(m.volatility_pct, 2), "%");
  line(out, "Sharpe", num(m.sharpe, 3));
  line(out, "Sortino", num(m.sortino, 3));
  line(out, "Calmar", num(m.calmar, 3));
  line(out, "Exposure", num(m.exposure_pct, 2), "%");
  out += std::string(64, '-') + "\n";
  line(out, "Round-trip trades", std::to_string(m.trades));
  line(out, "Win rate", num(m.win_rate_pct, 2), "%");
  line(out, "Profit factor",
       m.gross_loss == 0 && m.gross_profit > 0 ? std::string("inf (no losing trade)")
                                               : num(m.profit_factor, 3));
  line(out, "Average trade", num(m.avg_trade_pnl, 2), c);
  line(out, "Average trade return", num(m.avg_trade_return_pct, 3), "%");
  line(out, "Best / worst trade", num(m.best_trade_pct, 2) + " / " + num(m.worst_trade_pct, 2),
       "%");
  line(out, "Average trade duration", num(m.avg_trade_duration_ns / 3.6e12, 1), "h");
  line(out, "Fees paid", money(r.fees_paid), c);
  line(out, "Orders / fills",
       std::to_string(r.orders.orders) + " / " + std::to_string(r.orders.fills));
  if (r.orders.rejected > 0) line(out, "Rejected orders", std::to_string(r.orders.rejected));
  if (r.orders.capped > 0)
    line(out, "Capped by buying power", std::to_string(r.orders.capped), "orders");
  if (r.risk.refused > 0) {
    std::string by;
    for (const auto& [k, v] : r.risk.refused_by_limit)
      by += (by.empty() ? "" : ", ") + k + " " + std::to_string(v);
    line(out, "Refused by risk", std::to_string(r.risk.refused) + " (" + by + ")");
  }
  if (r.risk.state != "active")
    line(out, "Trading state at end", r.risk.state + ": " + r.risk.state_reason);
  if (r.final_position != 0) line(out, "Open position at end", fixed_to_string(r.final_position));
  if (r.skipped_rows > 0 || r.gaps > 0 || r.trade_id_gaps > 0 || r.damaged_blocks > 0) {
    out += std::string(64, '-') + "\n";
    line(out, "Skipped rows", std::to_string(r.skipped_rows));
    if (r.gaps > 0 || r.trade_id_gaps == 0)
      line(out, "Gaps (missing bars)",
           std::to_string(r.gaps) + " (" + std::to_string(r.missing_bars) + ")");
    if (r.trade_id_gaps > 0)
      line(out, "Trade id gaps (missing trades)",
           std::to_string(r.trade_id_gaps) + " (" + std::to_string(r.missing_trades) + ")");
    if (r.damaged_blocks > 0) line(out, "Damaged blocks skipped", std::to_string(r.damaged_blocks));
  }
  for (const strategy_report& s : r.strategies) {
    if (s.failed)
      out += "\n  ! strategy '" + s.name + "' failed in " + s.failed_in + " at " +
             format_iso8601(s.failed_at_ns) + ": " + s.error + "\n";
  }
  return out;
}

// ---- CSV --------------------------------------------------------------------------------------

csv_file::~csv_file() {
  try {
    close();
  } catch (...) {
  }
}

void csv_file::open(const std::filesystem::path& path, std::string_view header) {
  path_ = path;
  f_ = std::fopen(path.c_str(), "wb");
  if (f_ == nullptr)
    throw std::runtime_error(path.string() + ": cannot write: " + std::strerror(errno));
  buf_.reserve(1u << 20);
  buf_.append(header);
  buf_ += '\n';
}

void csv_file::maybe_flush() {
  if (buf_.size() < (1u << 20)) return;
  if (std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
    throw std::runtime_error(path_.string() + ": write failed: " + std::strerror(errno));
  buf_.clear();
}

void csv_file::close() {
  if (f_ == nullptr) return;
  const bool ok = std::fwrite(buf_.data(), 1, buf_.size(), f_) == buf_.size();
  const bool closed = std::fclose(f_) == 0;
  f_ = nullptr;
  buf_.clear();
  if (!ok || !closed)
    throw std::runtime_error(path_.string() + ": write failed: " + std::strerror(errno));
}

void fills_recorder::open(const std::filesystem::path& dir) {
  fills_.open(dir / "fills.csv",
              "time,strategy,order_id,fill_id,symbol,side,liquidity,price,quantity,notional,fee,"
              "position_after,cash_after");
  trades_.open(dir / "trades.csv",
               "entry_time,exit_time,strategy,symbol,direction,max_quantity,entry_price,"
               "exit_price,pnl,return_pct,fees,entry_reason,exit_reason");
}

void fills_recorder::on_fill(const strategy_slot& owner, const instrument_info& inst,
                             const cats_fill_event_t& f, int64_t cash_after) {
  if (!fills_.is_open()) return;
  std::string& o = fills_.row();
  append_time(o, f.header.exchange_ts_ns);
  o += ',';
  o += owner.name;
  o += ',';
  o += std::to_string(f.order_id);
  o += ',';
  o += std::to_string(f.fill_id);
  o += ',';
  o += inst.symbol;
  o += f.side == CATS_SIDE_BUY ? ",buy," : ",sell,";
  o += f.liquidity == CATS_LIQUIDITY_MAKER ? "maker," : "taker,";
  append_fixed(o, f.price);
  o += ',';
  append_fixed(o, f.quantity);
  o += ',';
  append_fixed(o, fixed_mul(f.quantity, f.price, rounding::nearest));
  o += ',';
  append_fixed(o, f.fee);
  o += ',';
  append_fixed(o, f.position_after);
  o += ',';
  append_fixed(o, cash_after);
  o += '\n';
  fills_.maybe_flush();
}

void fills_recorder::on_round_trip(const strategy_slot& owner, const instrument_info& inst,
                                   const round_trip& t) {
  if (metrics != nullptr) metrics->add_trade(t);
  // A scan: a run has a few strategies and instruments, and a round trip is rare next to a bar.
  auto add = [&t](std::vector<pnl_breakdown>& into, const std::string& name) {
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const pnl_breakdown& b) { return b.name == name; });
    if (it == into.end()) {
      into.push_back({name, 0, 0, 0, 0});
      it = std::prev(into.end());
    }
    ++it->trades;
    it->wins += t.pnl > 0 ? 1 : 0;
    it->pnl += t.pnl;
    it->fees += t.fees;
  };
  add(by_strategy_, owner.name);
  add(by_symbol_, inst.symbol);
  if (!trades_.is_open()) return;
  std::string& o = trades_.row();
  append_time(o, t.entry_ts_ns);
  o += ',';
  append_time(o, t.exit_ts_ns);
  o += ',';
  o += owner.name;
  o += ',';
  o += inst.symbol;
  o += t.direction > 0 ? ",long," : ",short,";
  append_fixed(o, t.max_quantity);
  o += ',';
  append_fixed(o, t.entry_price);
  o += ',';
  append_fixed(o, t.exit_price);
  o += ',';
  append_fixed(o, t.pnl);
  o += ',';
  o += json_writer::format_double(t.return_pct, 6);
  o += ',';
  append_fixed(o, t.fees);
  o += ',';
  o += csv_field(t.entry_reason);
  o += ',';
  o += csv_field(t.exit_reason);
  o += '\n';
  trades_.maybe_flush();
}

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

namespace {

const char* order_status_text(int32_t status) {
  switch (status) {
    case CATS_ORDER_NEW:
      return "working";
    case CATS_ORDER_PARTIALLY_FILLED:
      return "partially_filled";
    case CATS_ORDER_FILLED:
      return "filled";
    case CATS_ORDER_CANCELED:
      return "cancelled";
    case CATS_ORDER_REJECTED:
      return "rejected";
    default:
      return "unknown";
  }
}

const char* order_type_text(int32_t type) {
  return type == CATS_ORDER_MARKET ? "market" : type == CATS_ORDER_LIMIT ? "limit" : "stop_market";
}

const char* tif_text(int32_t tif) {
  return tif == CATS_TIF_IOC ? "ioc" : tif == CATS_TIF_POST_ONLY ? "post_only" : "gtc";
}

}  // namespace

void orders_recorder::open(const std::filesystem::path& dir) {
  out_.open(dir / "orders.csv",
            "created,closed,strategy,order_id,client_tag,symbol,side,type,time_in_force,"
            "quantity,limit_price,stop_price,status,filled_quantity,avg_fill_price,updates,"
            "reason,order_reason");
}

void orders_recorder::on_order_update(std::string_view strategy, const cats_order_update_event_t& u,
                                      std::string_view reason) {
  if (!out_.is_open()) return;
  auto [it, added] = open_.try_emplace(u.order_id);
  entry& e = it->second;
  if (added) {
    e.strategy.assign(strategy);
    e.created_ns = u.header.exchange_ts_ns;
  }
  e.last = u;
  ++e.updates;
  e.reason.assign(reason);  // the last word on the order
  if (u.status == CATS_ORDER_FILLED || u.status == CATS_ORDER_CANCELED ||
      u.status == CATS_ORDER_REJECTED) {
    write(e);
    open_.erase(it);
  }
}

void orders_recorder::write(const entry& e) {
  const cats_order_update_event_t& u = e.last;
  const bool final = u.status == CATS_ORDER_FILLED || u.status == CATS_ORDER_CANCELED ||
                     u.status == CATS_ORDER_REJECTED;
  const instrument_info* inst = instruments_.get(u.header.instrument_id);
  std::string& o = out_.row();
  append_time(o, e.created_ns);
  o += ',';
  if (final) append_time(o, u.header.exchange_ts_ns);
  o += ',';
  o += csv_field(e.strategy);
  o += ',';
  o += std::to_string(u.order_id);
  o += ',';
  o += std::to_string(u.client_tag);
  o += ',';
  o += inst != nullptr ? csv_field(inst->symbol) : std::string();
  o += ',';
  o += side_name(u.side);
  o += ',';
  o += order_type_text(u.order_type);
  o += ',';
  o += tif_text(u.time_in_force);
  for (int64_t v : {u.quantity, u.limit_price, u.stop_price}) {
    o += ',';
    append_fixed(o, v);
  }
  o += ',';
  o += order_status_text(u.status);
  o += ',';
  append_fixed(o, u.filled_quantity);
  o += ',';
  append_fixed(o, u.avg_fill_price);
  o += ',';
  o += std::to_string(e.updates);
  o += ',';
  o += csv_field(e.reason);
  o += ',';
  if (reasons_ != nullptr) o += csv_field(reasons_->order_reason(u.order_id));
  o += '\n';
  out_.maybe_flush();
}

void orders_recorder::close() {
  if (!out_.is_open()) return;
  for (const auto& [id, e] : open_) write(e);
  open_.clear();
  out_.close();
}

void fills_recorder::close() {
  fills_.close();
  trades_.close();
}

}  // namespace cats
