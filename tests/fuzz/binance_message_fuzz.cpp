// Fuzz target: any bytes fed to the Binance market-data parser, as stream messages or as REST
// depth snapshots, must give events that keep the parser's promises or a result that says why
// not; never a crash, a hang or an out-of-bounds read (run it under ASan). The depth messages it
// accepts go through binance_book_sync into order books, as the live feed does: the synchroniser
// may pass on only a snapshot and the updates that continue it, and the books stay sorted.
//
// The first byte chooses the entry point (by its value modulo 3): '0' parses the rest as one
// stream message, '1' as one REST depth snapshot (of BTCUSDT), '2' as a session, one message a
// line: a line that starts with '{' (or an empty one) is a stream message, any other is a tag
// byte and a REST snapshot, of ETHUSDT after 'E' and of BTCUSDT otherwise. Driven like
// kline_csv_fuzz.cpp: libFuzzer with clang, the seeded mutation driver in the test suite.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"
#include "cats/venues/binance/book_sync.hpp"
#include "cats/venues/binance/parser.hpp"
#include "cats/venues/feed.hpp"
#include "fuzz_common.hpp"

namespace cats {
namespace {

constexpr uint32_t btc_id = 1;
constexpr uint32_t eth_id = 2;
/// The latest time a venue millisecond timestamp can give in ns (venues::max_ms, json_util.hpp).
constexpr int64_t max_ts_ns = INT64_MAX / ns_per_ms * ns_per_ms;
using fuzz::check_book;
using fuzz::check_levels;
using fuzz::max_message_levels;
using fuzz::padded_message;
using fuzz::require;

/// The header every event of the parser has (parser.cpp, the end of parse()).
template <class Event>
void check_header(const Event& e, cats_event_type type, int64_t local) {
  const cats_event_t& h = e.header;
  require(h.struct_size == sizeof(Event) && h.type == type && h.flags == 0 &&
          (h.instrument_id == btc_id || h.instrument_id == eth_id) && h.local_ts_ns == local &&
          h.exchange_ts_ns >= 0 && h.exchange_ts_ns <= max_ts_ns);
}

/// One instrument's book as the live feed keeps it (venues/binance/feed.cpp): the synchroniser,
/// and the order book that what it passes on builds.
class synced_book {
 public:
  explicit synced_book(book_sync_stats& stats)
      : sync_([this](book_update&& u, uint32_t flags) { on_verified(u, flags); }, [] {},
              [](const std::string&) {}, stats, /*max_buffer=*/16) {}
  synced_book(const synced_book&) = delete;
  synced_book& operator=(const synced_book&) = delete;

  binance_book_sync& sync() { return sync_; }

 private:
  // binance/book_sync.hpp: a snapshot, then only updates that continue it; the first one
  // straddles lastUpdateId + 1, each later one starts at the previous u + 1.
  void on_verified(const book_update& u, uint32_t flags) {
    check_levels(u.bids);
    check_levels(u.asks);
    if ((flags & CATS_BOOK_FLAG_SNAPSHOT) != 0) {
      require(u.snapshot);
      book_.assign(u.bids, u.asks);
      have_snapshot_ = true;
      after_snapshot_ = true;
    } else {
      require(flags == 0 && have_snapshot_ && u.last_seq > last_ &&
              (after_snapshot_ ? u.first_seq <= last_ + 1 : u.first_seq == last_ + 1));
      book_.apply(u.bids, u.asks);
      after_snapshot_ = false;
    }
    last_ = u.last_seq;
    check_book(book_);
  }

  binance_book_sync sync_;
  order_book book_;
  uint64_t last_ = 0;
  bool have_snapshot_ = false;
  bool after_snapshot_ = false;
};

/// Parses what the fuzzer gives, checks every event against the parser's promises and hands the
/// depth messages to the books.
class harness final : public feed_sink {
 public:
  void run(const uint8_t* data, size_t size) {
    if (size == 0) return;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
      case 0:
        stream_message(rest);
        return;
      case 1:
        rest_snapshot(rest, btc_id);
        return;
      default:
        break;
    }
    for (size_t start = 0; start < rest.size();) {
      size_t end = rest.find('\n', start);
      if (end == std::string_view::npos) end = rest.size();
      const std::string_view line = rest.substr(start, end - start);
      start = end + 1;
      local_ += 100 * ns_per_ms;
      if (line.empty() || line[0] == '{') {
        stream_message(line);
      } else {
        rest_snapshot(line.substr(1), line[0] == 'E' ? eth_id : btc_id);
      }
    }
  }

  void on_trade(const cats_trade_event_t& e) override {
    ++events_;
    // trade_message(): decimals without a sign, "T" in ms within range, the taker's side from "m".
    check_header(e, CATS_EVENT_TRADE, local_);
    require(e.price >= 0 && e.quantity >= 0 &&
            (e.aggressor_side == CATS_SIDE_BUY || e.aggressor_side == CATS_SIDE_SELL));
  }
  void on_quote(const cats_quote_event_t& e) override {
    ++events_;
    // bookTicker carries no venue time: both times are the receive time.
    check_header(e, CATS_EVENT_QUOTE, local_);
    require(e.header.exchange_ts_ns == local_ && e.bid_price >= 0 && e.bid_quantity >= 0 &&
            e.ask_price >= 0 && e.ask_quantity >= 0);
  }
  void on_bar(const cats_bar_event_t& e) override {
    ++events_;
    // kline(): a closed candle from t to T + 1 ms (T >= t), stamped at its end; n >= 0.
    check_header(e, CATS_EVENT_BAR, local_);
    require(e.open_time_ns >= 0 && e.interval_ns >= ns_per_ms &&
            e.interval_ns <= INT64_MAX - e.open_time_ns &&
            e.header.exchange_ts_ns == e.open_time_ns + e.interval_ns && e.trade_count >= 0 &&
            e.open >= 0 && e.high >= 0 && e.low >= 0 && e.close >= 0 && e.volume >= 0 &&
            e.quote_volume >= 0 && e.taker_buy_volume >= 0 && e.taker_buy_quote_volume >= 0);
  }
  void on_book(book_update&& u) override {
    ++events_;
    // depth_update(): U <= u, no OKX fields. Partial depth (depth_snapshot() through parse()):
    // a snapshot with no first id, stamped with the receive time.
    require(
        (u.instrument_id == btc_id || u.instrument_id == eth_id) && u.local_ts_ns == local_ &&
        u.exchange_ts_ns >= 0 && u.exchange_ts_ns <= max_ts_ns && u.prev_seq == -1 &&
        !u.has_checksum &&
        (u.snapshot ? u.first_seq == 0 && u.exchange_ts_ns == local_ : u.first_seq <= u.last_seq));
    check_levels(u.bids);
    check_levels(u.asks);
    book_of(u.instrument_id).sync().on_update(std::move(u));
  }

 private:
  void stream_message(std::string_view text) {
    events_ = 0;
    const parse_result r = parser_.parse(message_.set(text), text.size(), local_, *this);
    // ok and control clear the error; every other result says why (parse(), malformed(),
    // unknown(), venue_error() in parser.cpp).
    require((r == parse_result::ok || r == parse_result::control) == parser_.last_error().empty());
    // One message is at most one event, handed over only once all of it has been read.
    require(events_ == (r == parse_result::ok ? 1 : 0));
  }

  void rest_snapshot(std::string_view text, uint32_t id) {
    book_update snap;
    const parse_result r =
        parser_.parse_depth_snapshot(message_.set(text), text.size(), id, local_, snap);
    require((r == parse_result::ok) == parser_.last_error().empty());
    if (r != parse_result::ok) return;
    // parse_depth_snapshot(): the instrument asked for, the receive time for both times,
    // last_seq = lastUpdateId and nothing else of a diff (depth_snapshot()).
    require(snap.snapshot && snap.instrument_id == id && snap.exchange_ts_ns == local_ &&
            snap.local_ts_ns == local_ && snap.first_seq == 0 && snap.prev_seq == -1 &&
            !snap.has_checksum);
    check_levels(snap.bids);
    check_levels(snap.asks);
    book_of(id).sync().on_snapshot(std::move(snap));
  }

  synced_book& book_of(uint32_t id) { return id == eth_id ? eth_ : btc_; }

  const symbol_map symbols_{{"BTCUSDT", btc_id}, {"ETHUSDT", eth_id}};
  binance::parser parser_{symbols_};
  book_sync_stats stats_;
  synced_book btc_{stats_};
  synced_book eth_{stats_};
  padded_message message_;
  int64_t local_ = 1'723'161'255'300'000'000;
  int events_ = 0;
};

// ---- seeds --------------------------------------------------------------------------------------

struct market {
  const char* symbol;
  const char* stream;
  int64_t mid;   ///< fixed point
  int64_t tick;  ///< price step
  int64_t lot;   ///< quantity step
};

constexpr market markets[] = {{"BTCUSDT", "btcusdt", 6'183'763'000'000, 1'000'000, 1'000},
                              {"ETHUSDT", "ethusdt", 265'012'000'000, 1'000'000, 10'000}};

using fuzz::spread;

/// Real-looking Binance messages (the formats of ../shared/data/messages/binance, values made up).
class seed_writer {
 public:
  seed_writer(uint64_t& rng, uint64_t (*next)(uint64_t&)) : rng_(rng), next_(next) {}

  std::string file() {
    switch (pick(8)) {
      case 0:
      case 1: {
        const std::string m = any_message();
        return "0" + (pick(3) == 0 ? spread(m) : m);
      }
      case 2: {
        const std::string s = pick(8) == 0 ? rest_error() : rest_snapshot(markets[0], update_id_);
        return "1" + (pick(3) == 0 ? spread(s) : s);
      }
      default:
        return session();
    }
  }

 private:
  uint64_t pick(uint64_t n) { return next_(rng_) % n; }
  int64_t ipick(uint64_t n) { return static_cast<int64_t>(pick(n)); }
  const market& some_market() { return markets[pick(4) == 0 ? 1 : 0]; }

  static std::string dec(int64_t v) { return '"' + fixed_to_string(v, 8) + '"'; }
  static std::string num(uint64_t v) { return std::to_string(v); }
  int64_t quantity(const market& m) { return m.lot * (1 + ipick(300'000)); }
  int64_t near_price(const market& m) { return m.mid + m.tick * (ipick(41) - 20); }

  /// Combined stream ({"stream":..,"data":..}) mostly, now and then the raw form.
  std::string wrap(const market& m, const char* stream, const std::string& data) {
    if (pick(6) == 0) return data;
    return std::string("{\"stream\":\"") + m.stream + "@" + stream + "\",\"data\":" + data + "}";
  }

  /// [["price","quantity"],...], best first; some quantities are 0 in a diff (a removal).
  std::string levels(const market& m, bool bids, int count, bool diff) {
    std::string s = "[";
    int64_t offset = bids ? 0 : 1;
    for (int i = 0; i < count; ++i) {
      const int64_t price = bids ? m.mid - offset * m.tick : m.mid + offset * m.tick;
      const int64_t qty = diff && pick(3) == 0 ? 0 : quantity(m);
      if (i > 0) s += ',';
      s += "[" + dec(price) + "," + dec(qty) + "]";
      offset += 1 + ipick(6);
    }
    return s + "]";
  }

  std::string trade(const market& m, bool aggregate) {
    ms_ += ipick(40);
    const int64_t t = ms_;
    const std::string maker = pick(2) == 0 ? "true" : "false";
    std::string d = std::string("{\"e\":\"") + (aggregate ? "aggTrade" : "trade") +
                    "\",\"E\":" + num(static_cast<uint64_t>(t + 1)) + ",\"s\":\"" + m.symbol +
                    "\",";
    const int64_t price = near_price(m);
    const int64_t qty = quantity(m);
    if (aggregate) {
      const uint64_t first = trade_id_;
      trade_id_ += 1 + pick(4);
      d += "\"a\":" + num(agg_id_++) + ",\"p\":" + dec(price) + ",\"q\":" + dec(qty) +
           ",\"f\":" + num(first) + ",\"l\":" + num(trade_id_ - 1) +
           ",\"T\":" + num(static_cast<uint64_t>(t)) + ",\"m\":" + maker + ",\"M\":true}";
    } else {
      d += "\"t\":" + num(trade_id_++) + ",\"p\":" + dec(price) + ",\"q\":" + dec(qty) +
           ",\"T\":" + num(static_cast<uint64_t>(t)) + ",\"m\":" + maker + ",\"M\":true}";
    }
    return wrap(m, aggregate ? "aggTrade" : "trade", d);
  }

  std::string book_ticker(const market& m) {
    const int64_t bid = near_price(m);
    const std::string d = "{\"u\":" + num(update_id_) + ",\"s\":\"" + m.symbol +
                          "\",\"b\":" + dec(bid) + ",\"B\":" + dec(quantity(m)) +
                          ",\"a\":" + dec(bid + m.tick) + ",\"A\":" + dec(quantity(m)) + "}";
    return wrap(m, "bookTicker", d);
  }

  std::string kline(const market& m) {
    const bool five = pick(3) == 0;
    const int64_t length = five ? 300'000 : 60'000;
    ms_ += ipick(40);
    const int64_t open_ms = ms_ / length * length;
    const int64_t o = near_price(m);
    const int64_t c = near_price(m);
    const int64_t h = (o > c ? o : c) + m.tick * ipick(5);
    const int64_t l = (o < c ? o : c) - m.tick * ipick(5);
    const int64_t v = quantity(m) * 100;
    const int64_t taker = v / 2;
    const std::string d =
        std::string("{\"e\":\"kline\",\"E\":") + num(static_cast<uint64_t>(ms_)) + ",\"s\":\"" +
        m.symbol + "\",\"k\":{\"t\":" + num(static_cast<uint64_t>(open_ms)) +
        ",\"T\":" + num(static_cast<uint64_t>(open_ms + length - 1)) + ",\"s\":\"" + m.symbol +
        "\",\"i\":\"" + (five ? "5m" : "1m") + "\",\"f\":" + num(trade_id_) +
        ",\"L\":" + num(trade_id_ + 30) + ",\"o\":" + dec(o) + ",\"c\":" + dec(c) +
        ",\"h\":" + dec(h) + ",\"l\":" + dec(l) + ",\"v\":" + dec(v) +
        ",\"n\":" + num(1 + pick(500)) + ",\"x\":" + (pick(3) == 0 ? "false" : "true") +
        ",\"q\":" + dec(fixed_mul(v, o, rounding::down)) + ",\"V\":" + dec(taker) +
        ",\"Q\":" + dec(fixed_mul(taker, o, rounding::down)) + ",\"B\":\"0\"}}";
    return wrap(m, five ? "kline_5m" : "kline_1m", d);
  }

  std::string depth_update(const market& m, uint64_t first, uint64_t last) {
    ms_ += 100;
    const int bids = static_cast<int>(pick(7));
    const int asks = static_cast<int>(pick(7));
    const std::string d = "{\"e\":\"depthUpdate\",\"E\":" + num(static_cast<uint64_t>(ms_)) +
                          ",\"s\":\"" + m.symbol + "\",\"U\":" + num(first) +
                          ",\"u\":" + num(last) + ",\"b\":" + levels(m, true, bids, true) +
                          ",\"a\":" + levels(m, false, asks, true) + "}";
    return wrap(m, "depth@100ms", d);
  }

  /// The REST /api/v3/depth response (also the data of a partial depth stream).
  std::string rest_snapshot(const market& m, uint64_t last_update_id) {
    const int count = 5 + static_cast<int>(pick(30));
    return "{\"lastUpdateId\":" + num(last_update_id) +
           ",\"bids\":" + levels(m, true, count, false) +
           ",\"asks\":" + levels(m, false, count, false) + "}";
  }

  std::string rest_error() {
    return pick(2) == 0 ? "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}"
                        : "{\"code\":-1003,\"msg\":\"Too many requests; current limit is 6000 "
                          "request weight per 1 MINUTE.\"}";
  }

  /// Something other than the book being synchronised.
  std::string other_message() {
    const market& m = some_market();
    switch (pick(12)) {
      case 0:
      case 1:
      case 2:
        return trade(m, false);
      case 3:
      case 4:
        return trade(m, true);
      case 5:
      case 6:
      case 7:
        return book_ticker(m);
      case 8:
      case 9:
        return kline(m);
      case 10:
        return "{\"result\":null,\"id\":" + num(1 + pick(9)) + "}";
      default:
        return pick(2) == 0 ? "{\"error\":{\"code\":2,\"msg\":\"Invalid request: unknown "
                              "variant `SUBSCRIBE`\"},\"id\":3}"
                            : wrap(m, "depth20@100ms", rest_snapshot(m, update_id_));
    }
  }

  std::string any_message() {
    if (pick(4) == 0) {
      const market& m = some_market();
      const uint64_t first = update_id_ + 1;
      update_id_ += 1 + pick(30);
      return depth_update(m, first, update_id_);
    }
    return other_message();
  }

  /// A stream whose depth updates are buffered until the REST snapshot comes, then continue it;
  /// now and then a gap, which the next snapshot repairs.
  std::string session() {
    const bool eth = pick(4) == 0;
    const market& m = markets[eth ? 1 : 0];
    const std::string tag = eth ? "E" : "S";
    std::string out = "2";
    const auto line = [&out](const std::string& s) { out += s + "\n"; };
    const auto update = [&] {
      const uint64_t first = update_id_ + 1;
      update_id_ += 1 + pick(25);
      line(depth_update(m, first, update_id_));
    };
    const auto others = [&] {
      for (uint64_t k = pick(3); k > 0; --k) line(other_message());
    };
    const uint64_t start = update_id_ + 1;
    for (uint64_t k = 1 + pick(4); k > 0; --k) {
      update();
      others();
    }
    // lastUpdateId between the first buffered update's U - 1 and the last one's u: the buffered
    // stream straddles it.
    const uint64_t snapshot_id = start - 1 + pick(update_id_ - start + 2);
    line(pick(10) == 0 ? tag + rest_error() : tag + rest_snapshot(m, snapshot_id));
    for (uint64_t k = 2 + pick(10); k > 0; --k) {
      if (pick(12) == 0) {
        update_id_ += 2 + pick(50);  // a gap: the synchroniser asks for a new snapshot
        update();
        line(tag + rest_snapshot(m, update_id_));
      }
      update();
      others();
    }
    return out;
  }

  uint64_t& rng_;
  uint64_t (*next_)(uint64_t&);
  int64_t ms_ = 1'723'161'255'208;
  uint64_t update_id_ = 50'093'239'189;
  uint64_t trade_id_ = 3'735'683'259;
  uint64_t agg_id_ = 15'683'430;
};

}  // namespace
}  // namespace cats

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cats::harness h;
  h.run(data, size);
  return 0;
}

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp).
extern const char* const fuzz_target_name = "binance_message_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  return cats::seed_writer(rng, next).file();
}
