#include "cats/venues/binance/parser.hpp"

#include <cctype>
#include <utility>

#include "../json_util.hpp"
#include "cats/core/events.hpp"

// How the messages are read. Fields are looked up by name in the order Binance writes them
// (venues::find: one key comparison per field when the order holds, still correct when it does
// not); only the first key is peeked at in the text, to tell a bookTicker (no "e") from an event
// without searching. Once the fields are read, the rest of the document is skipped and
// must end there: a lazy parse would otherwise accept a truncated message. The event goes to the
// sink only after all that, so a broken message emits nothing.
//
// A walk over all fields (object iteration) was measured 30% slower on trades with GCC 12: every
// field copies simdjson's value iterator through memory (a store-forwarding stall).

namespace cats::binance {

using venues::failure;
namespace od = venues::od;

namespace {

enum class pending : uint8_t { none, trade, quote, bar, book };

}  // namespace

struct parser::impl {
  explicit impl(const symbol_map& map) : symbols(map) {
    // Big enough for a REST snapshot of 1000 levels a side; larger documents grow the buffers.
    const auto ec = json.allocate(96 * 1024);  // on failure iterate() allocates (and reports)
    (void)ec;
  }

  od::parser json;
  venues::symbol_lookup symbols;
  failure fail;
  const char* where = "binance";
  std::string* error = nullptr;

  pending kind = pending::none;
  std::string_view symbol;    ///< from "s" (or the stream name for partial depth)
  std::string stream_symbol;  ///< upper-cased symbol of a partial depth stream
  cats_trade_event_t trade{};
  cats_quote_event_t quote{};
  cats_bar_event_t bar{};
  book_update book;  ///< reused: its vectors keep their capacity unless the sink takes them

  parse_result parse(const char* data, size_t size, int64_t local_ts_ns, feed_sink& sink);
  parse_result parse_snapshot(const char* data, size_t size, book_update& out);

  parse_result malformed() {
    *error = venues::describe_failure(where, fail);
    return parse_result::malformed;
  }
  parse_result json_error(simdjson::error_code ec) {
    fail.set(nullptr, nullptr, ec, {});
    return malformed();
  }
  parse_result missing(const char* field) {
    fail.missing(field);
    return malformed();
  }
  parse_result unknown(std::string text) {
    *error = std::move(text);
    return parse_result::unknown;
  }

  parse_result event(od::object& obj, std::string_view first);
  parse_result by_type(std::string_view type, od::object& obj);
  parse_result trade_message(od::object& obj, bool aggregate);
  parse_result book_ticker(od::object& obj);
  parse_result kline(od::object& obj);
  parse_result depth_update(od::object& obj);
  parse_result depth_snapshot(od::object& obj);
  parse_result venue_error(od::object& obj);
};

parser::parser(const symbol_map& symbols) : impl_(std::make_unique<impl>(symbols)) {}
parser::~parser() = default;

parse_result parser::parse(const char* data, size_t size, int64_t local_ts_ns, feed_sink& sink) {
  impl_->error = &error_;
  const parse_result r = impl_->parse(data, size, local_ts_ns, sink);
  if (r == parse_result::ok || r == parse_result::control) error_.clear();
  return r;
}

parse_result parser::parse_depth_snapshot(const char* data, size_t size, uint32_t instrument_id,
                                          int64_t local_ts_ns, book_update& out) {
  impl_->error = &error_;
  const parse_result r = impl_->parse_snapshot(data, size, out);
  if (r == parse_result::ok) {
    error_.clear();
    out.instrument_id = instrument_id;
    out.exchange_ts_ns = local_ts_ns;  // the REST response carries no time
    out.local_ts_ns = local_ts_ns;
  }
  return r;
}

parse_result parser::impl::parse(const char* data, size_t size, int64_t local_ts_ns,
                                 feed_sink& sink) {
  fail = failure{};
  where = "binance";
  kind = pending::none;
  symbol = {};

  od::document doc;
  if (const auto ec = venues::iterate(json, doc, data, size)) return json_error(ec);
  od::object root;
  if (const auto ec = doc.get_object().get(root)) {
    fail.set(nullptr, "a JSON object", ec, venues::document_token(doc));
    return malformed();
  }

  const std::string_view first = venues::first_key(data, data + size);
  simdjson::error_code ec = simdjson::SUCCESS;
  bool combined = venues::equals(first, "stream") || venues::equals(first, "data");
  if (!combined && !venues::equals(first, "e") && !venues::equals(first, "u")) {
    combined = venues::has_field(root, "data", ec);  // another field order
    if (ec) return json_error(ec);
  }
  parse_result r = parse_result::ok;
  if (combined) {
    // {"stream":"btcusdt@trade","data":{...}}
    od::value value;
    if (!venues::lookup(root, "data", value, fail)) return malformed();
    const char* const text = value.raw_json_token().data();
    od::object obj;
    if (!venues::read_object(value, "data", obj, fail)) return malformed();
    r = event(obj, venues::first_key(text, data + size));
    if (r != parse_result::ok && r != parse_result::control) return r;
    if (kind == pending::book && symbol.empty()) {
      // Partial depth names its symbol only in the stream ("btcusdt@depth20@100ms").
      std::string_view stream;
      if (!venues::lookup(root, "stream", value, fail) ||
          !venues::read_plain_string(value, "stream", stream, fail)) {
        return malformed();
      }
      const size_t at = stream.find('@');
      if (at == 0 || at == std::string_view::npos || at > 32) {
        return unknown("binance partial depth: no symbol in stream \"" +
                       std::string(stream.substr(0, 64)) + "\"");
      }
      stream_symbol.assign(stream.substr(0, at));
      for (char& c : stream_symbol) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      symbol = stream_symbol;
    }
  } else {
    r = event(root, first);
    if (r != parse_result::ok && r != parse_result::control) return r;
    if (kind == pending::book && symbol.empty()) {
      return unknown("binance partial depth: no symbol (only the combined stream names it)");
    }
  }
  if (!venues::finish(doc, root, data, size, fail)) return malformed();
  if (kind == pending::none) return r;  // control: a reply, or a candle still forming

  uint32_t id = 0;
  if (!symbols.find(symbol, id)) [[unlikely]] {
    return unknown(std::string(where) + ": symbol \"" + std::string(symbol.substr(0, 64)) +
                   "\" is not in the symbol map");
  }
  switch (kind) {
    case pending::trade:
      trade.header =
          event_header<cats_trade_event_t>(CATS_EVENT_TRADE, id, trade.header.exchange_ts_ns, 0);
      trade.header.local_ts_ns = local_ts_ns;
      sink.on_trade(trade);
      return parse_result::ok;
    case pending::quote:
      // bookTicker carries no venue time: the receive time stands in.
      quote.header = event_header<cats_quote_event_t>(CATS_EVENT_QUOTE, id, local_ts_ns, 0);
      sink.on_quote(quote);
      return parse_result::ok;
    case pending::bar:
      bar.header =
          event_header<cats_bar_event_t>(CATS_EVENT_BAR, id, bar.open_time_ns + bar.interval_ns, 0);
      bar.header.local_ts_ns = local_ts_ns;
      sink.on_bar(bar);
      return parse_result::ok;
    case pending::book:
      book.instrument_id = id;
      book.local_ts_ns = local_ts_ns;
      if (book.snapshot) book.exchange_ts_ns = local_ts_ns;  // partial depth has no time
      sink.on_book(std::move(book));
      return parse_result::ok;
    case pending::none:
      break;
  }
  return parse_result::control;
}

// An event object; `first` is its first key as peeked at in the text.
parse_result parser::impl::event(od::object& obj, std::string_view first) {
  failure ticker_failure;
  const bool tried_ticker = venues::equals(first, "u");
  if (tried_ticker) {
    // bookTicker, the one stream without "e". Should a message starting with "u" be something
    // else (a reordered depthUpdate), reading it as a bookTicker fails on a type or a missing
    // field, and the general path below decides.
    const parse_result r = book_ticker(obj);
    if (r == parse_result::ok || fail.code == simdjson::SUCCESS ||
        (fail.code != simdjson::INCORRECT_TYPE && fail.code != simdjson::NO_SUCH_FIELD)) {
      return r;
    }
    ticker_failure = fail;
    fail = failure{};
    where = "binance";
  }
  simdjson::error_code ec = simdjson::SUCCESS;
  od::value value;
  const auto e = venues::find(obj, "e", value);
  if (e == simdjson::SUCCESS) {
    std::string_view type;
    if (!venues::read_plain_string(value, "e", type, fail)) return malformed();
    return by_type(type, obj);
  }
  if (e != simdjson::NO_SUCH_FIELD) return json_error(e);
  // No event type. Every check stops at broken JSON: simdjson's iterator is dead after it.
  if (venues::has_field(obj, "lastUpdateId", ec)) {
    where = "binance partial depth";
    return depth_snapshot(obj);
  }
  if (ec) return json_error(ec);
  if (!venues::equals(first, "u") && venues::has_field(obj, "u", ec)) return book_ticker(obj);
  if (ec) return json_error(ec);
  const bool refused =
      venues::has_field(obj, "error", ec) || (!ec && venues::has_field(obj, "code", ec));
  if (ec) return json_error(ec);
  if (refused) return venue_error(obj);
  // {"result":null,"id":1}: the reply to a (un)subscribe request.
  const bool reply =
      venues::has_field(obj, "result", ec) || (!ec && venues::has_field(obj, "id", ec));
  if (ec) return json_error(ec);
  if (reply) return parse_result::control;
  if (tried_ticker) {
    // Nothing else fits: it is a broken bookTicker.
    where = "binance bookTicker";
    fail = ticker_failure;
    return malformed();
  }
  return unknown("binance: a JSON object with no event type (\"e\")");
}

parse_result parser::impl::by_type(std::string_view type, od::object& obj) {
  if (venues::equals(type, "trade")) {
    where = "binance trade";
    return trade_message(obj, false);
  }
  if (venues::equals(type, "depthUpdate")) {
    where = "binance depthUpdate";
    return depth_update(obj);
  }
  if (venues::equals(type, "aggTrade")) {
    where = "binance aggTrade";
    return trade_message(obj, true);
  }
  if (venues::equals(type, "kline")) {
    where = "binance kline";
    return kline(obj);
  }
  return unknown("binance: unsupported event type \"" + std::string(type.substr(0, 64)) + "\"");
}

// {"e":"trade","E":..,"s":"BTCUSDT","t":..,"p":"..","q":"..","T":..,"m":true,"M":true}
// {"e":"aggTrade","E":..,"s":..,"a":..,"p":..,"q":..,"f":..,"l":..,"T":..,"m":..,"M":..}
parse_result parser::impl::trade_message(od::object& obj, bool aggregate) {
  od::value v;
  const char* const id_key = aggregate ? "a" : "t";
  bool buyer_is_maker = false;
  if (!venues::lookup(obj, "s", v, fail) || !venues::read_plain_string(v, "s", symbol, fail) ||
      !(aggregate ? venues::lookup(obj, "a", v, fail) : venues::lookup(obj, "t", v, fail)) ||
      !venues::read_uint(v, id_key, trade.trade_id, fail) || !venues::lookup(obj, "p", v, fail) ||
      !venues::read_decimal(v, "p", trade.price, fail) || !venues::lookup(obj, "q", v, fail) ||
      !venues::read_decimal(v, "q", trade.quantity, fail) || !venues::lookup(obj, "T", v, fail) ||
      !venues::read_ms(v, "T", trade.header.exchange_ts_ns, fail) ||
      !venues::lookup(obj, "m", v, fail) || !venues::read_bool(v, "m", buyer_is_maker, fail))
      [[unlikely]] {
    return malformed();
  }
  // The buyer was the resting order, so the seller took liquidity.
  trade.aggressor_side = buyer_is_maker ? CATS_SIDE_SELL : CATS_SIDE_BUY;
  trade.reserved = 0;
  kind = pending::trade;
  return parse_result::ok;
}

// {"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":".."}
parse_result parser::impl::book_ticker(od::object& obj) {
  where = "binance bookTicker";
  od::value v;
  if (!venues::lookup(obj, "s", v, fail) || !venues::read_plain_string(v, "s", symbol, fail) ||
      !venues::lookup(obj, "b", v, fail) || !venues::read_decimal(v, "b", quote.bid_price, fail) ||
      !venues::lookup(obj, "B", v, fail) ||
      !venues::read_decimal(v, "B", quote.bid_quantity, fail) ||
      !venues::lookup(obj, "a", v, fail) || !venues::read_decimal(v, "a", quote.ask_price, fail) ||
      !venues::lookup(obj, "A", v, fail) || !venues::read_decimal(v, "A", quote.ask_quantity, fail))
      [[unlikely]] {
    return malformed();
  }
  kind = pending::quote;
  return parse_result::ok;
}

// {"e":"kline","E":..,"s":..,"k":{"t":..,"T":..,"s":..,"i":"1m","f":..,"L":..,"o":..,"c":..,
//  "h":..,"l":..,"v":..,"n":..,"x":false,"q":..,"V":..,"Q":..,"B":..}}
parse_result parser::impl::kline(od::object& obj) {
  od::value v;
  if (!venues::lookup(obj, "s", v, fail) || !venues::read_plain_string(v, "s", symbol, fail)) {
    return malformed();
  }
  od::object k;
  if (!venues::lookup(obj, "k", v, fail) || !venues::read_object(v, "k", k, fail)) {
    return malformed();
  }
  int64_t open_ns = 0;
  int64_t close_ns = 0;
  bool closed = false;
  const auto decimal = [&]<size_t N>(const char(&key)[N], const char* name, int64_t& out) {
    return venues::lookup(k, key, v, fail, name) && venues::read_decimal(v, name, out, fail);
  };
  if (!venues::lookup(k, "t", v, fail, "k.t") || !venues::read_ms(v, "k.t", open_ns, fail) ||
      !venues::lookup(k, "T", v, fail, "k.T") || !venues::read_ms(v, "k.T", close_ns, fail) ||
      !decimal("o", "k.o", bar.open) || !decimal("c", "k.c", bar.close) ||
      !decimal("h", "k.h", bar.high) || !decimal("l", "k.l", bar.low) ||
      !decimal("v", "k.v", bar.volume) || !venues::lookup(k, "n", v, fail, "k.n") ||
      !venues::read_int(v, "k.n", bar.trade_count, fail)) {
    return malformed();
  }
  if (bar.trade_count < 0) {
    fail.bad_number("k.n", "a trade count", parse_error::out_of_range, v.raw_json_token());
    return malformed();
  }
  if (!venues::lookup(k, "x", v, fail, "k.x") || !venues::read_bool(v, "k.x", closed, fail) ||
      !decimal("q", "k.q", bar.quote_volume) || !decimal("V", "k.V", bar.taker_buy_volume) ||
      !decimal("Q", "k.Q", bar.taker_buy_quote_volume)) {
    return malformed();
  }
  // T is the last millisecond of the candle: the interval runs from t to T + 1 ms.
  if (close_ns < open_ns || close_ns / venues::ns_per_ms >= venues::max_ms) {
    fail.bad_number("k.T", "a close time at or after the open time k.t", parse_error::out_of_range,
                    {});
    return malformed();
  }
  bar.open_time_ns = open_ns;
  bar.interval_ns = close_ns - open_ns + venues::ns_per_ms;
  if (!closed) return parse_result::control;  // the candle is still forming
  kind = pending::bar;
  return parse_result::ok;
}

// {"e":"depthUpdate","E":..,"s":..,"U":..,"u":..,"b":[["p","q"],..],"a":[..]}
parse_result parser::impl::depth_update(od::object& obj) {
  book.bids.clear();
  book.asks.clear();
  book.snapshot = false;
  book.prev_seq = -1;
  book.has_checksum = false;
  book.checksum = 0;
  od::value v;
  if (!venues::lookup(obj, "E", v, fail) || !venues::read_ms(v, "E", book.exchange_ts_ns, fail) ||
      !venues::lookup(obj, "s", v, fail) || !venues::read_plain_string(v, "s", symbol, fail) ||
      !venues::lookup(obj, "U", v, fail) || !venues::read_uint(v, "U", book.first_seq, fail) ||
      !venues::lookup(obj, "u", v, fail) || !venues::read_uint(v, "u", book.last_seq, fail) ||
      !venues::lookup(obj, "b", v, fail) || !venues::read_levels(v, "b", book.bids, fail) ||
      !venues::lookup(obj, "a", v, fail) || !venues::read_levels(v, "a", book.asks, fail)) {
    return malformed();
  }
  if (book.first_seq > book.last_seq) {
    fail.set("U", "a first update id no larger than \"u\"", simdjson::INCORRECT_TYPE, {});
    return malformed();
  }
  kind = pending::book;
  return parse_result::ok;
}

// {"lastUpdateId":N,"bids":[...],"asks":[...]}: the REST snapshot and the partial depth stream.
parse_result parser::impl::depth_snapshot(od::object& obj) {
  book.bids.clear();
  book.asks.clear();
  book.snapshot = true;
  book.first_seq = 0;
  book.prev_seq = -1;
  book.has_checksum = false;
  book.checksum = 0;
  book.exchange_ts_ns = 0;
  od::value v;
  if (!venues::lookup(obj, "lastUpdateId", v, fail) ||
      !venues::read_uint(v, "lastUpdateId", book.last_seq, fail) ||
      !venues::lookup(obj, "bids", v, fail) || !venues::read_levels(v, "bids", book.bids, fail) ||
      !venues::lookup(obj, "asks", v, fail) || !venues::read_levels(v, "asks", book.asks, fail)) {
    return malformed();
  }
  kind = pending::book;
  return parse_result::ok;
}

// {"error":{"code":2,"msg":"..."},"id":1} (WebSocket) or {"code":-1121,"msg":"..."} (REST).
parse_result parser::impl::venue_error(od::object& obj) {
  std::string code = "?";
  std::string msg;
  od::object inner;
  od::object* from = &obj;
  od::value v;
  simdjson::error_code ec = venues::find(obj, "error", v);
  if (ec == simdjson::SUCCESS) {
    ec = v.get_object().get(inner);
    if (ec == simdjson::SUCCESS) from = &inner;
  }
  if (ec != simdjson::SUCCESS && ec != simdjson::NO_SUCH_FIELD && ec != simdjson::INCORRECT_TYPE) {
    return json_error(ec);
  }
  ec = venues::find(*from, "code", v);
  if (ec == simdjson::SUCCESS) {
    int64_t n = 0;
    std::string_view text;
    if (v.get_int64().get(n) == simdjson::SUCCESS) {
      code = std::to_string(n);
    } else if (v.get_string().get(text) == simdjson::SUCCESS) {
      code = text;
    }
  } else if (ec != simdjson::NO_SUCH_FIELD) {
    return json_error(ec);
  }
  ec = venues::find(*from, "msg", v);
  if (ec == simdjson::SUCCESS) {
    std::string_view text;
    if (v.get_string().get(text) == simdjson::SUCCESS) msg = text;
  } else if (ec != simdjson::NO_SUCH_FIELD) {
    return json_error(ec);
  }
  *error = "binance error " + code + ": " + msg;
  return parse_result::venue_error;
}

parse_result parser::impl::parse_snapshot(const char* data, size_t size, book_update& out) {
  fail = failure{};
  where = "binance depth snapshot";
  kind = pending::none;
  od::document doc;
  if (const auto ec = venues::iterate(json, doc, data, size)) return json_error(ec);
  od::object root;
  if (const auto ec = doc.get_object().get(root)) {
    fail.set(nullptr, "a JSON object", ec, venues::document_token(doc));
    return malformed();
  }
  if (venues::first_key(data, data + size) != "lastUpdateId") {
    // {"code":-1121,"msg":"Invalid symbol."}: the venue refused the request.
    simdjson::error_code ec = simdjson::SUCCESS;
    const bool refused =
        venues::has_field(root, "code", ec) || (!ec && venues::has_field(root, "error", ec));
    if (ec) return json_error(ec);
    if (refused) return venue_error(root);
  }
  // Parse into `out` directly: its vectors keep their capacity from the caller's last snapshot.
  std::swap(book, out);
  parse_result r = depth_snapshot(root);
  std::swap(book, out);
  if (r == parse_result::ok && !venues::finish(doc, root, data, size, fail)) r = malformed();
  kind = pending::none;
  return r;
}

}  // namespace cats::binance
