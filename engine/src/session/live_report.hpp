// The summary of a live or record session (internal to the session area): what `cats live` and
// `cats record` print at the end and write to summary.json.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cats/book/book_builder.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/instrument.hpp"
#include "cats/core/portfolio.hpp"
#include "cats/exec/venue_broker.hpp"
#include "cats/plugin/reloader.hpp"
#include "cats/record/record_file.hpp"
#include "cats/report/report.hpp"
#include "cats/sim/sim_exchange.hpp"
#include "cats/util/histogram.hpp"
#include "cats/venues/venue_feed.hpp"

namespace cats {

/// Everything the summary reports, borrowed from the session for the call.
struct live_figures {
  bool record_only = false;
  bool busy_poll_requested = false;  ///< live.busy_poll
  bool busy_poll = false;            ///< whether it ran so (the cores allowed it)
  unsigned cores = 0;                ///< cores this process may use
  double seconds = 0;
  uint64_t events = 0;
  const feed_counters* counters = nullptr;
  const std::vector<std::unique_ptr<venue_feed>>* feeds = nullptr;
  const latency_histogram* from_receive = nullptr;   ///< local receive time -> strategy callback
  const latency_histogram* from_exchange = nullptr;  ///< venue timestamp -> strategy callback
  const engine* eng = nullptr;
  const portfolio* account = nullptr;
  sim_exchange_stats paper;
  /// The live brokers (one per venue orders are routed to): their order figures and the venue
  /// connections'; empty when paper trading.
  std::vector<const venue_broker*> execution;
  risk_report risk;
  size_t open_orders = 0;
  const broker* orders = nullptr;  ///< the working orders, per strategy
  uint64_t watchdog_overruns = 0;
  const reload_stats* reload = nullptr;         ///< null without hot reload
  const record_writer_stats* record = nullptr;  ///< null without a recorder
  const book_builder* books = nullptr;
  const instrument_registry* instruments = nullptr;
};

/// One strategy's share of the run, for the status line, the summary and /status.
struct strategy_view {
  std::string name, label, status;  ///< status: "running", "failed", "stopped"
  uint64_t events = 0, orders = 0, rejected = 0, fills = 0, open_orders = 0;
  int64_t realized = 0, unrealized = 0;  ///< fixed point, account currency
  struct holding {
    std::string symbol;
    int64_t quantity = 0, avg_price = 0;  ///< fixed point; avg_price: average entry price
  };
  std::vector<holding> positions;  ///< non-flat, by symbol
};
std::vector<strategy_view> strategy_views(const live_figures& f);
/// "BINANCE:BTCUSDT 0.1 @ 50000, OKX:ETH-USDT -2 @ 3000", or "flat".
std::string positions_text(const strategy_view& v);

std::string live_summary_json(const live_figures& f);
/// The same figures in the Prometheus text exposition format (version 0.0.4), for /metrics.
std::string live_metrics_text(const live_figures& f);
std::string live_summary_text(const live_figures& f);
/// "12.3": ns as microseconds with one decimal.
std::string us(uint64_t ns);

}  // namespace cats
