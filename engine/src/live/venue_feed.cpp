#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "cats/live/venue_feed.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <thread>
#include <unordered_map>

#include "cats/util/time.hpp"
#include "cats/venues/binance/parser.hpp"
#include "cats/venues/okx/parser.hpp"

namespace cats {

namespace asio = boost::asio;

// ---- queue_sink ---------------------------------------------------------------------------------

void queue_sink::push(feed_item& item, bool droppable) {
  if (q_.try_push(item)) [[likely]]
    return;
  if (droppable) {
    c_.dropped_quotes.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  c_.blocked.fetch_add(1, std::memory_order_relaxed);
  while (!q_.try_push(item)) {
    if (stopping_.load(std::memory_order_relaxed)) return;
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void queue_sink::trade(const cats_trade_event_t& e) {
  feed_item item;
  item.type = feed_item::kind::trade;
  item.event.trade = e;
  push(item, false);
}

void queue_sink::quote(const cats_quote_event_t& e) {
  feed_item item;
  item.type = feed_item::kind::quote;
  item.event.quote = e;
  push(item, drop_quotes_);
}

void queue_sink::bar(const cats_bar_event_t& e) {
  feed_item item;
  item.type = feed_item::kind::bar;
  item.event.bar = e;
  push(item, false);
}

void queue_sink::book(book_update&& u, uint32_t flags) {
  feed_item item;
  item.type = feed_item::kind::book;
  item.book_flags = flags;
  item.book = std::make_unique<book_update>(std::move(u));
  push(item, false);
}

namespace {

// Logs the first few problems of a kind, then one in every thousand, so a flood of bad frames
// cannot drown the log (the counters still see every one).
bool should_log(uint64_t count) {
  return count <= 20 || count % 1000 == 0;
}

std::string excerpt(const char* data, size_t size) {
  constexpr size_t max = 300;
  std::string out(data, std::min(size, max));
  if (size > max) out += "...(" + std::to_string(size) + " bytes)";
  return out;
}

// Shared by both venues: counting and logging what a parser made of a message.
void account(parse_result r, const std::string& venue, const std::string& error, const char* data,
             size_t size, feed_counters& c) {
  switch (r) {
    case parse_result::ok:
      return;
    case parse_result::control:
      c.control.fetch_add(1, std::memory_order_relaxed);
      return;
    case parse_result::unknown: {
      const uint64_t n = c.unknown.fetch_add(1, std::memory_order_relaxed) + 1;
      if (should_log(n))
        spdlog::debug("{}: skipped unknown message #{} ({}): {}", venue, n, error,
                      excerpt(data, size));
      return;
    }
    case parse_result::malformed: {
      const uint64_t n = c.malformed.fetch_add(1, std::memory_order_relaxed) + 1;
      if (should_log(n))
        spdlog::warn("{}: malformed message #{} skipped: {}; raw: {}", venue, n, error,
                     excerpt(data, size));
      return;
    }
    case parse_result::venue_error: {
      const uint64_t n = c.venue_errors.fetch_add(1, std::memory_order_relaxed) + 1;
      if (should_log(n)) spdlog::error("{}: venue error: {}", venue, error);
      return;
    }
  }
}

net::ws_options ws_options_for(const feed_endpoints& ep, std::string url) {
  net::ws_options o;
  o.name = ep.name;
  o.url = std::move(url);
  o.tls = ep.tls;
  o.permessage_deflate = ep.permessage_deflate;
  o.read_timeout = std::chrono::milliseconds(ep.read_timeout_ms);
  return o;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// What both venues share: trades, quotes and bars are counted and queued; verified book updates
// likewise; one book synchroniser per instrument, all starting over after a disconnect; every
// message goes through the venue's parser and what is not market data is counted.
template <class Parser, class Sync>
class queued_feed : public venue_feed, protected feed_sink {
 public:
  void start() override { client_->start(); }
  void stop() override { client_->stop(); }

 protected:
  queued_feed(const feed_endpoints& ep, std::vector<feed_subscription> subs, queue_sink& sink,
              feed_counters& counters)
      : subs_(std::move(subs)), sink_(sink), c_(counters), parser_(symbols_) {
    name_ = ep.name;
    for (const auto& s : subs_) symbols_[s.symbol] = s.instrument_id;
  }

  // The synchroniser of one instrument; `request` gets a fresh snapshot.
  void add_sync(uint32_t id, const std::string& symbol, book_request_fn request) {
    syncs_[id] = std::make_unique<Sync>(
        [this](book_update&& u, uint32_t flags) {
          c_.books.fetch_add(1, std::memory_order_relaxed);
          sink_.book(std::move(u), flags);
        },
        std::move(request),
        [this, symbol](const std::string& why) { spdlog::warn("{} {}: {}", name_, symbol, why); },
        book_stats_);
  }

  net::ws_client::handlers handlers() {
    net::ws_client::handlers h;
    h.on_message = [this](const char* d, size_t n, int64_t ts) {
      const parse_result r = parser_.parse(d, n, ts, *this);
      if (r != parse_result::ok) account(r, name_, parser_.last_error(), d, n, c_);
    };
    h.on_disconnect = [this](const std::string&) {
      // The stream has a hole now: every book starts over from a new snapshot.
      for (auto& [id, s] : syncs_) s->reset();
    };
    return h;
  }

  void on_trade(const cats_trade_event_t& e) override {
    c_.trades.fetch_add(1, std::memory_order_relaxed);
    sink_.trade(e);
  }
  void on_quote(const cats_quote_event_t& e) override {
    c_.quotes.fetch_add(1, std::memory_order_relaxed);
    sink_.quote(e);
  }
  void on_bar(const cats_bar_event_t& e) override {
    c_.bars.fetch_add(1, std::memory_order_relaxed);
    sink_.bar(e);
  }

  std::vector<feed_subscription> subs_;
  queue_sink& sink_;
  feed_counters& c_;
  symbol_map symbols_;
  Parser parser_;
  std::unordered_map<uint32_t, std::unique_ptr<Sync>> syncs_;
};

// ---- Binance ------------------------------------------------------------------------------------

class binance_feed final : public queued_feed<binance::parser, binance_book_sync> {
 public:
  binance_feed(asio::io_context& io, const feed_endpoints& ep, std::vector<feed_subscription> subs,
               queue_sink& sink, feed_counters& counters)
      : queued_feed(ep, std::move(subs), sink, counters), io_(io), ep_(ep) {
    std::string streams;
    auto add = [&](const std::string& s) { streams += (streams.empty() ? "" : "/") + s; };
    for (const auto& s : subs_) {
      const std::string l = lower(s.symbol);
      if (s.trades) add(l + "@trade");
      if (s.agg_trades) add(l + "@aggTrade");
      if (s.quotes) add(l + "@bookTicker");
      if (s.book) {
        add(l + "@depth@100ms");
        const uint32_t id = s.instrument_id;
        add_sync(id, s.symbol, [this, id] { fetch_snapshot(id); });
      }
      if (s.bars) add(l + "@kline_" + s.bar_interval);
    }
    client_ = std::make_unique<net::ws_client>(
        io, ws_options_for(ep, ep.ws_url + "/stream?streams=" + streams), handlers());
  }

 private:
  void on_book(book_update&& u) override {
    auto it = syncs_.find(u.instrument_id);
    if (it != syncs_.end()) it->second->on_update(std::move(u));
  }

  const std::string& symbol_of(uint32_t id) const {
    for (const auto& s : subs_)
      if (s.instrument_id == id) return s.symbol;
    return name_;
  }

  void fetch_snapshot(uint32_t id) {
    const std::string url = ep_.rest_url + "/api/v3/depth?symbol=" + symbol_of(id) + "&limit=1000";
    net::https_get(
        io_, url, ep_.tls, std::chrono::seconds(10), [this, id, url](net::http_response r) {
          auto it = syncs_.find(id);
          if (it == syncs_.end()) return;
          std::string problem = r.error;
          if (problem.empty() && r.status != 200)
            problem =
                "HTTP " + std::to_string(r.status) + ": " + excerpt(r.body.data(), r.body.size());
          book_update snap;
          if (problem.empty()) {
            const parse_result pr = parser_.parse_depth_snapshot(r.body.data(), r.body.size(), id,
                                                                 wall_clock_ns(), snap);
            if (pr != parse_result::ok) problem = "bad snapshot: " + parser_.last_error();
          }
          if (!problem.empty()) {
            c_.snapshot_failures.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("{}: depth snapshot {} failed: {}; retrying in 1 s", name_, url, problem);
            auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(1));
            timer->async_wait([this, id, timer](const boost::system::error_code& ec) {
              auto again = syncs_.find(id);
              if (!ec && again != syncs_.end() && again->second->waiting_for_snapshot())
                fetch_snapshot(id);
            });
            return;
          }
          it->second->on_snapshot(std::move(snap));
        });
  }

  asio::io_context& io_;
  feed_endpoints ep_;
};

// ---- OKX ----------------------------------------------------------------------------------------

std::string okx_candle_channel(const std::string& interval) {
  // OKX writes hours and days in capitals; "1Dutc" is the UTC-aligned day.
  std::string out = "candle";
  if (interval.size() >= 2 && interval.back() == 'h')
    out += interval.substr(0, interval.size() - 1) + "H";
  else if (interval.size() >= 2 && interval.back() == 'd')
    out += interval.substr(0, interval.size() - 1) + "Dutc";
  else
    out += interval;
  return out;
}

class okx_feed final : public queued_feed<okx::parser, okx_book_sync> {
 public:
  okx_feed(asio::io_context& io, const feed_endpoints& ep, std::vector<feed_subscription> subs,
           queue_sink& sink, feed_counters& counters)
      : queued_feed(ep, std::move(subs), sink, counters) {
    for (const auto& s : subs_) {
      if (!s.book) continue;
      const std::string sym = s.symbol;
      add_sync(s.instrument_id, sym, [this, sym] { resubscribe_book(sym); });
    }
    net::ws_client::handlers h = handlers();
    h.on_open = [this] { subscribe(); };
    client_ = std::make_unique<net::ws_client>(io, ws_options_for(ep, ep.ws_url), std::move(h));
  }

 private:
  static std::string arg(const std::string& channel, const std::string& inst) {
    return "{\"channel\":\"" + channel + "\",\"instId\":\"" + inst + "\"}";
  }

  void subscribe() {
    std::string args;
    auto add = [&](const std::string& a) { args += (args.empty() ? "" : ",") + a; };
    for (const auto& s : subs_) {
      if (s.trades || s.agg_trades) add(arg("trades", s.symbol));
      if (s.quotes) add(arg("bbo-tbt", s.symbol));
      if (s.book) add(arg("books", s.symbol));
      if (s.bars) add(arg(okx_candle_channel(s.bar_interval), s.symbol));
    }
    client_->send("{\"op\":\"subscribe\",\"args\":[" + args + "]}");
  }

  void resubscribe_book(const std::string& sym) {
    // A fresh subscription starts with a snapshot.
    client_->send("{\"op\":\"unsubscribe\",\"args\":[" + arg("books", sym) + "]}");
    client_->send("{\"op\":\"subscribe\",\"args\":[" + arg("books", sym) + "]}");
  }

  void on_book(book_update&& u) override {
    auto it = syncs_.find(u.instrument_id);
    if (it != syncs_.end()) it->second->on_message(std::move(u));
  }
};

}  // namespace

std::unique_ptr<venue_feed> make_binance_feed(asio::io_context& io, const feed_endpoints& ep,
                                              std::vector<feed_subscription> subs, queue_sink& sink,
                                              feed_counters& counters) {
  return std::make_unique<binance_feed>(io, ep, std::move(subs), sink, counters);
}

std::unique_ptr<venue_feed> make_okx_feed(asio::io_context& io, const feed_endpoints& ep,
                                          std::vector<feed_subscription> subs, queue_sink& sink,
                                          feed_counters& counters) {
  return std::make_unique<okx_feed>(io, ep, std::move(subs), sink, counters);
}

}  // namespace cats
