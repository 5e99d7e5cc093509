// Normalized market data as the venue parsers produce it, before it reaches the engine thread.
//
// Trades, quotes and bars are already the SDK's POD events. Order-book messages become a
// book_update: the level changes of one venue message plus the sequence numbers and checksum the
// book synchroniser needs to prove continuity.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cats/book/order_book.hpp"

namespace cats {

struct book_update {
  uint32_t instrument_id = 0;
  int64_t exchange_ts_ns = 0;
  int64_t local_ts_ns = 0;
  bool snapshot = false;    ///< replaces the whole book
  uint64_t first_seq = 0;   ///< Binance `U`; 0 when the venue has none
  uint64_t last_seq = 0;    ///< Binance `u` (or the snapshot's lastUpdateId); OKX `seqId`
  int64_t prev_seq = -1;    ///< OKX `prevSeqId`; -1 when absent
  bool has_checksum = false;
  int32_t checksum = 0;     ///< OKX CRC32 of the top 25 levels after this update
  std::vector<book_level> bids;  ///< quantity 0 removes the level
  std::vector<book_level> asks;
};

/// Receives what a parser makes of a message. Called on the thread that parses.
class feed_sink {
 public:
  virtual ~feed_sink() = default;
  virtual void on_trade(const cats_trade_event_t& e) = 0;
  virtual void on_quote(const cats_quote_event_t& e) = 0;
  virtual void on_bar(const cats_bar_event_t& e) = 0;
  virtual void on_book(book_update&& u) = 0;
};

enum class parse_result {
  ok,         ///< market data, handed to the sink
  control,    ///< a subscription ack, pong, or an unclosed candle: nothing for strategies
  unknown,    ///< valid JSON of a type we do not handle (counted and skipped)
  malformed,  ///< broken JSON, a missing field or a bad number (counted, logged with the raw text)
  venue_error ///< the venue reported an error (e.g. a refused subscription)
};

/// Venue symbol ("BTCUSDT", "BTC-USDT") to engine instrument id.
using symbol_map = std::unordered_map<std::string, uint32_t>;

}  // namespace cats
