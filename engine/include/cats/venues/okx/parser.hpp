// OKX v5 public market-data messages -> normalized events (simdjson On-Demand, exact fixed-point).
//
// Channels: trades, bbo-tbt, tickers, books (snapshot/update with checksum and, when present,
// seqId/prevSeqId) and candle<bar> (only confirmed candles become bars). {"event":...} replies
// are `control`, except {"event":"error"} which is `venue_error`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "cats/venues/feed.hpp"

namespace cats::okx {

class parser {
 public:
  /// `symbols` maps the instId ("BTC-USDT") to instrument ids; it must outlive the parser.
  explicit parser(const symbol_map& symbols);
  ~parser();
  parser(const parser&) = delete;
  parser& operator=(const parser&) = delete;

  /// Parses one WebSocket text message. `data` must stay readable for `size` +
  /// simdjson::SIMDJSON_PADDING (64) bytes. The text "pong" is `control`.
  parse_result parse(const char* data, size_t size, int64_t local_ts_ns, feed_sink& sink);

  const std::string& last_error() const noexcept { return error_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string error_;
};

/// The interval of an OKX candle channel ("candle1m", "candle4H", "candle1Dutc" ...) in ns; 0 if
/// the name is not a candle channel.
int64_t candle_interval_ns(std::string_view channel) noexcept;

}  // namespace cats::okx
