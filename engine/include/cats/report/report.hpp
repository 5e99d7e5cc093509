// What a backtest reports: the summary (terminal table and JSON) and the CSV files written with
// --out (fills, round-trip trades, equity curve). Output is byte-identical for identical input.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cats/core/engine.hpp"
#include "cats/core/params.hpp"
#include "cats/core/portfolio.hpp"
#include "cats/report/metrics.hpp"
#include "cats/risk/risk_engine.hpp"
#include "cats/sim/sim_exchange.hpp"

namespace cats {

struct strategy_report {
  std::string name, plugin, version;
  std::string params;  ///< "fast=10 slow=30 ..."
  std::vector<param_set::entry> param_values;
  bool failed = false;
  std::string failed_in, error;
  int64_t failed_at_ns = 0;
  uint64_t events = 0, orders = 0, fills = 0;
};

/// What the risk engine did in a run (shown when [risk] is configured or it refused anything).
struct risk_report {
  bool shown = false;
  std::string state = "active", state_reason;
  uint64_t refused = 0, breaches = 0, cancels_refused = 0;
  std::vector<std::pair<std::string, uint64_t>> refused_by_limit;  ///< the non-zero counters
};

/// Closed round trips of one strategy or one instrument.
struct pnl_breakdown {
  std::string name;  ///< the strategy's instance name, or the instrument
  uint64_t trades = 0, wins = 0;
  int64_t pnl = 0;   ///< net of fees, fixed point
  int64_t fees = 0;  ///< fixed point
};

struct backtest_report {
  std::string symbol, currency;
  std::vector<std::string> files;
  std::string fill_model;
  double fee_bps = 0, maker_fee_bps = 0, slippage_bps = 0, leverage = 1;
  /// What the simulated exchange assumes (describe_fill_rules()); printed in both summaries.
  std::string fill_assumptions;
  int64_t interval_ns = 0;
  uint64_t events = 0;  ///< market events replayed (bars, trades, quotes, book updates)
  uint64_t bars = 0, rows = 0, skipped_rows = 0, gaps = 0, missing_bars = 0;
  uint64_t trade_id_gaps = 0, missing_trades = 0;  ///< trade files: jumps in the trade ids
  uint64_t damaged_blocks = 0;                     ///< recordings: damaged blocks skipped
  backtest_metrics metrics;
  int64_t fees_paid = 0;
  double buy_hold_return_pct = 0;
  int64_t final_position = 0;  ///< open quantity of the traded instrument at the end
  sim_exchange_stats orders;
  risk_report risk;
  std::vector<strategy_report> strategies;
  std::vector<std::string> warnings;
  /// Closed round trips by strategy and by instrument, in order of first trade.
  std::vector<pnl_breakdown> pnl_by_strategy, pnl_by_symbol;

  bool any_strategy_failed() const;
};

/// What `risk` did; shown when `configured` ([risk] present) or anything was refused.
risk_report make_risk_report(const risk_engine& risk, bool configured);

class json_writer;
/// The "risk" object of a summary (backtest and live).
void write_risk(json_writer& j, const risk_report& r);

/// The summary as one JSON object (snake_case keys; docs/metrics.md lists them).
std::string summary_json(const backtest_report& r);
/// The summary as a table for the terminal.
std::string summary_table(const backtest_report& r);

/// A buffered CSV file writer; throws std::runtime_error when the file cannot be written.
class csv_file {
 public:
  csv_file() = default;
  ~csv_file();
  csv_file(const csv_file&) = delete;
  csv_file& operator=(const csv_file&) = delete;
  void open(const std::filesystem::path& path, std::string_view header);
  bool is_open() const noexcept { return f_ != nullptr; }
  std::string& row() noexcept { return buf_; }  ///< append a row, ending in '\n'
  void maybe_flush();
  void close();

 private:
  std::FILE* f_ = nullptr;
  std::string buf_;
  std::filesystem::path path_;
};

/// `s` as one CSV field: quoted (quotes doubled) when it holds a comma, a quote or a newline.
std::string csv_field(std::string_view s);

/// orders.csv: one row per order, written when the order is final (filled, cancelled, rejected),
/// and for orders still working when the run ends, at close() with their status then.
class orders_recorder final : public order_observer {
 public:
  explicit orders_recorder(const instrument_registry& instruments) : instruments_(instruments) {}
  /// The engine whose orders' reasons (order_reason column) are looked up; none: empty.
  void set_reasons(const engine* e) noexcept { reasons_ = e; }
  void open(const std::filesystem::path& dir);
  void on_order_update(std::string_view strategy, const cats_order_update_event_t& update,
                       std::string_view reason) override;
  void close();

 private:
  struct entry {
    cats_order_update_event_t last{};
    std::string strategy, reason;
    int64_t created_ns = 0;
    uint64_t updates = 0;
  };
  void write(const entry& e);

  const instrument_registry& instruments_;
  const engine* reasons_ = nullptr;
  csv_file out_;
  std::map<uint64_t, entry> open_;  ///< by order id: close() writes them in id order
};

/// Writes fills.csv and trades.csv as the simulated exchange reports them.
class fills_recorder final : public fill_listener {
 public:
  void open(const std::filesystem::path& dir);
  void on_fill(const strategy_slot& owner, const instrument_info& inst,
               const cats_fill_event_t& fill, int64_t cash_after) override;
  void on_round_trip(const strategy_slot& owner, const instrument_info& inst,
                     const round_trip& trade) override;
  /// Round trips are also counted into the metrics through this hook.
  metrics_accumulator* metrics = nullptr;
  void close();
  const std::vector<pnl_breakdown>& by_strategy() const noexcept { return by_strategy_; }
  const std::vector<pnl_breakdown>& by_symbol() const noexcept { return by_symbol_; }

 private:
  csv_file fills_, trades_;
  std::vector<pnl_breakdown> by_strategy_, by_symbol_;
};

/// Appends an equity.csv row "time,equity,cash,position_value" (no newline) for `account` at
/// `ts_ns`; a backtest adds its drawdown column after it.
void append_equity_row(std::string& out, int64_t ts_ns, const portfolio& account);

/// Appends "2024-01-31T23:59:00Z" to `out`.
void append_time(std::string& out, int64_t ts_ns);
void append_fixed(std::string& out, int64_t raw);

}  // namespace cats
