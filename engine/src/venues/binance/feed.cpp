#include <utility>  // before Asio (Boost 1.74 with C++20)

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "../queued_feed.hpp"
#include "cats/util/time.hpp"
#include "cats/venues/binance/book_sync.hpp"
#include "cats/venues/binance/feed.hpp"
#include "cats/venues/binance/parser.hpp"

namespace cats {

namespace asio = boost::asio;

namespace {

// Binance's stream names use the symbol in lower case ("btcusdt@trade").
std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

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
      if (s.trades != s.agg_trades) track_trade_ids(s.instrument_id);
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

}  // namespace

std::unique_ptr<venue_feed> make_binance_feed(asio::io_context& io, const feed_endpoints& ep,
                                              std::vector<feed_subscription> subs, queue_sink& sink,
                                              feed_counters& counters) {
  return std::make_unique<binance_feed>(io, ep, std::move(subs), sink, counters);
}

}  // namespace cats
