// Binance spot market-data messages -> normalized events (simdjson On-Demand, exact fixed-point).
//
// Handles raw (`/ws/<stream>`) and combined (`/stream?streams=...`, {"stream":..,"data":..})
// payloads of the trade, aggTrade, bookTicker, kline_<interval> and depthUpdate streams, and the
// REST depth snapshot. Timestamps become ns since the epoch; bookTicker carries no venue time, so
// its exchange_ts_ns is the receive time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "cats/venues/feed.hpp"

namespace cats::binance {

class parser {
 public:
  /// `symbols` maps the venue symbol ("BTCUSDT") to instrument ids; it must outlive the parser.
  explicit parser(const symbol_map& symbols);
  ~parser();
  parser(const parser&) = delete;
  parser& operator=(const parser&) = delete;

  /// Parses one WebSocket text message. `data` must stay readable for `size` +
  /// simdjson::SIMDJSON_PADDING (64) bytes. Symbols not in the map count as `unknown`.
  parse_result parse(const char* data, size_t size, int64_t local_ts_ns, feed_sink& sink);

  /// Parses a REST /api/v3/depth response into a snapshot (last_seq = lastUpdateId).
  parse_result parse_depth_snapshot(const char* data, size_t size, uint32_t instrument_id,
                                    int64_t local_ts_ns, book_update& out);

  /// Why the last call returned malformed, unknown or venue_error.
  const std::string& last_error() const noexcept { return error_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string error_;
};

}  // namespace cats::binance
