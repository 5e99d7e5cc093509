// Fuzz target: any bytes fed to the OKX market-data parser must give events that keep the
// parser's promises or a result that says why not; never a crash, a hang or an out-of-bounds read
// (run it under ASan). The books messages it accepts go through okx_book_sync, as the live feed
// does: what the synchroniser passes on must rebuild the book it verified, match the checksum it
// carries and continue the seqId chain, and the book stays sorted.
//
// The first byte chooses the framing (by its value modulo 2): '0' parses the rest as one message,
// '1' as a session, one message a line. Driven like kline_csv_fuzz.cpp: libFuzzer with clang, the
// seeded mutation driver in the test suite.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"
#include "cats/venues/feed.hpp"
#include "cats/venues/okx/book_sync.hpp"
#include "cats/venues/okx/parser.hpp"
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

/// The header every event of the parser has (event_header() in trade_item(), ticker_item(),
/// bbo_item(), candle_item()).
template <class Event>
void check_header(const Event& e, cats_event_type type, int64_t local) {
  const cats_event_t& h = e.header;
  require(h.struct_size == sizeof(Event) && h.type == type && h.flags == 0 &&
          (h.instrument_id == btc_id || h.instrument_id == eth_id) && h.local_ts_ns == local &&
          h.exchange_ts_ns >= 0);
}

/// One instrument's book as the live feed keeps it (venues/okx/feed.cpp): the synchroniser, and
/// a copy of the book built only from what it passes on.
class synced_book {
 public:
  explicit synced_book(book_sync_stats& stats)
      : sync_([this](book_update&& u, uint32_t flags) { on_verified(u, flags); }, [] {},
              [](const std::string&) {}, stats) {}
  synced_book(const synced_book&) = delete;
  synced_book& operator=(const synced_book&) = delete;

  okx_book_sync& sync() { return sync_; }

 private:
  // okx/book_sync.hpp: only verified messages are passed on, a snapshot flagged as one; an
  // update's prevSeqId, when it has one, is the last seqId; a checksum matches the book after it.
  void on_verified(const book_update& u, uint32_t flags) {
    check_levels(u.bids);
    check_levels(u.asks);
    const bool snapshot = (flags & CATS_BOOK_FLAG_SNAPSHOT) != 0;
    require(snapshot == u.snapshot);
    if (snapshot) {
      book_.assign(u.bids, u.asks);
      last_seq_ = u.last_seq != 0 ? static_cast<int64_t>(u.last_seq) : -1;
    } else {
      require(flags == 0 && (u.prev_seq < 0 || last_seq_ < 0 || u.prev_seq == last_seq_));
      book_.apply(u.bids, u.asks);
      if (u.prev_seq >= 0) last_seq_ = static_cast<int64_t>(u.last_seq);
    }
    require(book_ == sync_.book());
    if (u.has_checksum) require(okx_checksum(book_) == u.checksum);
    check_book(book_);
  }

  okx_book_sync sync_;
  order_book book_;
  int64_t last_seq_ = -1;
};

/// Parses what the fuzzer gives, checks every event against the parser's promises and hands the
/// books messages to the synchronisers.
class harness final : public feed_sink {
 public:
  void run(const uint8_t* data, size_t size) {
    if (size == 0) return;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] % 2 == 0) {
      message(rest);
      // Any text: an interval, or 0 for what is not a candle channel.
      require(okx::candle_interval_ns(rest) >= 0);
      return;
    }
    for (size_t start = 0; start < rest.size();) {
      size_t end = rest.find('\n', start);
      if (end == std::string_view::npos) end = rest.size();
      const std::string_view line = rest.substr(start, end - start);
      start = end + 1;
      local_ += 100 * ns_per_ms;
      message(line);
    }
  }

  void on_trade(const cats_trade_event_t& e) override {
    ++events_;
    // trade_item(): decimals without a sign, "ts" in ms within range, "buy" or "sell".
    check_header(e, CATS_EVENT_TRADE, local_);
    require(e.header.exchange_ts_ns <= max_ts_ns && e.price >= 0 && e.quantity >= 0 &&
            (e.aggressor_side == CATS_SIDE_BUY || e.aggressor_side == CATS_SIDE_SELL));
  }
  void on_quote(const cats_quote_event_t& e) override {
    ++events_;
    // ticker_item(), bbo_item() (0 for an empty side).
    check_header(e, CATS_EVENT_QUOTE, local_);
    require(e.header.exchange_ts_ns <= max_ts_ns && e.bid_price >= 0 && e.bid_quantity >= 0 &&
            e.ask_price >= 0 && e.ask_quantity >= 0);
  }
  void on_bar(const cats_bar_event_t& e) override {
    ++events_;
    // candle_item(): a confirmed candle with a positive length that ends before 2262, stamped
    // at its end.
    check_header(e, CATS_EVENT_BAR, local_);
    require(e.open_time_ns >= 0 && e.open_time_ns <= max_ts_ns && e.interval_ns > 0 &&
            e.interval_ns <= INT64_MAX - e.open_time_ns &&
            e.header.exchange_ts_ns == e.open_time_ns + e.interval_ns && e.open >= 0 &&
            e.high >= 0 && e.low >= 0 && e.close >= 0 && e.volume >= 0 && e.quote_volume >= 0);
  }
  void on_book(book_update&& u) override {
    ++events_;
    // book_item(): the instrument of "arg", the receive time, "ts" within range, no first id,
    // a prevSeqId of -1 or more.
    require((u.instrument_id == btc_id || u.instrument_id == eth_id) && u.local_ts_ns == local_ &&
            u.exchange_ts_ns >= 0 && u.exchange_ts_ns <= max_ts_ns && u.first_seq == 0 &&
            u.prev_seq >= -1);
    check_levels(u.bids);
    check_levels(u.asks);
    (u.instrument_id == eth_id ? eth_ : btc_).sync().on_message(std::move(u));
  }

 private:
  void message(std::string_view text) {
    events_ = 0;
    const parse_result r = parser_.parse(message_.set(text), text.size(), local_, *this);
    // ok and control clear the error; every other result says why (parse() in parser.cpp).
    require((r == parse_result::ok || r == parse_result::control) == parser_.last_error().empty());
    // Events are handed over only once the whole message has been read, and ok means some were.
    require((r == parse_result::ok) == (events_ > 0));
  }

  const symbol_map symbols_{{"BTC-USDT", btc_id}, {"ETH-USDT", eth_id}};
  okx::parser parser_{symbols_};
  book_sync_stats stats_;
  synced_book btc_{stats_};
  synced_book eth_{stats_};
  padded_message message_;
  int64_t local_ = 1'652'459'225'300'000'000;
  int events_ = 0;
};

// ---- seeds --------------------------------------------------------------------------------------

struct market {
  const char* inst_id;
  int64_t mid;   ///< fixed point
  int64_t tick;  ///< price step
  int64_t lot;   ///< quantity step
};

constexpr market markets[] = {{"BTC-USDT", 3'024'350'000'000, 10'000'000, 1},
                              {"ETH-USDT", 204'567'000'000, 1'000'000, 100}};

using fuzz::spread;

/// Real-looking OKX v5 messages (the formats of ../shared/data/messages/okx, values made up); the
/// books messages carry the checksum of the book they build.
class seed_writer {
 public:
  seed_writer(uint64_t& rng, uint64_t (*next)(uint64_t&)) : rng_(rng), next_(next) {}

  std::string file() {
    if (pick(4) == 0) {
      const std::string m = any_message();
      return "0" + (pick(3) == 0 ? spread(m) : m);
    }
    return session();
  }

 private:
  uint64_t pick(uint64_t n) { return next_(rng_) % n; }
  int64_t ipick(uint64_t n) { return static_cast<int64_t>(pick(n)); }
  const market& some_market() { return markets[pick(4) == 0 ? 1 : 0]; }

  /// OKX writes the shortest decimal ("30243.5", "0.08").
  static std::string dec(int64_t v) { return '"' + fixed_to_string(v) + '"'; }
  static std::string num(int64_t v) { return std::to_string(v); }
  std::string ts() {
    ms_ += 1 + ipick(120);
    return '"' + num(ms_) + '"';
  }
  int64_t quantity(const market& m) { return m.lot * (1 + ipick(200'000'000)); }
  int64_t near_price(const market& m) { return m.mid + m.tick * (ipick(41) - 20); }
  std::string arg(const std::string& channel, const market& m) {
    return "{\"arg\":{\"channel\":\"" + channel + "\",\"instId\":\"" + m.inst_id + "\"}";
  }

  std::string trades(const market& m) {
    std::string s = arg(pick(5) == 0 ? "trades-all" : "trades", m) + ",\"data\":[";
    const std::string time = ts();
    for (uint64_t i = 0, n = 1 + pick(3); i < n; ++i) {
      if (i > 0) s += ',';
      s += std::string("{\"instId\":\"") + m.inst_id + "\",\"tradeId\":\"" + num(trade_id_++) +
           "\",\"px\":" + dec(near_price(m)) + ",\"sz\":" + dec(quantity(m)) + ",\"side\":\"" +
           (pick(2) == 0 ? "buy" : "sell") + "\",\"ts\":" + time + "}";
    }
    return s + "]}";
  }

  std::string tickers(const market& m) {
    const int64_t bid = near_price(m);
    return arg("tickers", m) + ",\"data\":[{\"instType\":\"SPOT\",\"instId\":\"" + m.inst_id +
           "\",\"last\":" + dec(bid) + ",\"lastSz\":" + dec(quantity(m)) +
           ",\"askPx\":" + dec(bid + m.tick) + ",\"askSz\":" + dec(quantity(m)) +
           ",\"bidPx\":" + dec(bid) + ",\"bidSz\":" + dec(quantity(m)) +
           ",\"open24h\":" + dec(m.mid - 100 * m.tick) +
           ",\"high24h\":" + dec(m.mid + 900 * m.tick) +
           ",\"low24h\":" + dec(m.mid - 900 * m.tick) + ",\"sodUtc0\":" + dec(m.mid) +
           ",\"sodUtc8\":" + dec(m.mid) +
           ",\"volCcy24h\":\"525802090.62716611\",\"vol24h\":\"17602.13085371\",\"ts\":" + ts() +
           "}]}";
  }

  std::string bbo(const market& m) {
    const int64_t bid = near_price(m);
    const std::string ask_side =
        pick(10) == 0 ? "[]" : "[[" + dec(bid + m.tick) + "," + dec(quantity(m)) + ",\"0\",\"3\"]]";
    return arg("bbo-tbt", m) + ",\"data\":[{\"asks\":" + ask_side + ",\"bids\":[[" + dec(bid) +
           "," + dec(quantity(m)) + ",\"0\",\"12\"]],\"ts\":" + ts() +
           ",\"seqId\":" + num(seq_ + ipick(1000)) + "}]}";
  }

  std::string candle(const market& m) {
    // A fixed length, or calendar months opening on the 1st (Hong Kong time, or UTC).
    static constexpr const char* channels[] = {"candle1m", "candle5m",    "candle1H",
                                               "candle4H", "candle1Dutc", "candle1W",
                                               "candle1M", "candle3Mutc"};
    const size_t which = pick(sizeof channels / sizeof channels[0]);
    int64_t open = ms_ / 60'000 * 60'000;
    if (which == 6) open = 1'651'334'400'000;  // 2022-05-01 00:00 UTC+8
    if (which == 7) open = 1'648'771'200'000;  // 2022-04-01 00:00 UTC
    const int64_t o = near_price(m);
    const int64_t c = near_price(m);
    const int64_t h = (o > c ? o : c) + m.tick * ipick(5);
    const int64_t l = (o < c ? o : c) - m.tick * ipick(5);
    const int64_t vol = quantity(m) * 1000;
    std::string s = arg(channels[which], m) + ",\"data\":[[\"" + num(open) + "\"," + dec(o) + "," +
                    dec(h) + "," + dec(l) + "," + dec(c) + "," + dec(vol) + "," +
                    dec(fixed_mul(vol, o, rounding::down));
    // [ts,o,h,l,c,vol,volCcy,volCcyQuote,confirm]; older pushes lack volCcyQuote (form 0), or
    // confirm too (form 1).
    const uint64_t form = pick(6);
    if (form >= 2) s += "," + dec(fixed_mul(vol, o, rounding::down));
    if (form != 1) s += pick(2) == 0 ? ",\"0\"" : ",\"1\"";
    return s + "]]}";
  }

  std::string event() {
    switch (pick(4)) {
      case 0:
        return "{\"event\":\"subscribe\",\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},"
               "\"connId\":\"a4d3ae55\"}";
      case 1:
        return "{\"event\":\"error\",\"code\":\"60012\",\"msg\":\"Invalid request: {\\\"op\\\": "
               "\\\"subscribe\\\", \\\"argss\\\":[{ \\\"channel\\\" : \\\"tickers\\\", "
               "\\\"instId\\\" : \\\"LTC-USD-200327\\\"}]}\",\"connId\":\"a4d3ae55\"}";
      case 2:
        return "{\"event\":\"notice\",\"code\":\"64008\",\"msg\":\"The connection will soon be "
               "closed for a service upgrade.\",\"connId\":\"a4d3ae55\"}";
      default:
        return "pong";
    }
  }

  /// [["px","sz","0","orders"],...] in the order given.
  std::string levels(const std::map<int64_t, int64_t>& side, bool bids) {
    std::string s = "[";
    const auto add = [&](int64_t price, int64_t qty) {
      if (s.size() > 1) s += ',';
      s += "[" + dec(price) + "," + dec(qty) + ",\"0\",\"" + num(qty == 0 ? 0 : 1 + ipick(9)) +
           "\"]";
    };
    if (bids) {
      for (auto it = side.rbegin(); it != side.rend(); ++it) add(it->first, it->second);
    } else {
      for (const auto& [price, qty] : side) add(price, qty);
    }
    return s + "]";
  }

  /// A books message with the checksum of model_ once `bids` and `asks` are applied to it.
  std::string books(const market& m, bool snapshot, const std::map<int64_t, int64_t>& bids,
                    const std::map<int64_t, int64_t>& asks, bool bad_checksum = false) {
    std::vector<book_level> b, a;
    for (const auto& [price, qty] : bids) b.push_back({price, qty});
    for (const auto& [price, qty] : asks) a.push_back({price, qty});
    if (snapshot) {
      model_.assign(b, a);
    } else {
      model_.apply(b, a);
    }
    std::string s = arg("books", m) + ",\"action\":\"" + (snapshot ? "snapshot" : "update") +
                    "\",\"data\":[{\"asks\":" + levels(asks, false) +
                    ",\"bids\":" + levels(bids, true) + ",\"ts\":" + ts() +
                    ",\"checksum\":" + num(okx_checksum(model_) ^ (bad_checksum ? 1 : 0));
    if (sequenced_) {
      const int64_t prev = snapshot ? -1 : seq_;
      seq_ += 1 + ipick(3);
      s += ",\"prevSeqId\":" + num(prev) + ",\"seqId\":" + num(seq_);
    }
    return s + "}]}";
  }

  std::string book_snapshot(const market& m) {
    std::map<int64_t, int64_t> bids, asks;
    const int count = 5 + static_cast<int>(pick(40));
    int64_t offset = 0;
    for (int i = 0; i < count; ++i, offset += 1 + ipick(4)) {
      bids[m.mid - offset * m.tick] = quantity(m);
      asks[m.mid + (offset + 1) * m.tick] = quantity(m);
    }
    return books(m, true, bids, asks);
  }

  /// Changes near the top of the model: new levels, new quantities, removals.
  std::string book_diff(const market& m, bool bad_checksum) {
    std::map<int64_t, int64_t> changes[2];
    for (int side = 0; side < 2; ++side) {
      const auto& now = side == 0 ? model_.bids() : model_.asks();
      for (uint64_t k = pick(6); k > 0; --k) {
        if (!now.empty() && pick(2) == 0) {
          const book_level& l = now[pick(now.size() < 30 ? now.size() : 30)];
          changes[side][l.price] = pick(2) == 0 ? 0 : quantity(m);
        } else {
          const int64_t offset = ipick(40);
          const int64_t price = side == 0 ? m.mid - offset * m.tick : m.mid + (offset + 1) * m.tick;
          changes[side][price] = quantity(m);
        }
      }
    }
    return books(m, false, changes[0], changes[1], bad_checksum);
  }

  std::string other_message() {
    const market& m = some_market();
    switch (pick(10)) {
      case 0:
      case 1:
      case 2:
        return trades(m);
      case 3:
      case 4:
        return tickers(m);
      case 5:
      case 6:
        return bbo(m);
      case 7:
      case 8:
        return candle(m);
      default:
        return event();
    }
  }

  std::string any_message() {
    const market& m = some_market();
    switch (pick(8)) {
      case 0:
        sequenced_ = pick(3) != 0;
        return book_snapshot(m);
      case 1: {
        // books5: no action, always a whole (5-level) book.
        std::string s = arg("books5", m) + ",\"data\":[{\"asks\":[";
        for (int i = 0; i < 5; ++i) {
          s += std::string(i > 0 ? "," : "") + "[" + dec(m.mid + (i + 1) * m.tick) + "," +
               dec(quantity(m)) + ",\"0\",\"1\"]";
        }
        s += "],\"bids\":[";
        for (int i = 0; i < 5; ++i) {
          s += std::string(i > 0 ? "," : "") + "[" + dec(m.mid - i * m.tick) + "," +
               dec(quantity(m)) + ",\"0\",\"1\"]";
        }
        return s + "],\"instId\":\"" + m.inst_id + "\",\"ts\":" + ts() + "}]}";
      }
      default:
        return other_message();
    }
  }

  /// A snapshot, then updates with their checksums (and seqIds, mostly); now and then a broken
  /// checksum, which the next snapshot (the answer to the resubscription) repairs.
  std::string session() {
    const market& m = markets[pick(4) == 0 ? 1 : 0];
    sequenced_ = pick(3) != 0;
    std::string out = "1";
    const auto line = [&out](const std::string& s) { out += s + "\n"; };
    if (pick(2) == 0) line(event());
    line(book_snapshot(m));
    for (uint64_t k = 3 + pick(12); k > 0; --k) {
      const bool bad = pick(15) == 0;
      line(book_diff(m, bad));
      if (bad) line(book_snapshot(m));
      for (uint64_t j = pick(3); j > 0; --j) line(other_message());
    }
    return out;
  }

  uint64_t& rng_;
  uint64_t (*next_)(uint64_t&);
  order_book model_;  ///< the book the books messages build
  bool sequenced_ = true;
  int64_t seq_ = 123'456'789;
  int64_t ms_ = 1'652'459'224'818;
  int64_t trade_id_ = 338'476'307;
};

}  // namespace
}  // namespace cats

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cats::harness h;
  h.run(data, size);
  return 0;
}

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp).
extern const char* const fuzz_target_name = "okx_message_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  return cats::seed_writer(rng, next).file();
}
