#include <utility>  // before Asio (Boost 1.74 with C++20)

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>

#include "../queued_feed.hpp"
#include "cats/venues/okx/book_sync.hpp"
#include "cats/venues/okx/feed.hpp"
#include "cats/venues/okx/parser.hpp"

namespace cats {

namespace asio = boost::asio;

namespace {

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
    net::ws_options wo = ws_options_for(ep, ep.ws_url);
    // OKX's keep-alive ("ping", answered "pong") after half the read timeout of silence; OKX
    // closes a connection silent for 30 s, so the timeout is at most 25 s.
    wo.keepalive_text = "ping";
    wo.read_timeout = std::min(wo.read_timeout, std::chrono::milliseconds(25000));
    client_ = std::make_unique<net::ws_client>(io, std::move(wo), std::move(h));
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

std::unique_ptr<venue_feed> make_okx_feed(asio::io_context& io, const feed_endpoints& ep,
                                          std::vector<feed_subscription> subs, queue_sink& sink,
                                          feed_counters& counters) {
  return std::make_unique<okx_feed>(io, ep, std::move(subs), sink, counters);
}

}  // namespace cats
