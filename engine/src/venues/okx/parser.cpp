#include "cats/venues/okx/parser.hpp"

#include <cstring>
#include <utility>
#include <vector>

#include "../json_util.hpp"
#include "cats/core/events.hpp"
#include "cats/util/time.hpp"

namespace cats::okx {

using venues::failure;
using venues::field_walker;
namespace od = venues::od;

namespace {

constexpr int64_t ns_per_s = 1'000'000'000;
constexpr int64_t ns_per_day = 86'400 * ns_per_s;

enum class channel_kind : uint8_t { other, trades, tickers, bbo, books, candle };

channel_kind classify(std::string_view channel) noexcept {
  if (channel == "trades" || channel == "trades-all") return channel_kind::trades;
  if (channel == "books" || channel == "books-l2-tbt" || channel == "books50-l2-tbt" ||
      channel == "books5") {
    return channel_kind::books;
  }
  if (channel == "bbo-tbt") return channel_kind::bbo;
  if (channel == "tickers") return channel_kind::tickers;
  if (channel.starts_with("candle")) return channel_kind::candle;
  return channel_kind::other;
}

/// A candle channel's bar size: `count` units; months and years have no fixed length.
struct candle_bar {
  int64_t count = 0;
  char unit = 0;     ///< s m H D W M Y
  bool utc = false;  ///< "utc" suffix: aligned to UTC rather than to Hong Kong time (UTC+8)
};

bool parse_candle_channel(std::string_view channel, candle_bar& out) noexcept {
  constexpr std::string_view prefix = "candle";
  if (!channel.starts_with(prefix)) return false;
  const std::string_view rest = channel.substr(prefix.size());
  int64_t n = 0;
  size_t i = 0;
  for (; i < rest.size() && i < 4 && venues::is_digit(rest[i]); ++i) n = n * 10 + (rest[i] - '0');
  if (i == 0 || n == 0 || i >= rest.size()) return false;
  const char unit = rest[i++];
  if (std::strchr("smHDWMY", unit) == nullptr) return false;
  const std::string_view suffix = rest.substr(i);
  if (!suffix.empty() && suffix != "utc") return false;
  out = candle_bar{n, unit, !suffix.empty()};
  return true;
}

int64_t fixed_length_ns(const candle_bar& bar) noexcept {
  switch (bar.unit) {
    case 's':
      return bar.count * ns_per_s;
    case 'm':
      return bar.count * 60 * ns_per_s;
    case 'H':
      return bar.count * 3600 * ns_per_s;
    case 'D':
      return bar.count * ns_per_day;
    case 'W':
      return bar.count * 7 * ns_per_day;
    default:
      return 0;  // M, Y: calendar months
  }
}

/// The length of the candle that opens at `open_ns` (>= 0).
int64_t candle_length_ns(const candle_bar& bar, int64_t open_ns) noexcept {
  if (const int64_t fixed = fixed_length_ns(bar); fixed != 0) return fixed;
  // Calendar months (or years) in the candle's time zone; the candle opens on the 1st.
  const int64_t offset = bar.utc ? 0 : 8 * 3600 * ns_per_s;
  const int64_t local = open_ns + offset;
  const int64_t days = local / ns_per_day;
  const civil_time c = to_civil(local);
  const int64_t months =
      c.year * 12 + (c.month - 1) + (bar.unit == 'Y' ? bar.count * 12 : bar.count);
  const int64_t end_days =
      days_from_civil(months / 12, static_cast<unsigned>(months % 12) + 1, c.day);
  return (end_days - days) * ns_per_day;
}

constexpr const char* side_expected = "\"buy\" or \"sell\"";

}  // namespace

int64_t candle_interval_ns(std::string_view channel) noexcept {
  candle_bar bar;
  if (!parse_candle_channel(channel, bar)) return 0;
  return fixed_length_ns(bar);
}

struct parser::impl {
  explicit impl(const symbol_map& map) : symbols(map) {
    const auto ec = json.allocate(64 * 1024);  // on failure iterate() allocates (and reports)
    (void)ec;
  }

  od::parser json;
  venues::symbol_lookup symbols;
  failure fail;
  const char* where = "okx";
  std::string* error = nullptr;

  // Events of the message being parsed. A message may carry several items; they are handed to
  // the sink only once the whole message has been read, so a broken message emits nothing.
  // The vectors keep their capacity: after the first messages nothing is allocated.
  std::vector<cats_trade_event_t> trades;
  std::vector<cats_quote_event_t> quotes;
  std::vector<cats_bar_event_t> bars;
  std::vector<book_update> books;
  size_t book_count = 0;
  std::vector<book_level> scratch_bids;  ///< bbo-tbt levels
  std::vector<book_level> scratch_asks;

  uint32_t instrument_id = 0;
  int64_t local_ts_ns = 0;

  parse_result parse(const char* data, size_t size, int64_t local_ts, feed_sink& sink);

  parse_result malformed() {
    *error = venues::describe_failure(where, fail);
    return parse_result::malformed;
  }
  parse_result malformed(const char* field, const char* expected, simdjson::error_code ec,
                         std::string_view got) {
    fail.set(field, expected, ec, got);
    return malformed();
  }
  parse_result json_error(simdjson::error_code ec) { return malformed(nullptr, nullptr, ec, {}); }

  bool read_arg(od::value v, std::string_view& channel, std::string_view& inst_id);
  parse_result read_data(od::value v, channel_kind kind, std::string_view channel,
                         std::string_view action);
  bool trade_item(od::object& obj);
  bool ticker_item(od::object& obj);
  bool bbo_item(od::object& obj);
  bool book_item(od::object& obj, bool snapshot);
  bool candle_item(od::array& arr, const candle_bar& bar);
};

parser::parser(const symbol_map& symbols) : impl_(std::make_unique<impl>(symbols)) {}
parser::~parser() = default;

parse_result parser::parse(const char* data, size_t size, int64_t local_ts_ns, feed_sink& sink) {
  impl_->error = &error_;
  const parse_result r = impl_->parse(data, size, local_ts_ns, sink);
  if (r == parse_result::ok || r == parse_result::control) error_.clear();
  return r;
}

parse_result parser::impl::parse(const char* data, size_t size, int64_t local_ts, feed_sink& sink) {
  fail = failure{};
  where = "okx";
  local_ts_ns = local_ts;
  trades.clear();
  quotes.clear();
  bars.clear();
  book_count = 0;
  if (size == 4 && std::memcmp(data, "pong", 4) == 0) return parse_result::control;

  od::document doc;
  if (const auto ec = venues::iterate(json, doc, data, size)) return json_error(ec);
  od::object root;
  if (const auto ec = doc.get_object().get(root)) {
    fail.set(nullptr, "a JSON object", ec, venues::document_token(doc));
    return malformed();
  }

  // Fields are looked up by name, in the order OKX writes them (see the Binance parser for why
  // not an iteration); "event" replies are told apart by their first key.
  simdjson::error_code ec = simdjson::SUCCESS;
  const std::string_view first = venues::first_key(data, data + size);
  bool is_event = venues::equals(first, "event");
  if (!is_event && !venues::equals(first, "arg")) {
    is_event = venues::has_field(root, "event", ec);
    if (ec) return json_error(ec);
  }
  od::value v;
  if (is_event) {
    // {"event":"subscribe","arg":{..}} or {"event":"error","code":"60012","msg":"..."}
    std::string_view event, code, msg;
    if (!venues::lookup(root, "event", v, fail) || !venues::read_string(v, "event", event, fail)) {
      return malformed();
    }
    if (!venues::equals(event, "error")) {
      if (!venues::finish(doc, root, data, size, fail)) return malformed();
      return parse_result::control;  // (un)subscribe, login, notice
    }
    ec = venues::find(root, "code", v);
    if (ec == simdjson::SUCCESS) {
      const auto type_ec = v.get_string().get(code);
      if (type_ec == simdjson::INCORRECT_TYPE) {
        code = v.raw_json_token();  // a number: keep its text
      } else if (type_ec) {
        return json_error(type_ec);
      }
    } else if (ec != simdjson::NO_SUCH_FIELD) {
      return json_error(ec);
    }
    ec = venues::find(root, "msg", v);
    if (ec == simdjson::SUCCESS) {
      if (!venues::read_string(v, "msg", msg, fail)) return malformed();
    } else if (ec != simdjson::NO_SUCH_FIELD) {
      return json_error(ec);
    }
    std::string text =
        "okx error " + std::string(code.empty() ? "?" : code) + ": " + std::string(msg);
    if (!venues::finish(doc, root, data, size, fail)) return malformed();
    *error = std::move(text);
    return parse_result::venue_error;
  }

  // {"arg":{"channel":"trades","instId":"BTC-USDT"},"action":"update","data":[...]}
  std::string_view channel, inst_id, action;
  ec = venues::find(root, "arg", v);
  if (ec == simdjson::NO_SUCH_FIELD) {
    *error = "okx: a JSON object with neither \"arg\" nor \"event\"";
    return parse_result::unknown;
  }
  if (ec) return json_error(ec);
  if (!read_arg(v, channel, inst_id)) return malformed();
  const channel_kind kind = classify(channel);
  if (kind == channel_kind::other) {
    *error = "okx: unsupported channel \"" + std::string(channel.substr(0, 64)) + "\"";
    return parse_result::unknown;
  }
  if (!symbols.find(inst_id, instrument_id)) {
    *error = "okx " + std::string(channel.substr(0, 64)) + ": instId \"" +
             std::string(inst_id.substr(0, 64)) + "\" is not in the symbol map";
    return parse_result::unknown;
  }
  if (kind == channel_kind::books) {
    ec = venues::find(root, "action", v);
    if (ec == simdjson::SUCCESS) {
      if (!venues::read_plain_string(v, "action", action, fail)) return malformed();
    } else if (ec != simdjson::NO_SUCH_FIELD) {
      return json_error(ec);
    }
  }
  if (!venues::lookup(root, "data", v, fail)) return malformed();
  const parse_result r = read_data(v, kind, channel, action);
  if (r != parse_result::ok) return r;
  if (!venues::finish(doc, root, data, size, fail)) return malformed();

  for (const auto& t : trades) sink.on_trade(t);
  for (const auto& q : quotes) sink.on_quote(q);
  for (const auto& b : bars) sink.on_bar(b);
  for (size_t i = 0; i < book_count; ++i) sink.on_book(std::move(books[i]));
  const bool any = !trades.empty() || !quotes.empty() || !bars.empty() || book_count != 0;
  return any ? parse_result::ok : parse_result::control;
}

bool parser::impl::read_arg(od::value v, std::string_view& channel, std::string_view& inst_id) {
  od::object obj;
  if (!venues::read_object(v, "arg", obj, fail)) return false;
  od::value field;
  return venues::lookup(obj, "channel", field, fail, "arg.channel") &&
         venues::read_plain_string(field, "arg.channel", channel, fail) &&
         venues::lookup(obj, "instId", field, fail, "arg.instId") &&
         venues::read_plain_string(field, "arg.instId", inst_id, fail);
}

parse_result parser::impl::read_data(od::value v, channel_kind kind, std::string_view channel,
                                     std::string_view action) {
  static constexpr const char* expected_items = "an array of objects";
  candle_bar bar;
  bool snapshot = false;
  switch (kind) {
    case channel_kind::trades:
      where = "okx trades";
      break;
    case channel_kind::tickers:
      where = "okx tickers";
      break;
    case channel_kind::bbo:
      where = "okx bbo-tbt";
      break;
    case channel_kind::books:
      where = "okx books";
      if (action == "snapshot" || (action.empty() && channel == "books5")) {
        snapshot = true;
      } else if (action != "update") {
        if (action.empty()) return malformed("action", nullptr, simdjson::NO_SUCH_FIELD, {});
        return malformed("action", "\"snapshot\" or \"update\"", simdjson::INCORRECT_TYPE, action);
      }
      break;
    case channel_kind::candle:
      where = "okx candle";
      if (!parse_candle_channel(channel, bar)) {
        *error = "okx: unsupported candle channel \"" + std::string(channel.substr(0, 64)) + "\"";
        return parse_result::unknown;
      }
      break;
    case channel_kind::other:
      return parse_result::unknown;
  }
  od::array items;
  if (!venues::read_array(v, "data", expected_items, items, fail)) return malformed();
  int64_t index = 0;
  for (auto item : items) {
    od::value iv;
    if (const auto ec = item.get(iv)) return json_error(ec);
    bool good;
    if (kind == channel_kind::candle) {
      od::array arr;
      good = venues::read_array(iv, "data", "an array of candle arrays", arr, fail) &&
             candle_item(arr, bar);
    } else {
      od::object obj;
      good = venues::read_object(iv, "data", obj, fail);
      if (good) {
        switch (kind) {
          case channel_kind::trades:
            good = trade_item(obj);
            break;
          case channel_kind::tickers:
            good = ticker_item(obj);
            break;
          case channel_kind::bbo:
            good = bbo_item(obj);
            break;
          default:
            good = book_item(obj, snapshot);
            break;
        }
      }
    }
    if (!good) {
      if (fail.index < 0 && fail.code != simdjson::NO_SUCH_FIELD) fail.index = index;
      return malformed();
    }
    ++index;
  }
  return parse_result::ok;
}

// {"instId":"BTC-USDT","tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":".."}
bool parser::impl::trade_item(od::object& obj) {
  cats_trade_event_t t{};
  od::value v;
  std::string_view side;
  if (!venues::lookup(obj, "tradeId", v, fail) ||
      !venues::read_uint_string(v, "tradeId", t.trade_id, fail) ||
      !venues::lookup(obj, "px", v, fail) || !venues::read_decimal(v, "px", t.price, fail) ||
      !venues::lookup(obj, "sz", v, fail) || !venues::read_decimal(v, "sz", t.quantity, fail) ||
      !venues::lookup(obj, "side", v, fail) || !venues::read_plain_string(v, "side", side, fail)) {
    return false;
  }
  if (venues::equals(side, "buy")) {
    t.aggressor_side = CATS_SIDE_BUY;
  } else if (venues::equals(side, "sell")) {
    t.aggressor_side = CATS_SIDE_SELL;
  } else {
    return fail.set("side", side_expected, simdjson::INCORRECT_TYPE, v.raw_json_token());
  }
  if (!venues::lookup(obj, "ts", v, fail) ||
      !venues::read_ms_string(v, "ts", t.header.exchange_ts_ns, fail)) {
    return false;
  }
  t.header =
      event_header<cats_trade_event_t>(CATS_EVENT_TRADE, instrument_id, t.header.exchange_ts_ns, 0);
  t.header.local_ts_ns = local_ts_ns;
  trades.push_back(t);
  return true;
}

// {"instType":"SPOT","instId":..,"last":..,"lastSz":..,"askPx":..,"askSz":..,"bidPx":..,
//  "bidSz":..,"open24h":..,...,"ts":".."}
bool parser::impl::ticker_item(od::object& obj) {
  cats_quote_event_t q{};
  od::value v;
  if (!venues::lookup(obj, "askPx", v, fail) ||
      !venues::read_decimal(v, "askPx", q.ask_price, fail) ||
      !venues::lookup(obj, "askSz", v, fail) ||
      !venues::read_decimal(v, "askSz", q.ask_quantity, fail) ||
      !venues::lookup(obj, "bidPx", v, fail) ||
      !venues::read_decimal(v, "bidPx", q.bid_price, fail) ||
      !venues::lookup(obj, "bidSz", v, fail) ||
      !venues::read_decimal(v, "bidSz", q.bid_quantity, fail) ||
      !venues::lookup(obj, "ts", v, fail) ||
      !venues::read_ms_string(v, "ts", q.header.exchange_ts_ns, fail)) {
    return false;
  }
  q.header =
      event_header<cats_quote_event_t>(CATS_EVENT_QUOTE, instrument_id, q.header.exchange_ts_ns, 0);
  q.header.local_ts_ns = local_ts_ns;
  quotes.push_back(q);
  return true;
}

// Items with optional fields are walked once rather than searched: looking up an absent field
// would scan past the whole book.
bool parser::impl::bbo_item(od::object& obj) {
  cats_quote_event_t q{};
  uint32_t seen = 0;
  scratch_bids.clear();
  scratch_asks.clear();
  field_walker w(obj);
  while (w.next()) {
    bool good = true;
    if (w.key_is("bids")) {
      good = venues::read_levels(w.value(), "bids", scratch_bids, fail);
      seen |= 1;
    } else if (w.key_is("asks")) {
      good = venues::read_levels(w.value(), "asks", scratch_asks, fail);
      seen |= 2;
    } else if (w.key_is("ts")) {
      good = venues::read_ms_string(w.value(), "ts", q.header.exchange_ts_ns, fail);
      seen |= 4;
    }
    if (!good) return false;
  }
  if (w.error()) return fail.set(nullptr, nullptr, w.error(), {});
  static constexpr const char* names[] = {"bids", "asks", "ts"};
  for (int bit = 0; bit < 3; ++bit) {
    if ((seen & (1u << bit)) == 0) return fail.missing(names[bit]);
  }
  // An empty side (a one-sided book) leaves price and quantity at 0.
  if (!scratch_bids.empty()) {
    q.bid_price = scratch_bids.front().price;
    q.bid_quantity = scratch_bids.front().quantity;
  }
  if (!scratch_asks.empty()) {
    q.ask_price = scratch_asks.front().price;
    q.ask_quantity = scratch_asks.front().quantity;
  }
  q.header =
      event_header<cats_quote_event_t>(CATS_EVENT_QUOTE, instrument_id, q.header.exchange_ts_ns, 0);
  q.header.local_ts_ns = local_ts_ns;
  quotes.push_back(q);
  return true;
}

bool parser::impl::book_item(od::object& obj, bool snapshot) {
  if (books.size() <= book_count) books.emplace_back();
  book_update& b = books[book_count];
  b.bids.clear();
  b.asks.clear();
  b.instrument_id = instrument_id;
  b.local_ts_ns = local_ts_ns;
  b.snapshot = snapshot;
  b.first_seq = 0;
  b.last_seq = 0;
  b.prev_seq = -1;
  b.has_checksum = false;
  b.checksum = 0;
  uint32_t seen = 0;
  field_walker w(obj);
  while (w.next()) {
    bool good = true;
    if (w.key_is("asks")) {
      good = venues::read_levels(w.value(), "asks", b.asks, fail);
      seen |= 1;
    } else if (w.key_is("bids")) {
      good = venues::read_levels(w.value(), "bids", b.bids, fail);
      seen |= 2;
    } else if (w.key_is("ts")) {
      good = venues::read_ms_string(w.value(), "ts", b.exchange_ts_ns, fail);
      seen |= 4;
    } else if (w.key_is("checksum")) {
      int64_t c = 0;
      od::value v = w.value();
      good = venues::read_int(v, "checksum", c, fail);
      if (good && (c < INT32_MIN || c > INT32_MAX)) {
        good = fail.bad_number("checksum", "a 32-bit signed integer", parse_error::out_of_range,
                               v.raw_json_token());
      }
      b.has_checksum = true;
      b.checksum = static_cast<int32_t>(c);
    } else if (w.key_is("seqId")) {
      good = venues::read_uint(w.value(), "seqId", b.last_seq, fail);
    } else if (w.key_is("prevSeqId")) {
      od::value v = w.value();
      good = venues::read_int(v, "prevSeqId", b.prev_seq, fail);
      if (good && b.prev_seq < -1) {
        good = fail.bad_number("prevSeqId", "a sequence id or -1", parse_error::out_of_range,
                               v.raw_json_token());
      }
    }
    if (!good) return false;
  }
  if (w.error()) return fail.set(nullptr, nullptr, w.error(), {});
  static constexpr const char* names[] = {"asks", "bids", "ts"};
  for (int bit = 0; bit < 3; ++bit) {
    if ((seen & (1u << bit)) == 0) return fail.missing(names[bit]);
  }
  ++book_count;
  return true;
}

// [ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]. Older pushes lack volCcyQuote
// ([ts, o, h, l, c, vol, volCcy, confirm]) or also confirm (7 elements: never known closed).
bool parser::impl::candle_item(od::array& arr, const candle_bar& bar) {
  static constexpr const char* names[] = {"ts",  "o",      "h",           "l",      "c",
                                          "vol", "volCcy", "volCcyQuote", "confirm"};
  const char* raw[9] = {};
  std::string_view tokens[9];
  size_t n = 0;
  for (auto element : arr) {
    od::value v;
    if (const auto ec = element.get(v)) return fail.set("data", nullptr, ec, {});
    if (n < 9) {
      od::raw_json_string s;
      if (const auto ec = v.get_raw_json_string().get(s)) {
        return fail.set(names[n], "a string", ec, v.raw_json_token());
      }
      raw[n] = s.raw();
      tokens[n] = venues::quoted_text(s.raw());
    }
    ++n;
  }
  if (n < 7) {
    return fail.set("data", "a candle of at least 7 strings", simdjson::INCORRECT_TYPE,
                    "a shorter array");
  }
  if (n == 7) return true;  // no confirm flag: cannot tell a closed candle, so nothing to emit
  const size_t confirm_at = n >= 9 ? 8 : 7;
  const size_t quote_at = n >= 9 ? 7 : 6;
  const std::string_view confirm = tokens[confirm_at];
  if (confirm != "\"1\"" && confirm != "\"0\"") {
    return fail.set("confirm", "\"0\" or \"1\"", simdjson::INCORRECT_TYPE, confirm);
  }
  cats_bar_event_t b{};
  uint64_t ms = 0;
  parse_error pe = venues::parse_digits(raw[0], ms);
  if (pe == parse_error::ok && ms > static_cast<uint64_t>(venues::max_ms)) {
    pe = parse_error::out_of_range;
  }
  if (pe != parse_error::ok) {
    return fail.bad_number("ts", "a time in ms since the epoch as a string", pe, tokens[0]);
  }
  int64_t* const targets[] = {&b.open, &b.high, &b.low, &b.close, &b.volume};
  for (size_t i = 1; i <= 5; ++i) {
    pe = venues::parse_decimal(raw[i], *targets[i - 1]);
    if (pe != parse_error::ok) return fail.bad_number(names[i], "a decimal string", pe, tokens[i]);
  }
  pe = venues::parse_decimal(raw[quote_at], b.quote_volume);
  if (pe != parse_error::ok) {
    return fail.bad_number(names[quote_at], "a decimal string", pe, tokens[quote_at]);
  }
  if (confirm != "\"1\"") return true;  // still forming
  b.open_time_ns = static_cast<int64_t>(ms) * venues::ns_per_ms;
  b.interval_ns = candle_length_ns(bar, b.open_time_ns);
  if (b.interval_ns <= 0 || b.open_time_ns > INT64_MAX - b.interval_ns) {
    return fail.bad_number("ts", "a candle that ends before 2262", parse_error::out_of_range,
                           tokens[0]);
  }
  b.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, instrument_id,
                                            b.open_time_ns + b.interval_ns, 0);
  b.header.local_ts_ns = local_ts_ns;
  bars.push_back(b);
  return true;
}

}  // namespace cats::okx
