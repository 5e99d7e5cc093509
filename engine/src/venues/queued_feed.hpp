// What the venue feeds share (internal to the venues area): counting and logging what a parser
// made of a message, the WebSocket options of an endpoint, and queued_feed, the base that routes
// parsed events and verified book updates into the queue.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cats/venues/feed.hpp"
#include "cats/venues/venue_feed.hpp"

namespace cats {

/// Logs the first few problems of a kind, then one in every thousand.
bool should_log(uint64_t count) noexcept;
/// At most 300 bytes of a message, for the log.
std::string excerpt(const char* data, size_t size);
/// Counts (and logs) a message the parser did not turn into market data.
void account(parse_result r, const std::string& venue, const std::string& error, const char* data,
             size_t size, feed_counters& c);
net::ws_options ws_options_for(const feed_endpoints& ep, std::string url);

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
    if (e.header.instrument_id < last_trade_id_.size()) check_trade_id(e);
    sink_.trade(e);
  }
  // Venues whose trade ids count up by one per instrument call this for the instruments with one
  // trade stream (ids of the trade and aggTrade streams are different sequences).
  void track_trade_ids(uint32_t instrument_id) {
    if (instrument_id >= last_trade_id_.size()) last_trade_id_.resize(instrument_id + 1, 0);
    last_trade_id_[instrument_id] = 1;  // armed: the first id seen sets the sequence
  }
  void check_trade_id(const cats_trade_event_t& e) {
    uint64_t& last = last_trade_id_[e.header.instrument_id];
    if (last == 0 || e.trade_id == 0) return;  // not tracked
    if (last != 1 && e.trade_id > last + 1) {
      const uint64_t missed = e.trade_id - last - 1;
      c_.trade_gaps.fetch_add(1, std::memory_order_relaxed);
      c_.trades_missed.fetch_add(missed, std::memory_order_relaxed);
      if (should_log(c_.trade_gaps.load()))
        spdlog::warn("{}: trade ids jump from {} to {}: {} trade(s) missed", name_, last,
                     e.trade_id, missed);
    }
    if (e.trade_id > last) last = e.trade_id;
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
  std::vector<uint64_t> last_trade_id_;  // by instrument id: 0 untracked, 1 armed, else last id
};

}  // namespace cats
