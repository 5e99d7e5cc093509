#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "cats/session/live.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "cats/book/book_builder.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/event_queue.hpp"
#include "cats/plugin/reloader.hpp"
#include "cats/record/record_file.hpp"
#include "cats/sim/sim_exchange.hpp"
#include "cats/util/histogram.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"
#include "cats/venues/binance/feed.hpp"
#include "cats/venues/okx/feed.hpp"

namespace cats {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

struct latency_pair {
  latency_histogram from_receive;   ///< local receive time -> strategy callback
  latency_histogram from_exchange;  ///< venue timestamp -> strategy callback
};

std::string us(uint64_t ns) {
  return fmt::format("{:.1f}", static_cast<double>(ns) / 1e3);
}

class live_session {
 public:
  live_session(const run_config& cfg, const live_options& opt)
      : cfg_(cfg),
        opt_(opt),
        account_(cfg.backtest.initial_cash, account_currency(cfg)),
        engine_(instruments_, account_),
        paper_(engine_, paper_config(cfg)),
        queue_(static_cast<size_t>(cfg.live.queue_capacity)),
        books_(static_cast<size_t>(cfg.live.book_depth)),
        sink_(queue_, counters_, cfg.live.drop_quotes_when_full, stopping_) {
    engine_.set_router(&paper_);
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
      instruments_.add(info);
    }
  }

  int run(std::vector<prepared_strategy> strategies) {
    for (prepared_strategy& s : strategies) {
      std::string err;
      if (!engine_.add_strategy(s.name, s.library, std::move(s.params), err)) {
        spdlog::error("{}", err);
        return 1;
      }
    }
    if (cfg_.record.present && !cfg_.record.dir.empty()) {
      record_writer_options ro;
      ro.dir = cfg_.record.dir;
      ro.prefix = cfg_.record.prefix;
      ro.csv = cfg_.record.csv;
      recorder_ = std::make_unique<record_writer>(ro);
    }
    make_feeds();

    started_ns_ = wall_clock_ns();
    engine_.set_time(started_ns_);
    engine_.start();
    if (cfg_.live.hot_reload && !opt_.record_only) {
      reload_options ro;
      ro.plugin_dir =
          cfg_.engine.plugin_dir.empty() ? default_plugin_dir() : cfg_.engine.plugin_dir;
      ro.config_file = cfg_.file;
      ro.overrides = opt_.overrides;
      ro.keep_on_remove = cfg_.live.keep_on_remove;
      reloader_ = std::make_unique<plugin_reloader>(engine_, ro, [this] { queue_.wake(); });
      reloader_->start();
    }
    for (auto& f : feeds_) f->start();
    std::thread net([this] {
      if (cfg_.live.busy_poll) {
        while (!io_.stopped()) io_.poll();
      } else {
        io_.run();
      }
    });
    spdlog::info("live: {} instrument(s) on {} venue(s), {} strategy(ies), broker {}{}",
                 cfg_.instruments.size(), feeds_.size(), engine_.strategies().size(),
                 cfg_.live.broker,
                 recorder_ ? ", recording to " + cfg_.record.dir.string() : std::string());

    int exit_code = 0;
    try {
      loop();
    } catch (const std::exception& e) {
      spdlog::error("live: {}", e.what());
      exit_code = 1;
    }

    // Shut down: stop the network, then deliver what is already queued, so nothing received is
    // lost; then stop the strategies.
    stopping_.store(true);
    for (auto& f : feeds_) f->stop();
    work_.reset();
    io_.stop();
    net.join();
    if (reloader_) reloader_->stop();
    try {
      feed_item item;
      while (queue_.try_pop(item)) handle(item);
    } catch (const std::exception& e) {
      spdlog::error("live: {}", e.what());
      exit_code = 1;
    }
    engine_.set_time(wall_clock_ns());
    engine_.stop();
    paper_.finish("the live session ended");
    engine_.flush();
    if (recorder_) {
      try {
        recorder_->flush();
      } catch (const std::exception& e) {
        spdlog::error("record: {}", e.what());
        exit_code = 1;
      }
    }
    for (const auto& s : engine_.strategies())
      if (s->failure) exit_code = 1;
    report();
    engine_.destroy_all();
    return exit_code;
  }

 private:
  // The quote asset of the first instrument ("USDT" for BTCUSDT and BTC-USDT).
  static std::string account_currency(const run_config& cfg) {
    std::string base, quote;
    if (!cfg.instruments.empty()) guess_base_quote(cfg.instruments.front().name, base, quote);
    return quote.empty() ? "QUOTE" : quote;
  }

  static sim_exchange_config paper_config(const run_config& cfg) {
    sim_exchange_config c = cfg.backtest.sim;
    c.event_flags = 0;  // live events, not replay
    return c;
  }

  void make_feeds() {
    for (const venue_section& v : cfg_.venues) {
      feed_endpoints ep;
      ep.name = v.name;
      ep.ws_url = v.ws_url;
      ep.rest_url = v.rest_url;
      ep.tls.ca_file = v.ca_file;
      ep.read_timeout_ms = v.read_timeout_ms;
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

  void loop() {
    const int64_t status_every = cfg_.live.status_interval_ms * 1'000'000;
    const int64_t end_at =
        cfg_.live.duration_ms > 0 ? started_ns_ + cfg_.live.duration_ms * 1'000'000 : 0;
    next_status_ = status_every > 0 ? started_ns_ + status_every : 0;
    feed_item item;
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
      engine_.set_time(now);
      engine_.run_timers_until(now);
      if (next_status_ != 0 && now >= next_status_) {
        status(now);
        next_status_ = now + status_every;
      }
      if (end_at != 0 && now >= end_at) break;
      if (recorder_) recorder_->maybe_flush(now);
      queue_.wait(
          engine_.has_timers() ? std::chrono::milliseconds(1) : std::chrono::milliseconds(50),
          std::chrono::microseconds(cfg_.live.spin_us));
    }
  }

  void handle(feed_item& item) {
    const int64_t now = wall_clock_ns();
    engine_.set_time(now);
    engine_.run_timers_until(now);
    const cats_event_t* header = nullptr;
    switch (item.type) {
      case feed_item::kind::trade: {
        const cats_trade_event_t& t = item.event.trade;
        account_.mark(t.header.instrument_id, t.price);
        paper_.on_trade(t);
        header = &t.header;
        if (recorder_) recorder_->write_trade(symbol(t.header.instrument_id), t);
        break;
      }
      case feed_item::kind::quote: {
        const cats_quote_event_t& q = item.event.quote;
        paper_.on_quote(q.header.instrument_id, q.bid_price, q.bid_quantity, q.ask_price,
                        q.ask_quantity);
        header = &q.header;
        if (recorder_) recorder_->write_quote(symbol(q.header.instrument_id), q);
        break;
      }
      case feed_item::kind::bar: {
        const cats_bar_event_t& b = item.event.bar;
        account_.mark(b.header.instrument_id, b.close);
        header = &b.header;
        if (recorder_) recorder_->write_bar(symbol(b.header.instrument_id), b);
        break;
      }
      case feed_item::kind::book: {
        const book_update& u = *item.book;
        if (recorder_) recorder_->write_book(symbol(u.instrument_id), u, item.book_flags);
        const cats_book_event_t& ev = books_.apply(u, item.book_flags);
        paper_.on_quote(u.instrument_id, ev.bid_count != 0 ? ev.bids[0].price : 0,
                        ev.bid_count != 0 ? ev.bids[0].quantity : 0,
                        ev.ask_count != 0 ? ev.asks[0].price : 0,
                        ev.ask_count != 0 ? ev.asks[0].quantity : 0);
        header = &ev.header;
        ++book_events_;
        item.book.reset();
        break;
      }
      case feed_item::kind::none:
        return;
    }
    if (!opt_.record_only) {
      // Fills the new market data caused reach the strategies before the event itself, as in a
      // replay of the same data.
      engine_.flush();
      engine_.dispatch(*header);
    }
    const int64_t done = wall_clock_ns();
    if (reloader_) reloader_->after_event(done);
    lat_.from_receive.record(done - header->local_ts_ns);
    if (header->exchange_ts_ns != header->local_ts_ns)
      lat_.from_exchange.record(done - header->exchange_ts_ns);
    ++events_;
    if (recorder_) recorder_->maybe_flush(done);
    if (next_status_ != 0 && done >= next_status_) {
      status(done);
      next_status_ = done + cfg_.live.status_interval_ms * 1'000'000;
    }
  }

  const std::string& symbol(uint32_t id) const { return instruments_.get(id)->symbol; }

  uint64_t reconnects() const {
    uint64_t n = 0;
    for (const auto& f : feeds_) n += f->connection().disconnects.load();
    return n;
  }
  uint64_t book_stat(std::atomic<uint64_t> book_sync_stats::*field) const {
    uint64_t n = 0;
    for (const auto& f : feeds_) n += (f->books().*field).load();
    return n;
  }

  void status(int64_t now) {
    const double secs = static_cast<double>(now - last_status_ns_(now)) / 1e9;
    const double rate = secs > 0 ? static_cast<double>(events_ - last_events_) / secs : 0;
    last_events_ = events_;
    spdlog::info(
        "live: {:.0f} events/s, queue {}/{}, latency receive->strategy p50 {} us p99 {} us, "
        "exchange->strategy p50 {} us p99 {} us, reconnects {}, resyncs {}, gaps {}, "
        "checksum failures {}, malformed {}, dropped quotes {}",
        rate, queue_.size(), queue_.capacity(), us(lat_.from_receive.quantile(0.5)),
        us(lat_.from_receive.quantile(0.99)), us(lat_.from_exchange.quantile(0.5)),
        us(lat_.from_exchange.quantile(0.99)), reconnects(), book_stat(&book_sync_stats::resyncs),
        book_stat(&book_sync_stats::gaps), book_stat(&book_sync_stats::checksum_failures),
        counters_.malformed.load(), counters_.dropped_quotes.load());
  }
  int64_t last_status_ns_(int64_t now) {
    const int64_t prev = last_status_at_ == 0 ? started_ns_ : last_status_at_;
    last_status_at_ = now;
    return prev;
  }

  void report() {
    const int64_t ended = wall_clock_ns();
    json_writer j;
    j.begin_object();
    j.key("mode").value(opt_.record_only ? "record" : "paper");
    j.key("seconds").value(static_cast<double>(ended - started_ns_) / 1e9, 3);
    j.key("events").value(events_);
    j.key("events_by_type").begin_object();
    j.key("trades").value(counters_.trades.load());
    j.key("quotes").value(counters_.quotes.load());
    j.key("bars").value(counters_.bars.load());
    j.key("books").value(counters_.books.load());
    j.end_object();
    j.key("feed").begin_object();
    j.key("control").value(counters_.control.load());
    j.key("unknown").value(counters_.unknown.load());
    j.key("malformed").value(counters_.malformed.load());
    j.key("venue_errors").value(counters_.venue_errors.load());
    j.key("dropped_quotes").value(counters_.dropped_quotes.load());
    j.key("reader_blocked").value(counters_.blocked.load());
    j.key("snapshot_failures").value(counters_.snapshot_failures.load());
    j.end_object();
    j.key("venues").begin_array();
    for (const auto& f : feeds_) {
      const auto& c = f->connection();
      const auto& b = f->books();
      j.begin_object();
      j.key("name").value(f->name());
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
    auto lat = [&](const char* name, const latency_histogram& h) {
      j.key(name).begin_object();
      j.key("count").value(h.count());
      j.key("p50_us").value(static_cast<double>(h.quantile(0.5)) / 1e3, 1);
      j.key("p99_us").value(static_cast<double>(h.quantile(0.99)) / 1e3, 1);
      j.key("p999_us").value(static_cast<double>(h.quantile(0.999)) / 1e3, 1);
      j.key("max_us").value(static_cast<double>(h.max()) / 1e3, 1);
      j.end_object();
    };
    j.key("latency").begin_object();
    lat("receive_to_strategy", lat_.from_receive);
    lat("exchange_to_strategy", lat_.from_exchange);
    j.end_object();
    j.key("strategies").begin_array();
    for (const auto& s : engine_.strategies()) {
      j.begin_object();
      j.key("name").value(s->name);
      j.key("plugin").value(s->kind());
      j.key("version").value(s->version());
      j.key("status").value(s->failure ? "failed" : "ok");
      if (s->failure) j.key("error").value(s->failure->where + ": " + s->failure->message);
      j.key("events").value(s->events);
      j.key("orders").value(s->orders);
      j.key("fills").value(s->fills);
      j.end_object();
    }
    j.end_array();
    j.key("account").begin_object();
    j.key("cash").number(fixed_text(account_.cash()));
    j.key("equity").number(fixed_text(account_.equity()));
    j.key("fees").number(fixed_text(account_.fees_paid()));
    j.key("orders").value(paper_.stats().orders);
    j.key("fills").value(paper_.stats().fills);
    j.end_object();
    if (reloader_) {
      const reload_stats& r = reloader_->stats();
      j.key("hot_reload").begin_object();
      j.key("reloads").value(r.reloads);
      j.key("refused").value(r.refused);
      j.key("removed").value(r.removed);
      j.key("added").value(r.added);
      j.key("swap_pause_p50_us").value(static_cast<double>(r.swap_pause.quantile(0.5)) / 1e3, 1);
      j.key("swap_pause_p99_us").value(static_cast<double>(r.swap_pause.quantile(0.99)) / 1e3, 1);
      j.key("swap_pause_max_us").value(static_cast<double>(r.swap_pause.max()) / 1e3, 1);
      j.key("file_to_live_p50_ms")
          .value(static_cast<double>(r.file_to_live.quantile(0.5)) / 1e6, 3);
      j.key("file_to_live_p99_ms")
          .value(static_cast<double>(r.file_to_live.quantile(0.99)) / 1e6, 3);
      j.key("file_to_live_max_ms").value(static_cast<double>(r.file_to_live.max()) / 1e6, 3);
      j.end_object();
    }
    if (recorder_) {
      j.key("record").begin_object();
      j.key("records").value(recorder_->stats().records);
      j.key("bytes").value(recorder_->stats().bytes);
      j.key("files").value(recorder_->stats().files);
      j.end_object();
    }
    j.key("books").begin_object();
    for (const auto& [id, book] : books_.books()) {
      j.key(symbol(id)).begin_object();
      auto side = [&](const char* name, const std::vector<book_level>& levels) {
        j.key(name).begin_array();
        const size_t n = std::min(levels.size(), books_.depth());
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
    j.end_object();
    const std::string text = j.str();
    if (opt_.out_dir) {
      std::error_code ec;
      fs::create_directories(*opt_.out_dir, ec);
      std::ofstream out(*opt_.out_dir / "summary.json", std::ios::binary | std::ios::trunc);
      out << text << '\n';
      if (!out) spdlog::error("cannot write {}", (*opt_.out_dir / "summary.json").string());
    }
    if (opt_.json) {
      std::fputs((text + "\n").c_str(), stdout);
      return;
    }
    std::string t;
    t += fmt::format(
        "live session: {:.1f} s, {} events (trades {}, quotes {}, bars {}, books {})\n",
        static_cast<double>(ended - started_ns_) / 1e9, events_, counters_.trades.load(),
        counters_.quotes.load(), counters_.bars.load(), counters_.books.load());
    t += fmt::format("latency receive->strategy: p50 {} us, p99 {} us, p99.9 {} us\n",
                     us(lat_.from_receive.quantile(0.5)), us(lat_.from_receive.quantile(0.99)),
                     us(lat_.from_receive.quantile(0.999)));
    for (const auto& f : feeds_) {
      const auto& c = f->connection();
      const auto& b = f->books();
      t += fmt::format(
          "{}: {} connects, {} disconnects, {:.3f} s down, {} messages; books: {} snapshots, "
          "{} gaps, {} checksum failures, {} resyncs\n",
          f->name(), c.connects.load(), c.disconnects.load(),
          static_cast<double>(c.downtime_ns.load()) / 1e9, c.messages.load(), b.snapshots.load(),
          b.gaps.load(), b.checksum_failures.load(), b.resyncs.load());
    }
    t += fmt::format("feed: {} malformed, {} unknown, {} venue errors, {} dropped quotes\n",
                     counters_.malformed.load(), counters_.unknown.load(),
                     counters_.venue_errors.load(), counters_.dropped_quotes.load());
    for (const auto& s : engine_.strategies())
      t += fmt::format("strategy {}: {} events, {} orders, {} fills, {}\n", s->label(), s->events,
                       s->orders, s->fills,
                       s->failure ? "FAILED: " + s->failure->message : std::string("ok"));
    if (reloader_) {
      const reload_stats& r = reloader_->stats();
      t += fmt::format(
          "hot reload: {} swapped in, {} refused, {} removed, {} added; delivery paused "
          "p50 {} us, p99 {} us\n",
          r.reloads, r.refused, r.removed, r.added, us(r.swap_pause.quantile(0.5)),
          us(r.swap_pause.quantile(0.99)));
    }
    t += fmt::format("paper account: equity {} cash {} fees {}\n",
                     fixed_to_string(account_.equity()), fixed_to_string(account_.cash()),
                     fixed_to_string(account_.fees_paid()));
    std::fputs(t.c_str(), stdout);
  }

  const run_config& cfg_;
  const live_options& opt_;
  instrument_registry instruments_;
  portfolio account_;
  engine engine_;
  sim_exchange paper_;
  feed_queue queue_;
  book_builder books_;
  feed_counters counters_;
  std::atomic<bool> stopping_{false};
  queue_sink sink_;
  asio::io_context io_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::vector<std::unique_ptr<venue_feed>> feeds_;
  std::unique_ptr<record_writer> recorder_;
  std::unique_ptr<plugin_reloader> reloader_;
  latency_pair lat_;
  uint64_t events_ = 0, last_events_ = 0, book_events_ = 0;
  int64_t started_ns_ = 0, next_status_ = 0, last_status_at_ = 0;
};

}  // namespace

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
