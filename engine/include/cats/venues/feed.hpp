// What a venue parser produces and where it goes: trades, quotes and bars as the SDK's POD events,
// order-book messages as book_update (core/market_event.hpp), handed to a feed_sink on the thread
// that parses.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cats/core/market_event.hpp"

namespace cats {

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
  ok,          ///< market data, handed to the sink
  control,     ///< a subscription ack, pong, or an unclosed candle: nothing for strategies
  unknown,     ///< valid JSON of a type we do not handle (counted and skipped)
  malformed,   ///< broken JSON, a missing field or a bad number (counted, logged with the raw text)
  venue_error  ///< the venue reported an error (e.g. a refused subscription)
};

/// Venue symbol ("BTCUSDT", "BTC-USDT") to engine instrument id.
using symbol_map = std::unordered_map<std::string, uint32_t>;

}  // namespace cats
