// The one market event type: what every source produces (venue feeds, replay files, recordings)
// and every stage of the market step consumes (session/session.hpp), with the book update it may
// carry.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace cats {

/// One price level of a book (fixed-point).
struct book_level {
  int64_t price = 0;
  int64_t quantity = 0;  ///< 0 in an update removes the level
  friend bool operator==(const book_level&, const book_level&) = default;
};

/// The level changes of one venue message (or a whole snapshot), with the sequence numbers and
/// checksum a book synchroniser needs to prove continuity.
struct book_update {
  uint32_t instrument_id = 0;
  int64_t exchange_ts_ns = 0;
  int64_t local_ts_ns = 0;
  bool snapshot = false;   ///< replaces the whole book
  uint64_t first_seq = 0;  ///< Binance `U`; 0 when the venue has none
  uint64_t last_seq = 0;   ///< Binance `u` (or the snapshot's lastUpdateId); OKX `seqId`
  int64_t prev_seq = -1;   ///< OKX `prevSeqId`; -1 when absent
  bool has_checksum = false;
  int32_t checksum = 0;          ///< OKX CRC32 of the top 25 levels after this update
  std::vector<book_level> bids;  ///< quantity 0 removes the level
  std::vector<book_level> asks;
};

/// One normalized market event. Trades, quotes and bars travel as the SDK's own POD events, so
/// that the step hands strategies exactly what the source produced; a book update travels by
/// pointer and becomes a cats_book_event_t once it is applied to the engine's book.
///
/// The replay flag (CATS_EVENT_FLAG_REPLAY) is not set by sources: whether an event is replayed is
/// a property of the session that delivers it. The session stamps a copy, or asks a cursor that
/// owns its events to stamp them as it hands them out (event_cursor::stamp_events).
struct market_event {
  enum class kind : uint8_t { none, trade, quote, bar, book };
  kind type = kind::none;
  /// A bar the engine built from the feed's trades: strategies see it, orders match on the trades.
  bool built = false;
  uint32_t book_flags = 0;  ///< kind::book: CATS_BOOK_FLAG_* of the update
  /// The event's time on the replay clock: a bar's close, a trade's time, a recorded event's
  /// receive time. Live feeds set the receive time.
  int64_t ts = 0;
  union {
    cats_trade_event_t trade;
    cats_quote_event_t quote;
    cats_bar_event_t bar;
  };
  /// kind::book: the update, borrowed from whoever produced the event (a replay source until its
  /// next event, a queue slot until the slot is reused, see owned_event).
  const book_update* book = nullptr;

  market_event() : bar{} {}

  static market_event of(const cats_trade_event_t& e, int64_t ts) noexcept {
    market_event m;
    m.type = kind::trade;
    m.trade = e;
    m.ts = ts;
    return m;
  }
  static market_event of(const cats_quote_event_t& e, int64_t ts) noexcept {
    market_event m;
    m.type = kind::quote;
    m.quote = e;
    m.ts = ts;
    return m;
  }
  static market_event of(const cats_bar_event_t& e, int64_t ts, bool built = false) noexcept {
    market_event m;
    m.type = kind::bar;
    m.bar = e;
    m.built = built;
    m.ts = ts;
    return m;
  }
  static market_event of(const book_update& u, uint32_t flags, int64_t ts) noexcept {
    market_event m;
    m.type = kind::book;
    m.book = &u;
    m.book_flags = flags;
    m.ts = ts;
    return m;
  }

  /// The SDK header of a trade, quote or bar (a book's header is made when it is applied).
  const cats_event_t& header() const noexcept { return bar.header; }
  uint32_t instrument_id() const noexcept {
    return type == kind::book ? book->instrument_id : bar.header.instrument_id;
  }
  int64_t exchange_ts_ns() const noexcept {
    return type == kind::book ? book->exchange_ts_ns : bar.header.exchange_ts_ns;
  }
  int64_t local_ts_ns() const noexcept {
    return type == kind::book ? book->local_ts_ns : bar.header.local_ts_ns;
  }
};

/// A market event that owns its book update: what crosses from one thread to another (the feed
/// queue, the recorder's queue), where nothing can be borrowed. `event.book` points into `book`.
struct owned_event {
  market_event event;
  std::unique_ptr<book_update> book;
  /// The source's position of this event (a bus stream sequence), 0 when it has none: the engine
  /// thread reports it back once the event has been through the market step.
  uint64_t sequence = 0;

  owned_event() = default;
  explicit owned_event(const market_event& e) : event(e) {
    if (e.type == market_event::kind::book) {
      book = std::make_unique<book_update>(*e.book);
      event.book = book.get();
    }
  }
  /// Takes `u` as this event's book update.
  void set_book(std::unique_ptr<book_update> u, uint32_t flags, int64_t ts) {
    book = std::move(u);
    event = market_event::of(*book, flags, ts);
  }
};

/// A stage that watches the market stream without changing it (the recorder; a bus publisher).
/// Called on the engine thread for every event, before the strategies see it.
class market_tap {
 public:
  virtual ~market_tap() = default;
  virtual void on_event(const market_event& e) = 0;
  /// The run ends: hands on what is still held; throws what could not be handed on.
  virtual void close() {}
};

}  // namespace cats
