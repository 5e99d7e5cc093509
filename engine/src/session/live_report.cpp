#include "live_report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cats/core/fixed.hpp"
#include "cats/util/json_writer.hpp"

namespace cats {

std::string us(uint64_t ns) {
  return fmt::format("{:.1f}", static_cast<double>(ns) / 1e3);
}

namespace {

void write_events(json_writer& j, const live_figures& f) {
  const feed_counters& c = *f.counters;
  j.key("events_by_type").begin_object();
  j.key("trades").value(c.trades.load());
  j.key("quotes").value(c.quotes.load());
  j.key("bars").value(c.bars.load());
  j.key("books").value(c.books.load());
  j.end_object();
  j.key("feed").begin_object();
  j.key("control").value(c.control.load());
  j.key("unknown").value(c.unknown.load());
  j.key("malformed").value(c.malformed.load());
  j.key("venue_errors").value(c.venue_errors.load());
  j.key("dropped_quotes").value(c.dropped_quotes.load());
  j.key("reader_blocked").value(c.blocked.load());
  j.key("trade_id_gaps").value(c.trade_gaps.load());
  j.key("trades_missed").value(c.trades_missed.load());
  j.key("snapshot_failures").value(c.snapshot_failures.load());
  j.end_object();
  j.key("bus").begin_object();
  j.key("last_sequence").value(c.bus_sequence.load());
  j.key("duplicates_dropped").value(c.bus_duplicates.load());
  j.key("book_updates_before_snapshot").value(c.bus_before_snapshot.load());
  j.key("expired_before_read").value(c.bus_expired.load());
  j.key("consumer_restarts").value(c.bus_resyncs.load());
  j.end_object();
}

void write_venues(json_writer& j, const live_figures& f) {
  j.key("venues").begin_array();
  for (const auto& feed : *f.feeds) {
    const auto& c = feed->connection();
    const auto& b = feed->books();
    j.begin_object();
    j.key("name").value(feed->name());
    j.key("connected").value(c.connected.load());
    j.key("connects").value(c.connects.load());
    j.key("disconnects").value(c.disconnects.load());
    j.key("downtime_s").value(static_cast<double>(c.downtime_ns.load()) / 1e9, 3);
    j.key("messages").value(c.messages.load());
    j.key("bytes").value(c.bytes.load());
    j.key("book_snapshots").value(b.snapshots.load());
    j.key("book_updates").value(b.updates.load());
    j.key("book_gaps").value(b.gaps.load());
    j.key("book_checksum_failures").value(b.checksum_failures.load());
    j.key("book_resyncs").value(b.resyncs.load());
    j.key("book_stale_dropped").value(b.stale_dropped.load());
    j.key("book_stale_snapshots").value(b.stale_snapshots.load());
    j.end_object();
  }
  j.end_array();
}

void write_latency(json_writer& j, const char* name, const latency_histogram& h) {
  j.key(name).begin_object();
  j.key("count").value(h.count());
  j.key("p50_us").value(static_cast<double>(h.quantile(0.5)) / 1e3, 1);
  j.key("p99_us").value(static_cast<double>(h.quantile(0.99)) / 1e3, 1);
  j.key("p999_us").value(static_cast<double>(h.quantile(0.999)) / 1e3, 1);
  j.key("max_us").value(static_cast<double>(h.max()) / 1e3, 1);
  j.end_object();
}

void write_execution(json_writer& j, const venue_broker& b) {
  const venue_broker_stats& s = b.stats();
  const gateway_stats& g = b.gateway().stats();
  j.key(b.gateway().name()).begin_object();
  j.key("orders").value(s.orders);
  j.key("acknowledged").value(s.acknowledged);
  j.key("fills").value(s.fills);
  j.key("filled").value(s.filled);
  j.key("canceled").value(s.canceled);
  j.key("rejected").value(s.rejected);
  j.key("unknown").value(s.unknown);
  j.key("unknown_resolved").value(s.unknown_resolved);
  j.key("duplicate_fills").value(s.duplicate_fills);
  j.key("reconcile_differences").value(s.reconcile_differences);
  j.key("journal_lines").value(s.journal_lines);
  j.key("requests").value(g.requests.load());
  j.key("responses_lost").value(g.unknown.load());
  j.key("used_weight").value(g.used_weight.load());
  j.key("order_count").value(g.order_count.load());
  j.key("throttled").value(g.throttled.load());
  j.key("paced").value(g.paced.load());
  j.key("banned").value(g.banned.load());
  j.key("clock_offset_ms").value(g.clock_offset_ms.load());
  j.key("user_stream_up").value(g.stream_up.load());
  j.key("user_stream_connects").value(g.stream_connects.load());
  j.key("start_balances").begin_object();
  for (const venue_balance& vb : b.start_balances()) {
    j.key(vb.asset).begin_object();
    j.key("free").number(fixed_text(vb.free)).key("locked").number(fixed_text(vb.locked));
    j.end_object();
  }
  j.end_object();
  const latency_histogram& w = b.submit_to_wire();
  j.key("submit_to_wire").begin_object();
  j.key("orders").value(w.count());
  j.key("p50_us").value(static_cast<double>(w.quantile(0.5)) / 1e3, 1);
  j.key("p99_us").value(static_cast<double>(w.quantile(0.99)) / 1e3, 1);
  j.key("max_us").value(static_cast<double>(w.max()) / 1e3, 1);
  const latency_histogram& h = b.submit_to_handoff();
  j.key("engine_p50_us").value(static_cast<double>(h.quantile(0.5)) / 1e3, 1);
  j.key("engine_p99_us").value(static_cast<double>(h.quantile(0.99)) / 1e3, 1);
  j.end_object();
  j.end_object();
}

void write_strategies(json_writer& j, const live_figures& f) {
  j.key("strategies").begin_array();
  const std::vector<strategy_view> views = strategy_views(f);
  for (size_t i = 0; i < views.size(); ++i) {
    const auto& s = f.eng->strategies()[i];
    const strategy_view& v = views[i];
    j.begin_object();
    j.key("name").value(s->name);
    j.key("plugin").value(s->kind());
    j.key("version").value(s->version());
    j.key("status").value(s->failure ? "failed" : "ok");
    if (s->failure) j.key("error").value(s->failure->where + ": " + s->failure->message);
    j.key("events").value(s->events);
    if (!s->broker.empty()) j.key("broker").value(s->broker);
    j.key("orders").value(s->orders);
    j.key("rejected").value(v.rejected);
    j.key("fills").value(s->fills);
    j.key("open_orders").value(v.open_orders);
    j.key("positions").begin_object();
    for (const auto& h : v.positions) j.key(h.symbol).number(fixed_text(h.quantity));
    j.end_object();
    j.key("avg_entry_prices").begin_object();
    for (const auto& h : v.positions) j.key(h.symbol).number(fixed_text(h.avg_price));
    j.end_object();
    j.key("realized_pnl").number(fixed_text(v.realized));
    j.key("unrealized_pnl").number(fixed_text(v.unrealized));
    j.key("risk_state").value(f.risk.state);
    j.end_object();
  }
  j.end_array();
  j.key("account").begin_object();
  j.key("cash").number(fixed_text(f.account->cash()));
  j.key("equity").number(fixed_text(f.account->equity()));
  j.key("fees").number(fixed_text(f.account->fees_paid()));
  uint64_t orders = f.paper.orders, fills = f.paper.fills;
  for (const venue_broker* b : f.execution) {
    orders += b->stats().orders;
    fills += b->stats().fills;
  }
  j.key("orders").value(orders);
  j.key("fills").value(fills);
  j.key("open_orders").value(f.open_orders);
  j.key("positions").begin_object();
  for (const instrument_info& i : f.instruments->all())
    if (const int64_t q = f.account->position(i.id).quantity; q != 0)
      j.key(i.symbol).number(fixed_text(q));
  j.end_object();
  j.end_object();
  write_risk(j, f.risk);
  j.key("watchdog_overruns").value(f.watchdog_overruns);
  if (!f.execution.empty()) {
    // One object per live broker, by venue: "execution": {"binance": {...}, "okx": {...}}.
    j.key("execution").begin_object();
    for (const venue_broker* b : f.execution) write_execution(j, *b);
    j.end_object();
  }
}

void write_reload(json_writer& j, const reload_stats& r) {
  j.key("hot_reload").begin_object();
  j.key("reloads").value(r.reloads);
  j.key("refused").value(r.refused);
  j.key("removed").value(r.removed);
  j.key("added").value(r.added);
  j.key("swap_pause_p50_us").value(static_cast<double>(r.swap_pause.quantile(0.5)) / 1e3, 1);
  j.key("swap_pause_p99_us").value(static_cast<double>(r.swap_pause.quantile(0.99)) / 1e3, 1);
  j.key("swap_pause_max_us").value(static_cast<double>(r.swap_pause.max()) / 1e3, 1);
  j.key("file_to_live_p50_ms").value(static_cast<double>(r.file_to_live.quantile(0.5)) / 1e6, 3);
  j.key("file_to_live_p99_ms").value(static_cast<double>(r.file_to_live.quantile(0.99)) / 1e6, 3);
  j.key("file_to_live_max_ms").value(static_cast<double>(r.file_to_live.max()) / 1e6, 3);
  j.end_object();
}

// The final books, as deep as the book events strategies got.
void write_books(json_writer& j, const live_figures& f) {
  uint64_t dropped = 0;
  for (const auto& [id, book] : f.books->books()) dropped += book.levels_dropped();
  j.key("book_levels_dropped").value(dropped);
  j.key("books").begin_object();
  for (const auto& [id, book] : f.books->books()) {
    j.key(f.instruments->get(id)->symbol).begin_object();
    auto side = [&](const char* name, const std::vector<book_level>& levels) {
      j.key(name).begin_array();
      const size_t n = std::min(levels.size(), f.books->depth());
      for (size_t i = 0; i < n; ++i) {
        j.begin_array();
        j.number(fixed_text(levels[i].price)).number(fixed_text(levels[i].quantity));
        j.end_array();
      }
      j.end_array();
    };
    side("bids", book.bids());
    side("asks", book.asks());
    j.end_object();
  }
  j.end_object();
}

}  // namespace

std::vector<strategy_view> strategy_views(const live_figures& f) {
  std::vector<broker::open_order> open;
  if (f.orders != nullptr) f.orders->open_orders(open);
  std::vector<strategy_view> out;
  for (const auto& s : f.eng->strategies()) {
    strategy_view v;
    v.name = s->name;
    v.label = s->label();
    v.status = s->failure ? "failed" : s->running ? "running" : "stopped";
    v.events = s->events;
    v.orders = s->orders;
    v.rejected = s->rejected;
    v.fills = s->fills;
    for (const broker::open_order& o : open) v.open_orders += o.owner == s->host->slot ? 1 : 0;
    for (const instrument_info& i : f.instruments->all()) {
      const position_state& p = s->ledger.position(i.id);
      v.realized += p.realized_pnl;
      if (p.quantity == 0) continue;
      v.positions.push_back({i.symbol, p.quantity, p.avg_entry_price()});
      // Marked at the account's last price of the instrument.
      const int64_t mark = f.account->position(i.id).mark_price;
      if (mark > 0)
        v.unrealized += fixed_mul(p.quantity, mark - p.avg_entry_price(), rounding::nearest);
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::string positions_text(const strategy_view& v) {
  std::string out;
  for (const auto& h : v.positions)
    out += (out.empty() ? "" : ", ") + h.symbol + " " + fixed_to_string(h.quantity) + " @ " +
           fixed_to_string(h.avg_price);
  return out.empty() ? "flat" : out;
}

std::string live_summary_json(const live_figures& f) {
  json_writer j;
  j.begin_object();
  j.key("mode").value(f.record_only ? "record" : !f.execution.empty() ? "live" : "paper");
  j.key("seconds").value(f.seconds, 3);
  j.key("events").value(f.events);
  j.key("busy_poll").begin_object();
  j.key("requested").value(f.busy_poll_requested);
  j.key("active").value(f.busy_poll);
  j.key("cores").value(static_cast<uint64_t>(f.cores));
  j.end_object();
  write_events(j, f);
  write_venues(j, f);
  j.key("latency").begin_object();
  write_latency(j, "receive_to_strategy", *f.from_receive);
  write_latency(j, "exchange_to_strategy", *f.from_exchange);
  j.end_object();
  write_strategies(j, f);
  if (f.reload != nullptr) write_reload(j, *f.reload);
  if (f.record != nullptr) {
    j.key("record").begin_object();
    j.key("records").value(f.record->records);
    j.key("bytes").value(f.record->bytes);
    j.key("files").value(f.record->files);
    j.end_object();
  }
  write_books(j, f);
  j.end_object();
  return j.str();
}

namespace {

// Prometheus text format: one HELP/TYPE header per metric family, then its samples.
class prom {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP cats_{} {}\n# TYPE cats_{} {}\n", name, help, name, type);
    name_ = name;
  }
  // Labels as "k", "v" pairs; values escaped as the format requires.
  void sample(double v,
              std::initializer_list<std::pair<std::string_view, std::string_view>> l = {}) {
    out_ += "cats_";
    out_ += name_;
    if (l.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, val] : l) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        for (char c : val) {
          if (c == '\\' || c == '"') out_ += '\\';
          if (c == '\n') {
            out_ += "\\n";
            continue;
          }
          out_ += c;
        }
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", v);
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
  std::string_view name_;
};

double as_double(int64_t fixed_value) {
  return static_cast<double>(fixed_value) / static_cast<double>(fixed_scale);
}

void venue_metrics(prom& p, const live_figures& f) {
  auto each = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    p.family(name, type, help);
    for (const auto& feed : *f.feeds) p.sample(value(*feed), {{"venue", feed->name()}});
  };
  using vf = const venue_feed&;
  each("venue_connected", "gauge", "1 while the venue connection is up.",
       [](vf v) { return v.connection().connected.load() ? 1.0 : 0.0; });
  each("venue_connects_total", "counter", "Connections made to the venue.",
       [](vf v) { return static_cast<double>(v.connection().connects.load()); });
  each("venue_disconnects_total", "counter", "Connections lost (each one logged with its reason).",
       [](vf v) { return static_cast<double>(v.connection().disconnects.load()); });
  each("venue_downtime_seconds_total", "counter", "Time without a connection after the first.",
       [](vf v) { return static_cast<double>(v.connection().downtime_ns.load()) / 1e9; });
  each("venue_messages_total", "counter", "Messages received.",
       [](vf v) { return static_cast<double>(v.connection().messages.load()); });
  each("book_gaps_total", "counter", "Order-book sequence gaps (each one resynchronised).",
       [](vf v) { return static_cast<double>(v.books().gaps.load()); });
  each("book_checksum_failures_total", "counter", "Order books that failed the venue checksum.",
       [](vf v) { return static_cast<double>(v.books().checksum_failures.load()); });
  each("book_resyncs_total", "counter", "Order-book snapshots requested after the first.",
       [](vf v) { return static_cast<double>(v.books().resyncs.load()); });
}

void strategy_metrics(prom& p, const live_figures& f) {
  const std::vector<strategy_view> views = strategy_views(f);
  auto each = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    p.family(name, type, help);
    for (const strategy_view& v : views) p.sample(value(v), {{"strategy", v.name}});
  };
  using sv = const strategy_view&;
  each("strategy_running", "gauge", "1 while the strategy receives events.",
       [](sv v) { return v.status == "running" ? 1.0 : 0.0; });
  each("strategy_events_total", "counter", "Events delivered to the strategy.",
       [](sv v) { return static_cast<double>(v.events); });
  each("strategy_orders_total", "counter", "Orders the strategy submitted.",
       [](sv v) { return static_cast<double>(v.orders); });
  each("strategy_fills_total", "counter", "Fills of the strategy's orders.",
       [](sv v) { return static_cast<double>(v.fills); });
  each("strategy_open_orders", "gauge", "The strategy's working orders.",
       [](sv v) { return static_cast<double>(v.open_orders); });
  each("strategy_realized_pnl", "gauge", "Realized PnL of the strategy's own fills.",
       [](sv v) { return as_double(v.realized); });
  each("strategy_unrealized_pnl", "gauge", "Unrealized PnL at the last price.",
       [](sv v) { return as_double(v.unrealized); });
  p.family("strategy_position", "gauge", "Net position of the strategy's own fills.");
  for (const strategy_view& v : views)
    for (const auto& h : v.positions)
      p.sample(as_double(h.quantity), {{"strategy", v.name}, {"instrument", h.symbol}});
  p.family("strategy_rejected_orders_total", "counter",
           "Orders of the strategy refused (host checks, risk engine or venue).");
  for (const strategy_view& v : views)
    p.sample(static_cast<double>(v.rejected), {{"strategy", v.name}});
}

void execution_metrics(prom& p, const std::vector<const venue_broker*>& brokers) {
  p.family("venue_orders_total", "counter", "Live orders by outcome.");
  for (const venue_broker* b : brokers) {
    const venue_broker_stats& s = b->stats();
    for (const auto& [k, v] : {std::pair<const char*, uint64_t>{"sent", s.orders},
                               {"acknowledged", s.acknowledged},
                               {"filled", s.filled},
                               {"canceled", s.canceled},
                               {"rejected", s.rejected},
                               {"unknown", s.unknown}})
      p.sample(static_cast<double>(v), {{"venue", b->gateway().name()}, {"outcome", k}});
  }
  auto each = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    p.family(name, type, help);
    for (const venue_broker* b : brokers) p.sample(value(*b), {{"venue", b->gateway().name()}});
  };
  using vb = const venue_broker&;
  each("venue_fills_total", "counter", "Executions applied (duplicates excluded).",
       [](vb b) { return static_cast<double>(b.stats().fills); });
  each("venue_used_weight", "gauge", "The venue's last reported request weight.",
       [](vb b) { return static_cast<double>(b.gateway().stats().used_weight.load()); });
  p.family("venue_rate_limited_total", "counter", "429 (throttled) and 418 (banned) answers.");
  for (const venue_broker* b : brokers) {
    const gateway_stats& g = b->gateway().stats();
    p.sample(static_cast<double>(g.throttled.load()),
             {{"venue", b->gateway().name()}, {"status", "429"}});
    p.sample(static_cast<double>(g.banned.load()),
             {{"venue", b->gateway().name()}, {"status", "418"}});
  }
  each("venue_user_stream_up", "gauge", "1 while the user-data stream is subscribed.",
       [](vb b) { return b.gateway().stats().stream_up.load() ? 1.0 : 0.0; });
}

}  // namespace

std::string live_metrics_text(const live_figures& f) {
  prom p;
  const feed_counters& c = *f.counters;
  p.family("up_seconds", "gauge", "Seconds since the live run started.");
  p.sample(f.seconds);
  p.family("events_total", "counter", "Market events taken through the market step.");
  p.sample(static_cast<double>(f.events));
  p.family("feed_events_total", "counter", "Normalized events received, by type.");
  p.sample(static_cast<double>(c.trades.load()), {{"type", "trade"}});
  p.sample(static_cast<double>(c.quotes.load()), {{"type", "quote"}});
  p.sample(static_cast<double>(c.bars.load()), {{"type", "bar"}});
  p.sample(static_cast<double>(c.books.load()), {{"type", "book"}});
  p.family("feed_malformed_total", "counter", "Venue messages that could not be parsed.");
  p.sample(static_cast<double>(c.malformed.load()));
  p.family("feed_dropped_quotes_total", "counter", "Quotes dropped with the queue full.");
  p.sample(static_cast<double>(c.dropped_quotes.load()));
  p.family("feed_reader_blocked_total", "counter", "Times the network reader waited for room.");
  p.sample(static_cast<double>(c.blocked.load()));
  p.family("feed_trade_id_gaps_total", "counter", "Jumps in consecutive venue trade ids.");
  p.sample(static_cast<double>(c.trade_gaps.load()));
  p.family("feed_trades_missed_total", "counter", "Trades missing from those jumps.");
  p.sample(static_cast<double>(c.trades_missed.load()));
  p.family("latency_receive_to_strategy_microseconds", "summary",
           "Local receive time to the strategy callback.");
  for (const char* q : {"0.5", "0.99", "0.999"})
    p.sample(static_cast<double>(f.from_receive->quantile(std::stod(q))) / 1e3, {{"quantile", q}});
  venue_metrics(p, f);
  strategy_metrics(p, f);
  p.family("account_equity", "gauge", "Cash plus positions at their last price.");
  p.sample(as_double(f.account->equity()));
  p.family("account_cash", "gauge", "Cash of the account.");
  p.sample(as_double(f.account->cash()));
  p.family("open_orders", "gauge", "Working orders of the account.");
  p.sample(static_cast<double>(f.open_orders));
  p.family("risk_state", "gauge", "1 for the current trading state.");
  for (const char* st : {"active", "reducing", "halted"})
    p.sample(f.risk.state == st ? 1.0 : 0.0, {{"state", st}});
  p.family("risk_refused_orders_total", "counter", "Orders the risk engine refused, by limit.");
  for (const auto& [k, v] : f.risk.refused_by_limit)
    p.sample(static_cast<double>(v), {{"limit", k}});
  p.family("watchdog_overruns_total", "counter", "Strategy callbacks over callback_timeout.");
  p.sample(static_cast<double>(f.watchdog_overruns));
  if (!f.execution.empty()) execution_metrics(p, f.execution);
  return std::move(p.str());
}

std::string live_summary_text(const live_figures& f) {
  const feed_counters& c = *f.counters;
  std::string t;
  t += fmt::format("live session: {:.1f} s, {} events (trades {}, quotes {}, bars {}, books {})\n",
                   f.seconds, f.events, c.trades.load(), c.quotes.load(), c.bars.load(),
                   c.books.load());
  t += fmt::format("latency receive->strategy: p50 {} us, p99 {} us, p99.9 {} us\n",
                   us(f.from_receive->quantile(0.5)), us(f.from_receive->quantile(0.99)),
                   us(f.from_receive->quantile(0.999)));
  for (const auto& feed : *f.feeds) {
    const auto& cn = feed->connection();
    const auto& b = feed->books();
    t += fmt::format(
        "{}: {} connects, {} disconnects, {:.3f} s down, {} messages; books: {} snapshots, "
        "{} gaps, {} checksum failures, {} resyncs\n",
        feed->name(), cn.connects.load(), cn.disconnects.load(),
        static_cast<double>(cn.downtime_ns.load()) / 1e9, cn.messages.load(), b.snapshots.load(),
        b.gaps.load(), b.checksum_failures.load(), b.resyncs.load());
  }
  t += fmt::format(
      "feed: {} malformed, {} unknown, {} venue errors, {} dropped quotes, {} trade-id gaps ({} "
      "trades missed)\n",
      c.malformed.load(), c.unknown.load(), c.venue_errors.load(), c.dropped_quotes.load(),
      c.trade_gaps.load(), c.trades_missed.load());
  if (c.bus_sequence.load() != 0)
    t += fmt::format(
        "bus: up to stream sequence {}; {} duplicates dropped, {} book updates before the first "
        "full book, {} events expired before this engine read them, {} consumer restarts\n",
        c.bus_sequence.load(), c.bus_duplicates.load(), c.bus_before_snapshot.load(),
        c.bus_expired.load(), c.bus_resyncs.load());
  const std::vector<strategy_view> views = strategy_views(f);
  for (size_t i = 0; i < views.size(); ++i) {
    const auto& s = f.eng->strategies()[i];
    const strategy_view& v = views[i];
    t += fmt::format(
        "strategy {}: {} events, {} orders ({} rejected), {} fills, {} open; position {}; pnl "
        "realized {} unrealized {}; {}\n",
        v.label, v.events, v.orders, v.rejected, v.fills, v.open_orders, positions_text(v),
        fixed_to_string(v.realized), fixed_to_string(v.unrealized),
        s->failure ? "FAILED: " + s->failure->message : std::string("ok"));
  }
  t +=
      fmt::format("risk: trading {}{}, {} orders refused, {} breaches; watchdog: {} overruns\n",
                  f.risk.state, f.risk.state_reason.empty() ? "" : " (" + f.risk.state_reason + ")",
                  f.risk.refused, f.risk.breaches, f.watchdog_overruns);
  if (f.reload != nullptr) {
    const reload_stats& r = *f.reload;
    t += fmt::format(
        "hot reload: {} swapped in, {} refused, {} removed, {} added; delivery paused "
        "p50 {} us, p99 {} us\n",
        r.reloads, r.refused, r.removed, r.added, us(r.swap_pause.quantile(0.5)),
        us(r.swap_pause.quantile(0.99)));
  }
  for (const venue_broker* b : f.execution) {
    const venue_broker_stats& s = b->stats();
    const gateway_stats& g = b->gateway().stats();
    t += fmt::format(
        "{} orders: {} sent, {} acknowledged, {} fills, {} filled, {} cancelled, {} rejected, "
        "{} unknown ({} resolved), {} duplicate fills ignored, {} reconciliation differences; "
        "rate limits: weight {}, {} x 429, {} x 418, {} held back; user stream {} ({} "
        "connects); journal {} lines; submit->wire p50 {} us p99 {} us\n",
        b->gateway().name(), s.orders, s.acknowledged, s.fills, s.filled, s.canceled, s.rejected,
        s.unknown, s.unknown_resolved, s.duplicate_fills, s.reconcile_differences,
        g.used_weight.load(), g.throttled.load(), g.banned.load(), g.paced.load(),
        g.stream_up.load() ? "up" : "DOWN", g.stream_connects.load(), s.journal_lines,
        us(b->submit_to_wire().quantile(0.5)), us(b->submit_to_wire().quantile(0.99)));
  }
  t += fmt::format("{} account: equity {} cash {} fees {}\n",
                   f.execution.empty() ? "paper" : "live", fixed_to_string(f.account->equity()),
                   fixed_to_string(f.account->cash()), fixed_to_string(f.account->fees_paid()));
  return t;
}

}  // namespace cats
