// A venue's live market data: WebSocket session(s), parsing, book synchronisation, and the hand
// over to the engine thread through the feed queue. Everything here runs on the network thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cats/core/event_queue.hpp"
#include "cats/net/ws_client.hpp"
#include "cats/venues/book_sync.hpp"

namespace boost::asio {
class io_context;
}

namespace cats {

struct feed_counters {
  std::atomic<uint64_t> trades{0}, quotes{0}, bars{0}, books{0};
  std::atomic<uint64_t> control{0}, unknown{0}, malformed{0}, venue_errors{0};
  std::atomic<uint64_t> dropped_quotes{0};  ///< queue full, overflow = drop_quotes
  std::atomic<uint64_t> blocked{0};         ///< times the reader waited for queue space
  std::atomic<uint64_t> snapshot_failures{0};
  /// Trade-id gaps on streams whose ids are consecutive (Binance trades or aggTrades, one of the
  /// two per instrument): how often, and how many trades were missed in all.
  std::atomic<uint64_t> trade_gaps{0}, trades_missed{0};
  /// The bus as the source (`live.source = "nats"`): the last stream sequence through the market
  /// step, messages dropped as already delivered (redeliveries, a restart's overlap), book
  /// updates skipped until the instrument's first full book, events the stream no longer held
  /// (its retention removed them before this engine read them), and consumer restarts after a
  /// gap in the stream sequence.
  std::atomic<uint64_t> bus_sequence{0}, bus_duplicates{0}, bus_before_snapshot{0}, bus_expired{0},
      bus_resyncs{0};
};

/// Pushes normalized events into the queue with the configured overflow policy: quotes may be
/// dropped (and counted) when the engine falls behind; trades, bars and book updates never are:
/// the network thread waits for space instead (TCP then pushes back on the venue).
class queue_sink {
 public:
  queue_sink(event_queue& q, feed_counters& c, bool drop_quotes, const std::atomic<bool>& stopping)
      : q_(q), c_(c), drop_quotes_(drop_quotes), stopping_(stopping) {}
  void trade(const cats_trade_event_t& e);
  void quote(const cats_quote_event_t& e);
  void bar(const cats_bar_event_t& e);
  void book(book_update&& u, uint32_t flags);

 private:
  void push(owned_event& item, bool droppable);
  event_queue& q_;
  feed_counters& c_;
  bool drop_quotes_;
  const std::atomic<bool>& stopping_;
};

struct feed_subscription {
  uint32_t instrument_id = 0;
  std::string symbol;  ///< venue symbol: "BTCUSDT", "BTC-USDT"
  bool trades = false, agg_trades = false, quotes = false, book = false, bars = false;
  std::string bar_interval = "1m";
};

struct feed_endpoints {
  std::string name;  ///< "binance" / "okx"
  std::string ws_url;
  std::string rest_url;
  net::tls_options tls;
  int64_t read_timeout_ms = 20000;
  int64_t reconnect_max_ms = 30000;  ///< the reconnect backoff's ceiling
  bool permessage_deflate = false;
};

/// A live market data source: a venue's connection(s), or the bus.
class venue_feed {
 public:
  virtual ~venue_feed() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  const std::string& name() const noexcept { return name_; }
  virtual const net::ws_stats& connection() const noexcept { return client_->stats(); }
  const book_sync_stats& books() const noexcept { return book_stats_; }
  /// Engine thread: the event of source position `sequence` (owned_event::sequence, never 0) has
  /// been through the market step. A source that acknowledges what it delivered (the bus) does
  /// so from here on.
  virtual void delivered(uint64_t sequence) noexcept { (void)sequence; }

 protected:
  std::string name_;
  std::unique_ptr<net::ws_client> client_;
  book_sync_stats book_stats_;
};

}  // namespace cats
