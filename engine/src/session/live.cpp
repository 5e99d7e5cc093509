#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "cats/session/live.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>

#include "cats/core/engine.hpp"
#include "cats/core/event_queue.hpp"
#include "cats/exec/credentials.hpp"
#include "cats/exec/routing_broker.hpp"
#include "cats/exec/venue_broker.hpp"
#include "cats/net/http_server.hpp"
#include "cats/plugin/reloader.hpp"
#include "cats/record/record_tap.hpp"
#include "cats/report/report.hpp"
#include "cats/risk/risk_engine.hpp"
#include "cats/session/session.hpp"
#include "cats/session/watchdog.hpp"
#include "cats/sim/sim_exchange.hpp"
#include "cats/util/cpu.hpp"
#include "cats/util/histogram.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/logging.hpp"
#include "cats/util/time.hpp"
#include "cats/venues/binance/feed.hpp"
#include "cats/venues/binance/orders.hpp"
#include "cats/venues/okx/feed.hpp"
#include "cats/venues/okx/orders.hpp"
#include "live_report.hpp"

namespace cats {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// The quote asset of the first instrument ("USDT" for BTCUSDT and BTC-USDT).
std::string account_currency(const run_config& cfg) {
  std::string base, quote;
  if (!cfg.instruments.empty()) guess_base_quote(cfg.instruments.front().name, base, quote);
  return quote.empty() ? "QUOTE" : quote;
}

session_options live_session_options(const run_config& cfg, bool record_only) {
  session_options o;
  o.wall_clock = true;
  o.deliver = !record_only;
  o.book_depth = static_cast<size_t>(cfg.live.book_depth);
  return o;
}

instrument_registry live_instruments(const run_config& cfg) {
  instrument_registry out;
  for (const instrument_section& in : cfg.instruments) {
    instrument_info info;
    info.symbol = in.symbol;
    info.venue = in.venue;
    info.name = in.name;
    guess_base_quote(in.name, info.base, info.quote);
    info.tick_size = in.tick_size;
    info.lot_size = in.lot_size;
    info.min_quantity = in.min_quantity;
    info.min_notional = in.min_notional;
    out.add(info);
  }
  return out;
}

// The venues that get a live broker: those live.broker, an [[instrument]] broker or a
// [[strategy]] broker names (none when recording).
std::vector<std::string> live_venues(const run_config& cfg, bool record_only) {
  std::vector<std::string> out;
  if (record_only) return out;
  auto named = [&](const std::string& b) {
    if (b == "binance" || b == "okx") out.push_back(b);
  };
  // live.broker counts when an instrument follows it (no broker of its own).
  for (const instrument_section& i : cfg.instruments)
    named(i.broker.empty() ? cfg.live.broker : i.broker);
  for (const strategy_section& s : cfg.strategies)
    if (s.enabled) named(s.broker);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Whether orders of this run can go to more than one broker (paper and a venue, or two venues).
bool several_brokers(const run_config& cfg, const std::vector<std::string>& venues) {
  if (venues.empty()) return false;
  if (venues.size() > 1) return true;
  for (const instrument_section& i : cfg.instruments)
    if ((i.broker.empty() ? cfg.live.broker : i.broker) == "paper") return true;
  for (const strategy_section& s : cfg.strategies)
    if (s.enabled && s.broker == "paper") return true;
  return false;
}

// The venue connection of the live broker of `name` ("binance", "okx").
std::unique_ptr<order_gateway> make_gateway(const run_config& cfg, const std::string& name,
                                            const instrument_registry& instruments,
                                            asio::io_context& io) {
  const venue_section* venue = nullptr;
  for (const venue_section& v : cfg.venues)
    if (v.name == name) venue = &v;
  if (venue == nullptr)
    throw std::invalid_argument("orders are routed to " + name +
                                " (live.broker or a broker key) but no [[instrument]] is on that "
                                "venue");
  credentials keys = load_credentials(*venue);
  spdlog::info("{}: API key from the {}", venue->name, keys.source);
  const std::string upper = venue->name == "okx" ? "OKX" : "BINANCE";
  for (const instrument_info& i : instruments.all())
    if (i.venue == upper && (i.tick_size <= 1 || i.lot_size <= 1) && !venue->fetch_rules)
      spdlog::warn(
          "{}: no tick_size/lot_size configured and fetch_rules is off: orders are "
          "rounded to 1e-8 only, and the venue will refuse what its rules do not allow",
          i.symbol);
  if (venue->name == "okx") {
    okx_gateway_options o;
    o.rest_url = venue->api_url;
    o.ws_private_url = venue->ws_api_url;
    o.api_key = std::move(keys.api_key);
    o.secret = std::move(keys.secret);
    o.passphrase = std::move(keys.passphrase);
    o.demo = venue->demo;
    o.read_timeout = std::chrono::milliseconds(venue->read_timeout_ms);
    o.recv_window_ms = venue->recv_window_ms;
    o.tls.ca_file = venue->ca_file;
    for (const instrument_info& i : instruments.all())
      if (i.venue == "OKX") o.symbols.push_back({i.name, i.id, i.base, i.quote});
    return make_okx_gateway(io, std::move(o));
  }
  binance_gateway_options o;
  o.rest_url = venue->api_url;
  o.ws_api_url = venue->ws_api_url;
  o.api_key = std::move(keys.api_key);
  o.secret = std::move(keys.secret);
  o.ed25519 = venue->ed25519;
  o.recv_window_ms = venue->recv_window_ms;
  o.tls.ca_file = venue->ca_file;
  for (const instrument_info& i : instruments.all())
    if (i.venue == "BINANCE") o.symbols.push_back({i.name, i.id, i.base, i.quote});
  return make_binance_gateway(io, std::move(o));
}

// A live broker: the venue's connection and the order state machine on it.
struct venue_link {
  std::string name;  ///< "binance", "okx"
  std::unique_ptr<order_gateway> gateway;
  std::unique_ptr<venue_broker> broker;
};

// A live run: the venues' feeds on a network thread, the queue, and the engine thread that drives
// the market step (session.hpp) with the wall clock.
class live_session {
 public:
  live_session(const run_config& cfg, const live_options& opt)
      : cfg_(cfg),
        opt_(opt),
        instruments_(live_instruments(cfg)),
        account_(cfg.backtest.initial_cash, account_currency(cfg)),
        engine_(instruments_, account_),
        queue_(static_cast<size_t>(cfg.live.queue_capacity)),
        paper_(engine_, cfg.backtest.sim),
        venues_(make_live_brokers()),
        router_(make_router()),
        risk_(engine_, exec_broker(), cfg.risk),
        market_(engine_, account_,
                risk_.watches_market() ? static_cast<broker&>(risk_) : exec_broker(),
                live_session_options(cfg, opt.record_only)),
        sink_(queue_, counters_, cfg.live.drop_quotes_when_full, stopping_) {
    engine_.set_router(&risk_);  // every order passes the risk checks
  }

  ~live_session() { stop_live_broker(); }
  live_session(const live_session&) = delete;
  live_session& operator=(const live_session&) = delete;

  // Where the risk engine sends what passes: the router when orders can go to several brokers,
  // else the one broker.
  broker& exec_broker() {
    if (router_) return *router_;
    return venues_.empty() ? static_cast<broker&>(paper_) : *venues_.front().broker;
  }

  // Journals are per venue: orders.<venue>.journal in the run folder, or live.journal when the
  // run trades on one venue only.
  fs::path journal_path(const std::string& venue, size_t venue_count) const {
    if (!cfg_.live.journal.empty()) {
      if (venue_count > 1)
        throw std::invalid_argument(
            "live.journal names one journal, but this run trades on several venues; remove it "
            "(each venue's journal is orders.<venue>.journal in the run folder)");
      return cfg_.live.journal;
    }
    std::error_code ec;
    if (fs::exists(opt_.run_dir / "orders.journal", ec))
      throw std::invalid_argument(
          (opt_.run_dir / "orders.journal").string() +
          " is a journal without a venue in its name (an earlier version wrote it): rename it "
          "to orders.<venue>.journal for the venue its orders are on (orders.binance.journal "
          "or orders.okx.journal), or set live.journal to it");
    return opt_.run_dir / ("orders." + venue + ".journal");
  }

  // A journal of a venue this run has no broker for holds orders and positions nobody would
  // manage: a live run refuses to start, a paper run says so.
  void check_other_journals(const std::vector<std::string>& names) const {
    std::error_code ec;
    for (const std::string& venue : std::vector<std::string>{"binance", "okx"}) {
      const fs::path j = opt_.run_dir / ("orders." + venue + ".journal");
      if (std::find(names.begin(), names.end(), venue) != names.end() || !fs::exists(j, ec) ||
          fs::file_size(j, ec) == 0)
        continue;
      const std::string what = j.string() + " is in the run folder, but this run has no " + venue +
                               " broker: its working orders and positions would go unmanaged";
      if (names.empty()) {
        spdlog::warn("live: {} (paper trading only)", what);
        continue;
      }
      throw std::invalid_argument(what + "; route an instrument to " + venue +
                                  ", or move the journal away once its orders are settled");
    }
  }

  std::vector<venue_link> make_live_brokers() {
    std::vector<venue_link> out;
    const std::vector<std::string> names = live_venues(cfg_, opt_.record_only);
    if (!opt_.record_only) check_other_journals(names);
    for (const std::string& name : names) {
      venue_link v;
      v.name = name;
      v.gateway = make_gateway(cfg_, name, instruments_, exec_io_);
      venue_broker_options o;
      o.journal_path = journal_path(name, names.size());
      parse_journal_fsync(cfg_.live.journal_fsync, o.fsync);
      for (const venue_section& vs : cfg_.venues)
        if (vs.name == name) o.recv_window_ms = vs.recv_window_ms;
      o.wake = [this] { queue_.wake(); };
      std::error_code ec;
      fs::create_directories(
          o.journal_path.parent_path().empty() ? fs::path(".") : o.journal_path.parent_path(), ec);
      v.broker = std::make_unique<venue_broker>(engine_, *v.gateway, std::move(o));
      const std::string upper = name == "okx" ? "OKX" : "BINANCE";
      for (const instrument_info& i : instruments_.all())
        if (i.venue == upper) v.broker->map_instrument(i.id, i.name);
      v.broker->set_cancel_on_stop(cfg_.live.cancel_on_stop);
      out.push_back(std::move(v));
    }
    return out;
  }

  std::unique_ptr<routing_broker> make_router() {
    if (!several_brokers(cfg_, live_venues(cfg_, opt_.record_only))) return nullptr;
    auto r = std::make_unique<routing_broker>(engine_, paper_);
    for (venue_link& v : venues_) r->add(v.name, *v.broker);
    for (const instrument_section& in : cfg_.instruments)
      r->route_instrument(instruments_.find(in.symbol)->id,
                          in.broker.empty() ? cfg_.live.broker : in.broker);
    return r;
  }

  // The venue's own trading rules for its instruments, before anything is rounded with them: the
  // configured values are only a fallback, and a difference is said out loud. The rules are kept
  // in venue_rules.<venue>.json in the run folder.
  void apply_venue_rules() {
    for (const venue_section& v : cfg_.venues) {
      if (!v.fetch_rules) continue;
      const bool okx = v.name == "okx";
      std::vector<std::string> symbols;
      for (const instrument_info& i : instruments_.all())
        if (i.venue == (okx ? "OKX" : "BINANCE")) symbols.push_back(i.name);
      std::vector<venue_rules> rules;
      std::string error;
      net::tls_options tls;
      tls.ca_file = v.ca_file;
      if (okx ? !fetch_okx_rules(v.rest_url, tls, symbols, rules, error)
              : !fetch_binance_rules(v.rest_url, tls, symbols, rules, error)) {
        spdlog::warn(
            "{}: TRADING RULES UNKNOWN: they could not be read ({}); orders are rounded "
            "with the configured tick_size/lot_size, and the venue may refuse them",
            v.name, error);
        continue;
      }
      json_writer j;
      j.begin_object().key("venue").value(v.name).key("fetched_ns").value(wall_clock_ns());
      j.key("symbols").begin_object();
      for (const venue_rules& r : rules) {
        const instrument_info* i = instruments_.find((okx ? "OKX:" : "BINANCE:") + r.symbol);
        if (i == nullptr || r.tick_size <= 0 || r.lot_size <= 0) continue;
        auto differs = [](int64_t configured, int64_t venue) {
          return configured > 1 && configured != venue;
        };
        if (differs(i->tick_size, r.tick_size) || differs(i->lot_size, r.lot_size))
          spdlog::warn(
              "{}: the config says tick {} lot {}, the venue tick {} lot {}: using the "
              "venue's",
              i->symbol, fixed_to_string(i->tick_size), fixed_to_string(i->lot_size),
              fixed_to_string(r.tick_size), fixed_to_string(r.lot_size));
        if (r.status != "TRADING")
          spdlog::warn("{}: the venue reports status {}: orders will be refused", i->symbol,
                       r.status);
        instruments_.set_rules(i->id, r.tick_size, r.lot_size, r.min_quantity, r.min_notional);
        j.key(r.symbol).begin_object();
        j.key("tick_size").value(fixed_to_string(r.tick_size));
        j.key("lot_size").value(fixed_to_string(r.lot_size));
        j.key("min_quantity").value(fixed_to_string(r.min_quantity));
        j.key("min_notional").value(fixed_to_string(r.min_notional));
        j.key("status").value(r.status).end_object();
      }
      j.end_object().end_object();
      for (const std::string& sym : symbols)
        if (std::none_of(rules.begin(), rules.end(),
                         [&](const venue_rules& r) { return r.symbol == sym; }))
          spdlog::warn("{}: {} is not listed by the venue", v.name, sym);
      if (opt_.record_only) continue;
      std::error_code ec;
      fs::create_directories(opt_.run_dir, ec);
      std::ofstream out(opt_.run_dir / ("venue_rules." + v.name + ".json"), std::ios::trunc);
      out << j.str() << '\n';
    }
  }

  // --out of a live or paper run: fills.csv, trades.csv and orders.csv as the brokers report
  // them, and equity.csv sampled every second, in the same formats as a backtest's.
  void open_outputs() {
    if (!opt_.out_dir || opt_.record_only) return;
    std::error_code ec;
    fs::create_directories(*opt_.out_dir, ec);
    fills_.open(*opt_.out_dir);
    orders_csv_.open(*opt_.out_dir);
    orders_csv_.set_reasons(&engine_);
    engine_.set_order_observer(&orders_csv_);
    equity_csv_.open(*opt_.out_dir / "equity.csv", "time,equity,cash,position_value");
    paper_.set_listener(&fills_);
    for (venue_link& v : venues_) v.broker->set_listener(&fills_);
  }

  void sample_equity(int64_t now) {
    if (!equity_csv_.is_open() || now < next_equity_) return;
    next_equity_ = now + 1'000'000'000;
    std::string& o = equity_csv_.row();
    append_equity_row(o, now, account_);
    o += '\n';
    equity_csv_.maybe_flush();
  }

  // "binance", or "paper" and the routes when orders go to several brokers.
  std::string routes_text() const {
    if (!router_) return venues_.empty() ? std::string("paper") : venues_.front().name;
    std::string out;
    for (const instrument_section& in : cfg_.instruments)
      out += (out.empty() ? "" : ", ") + in.symbol + " -> " +
             (in.broker.empty() ? cfg_.live.broker : in.broker);
    for (const strategy_section& st : cfg_.strategies)
      if (st.enabled && !st.broker.empty()) out += ", strategy " + st.name + " -> " + st.broker;
    return "routes " + out;
  }

  // live.busy_poll, where the cores allow it: the market data thread and, with a live broker, the
  // private side's thread poll without sleeping; the engine thread and the rest of the machine
  // need a core each besides (on 2 cores one polling thread made the wire-to-strategy p99 1.5-7x
  // worse). Otherwise a warning, and epoll waits.
  bool decide_busy_poll() {
    cores_ = usable_cores();
    if (!cfg_.live.busy_poll) return false;
    const unsigned busy = venues_.empty() ? 1 : 2;
    std::string why;
    if (busy_polling_fits(busy, cores_, why)) return true;
    spdlog::warn("live: busy_poll is off for this run: {}", why);
    return false;
  }

  // The private side's network thread, then the journal and reconciliation: before any strategy
  // runs, it knows its orders and positions as the venue has them.
  bool start_live_broker() {
    // live.busy_poll applies here too: no wake-up between submit and the socket (measured on 2
    // cores: submit->wire p50 59 -> 24 us), for a core that never sleeps.
    exec_net_ = std::thread([this] {
      if (busy_poll_) {
        while (!exec_io_.stopped()) exec_io_.poll();
      } else {
        exec_io_.run();
      }
    });
    for (venue_link& v : venues_) {
      std::string error;
      if (!v.broker->start(cfg_.live.reconcile_timeout_ms, error)) {
        spdlog::error("live: {}", error);
        return false;
      }
    }
    if (router_) {
      // What a venue's journal and the venue itself say is there stays with that venue.
      for (venue_link& v : venues_)
        for (uint32_t id : v.broker->instruments_in_use()) router_->bind(id, v.name);
      router_->track_restored();
    }
    check_capital();
    return true;
  }

  // Strategies size their orders on the account's cash (backtest.initial_cash): more than the
  // venues hold is said out loud, since the venue refuses what the account cannot pay.
  void check_capital() const {
    const std::string& ccy = account_.currency();
    int64_t held = 0;
    bool known = false;
    for (const venue_link& v : venues_)
      for (const venue_balance& b : v.broker->start_balances())
        if (b.asset == ccy) {
          held += b.free + b.locked;
          known = true;
        }
    if (!known || account_.cash() <= held) return;
    spdlog::warn(
        "live: the account's cash is backtest.initial_cash = {} {}, but the venue(s) hold {} {}: "
        "strategies size orders on the larger figure and the venue will refuse what the "
        "account cannot pay; set initial_cash to at most what you mean to trade with",
        fixed_to_string(account_.cash()), ccy, fixed_to_string(held), ccy);
  }

  void stop_live_broker() {
    if (!exec_net_.joinable()) return;
    for (venue_link& v : venues_) v.broker->stop();
    exec_work_.reset();
    exec_io_.stop();
    exec_net_.join();
  }

  int run(std::vector<prepared_strategy> strategies) {
    for (prepared_strategy& s : strategies) {
      std::string err, broker;
      for (const strategy_section& sec : cfg_.strategies)
        if (sec.name == s.name) broker = sec.broker;
      if (!engine_.add_strategy(s.name, s.library, std::move(s.params), err, broker)) {
        spdlog::error("{}", err);
        return 1;
      }
    }
    if (cfg_.record.present && !cfg_.record.dir.empty()) {
      record_writer_options ro;
      ro.dir = cfg_.record.dir;
      ro.prefix = cfg_.record.prefix;
      ro.csv = cfg_.record.csv;
      recorder_ = std::make_unique<record_tap>(ro, instruments_);
      market_.add_tap(*recorder_);
    }
    if (opt_.make_taps) {
      taps_ = opt_.make_taps(instruments_);
      for (auto& t : taps_) market_.add_tap(*t);
    }
    make_feeds();
    busy_poll_ = decide_busy_poll();
    if (!opt_.record_only) start_safety();
    apply_venue_rules();
    open_outputs();  // before reconciliation: orders.csv has the orders it settles too
    if (!venues_.empty() && !start_live_broker()) {
      stop_live_broker();
      engine_.destroy_all();
      watchdog_.reset();
      std::error_code ec;
      fs::remove(pid_file(opt_.run_dir), ec);
      return 1;
    }
    started_ns_ = wall_clock_ns();
    market_.start(started_ns_);
    for (venue_link& v : venues_) v.broker->announce_restored();
    engine_.flush();
    if (!cfg_.live.metrics.empty()) start_metrics();
    if (cfg_.live.hot_reload && !opt_.record_only) start_reloader();
    for (auto& f : feeds_) f->start();
    std::thread net([this] {
      if (busy_poll_) {
        while (!io_.stopped()) io_.poll();
      } else {
        io_.run();
      }
    });
    spdlog::info("live: {} instrument(s) on {} venue(s), {} strategy(ies), broker {}{}",
                 cfg_.instruments.size(), feeds_.size(), engine_.strategies().size(), routes_text(),
                 recorder_ ? ", recording to " + cfg_.record.dir.string() : std::string());
    int exit_code = 0;
    try {
      loop();
    } catch (const std::exception& e) {
      spdlog::error("live: {}", e.what());
      exit_code = 1;
    }
    shut_down(net, exit_code);
    for (const auto& s : engine_.strategies())
      if (s->failure) exit_code = 1;
    report();
    engine_.destroy_all();
    watchdog_.reset();
    if (!opt_.record_only) {
      std::error_code ec;
      fs::remove(pid_file(opt_.run_dir), ec);
    }
    return exit_code;
  }

 private:
  void make_feeds() {
    if (cfg_.live.source == "nats") {
      if (!opt_.make_source)
        throw std::invalid_argument("live.source = \"nats\" is not available here");
      feeds_.push_back(opt_.make_source(instruments_, queue_, counters_, stopping_));
      return;
    }
    for (const venue_section& v : cfg_.venues) {
      feed_endpoints ep;
      ep.name = v.name;
      ep.ws_url = v.ws_url;
      ep.rest_url = v.rest_url;
      ep.tls.ca_file = v.ca_file;
      ep.read_timeout_ms = v.read_timeout_ms;
      ep.reconnect_max_ms = v.reconnect_max_ms;
      ep.permessage_deflate = v.permessage_deflate;
      std::vector<feed_subscription> subs;
      const std::string venue = v.name == "binance" ? "BINANCE" : "OKX";
      for (const instrument_section& in : cfg_.instruments) {
        if (in.venue != venue) continue;
        feed_subscription s;
        s.instrument_id = instruments_.find(in.symbol)->id;
        s.symbol = in.name;
        s.trades = in.trades;
        s.agg_trades = in.agg_trades;
        s.quotes = in.quotes;
        s.book = in.book;
        s.bars = in.bars;
        s.bar_interval = in.bar_interval;
        subs.push_back(std::move(s));
      }
      feeds_.push_back(venue == "BINANCE"
                           ? make_binance_feed(io_, ep, std::move(subs), sink_, counters_)
                           : make_okx_feed(io_, ep, std::move(subs), sink_, counters_));
    }
  }

  // The run folder (one run each: the pid file for `cats ctl`, a kill file left from before),
  // then the watchdog.
  void start_safety() {
    std::error_code ec;
    fs::create_directories(opt_.run_dir, ec);
    // One run per folder: `cats ctl` must reach the run it means.
    if (const int other = running_pid(opt_.run_dir); other != 0 && other != ::getpid())
      throw std::invalid_argument("another cats live (pid " + std::to_string(other) + ") runs in " +
                                  opt_.run_dir.string() + "; give this one its own --out folder");
    std::ofstream pid(pid_file(opt_.run_dir), std::ios::trunc);
    pid << ::getpid() << '\n';
    if (!pid)
      spdlog::warn("cannot write {}: `cats ctl` will not find this run (the KILL file still works)",
                   pid_file(opt_.run_dir).string());
    if (fs::exists(kill_file(opt_.run_dir), ec)) {
      kill_seen_ = true;
      risk_.kill("the kill file " + kill_file(opt_.run_dir).string() +
                 " exists; remove it and restart to trade");
    }
    const int64_t timeout_ms =
        cfg_.engine.callback_timeout_ms < 0 ? 1000 : cfg_.engine.callback_timeout_ms;
    if (timeout_ms > 0) {
      watchdog_options wo;
      wo.timeout_ns = timeout_ms * 1'000'000;
      wo.stop = opt_.stop;
      wo.abandon_exit_code = opt_.stuck_exit_code;
      wo.on_abandon = [this] {
        if (recorder_) recorder_->close();
      };
      watchdog_ = std::make_unique<watchdog>(engine_.probe(), std::move(wo));
    }
  }

  // /metrics and /status on the network thread, from a copy the engine thread publishes every
  // 500 ms (the server never reads engine state itself).
  void start_metrics() {
    publish(wall_clock_ns());
    metrics_ = std::make_unique<net::http_server>(
        io_, cfg_.live.metrics, [this](std::string_view path) -> std::optional<net::http_reply> {
          const std::lock_guard<std::mutex> lock(snapshot_mutex_);
          if (path == "/metrics")
            return net::http_reply{200, "text/plain; version=0.0.4; charset=utf-8",
                                   snapshot_metrics_};
          if (path == "/status" || path == "/")
            return net::http_reply{200, "application/json", snapshot_status_};
          return std::nullopt;
        });
    spdlog::info("live: metrics on http://{}:{}/metrics and /status",
                 cfg_.live.metrics.substr(0, cfg_.live.metrics.rfind(':')), metrics_->port());
  }

  void publish(int64_t now) {
    next_publish_ = now + 500'000'000;
    record_writer_stats rec;
    const live_figures f = figures(rec);
    std::string m = live_metrics_text(f), st = live_summary_json(f) + "\n";
    const std::lock_guard<std::mutex> lock(snapshot_mutex_);
    snapshot_metrics_.swap(m);
    snapshot_status_.swap(st);
  }

  // The kill switch: SIGUSR1 (cats ctl kill) or the KILL file, looked for every 100 ms. `cats ctl
  // kill` does both: the file seen first and the signal right after are one kill, not two.
  void check_kill(int64_t now) {
    std::string why;
    const bool signalled = opt_.kill != nullptr && opt_.kill->exchange(false);
    if (signalled && !kill_seen_) why = "SIGUSR1 (cats ctl kill)";
    if (now >= next_kill_check_ || signalled) {
      next_kill_check_ = now + 100'000'000;
      std::error_code ec;
      const bool present = fs::exists(kill_file(opt_.run_dir), ec);
      if (present && !kill_seen_ && why.empty())
        why = "kill file " + kill_file(opt_.run_dir).string();
      kill_seen_ = present;
    }
    if (why.empty()) return;
    risk_.kill(why);
    engine_.flush();  // the cancellations reach the strategies now
  }

  void start_reloader() {
    reload_options ro;
    ro.plugin_dir = cfg_.engine.plugin_dir.empty() ? default_plugin_dir() : cfg_.engine.plugin_dir;
    ro.config_file = cfg_.file;
    ro.overrides = opt_.overrides;
    ro.keep_on_remove = cfg_.live.keep_on_remove;
    ro.routes = describe_routes(cfg_);
    // A strategy added later may name a broker only where it would really go there.
    if (router_) {
      ro.strategy_brokers.push_back("paper");
      for (const venue_link& v : venues_) ro.strategy_brokers.push_back(v.name);
    } else {
      ro.strategy_brokers.push_back(venues_.empty() ? "paper" : venues_.front().name);
    }
    reloader_ = std::make_unique<plugin_reloader>(engine_, ro, [this] { queue_.wake(); });
    reloader_->start();
  }

  void loop() {
    const int64_t status_every = cfg_.live.status_interval_ms * 1'000'000;
    const int64_t end_at =
        cfg_.live.duration_ms > 0 ? started_ns_ + cfg_.live.duration_ms * 1'000'000 : 0;
    next_status_ = status_every > 0 ? started_ns_ + status_every : 0;
    owned_event item;
    while (opt_.stop == nullptr || !opt_.stop->load(std::memory_order_relaxed)) {
      if (reloader_) {
        // Swaps happen here, between two events; what arrives meanwhile waits in the queue.
        if (reloader_->pending()) reloader_->apply_pending();
        if (opt_.reload != nullptr && opt_.reload->exchange(false))
          reloader_->request_config_reload();
      }
      if (queue_.try_pop(item)) {
        handle(item);
        continue;
      }
      const int64_t now = wall_clock_ns();
      market_.on_clock(now);
      if (!venues_.empty()) {
        for (venue_link& v : venues_) v.broker->poll(now);
        engine_.flush();
      }
      for (const auto& f : feeds_)
        if (f->connection().gave_up.load())
          throw std::runtime_error(f->name() +
                                   ": stopped retrying after repeated certificate failures (see "
                                   "above); the run ends");
      if (!opt_.record_only) check_kill(now);
      if (metrics_ && now >= next_publish_) publish(now);
      sample_equity(now);
      if (recorder_) recorder_->check();
      if (next_status_ != 0 && now >= next_status_) {
        status(now);
        next_status_ = now + status_every;
      }
      if (end_at != 0 && now >= end_at) break;
      queue_.wait(
          engine_.has_timers() ? std::chrono::milliseconds(1) : std::chrono::milliseconds(50),
          std::chrono::microseconds(cfg_.live.spin_us));
    }
  }

  void handle(owned_event& item) {
    market_.on_event(item.event, wall_clock_ns());
    if (item.sequence != 0)
      for (auto& f : feeds_) f->delivered(item.sequence);
    if (!venues_.empty()) {
      const int64_t now = wall_clock_ns();
      for (venue_link& v : venues_) v.broker->poll(now);
      engine_.flush();
    }
    const int64_t done = wall_clock_ns();
    if (reloader_) reloader_->after_event(done);
    const int64_t local = item.event.local_ts_ns(), exchange = item.event.exchange_ts_ns();
    lat_receive_.record(done - local);
    if (exchange != local) lat_exchange_.record(done - exchange);
    item.book.reset();
    ++events_;
    if (!opt_.record_only && (events_ & 0x3F) == 0) check_kill(done);
    if (metrics_ && done >= next_publish_) publish(done);
    if (next_status_ != 0 && done >= next_status_) {
      status(done);
      next_status_ = done + cfg_.live.status_interval_ms * 1'000'000;
    }
  }

  // Stops the network, then delivers what is already queued, so nothing received is lost; then
  // the strategies stop and the recorder writes what it still holds.
  void shut_down(std::thread& net, int& exit_code) {
    stopping_.store(true);
    for (auto& f : feeds_) f->stop();
    work_.reset();
    io_.stop();
    net.join();
    if (reloader_) reloader_->stop();
    try {
      owned_event item;
      while (queue_.try_pop(item)) handle(item);
    } catch (const std::exception& e) {
      spdlog::error("live: {}", e.what());
      exit_code = 1;
    }
    market_.finish("the live session ended", wall_clock_ns());
    stop_live_broker();
    next_equity_ = 0;
    sample_equity(wall_clock_ns());
    fills_.close();
    orders_csv_.close();
    equity_csv_.close();
    if (recorder_) {
      try {
        recorder_->close();
      } catch (const std::exception& e) {
        spdlog::error("record: {}", e.what());
        exit_code = 1;
      }
    }
    for (auto& t : taps_) {
      try {
        t->close();
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        exit_code = 1;
      }
    }
  }

  uint64_t book_stat(std::atomic<uint64_t> book_sync_stats::*field) const {
    uint64_t n = 0;
    for (const auto& f : feeds_) n += (f->books().*field).load();
    return n;
  }

  void status(int64_t now) {
    const int64_t prev = last_status_at_ == 0 ? started_ns_ : last_status_at_;
    last_status_at_ = now;
    const double secs = static_cast<double>(now - prev) / 1e9;
    const double rate = secs > 0 ? static_cast<double>(events_ - last_events_) / secs : 0;
    last_events_ = events_;
    uint64_t reconnects = 0;
    std::string venues;
    for (const auto& f : feeds_) {
      reconnects += f->connection().disconnects.load();
      venues += fmt::format("{}{} {} ({:.1f} s down)", venues.empty() ? "" : ", ", f->name(),
                            f->connection().connected.load() ? "up" : "DOWN",
                            static_cast<double>(f->connection().downtime_ns.load()) / 1e9);
    }
    spdlog::info(
        "live: {:.0f} events/s, queue {}/{}, latency receive->strategy p50 {} us p99 {} us, "
        "exchange->strategy p50 {} us p99 {} us, reconnects {}, resyncs {}, gaps {}, "
        "checksum failures {}, malformed {}, dropped quotes {}, reader blocked {}, trade-id gaps "
        "{}; {}",
        rate, queue_.size(), queue_.capacity(), us(lat_receive_.quantile(0.5)),
        us(lat_receive_.quantile(0.99)), us(lat_exchange_.quantile(0.5)),
        us(lat_exchange_.quantile(0.99)), reconnects, book_stat(&book_sync_stats::resyncs),
        book_stat(&book_sync_stats::gaps), book_stat(&book_sync_stats::checksum_failures),
        counters_.malformed.load(), counters_.dropped_quotes.load(), counters_.blocked.load(),
        counters_.trade_gaps.load(), venues);
    if (opt_.record_only) return;
    record_writer_stats rec;
    const live_figures f = figures(rec);
    for (const strategy_view& v : strategy_views(f)) {
      spdlog::info(
          "live: strategy '{}' {}: position {}, pnl {} realized {} unrealized, {} open "
          "orders, {} sent, {} rejected; risk {}",
          v.name, v.status, positions_text(v), fixed_to_string(v.realized),
          fixed_to_string(v.unrealized), v.open_orders, v.orders, v.rejected, f.risk.state);
    }
    for (const venue_broker* b : f.execution) {
      const gateway_stats& g = b->gateway().stats();
      spdlog::info(
          "live: {} orders: {} sent, {} working, {} unknown; rate limits: weight {}, order "
          "count {}, {} x 429, {} x 418, {} held back; user stream {}",
          b->gateway().name(), b->stats().orders, b->open_order_count(), b->stats().unknown,
          g.used_weight.load(), g.order_count.load(), g.throttled.load(), g.banned.load(),
          g.paced.load(), g.stream_up.load() ? "up" : "DOWN");
    }
  }

  // Everything the summary, the status line and /status show; `rec` holds the recorder's
  // figures for as long as the result is used.
  live_figures figures(record_writer_stats& rec) {
    live_figures f;
    f.record_only = opt_.record_only;
    f.busy_poll_requested = cfg_.live.busy_poll;
    f.busy_poll = busy_poll_;
    f.cores = cores_;
    f.seconds = static_cast<double>(wall_clock_ns() - started_ns_) / 1e9;
    f.events = events_;
    f.counters = &counters_;
    f.feeds = &feeds_;
    f.from_receive = &lat_receive_;
    f.from_exchange = &lat_exchange_;
    f.eng = &engine_;
    f.account = &account_;
    f.paper = paper_.stats();
    for (const venue_link& v : venues_) f.execution.push_back(v.broker.get());
    f.risk = make_risk_report(risk_, cfg_.risk.present);
    f.open_orders = risk_.open_order_count();
    f.orders = &risk_;
    f.watchdog_overruns = watchdog_ ? watchdog_->overruns() : 0;
    f.reload = reloader_ ? &reloader_->stats() : nullptr;
    if (recorder_) {
      rec = recorder_->stats();
      f.record = &rec;
    }
    f.books = &market_.books();
    f.instruments = &instruments_;
    return f;
  }

  void report() {
    record_writer_stats rec;
    const live_figures f = figures(rec);
    const std::string json = live_summary_json(f);
    if (opt_.out_dir) {
      std::error_code ec;
      fs::create_directories(*opt_.out_dir, ec);
      std::ofstream out(*opt_.out_dir / "summary.json", std::ios::binary | std::ios::trunc);
      out << json << '\n';
      if (!out) spdlog::error("cannot write {}", (*opt_.out_dir / "summary.json").string());
    }
    const std::string text = opt_.json ? json + "\n" : live_summary_text(f);
    std::fputs(text.c_str(), results_stream());
    std::fflush(results_stream());
  }

  const run_config& cfg_;
  const live_options& opt_;
  instrument_registry instruments_;
  portfolio account_;
  engine engine_;
  event_queue queue_;
  // The private side (a live broker) has its own network thread: orders never wait behind
  // market data, and it outlives the feeds at shutdown, to cancel what is still working.
  bool busy_poll_ = false;  ///< live.busy_poll as this machine allows it (decide_busy_poll)
  unsigned cores_ = 0;      ///< the cores this process may use, as decide_busy_poll saw them
  asio::io_context exec_io_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> exec_work_{
      asio::make_work_guard(exec_io_)};
  std::thread exec_net_;
  sim_exchange paper_;
  std::vector<venue_link> venues_;
  std::unique_ptr<routing_broker> router_;  ///< when orders can go to several brokers
  risk_engine risk_;
  session market_;
  feed_counters counters_;
  std::atomic<bool> stopping_{false};
  queue_sink sink_;
  asio::io_context io_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::vector<std::unique_ptr<venue_feed>> feeds_;
  std::unique_ptr<record_tap> recorder_;
  std::vector<std::unique_ptr<market_tap>> taps_;
  fills_recorder fills_;
  orders_recorder orders_csv_{instruments_};
  csv_file equity_csv_;
  int64_t next_equity_ = 0;
  std::unique_ptr<plugin_reloader> reloader_;
  std::unique_ptr<watchdog> watchdog_;
  std::unique_ptr<net::http_server> metrics_;
  std::mutex snapshot_mutex_;
  std::string snapshot_metrics_, snapshot_status_;
  int64_t next_publish_ = 0;
  bool kill_seen_ = false;
  int64_t next_kill_check_ = 0;
  latency_histogram lat_receive_;   // local receive time -> strategy callback
  latency_histogram lat_exchange_;  // venue timestamp -> strategy callback
  uint64_t events_ = 0, last_events_ = 0;
  int64_t started_ns_ = 0, next_status_ = 0, last_status_at_ = 0;
};

}  // namespace

fs::path kill_file(const fs::path& run_dir) {
  return run_dir / "KILL";
}

fs::path pid_file(const fs::path& run_dir) {
  return run_dir / "cats.pid";
}

int running_pid(const fs::path& run_dir) {
  std::ifstream in(pid_file(run_dir));
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return 0;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!std::getline(comm, name) || name != "cats") return 0;
  return static_cast<int>(pid);
}

int run_live(const run_config& config, std::vector<prepared_strategy> strategies,
             const live_options& options) {
  try {
    live_session session(config, options);
    return session.run(std::move(strategies));
  } catch (const std::invalid_argument& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("live: {}", e.what());
    return 1;
  }
}

}  // namespace cats
