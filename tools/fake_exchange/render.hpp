// Subscriptions and the venues' message formats: what one connection receives for one event.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "market.hpp"

namespace cats::fake {

enum class channel : uint8_t {
  // Binance streams
  trade,
  agg_trade,
  book_ticker,
  depth,  ///< `@depth` and `@depth@100ms`: one depthUpdate per book change (U == u)
  kline_1m,
  // OKX channels
  okx_trades,
  okx_bbo_tbt,
  okx_tickers,
  okx_books,  ///< also books-l2-tbt and books50-l2-tbt: a snapshot, then every change
};

struct subscription {
  venue where = venue::binance;
  channel ch = channel::trade;
  int symbol = -1;           ///< index into market::symbols(); -1 for a symbol only a script has
  std::string name;          ///< Binance stream ("btcusdt@depth@100ms"); OKX channel ("books")
  std::string inst;          ///< OKX instId
  std::string key;           ///< "btcusdt@depth@100ms" / "books:BTC-USDT": matches script lines
  uint64_t since = 0;        ///< first log index this subscription receives
  uint64_t* sent = nullptr;  ///< per-stream counter in the server's stats (stable address)
};

/// Parses a Binance stream name ("btcUSDT@aggTrade", "btcusdt@depth@100ms") into a subscription
/// whose name is the canonical spelling ("btcusdt@aggTrade"). Symbols are looked up in `m`. In
/// `script_mode` unknown symbols and stream types are accepted (they match script lines by key).
bool parse_binance_stream(std::string_view text, const market& m, bool script_mode,
                          subscription& out, std::string& error);

/// Fills an OKX subscription from its channel and instId; `script_mode` as above.
bool parse_okx_channel(std::string_view channel_name, std::string_view inst, const market& m,
                       bool script_mode, subscription& out, std::string& error);

struct render_options {
  bool combined = false;    ///< Binance /stream: wrap as {"stream":..,"data":..}
  bool stamp_ns = false;    ///< --stamp-ns: the trade id is the send time in ns
  bool omit_field = false;  ///< malformed traffic: leave out a field the client needs
};

/// Writes the message `s` gets for `e` into `out` (cleared first); false when `s` gets nothing.
/// `now_ns` is the send time (epoch ns), used for every venue timestamp.
bool render_event(const market& m, const market_event& e, const subscription& s,
                  const render_options& opt, int64_t now_ns, std::string& out);

/// The OKX books snapshot a new subscriber gets first.
void render_okx_book_snapshot(const symbol_state& sym, const subscription& s, int64_t now_ns,
                              std::string& out);

enum class level_format : uint8_t {
  binance,   ///< ["61837.63000000","0.50000000"]
  okx_pair,  ///< ["61837.63","0.5"]
  okx,       ///< ["61837.63","0.5","0","1"] as OKX sends levels
};

/// "bids":[..],"asks":[..] without the enclosing braces, so callers can add fields. At most
/// `depth` levels per side.
void append_levels(std::string& out, const order_book& book, size_t depth, level_format format);

/// Number and string formatting shared with the server.
void append_uint(std::string& out, uint64_t v);
void append_int(std::string& out, int64_t v);
void append_fixed8(std::string& out, int64_t v);       ///< "61837.63000000"
void append_fixed_short(std::string& out, int64_t v);  ///< "61837.63"
void append_json_string(std::string& out, std::string_view s);

/// Turns a rendered message into a broken one, `variant` 0: truncated JSON, 1: a number string
/// that is not a number ("12.3.4").
void corrupt(std::string& msg, int variant);

}  // namespace cats::fake
