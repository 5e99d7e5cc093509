// Binance spot parser against real messages (../shared/data/messages/binance, see PROVENANCE.md).
// Expected values were read off the JSON by hand or extracted independently (a plain string
// scanner below, and Python's json/decimal modules for the replay totals).
#include "cats/venues/binance/parser.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/core/fixed.hpp"
#include "test_util.hpp"
#include "unit/feed_test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;
using namespace test;  // the shared parser-test helpers (unit/feed_test_util.hpp)

constexpr int64_t ms = 1'000'000;

fs::path binance_dir() {
  return test::shared_data_dir() / "messages" / "binance";
}

#define CATS_REQUIRE_DATA() CATS_REQUIRE_DIR(binance_dir())

const symbol_map& symbols() {
  static const symbol_map m = {
      {"BTCUSDT", 1}, {"ETHUSDT", 2}, {"NKNUSDT", 3}, {"BNBBTC", 4}, {"BNBUSDT", 5}};
  return m;
}

struct fixture : ::testing::Test {
  binance::parser parser{symbols()};
  recording_sink sink;

  parse_result parse(const std::string& text, int64_t local = local_ts) {
    padded p(text);
    return parser.parse(p.data(), p.size, local, sink);
  }
  std::string file(const std::string& name) { return test::read_file(binance_dir() / name); }
};

using BinanceParser = fixture;

// ---- single real messages -----------------------------------------------------------------------

TEST_F(BinanceParser, TradeCombinedBtcusdt) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("spot_trade_combined_BTCUSDT.json")), parse_result::ok)
      << parser.last_error();
  EXPECT_TRUE(parser.last_error().empty());
  ASSERT_EQ(sink.trades.size(), 1u);
  ASSERT_EQ(sink.total(), 1u);
  const auto& t = sink.trades[0];
  expect_header(t.header, sizeof(cats_trade_event_t), CATS_EVENT_TRADE, 1, 1723161255342 * ms);
  EXPECT_EQ(t.price, 6'183'763'000'000);  // "61837.63000000"
  EXPECT_EQ(t.quantity, 2'000'000);       // "0.02000000"
  EXPECT_EQ(t.trade_id, 3735683259u);
  EXPECT_EQ(t.aggressor_side, CATS_SIDE_SELL);  // "m":true: the buyer was the maker
  EXPECT_EQ(t.reserved, 0u);
}

TEST_F(BinanceParser, TradeWithLegacyOrderIdFields) {
  CATS_REQUIRE_DATA();
  // Pretty-printed, and "b"/"a" are (removed) order ids, numbers: they must not be mistaken.
  ASSERT_EQ(parse(file("nautilus/spot_trade_combined_ETHUSDT_2021.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 1u);
  const auto& t = sink.trades[0];
  expect_header(t.header, sizeof(cats_trade_event_t), CATS_EVENT_TRADE, 2, 1639351062243 * ms);
  EXPECT_EQ(t.price, fx("4149.74"));
  EXPECT_EQ(t.quantity, fx("0.4387"));
  EXPECT_EQ(t.trade_id, 705291099u);
  EXPECT_EQ(t.aggressor_side, CATS_SIDE_SELL);
}

TEST_F(BinanceParser, AggTradeCombinedNknusdt) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("spot_aggTrade_combined_NKNUSDT.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 1u);
  const auto& t = sink.trades[0];
  expect_header(t.header, sizeof(cats_trade_event_t), CATS_EVENT_TRADE, 3, 1633998523963 * ms);
  EXPECT_EQ(t.price, 35'280'000);              // "0.35280000"
  EXPECT_EQ(t.quantity, 5'800'000'000);        // "58.00000000"
  EXPECT_EQ(t.trade_id, 15683430u);            // "a", the aggregate id
  EXPECT_EQ(t.aggressor_side, CATS_SIDE_BUY);  // "m":false
}

TEST_F(BinanceParser, AggTradeTestnetWithExtraField) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("nautilus/spot_aggTrade_combined_ETHUSDT_testnet.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 1u);
  const auto& t = sink.trades[0];
  expect_header(t.header, sizeof(cats_trade_event_t), CATS_EVENT_TRADE, 2, 1675759520847 * ms);
  EXPECT_EQ(t.price, fx("1632.46"));
  EXPECT_EQ(t.quantity, fx("0.34305"));
  EXPECT_EQ(t.trade_id, 226532u);
  EXPECT_EQ(t.aggressor_side, CATS_SIDE_BUY);
}

TEST_F(BinanceParser, BookTickerHasNoVenueTime) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("spot_bookTicker_combined_BTCUSDT.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.quotes.size(), 1u);
  const auto& q = sink.quotes[0];
  expect_header(q.header, sizeof(cats_quote_event_t), CATS_EVENT_QUOTE, 1, local_ts);
  EXPECT_EQ(q.bid_price, fx("61837.63"));
  EXPECT_EQ(q.bid_quantity, fx("3.78826"));
  EXPECT_EQ(q.ask_price, fx("61837.64"));
  EXPECT_EQ(q.ask_quantity, fx("1.54698"));
}

TEST_F(BinanceParser, BookTickerPrettyPrintedWithExtraFields) {
  CATS_REQUIRE_DATA();
  // The 2022 stream also carried "T" and "E"; spot bookTicker has no venue time today, so the
  // parser does not look for one and stamps the receive time.
  ASSERT_EQ(parse(file("nautilus/spot_bookTicker_combined_ETHUSDT_2022.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.quotes.size(), 1u);
  const auto& q = sink.quotes[0];
  expect_header(q.header, sizeof(cats_quote_event_t), CATS_EVENT_QUOTE, 2, local_ts);
  EXPECT_EQ(q.bid_price, fx("4507.24"));
  EXPECT_EQ(q.bid_quantity, fx("2.3595"));
  EXPECT_EQ(q.ask_price, fx("4507.25"));
  EXPECT_EQ(q.ask_quantity, fx("2.8457"));
}

TEST_F(BinanceParser, DepthUpdateCombinedBtcusdt) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("spot_depthUpdate_combined_BTCUSDT.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.books.size(), 1u);
  const auto& u = sink.books[0];
  EXPECT_EQ(u.instrument_id, 1u);
  EXPECT_EQ(u.exchange_ts_ns, 1723161255208 * ms);
  EXPECT_EQ(u.local_ts_ns, local_ts);
  EXPECT_FALSE(u.snapshot);
  EXPECT_EQ(u.first_seq, 50093239189u);
  EXPECT_EQ(u.last_seq, 50093239202u);
  EXPECT_EQ(u.prev_seq, -1);
  EXPECT_FALSE(u.has_checksum);
  const std::vector<book_level> bids = {
      {fx("61737.63"), 0}, {fx("61730.17"), 0}, {fx("56854.58"), 0}};
  const std::vector<book_level> asks = {
      {fx("61837.64"), fx("1.54698")}, {fx("61839.85"), 0}, {fx("61839.86"), 0},
      {fx("61845.11"), fx("0.32329")}, {fx("61848.49"), 0}, {fx("61855.45"), fx("0.32323")},
      {fx("61862.51"), fx("0.05041")}, {fx("61862.52"), 0}, {fx("61937.64"), fx("0.02")}};
  EXPECT_EQ(u.bids, bids);
  EXPECT_EQ(u.asks, asks);
}

TEST_F(BinanceParser, KlineOnlyClosedCandlesBecomeBars) {
  CATS_REQUIRE_DATA();
  std::string open_candle = file("spot_kline_1m_combined_NKNUSDT.json");
  while (!open_candle.empty() && std::isspace(static_cast<unsigned char>(open_candle.back()))) {
    open_candle.pop_back();
  }
  EXPECT_EQ(parse(open_candle), parse_result::control) << parser.last_error();
  EXPECT_EQ(sink.total(), 0u);
  // Even a candle that emits nothing must be a whole message.
  EXPECT_EQ(parse(open_candle.substr(0, open_candle.size() - 1)), parse_result::malformed);

  // The same candle marked closed.
  std::string closed = open_candle;
  const auto at = closed.find("\"x\":false");
  ASSERT_NE(at, std::string::npos);
  closed.replace(at, 9, "\"x\":true");
  ASSERT_EQ(parse(closed), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.bars.size(), 1u);
  const auto& b = sink.bars[0];
  // t 1633998480000, T 1633998539999: a 60 s candle that becomes known at t + 60 s.
  expect_header(b.header, sizeof(cats_bar_event_t), CATS_EVENT_BAR, 3, 1633998540000 * ms);
  EXPECT_EQ(b.open_time_ns, 1633998480000 * ms);
  EXPECT_EQ(b.interval_ns, 60'000 * ms);
  EXPECT_EQ(b.open, fx("0.3527"));
  EXPECT_EQ(b.high, fx("0.3528"));
  EXPECT_EQ(b.low, fx("0.3522"));
  EXPECT_EQ(b.close, fx("0.3528"));
  EXPECT_EQ(b.volume, fx("25877"));
  EXPECT_EQ(b.quote_volume, fx("9116.046"));
  EXPECT_EQ(b.taker_buy_volume, fx("58"));
  EXPECT_EQ(b.taker_buy_quote_volume, fx("20.4624"));
  EXPECT_EQ(b.trade_count, 30);
}

TEST_F(BinanceParser, DocsExamplesRawStreams) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("docs_examples/ws_trade.json")), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 1u);
  EXPECT_EQ(sink.trades[0].header.instrument_id, 4u);
  EXPECT_EQ(sink.trades[0].header.exchange_ts_ns, 1672515782136 * ms);
  EXPECT_EQ(sink.trades[0].price, fx("0.001"));
  EXPECT_EQ(sink.trades[0].quantity, fx("100"));
  EXPECT_EQ(sink.trades[0].trade_id, 12345u);
  EXPECT_EQ(sink.trades[0].aggressor_side, CATS_SIDE_SELL);

  ASSERT_EQ(parse(file("docs_examples/ws_aggTrade.json")), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 2u);
  EXPECT_EQ(sink.trades[1].trade_id, 12345u);
  EXPECT_EQ(sink.trades[1].price, fx("0.001"));
  EXPECT_EQ(sink.trades[1].quantity, fx("100"));
  EXPECT_EQ(sink.trades[1].aggressor_side, CATS_SIDE_SELL);

  ASSERT_EQ(parse(file("docs_examples/ws_bookTicker.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.quotes.size(), 1u);
  EXPECT_EQ(sink.quotes[0].header.instrument_id, 5u);
  EXPECT_EQ(sink.quotes[0].bid_price, fx("25.3519"));
  EXPECT_EQ(sink.quotes[0].bid_quantity, fx("31.21"));
  EXPECT_EQ(sink.quotes[0].ask_price, fx("25.3652"));
  EXPECT_EQ(sink.quotes[0].ask_quantity, fx("40.66"));

  ASSERT_EQ(parse(file("docs_examples/ws_depthUpdate.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.books.size(), 1u);
  EXPECT_EQ(sink.books[0].first_seq, 157u);
  EXPECT_EQ(sink.books[0].last_seq, 160u);
  EXPECT_EQ(sink.books[0].exchange_ts_ns, 1672515782136 * ms);
  EXPECT_EQ(sink.books[0].bids, (std::vector<book_level>{{fx("0.0024"), fx("10")}}));
  EXPECT_EQ(sink.books[0].asks, (std::vector<book_level>{{fx("0.0026"), fx("100")}}));

  EXPECT_EQ(parse(file("docs_examples/ws_kline.json")), parse_result::control)
      << parser.last_error();

  // Types the engine does not use are counted as unknown, with the type in the message.
  EXPECT_EQ(parse(file("docs_examples/ws_24hrTicker.json")), parse_result::unknown);
  EXPECT_NE(parser.last_error().find("24hrTicker"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(file("docs_examples/ws_miniTicker.json")), parse_result::unknown);
  EXPECT_NE(parser.last_error().find("24hrMiniTicker"), std::string::npos);
  // A raw partial-depth payload does not say which symbol it is for.
  EXPECT_EQ(parse(file("docs_examples/ws_partial_depth.json")), parse_result::unknown);
  EXPECT_NE(parser.last_error().find("symbol"), std::string::npos) << parser.last_error();
  EXPECT_EQ(sink.total(), 4u);
}

TEST_F(BinanceParser, PartialDepthThroughTheCombinedStream) {
  CATS_REQUIRE_DATA();
  const std::string msg = "{\"stream\":\"bnbbtc@depth5@100ms\",\"data\":" +
                          file("docs_examples/ws_partial_depth.json") + "}";
  ASSERT_EQ(parse(msg), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.books.size(), 1u);
  const auto& u = sink.books[0];
  EXPECT_EQ(u.instrument_id, 4u);
  EXPECT_TRUE(u.snapshot);
  EXPECT_EQ(u.last_seq, 160u);
  EXPECT_EQ(u.exchange_ts_ns, local_ts);
  EXPECT_EQ(u.bids, (std::vector<book_level>{{fx("0.0024"), fx("10")}}));
  EXPECT_EQ(u.asks, (std::vector<book_level>{{fx("0.0026"), fx("100")}}));
}

// ---- the REST snapshot --------------------------------------------------------------------------

/// An independent reading of [["p","q"],...] after `"key":` with plain string scanning.
std::vector<book_level> scan_levels(const std::string& json, const std::string& key) {
  std::vector<book_level> out;
  size_t at = json.find("\"" + key + "\":[");
  if (at == std::string::npos) return out;
  at += key.size() + 4;
  while (at < json.size() && json[at] == '[') {
    const size_t p0 = json.find('"', at) + 1;
    const size_t p1 = json.find('"', p0);
    const size_t q0 = json.find('"', p1 + 1) + 1;
    const size_t q1 = json.find('"', q0);
    out.push_back({fx(json.substr(p0, p1 - p0)), fx(json.substr(q0, q1 - q0))});
    at = json.find(']', q1) + 1;  // end of the level
    if (json[at] == ',') ++at;
  }
  return out;
}

/// The number after `"key":` (first occurrence at or after `from`).
std::optional<int64_t> scan_int(const std::string& json, const std::string& key, size_t from = 0) {
  const size_t at = json.find("\"" + key + "\":", from);
  if (at == std::string::npos) return std::nullopt;
  return std::stoll(json.substr(at + key.size() + 3, 24));
}

/// The string after `"key":"`.
std::optional<std::string> scan_string(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":\"");
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + key.size() + 4;
  return json.substr(start, json.find('"', start) - start);
}

TEST_F(BinanceParser, RestDepthSnapshot) {
  CATS_REQUIRE_DATA();
  const std::string text = file("rest_depth_snapshot_BTCUSDT_limit1000.json");
  padded p(text);
  book_update u;
  ASSERT_EQ(parser.parse_depth_snapshot(p.data(), p.size, 7, local_ts, u), parse_result::ok)
      << parser.last_error();
  EXPECT_EQ(u.instrument_id, 7u);
  EXPECT_TRUE(u.snapshot);
  EXPECT_EQ(u.last_seq, 50093239218u);
  EXPECT_EQ(u.exchange_ts_ns, local_ts);
  EXPECT_EQ(u.local_ts_ns, local_ts);
  EXPECT_FALSE(u.has_checksum);
  ASSERT_EQ(u.bids.size(), 1000u);
  ASSERT_EQ(u.asks.size(), 1000u);
  EXPECT_EQ(u.bids.front(), (book_level{fx("61837.63"), fx("3.78826")}));
  EXPECT_EQ(u.bids[1], (book_level{fx("61837.62"), fx("0.617")}));
  EXPECT_EQ(u.bids, scan_levels(text, "bids"));
  EXPECT_EQ(u.asks, scan_levels(text, "asks"));

  // Reusing the same book_update replaces, not appends.
  ASSERT_EQ(parser.parse_depth_snapshot(p.data(), p.size, 7, local_ts, u), parse_result::ok);
  EXPECT_EQ(u.bids.size(), 1000u);

  // The REST error shape is a venue error; a stream message is not a snapshot.
  padded err(R"({"code":-1121,"msg":"Invalid symbol."})");
  EXPECT_EQ(parser.parse_depth_snapshot(err.data(), err.size, 7, local_ts, u),
            parse_result::venue_error);
  EXPECT_NE(parser.last_error().find("-1121"), std::string::npos) << parser.last_error();
  EXPECT_NE(parser.last_error().find("Invalid symbol."), std::string::npos);
  padded trade(file("spot_trade_combined_BTCUSDT.json"));
  EXPECT_EQ(parser.parse_depth_snapshot(trade.data(), trade.size, 7, local_ts, u),
            parse_result::malformed);
  EXPECT_NE(parser.last_error().find("lastUpdateId"), std::string::npos) << parser.last_error();
}

TEST_F(BinanceParser, OtherRestDepthResponses) {
  CATS_REQUIRE_DATA();
  for (const char* name :
       {"nautilus/rest_depth_BTCUSDT_nautilus.json", "docs_examples/rest_depth.json"}) {
    const std::string text = file(name);
    padded p(text);
    book_update u;
    ASSERT_EQ(parser.parse_depth_snapshot(p.data(), p.size, 1, local_ts, u), parse_result::ok)
        << name << ": " << parser.last_error();
    EXPECT_EQ(static_cast<int64_t>(u.last_seq), scan_int(text, "lastUpdateId").value()) << name;
    // The scanner needs compact JSON; both files are checked level by level where it applies.
    if (text.find("\"bids\":[") != std::string::npos) {
      EXPECT_EQ(u.bids, scan_levels(text, "bids")) << name;
      EXPECT_EQ(u.asks, scan_levels(text, "asks")) << name;
    }
    EXPECT_FALSE(u.bids.empty()) << name;
    EXPECT_FALSE(u.asks.empty()) << name;
  }
}

// ---- the replay: every line of the first 30 s of a real capture ---------------------------------

TEST_F(BinanceParser, ReplayEveryLineAndSyncTheBook) {
  CATS_REQUIRE_DATA();
  std::ifstream in(binance_dir() / "spot_replay_BTCUSDT_20240808_first30s.txt");
  ASSERT_TRUE(in);
  std::string line;
  size_t lines = 0, trades = 0, tickers = 0, diffs = 0, snapshots = 0, levels = 0;
  int64_t trade_qty = 0;
  size_t buyer_maker = 0;
  std::optional<book_update> snapshot;
  std::vector<book_update> updates;
  std::vector<std::pair<uint64_t, cats_quote_event_t>> ticker_by_u;
  while (std::getline(in, line)) {
    ++lines;
    const size_t space = line.find(' ');
    ASSERT_NE(space, std::string::npos);
    const int64_t recv = std::stoll(line.substr(0, space));
    const std::string json = line.substr(space + 1);
    padded p(json);
    if (json.rfind("{\"lastUpdateId\"", 0) == 0) {
      book_update u;
      ASSERT_EQ(parser.parse_depth_snapshot(p.data(), p.size, 1, recv, u), parse_result::ok)
          << parser.last_error();
      EXPECT_EQ(static_cast<int64_t>(u.last_seq), scan_int(json, "lastUpdateId").value());
      EXPECT_EQ(u.bids, scan_levels(json, "bids"));
      EXPECT_EQ(u.asks, scan_levels(json, "asks"));
      snapshot = std::move(u);
      ++snapshots;
      continue;
    }
    recording_sink s;
    ASSERT_EQ(parser.parse(p.data(), p.size, recv, s), parse_result::ok)
        << "line " << lines << ": " << parser.last_error();
    ASSERT_EQ(s.total(), 1u) << "line " << lines;
    const std::string stream = scan_string(json, "stream").value();
    if (stream == "btcusdt@trade") {
      ASSERT_EQ(s.trades.size(), 1u);
      const auto& t = s.trades[0];
      expect_header(t.header, sizeof(cats_trade_event_t), CATS_EVENT_TRADE, 1,
                    scan_int(json, "T").value() * ms, recv);
      EXPECT_EQ(t.price, fx(scan_string(json, "p").value()));
      EXPECT_EQ(t.quantity, fx(scan_string(json, "q").value()));
      EXPECT_EQ(static_cast<int64_t>(t.trade_id), scan_int(json, "t").value());
      const bool m = json.find("\"m\":true") != std::string::npos;
      EXPECT_EQ(t.aggressor_side, m ? CATS_SIDE_SELL : CATS_SIDE_BUY);
      trade_qty += t.quantity;
      buyer_maker += m;
      ++trades;
    } else if (stream == "btcusdt@bookTicker") {
      ASSERT_EQ(s.quotes.size(), 1u);
      const auto& q = s.quotes[0];
      expect_header(q.header, sizeof(cats_quote_event_t), CATS_EVENT_QUOTE, 1, recv, recv);
      EXPECT_EQ(q.bid_price, fx(scan_string(json, "b").value()));
      EXPECT_EQ(q.bid_quantity, fx(scan_string(json, "B").value()));
      EXPECT_EQ(q.ask_price, fx(scan_string(json, "a").value()));
      EXPECT_EQ(q.ask_quantity, fx(scan_string(json, "A").value()));
      ticker_by_u.emplace_back(static_cast<uint64_t>(scan_int(json, "u").value()), q);
      ++tickers;
    } else {
      ASSERT_EQ(stream, "btcusdt@depth@100ms");
      ASSERT_EQ(s.books.size(), 1u);
      auto& u = s.books[0];
      EXPECT_EQ(u.exchange_ts_ns, scan_int(json, "E").value() * ms);
      EXPECT_EQ(u.local_ts_ns, recv);
      EXPECT_EQ(static_cast<int64_t>(u.first_seq), scan_int(json, "U").value());
      EXPECT_EQ(static_cast<int64_t>(u.last_seq), scan_int(json, "u").value());
      EXPECT_EQ(u.bids, scan_levels(json, "b"));
      EXPECT_EQ(u.asks, scan_levels(json, "a"));
      levels += u.bids.size() + u.asks.size();
      updates.push_back(std::move(u));
      ++diffs;
    }
  }
  // Counts from PROVENANCE.md; totals from Python's json + decimal over the same file.
  EXPECT_EQ(lines, 3279u);
  EXPECT_EQ(trades, 547u);
  EXPECT_EQ(tickers, 2432u);
  EXPECT_EQ(diffs, 299u);
  EXPECT_EQ(snapshots, 1u);
  EXPECT_EQ(levels, 9152u);
  EXPECT_EQ(trade_qty, fx("5.6512"));
  EXPECT_EQ(buyer_maker, 186u);
  ASSERT_TRUE(snapshot.has_value());

  // Binance's documented procedure: buffer the diffs, drop those with u <= lastUpdateId; the first
  // applied has U <= lastUpdateId + 1 <= u, every next one U == previous u + 1.
  order_book book;
  book.assign(snapshot->bids, snapshot->asks);
  const uint64_t last_update_id = snapshot->last_seq;
  uint64_t prev_u = 0;
  size_t applied = 0;
  std::map<uint64_t, std::pair<book_level, book_level>> top_after;
  for (const auto& u : updates) {
    if (u.last_seq <= last_update_id) continue;
    if (applied == 0) {
      ASSERT_LE(u.first_seq, last_update_id + 1);
      ASSERT_GE(u.last_seq, last_update_id + 1);
    } else {
      ASSERT_EQ(u.first_seq, prev_u + 1) << "gap after update " << prev_u;
    }
    prev_u = u.last_seq;
    book.apply(u.bids, u.asks);
    ++applied;
    ASSERT_FALSE(book.crossed()) << "after update " << u.last_seq;
    top_after[u.last_seq] = {book.bids().front(), book.asks().front()};
  }
  EXPECT_EQ(applied, 297u);
  EXPECT_EQ(prev_u, 50093253041u);
  EXPECT_EQ(book.bids().size(), 1177u);
  EXPECT_EQ(book.asks().size(), 1040u);
  EXPECT_EQ(book.bids().front(), (book_level{fx("61855.36"), fx("2.00672")}));
  EXPECT_EQ(book.asks().front(), (book_level{fx("61855.37"), fx("2.92425")}));

  // A bookTicker with the same update id as a diff shows the same best levels as the book.
  size_t matched = 0;
  for (const auto& [u, q] : ticker_by_u) {
    const auto it = top_after.find(u);
    if (it == top_after.end()) continue;
    EXPECT_EQ(q.bid_price, it->second.first.price) << "u " << u;
    EXPECT_EQ(q.bid_quantity, it->second.first.quantity) << "u " << u;
    EXPECT_EQ(q.ask_price, it->second.second.price) << "u " << u;
    EXPECT_EQ(q.ask_quantity, it->second.second.quantity) << "u " << u;
    ++matched;
  }
  EXPECT_EQ(matched, 45u);
}

// ---- field order, control and error replies -----------------------------------------------------

TEST_F(BinanceParser, AnyFieldOrder) {
  // "e" last, and "data" before "stream".
  const std::string msg =
      R"({"data":{"s":"BTCUSDT","T":1723161255342,"p":"61837.63000000","q":"0.02000000",)"
      R"("t":3735683259,"m":false,"M":true,"E":1723161255343,"e":"trade"},)"
      R"("stream":"btcusdt@trade"})";
  ASSERT_EQ(parse(msg), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 1u);
  EXPECT_EQ(sink.trades[0].price, 6'183'763'000'000);
  EXPECT_EQ(sink.trades[0].trade_id, 3735683259u);
  EXPECT_EQ(sink.trades[0].aggressor_side, CATS_SIDE_BUY);
  EXPECT_EQ(sink.trades[0].header.exchange_ts_ns, 1723161255342 * ms);

  // A bookTicker that does not start with "u".
  ASSERT_EQ(parse(R"({"s":"BTCUSDT","b":"1.5","B":"2","a":"1.6","A":"3","u":7})"), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.quotes.size(), 1u);
  EXPECT_EQ(sink.quotes[0].ask_quantity, fx("3"));
}

TEST_F(BinanceParser, RepliesToRequests) {
  EXPECT_EQ(parse(R"({"result":null,"id":1})"), parse_result::control);
  EXPECT_TRUE(parser.last_error().empty());
  EXPECT_EQ(parse(R"({"id":2,"result":["btcusdt@trade"]})"), parse_result::control);
  EXPECT_EQ(parse(R"({"result":null,"id":1} x)"), parse_result::malformed);
  EXPECT_EQ(parse(R"({"result":null,"id":1)"), parse_result::malformed);
  EXPECT_EQ(parse(R"({"error":{"code":2,"msg":"Invalid request: unknown property"},"id":3})"),
            parse_result::venue_error);
  EXPECT_NE(parser.last_error().find("2"), std::string::npos);
  EXPECT_NE(parser.last_error().find("Invalid request: unknown property"), std::string::npos)
      << parser.last_error();
  EXPECT_EQ(sink.total(), 0u);
}

// ---- malformed input ----------------------------------------------------------------------------

const std::string trade_msg =
    R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT",)"
    R"("t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,)"
    R"("M":true}})";

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

struct malformed_case {
  std::string from, to;
  std::vector<std::string> words;  ///< the error message must contain these
};

TEST_F(BinanceParser, ReferenceTradeParses) {
  ASSERT_EQ(parse(trade_msg), parse_result::ok) << parser.last_error();
}

TEST_F(BinanceParser, MalformedFieldsAreNamed) {
  const std::vector<malformed_case> cases = {
      // missing fields
      {R"("p":"61837.63000000",)", "", {"missing", "\"p\""}},
      {R"("T":1723161255342,)", "", {"missing", "\"T\""}},
      {R"("t":3735683259,)", "", {"missing", "\"t\""}},
      {R"(,"m":true)", "", {"missing", "\"m\""}},
      {R"("s":"BTCUSDT",)", "", {"missing", "\"s\""}},
      // bad numbers
      {"61837.63000000", "61837.63x", {"\"p\"", "decimal string", "61837.63x"}},
      {"61837.63000000", "1e5", {"\"p\"", "decimal string", "not a decimal number"}},
      {"61837.63000000", "", {"\"p\"", "empty"}},
      {"61837.63000000", ".", {"\"p\"", "empty"}},
      {"61837.63000000", "-61837.63", {"\"p\"", "-61837.63"}},
      {"61837.63000000", "+61837.63", {"\"p\""}},
      {"61837.63000000", "6 1837", {"\"p\""}},
      {"0.02000000", "0.020000001", {"\"q\"", "more than 8 decimal places"}},
      {"61837.63000000", "92233720368.54775808", {"\"p\"", "too large"}},
      {"61837.63000000", "100000000000", {"\"p\"", "too large"}},
      {"61837.63000000", "000000000000000000000000000000000000000001.5x", {"\"p\""}},
      {"3735683259", "18446744073709551616", {"\"t\"", "unsigned integer"}},
      {"3735683259", "-3735683259", {"\"t\"", "unsigned integer"}},
      {"3735683259", "3735683259.5", {"\"t\""}},
      {"1723161255342", "-1723161255342", {"\"T\"", "ms since the epoch"}},
      {"1723161255342", "9223372036855", {"\"T\"", "ms since the epoch"}},
      {"1723161255342", "99999999999999999999", {"\"T\""}},
      // wrong types
      {R"("61837.63000000")", "61837.63", {"\"p\"", "expected a decimal string, got 61837.63"}},
      {R"("0.02000000")", "null", {"\"q\"", "got null"}},
      {R"("0.02000000")", "[\"1\"]", {"\"q\"", "got ["}},
      {"3735683259", "\"3735683259\"", {"\"t\"", "unsigned integer"}},
      {"\"m\":true", "\"m\":\"true\"", {"\"m\"", "true or false"}},
      {"\"m\":true", "\"m\":1", {"\"m\"", "true or false"}},
      {"\"BTCUSDT\"", "42", {"\"s\"", "string"}},
      {R"("data":{"e")", R"("data":["e")", {"\"data\"", "object"}},
  };
  for (const auto& c : cases) {
    const std::string msg = replaced(trade_msg, c.from, c.to);
    EXPECT_EQ(parse(msg), parse_result::malformed) << msg;
    for (const auto& word : c.words) {
      EXPECT_NE(parser.last_error().find(word), std::string::npos)
          << "message: " << parser.last_error() << "\nexpected to contain: " << word
          << "\ninput: " << msg;
    }
    EXPECT_EQ(parser.last_error().rfind("binance", 0), 0u) << parser.last_error();
  }
  EXPECT_EQ(sink.total(), 0u);

  // Zeros beyond the 8th decimal are fine.
  ASSERT_EQ(parse(replaced(trade_msg, "0.02000000", "0.0200000000000")), parse_result::ok)
      << parser.last_error();
  EXPECT_EQ(sink.trades.back().quantity, 2'000'000);
  // The largest representable price.
  ASSERT_EQ(parse(replaced(trade_msg, "61837.63000000", "92233720368.54775807")), parse_result::ok);
  EXPECT_EQ(sink.trades.back().price, INT64_MAX);
}

TEST_F(BinanceParser, BrokenJsonIsMalformed) {
  // Every proper prefix of a valid message.
  for (size_t n = 0; n < trade_msg.size(); ++n) {
    EXPECT_EQ(parse(trade_msg.substr(0, n)), parse_result::malformed) << trade_msg.substr(0, n);
    EXPECT_FALSE(parser.last_error().empty());
  }
  EXPECT_EQ(sink.total(), 0u);
  for (const std::string& bad : std::vector<std::string>{
           "", " ", "pong", "[1,2]", "\"trade\"", "42", "{", "}", "{]", trade_msg + "x",
           trade_msg + "{}", trade_msg + trade_msg, replaced(trade_msg, ",\"p\"", "\"p\""),
           replaced(trade_msg, "\"p\":", "\"p\"")}) {
    EXPECT_EQ(parse(bad), parse_result::malformed) << bad;
    EXPECT_FALSE(parser.last_error().empty()) << bad;
  }
  EXPECT_EQ(sink.total(), 0u);
  // Whitespace around a valid message is fine.
  EXPECT_EQ(parse("  \n" + trade_msg + " \r\n"), parse_result::ok) << parser.last_error();
}

TEST_F(BinanceParser, UnknownTypeAndSymbol) {
  EXPECT_EQ(parse(replaced(trade_msg, "\"e\":\"trade\"", "\"e\":\"outboundAccountPosition\"")),
            parse_result::unknown);
  EXPECT_NE(parser.last_error().find("outboundAccountPosition"), std::string::npos);
  EXPECT_EQ(parse(replaced(trade_msg, "\"BTCUSDT\"", "\"DOGEUSDT\"")), parse_result::unknown);
  EXPECT_NE(parser.last_error().find("DOGEUSDT"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse("{}"), parse_result::unknown);
  EXPECT_EQ(parse(R"({"foo":1})"), parse_result::unknown);
  EXPECT_EQ(sink.total(), 0u);
  // A good message afterwards clears the error.
  EXPECT_EQ(parse(trade_msg), parse_result::ok);
  EXPECT_TRUE(parser.last_error().empty());
}

TEST_F(BinanceParser, MalformedKlineAndDepth) {
  const std::string kline =
      R"({"e":"kline","E":1,"s":"BTCUSDT","k":{"t":1633998480000,"T":1633998539999,)"
      R"("s":"BTCUSDT","i":"1m","o":"1","c":"2","h":"3","l":"0.5","v":"10","n":30,"x":true,)"
      R"("q":"9","V":"5","Q":"4"}})";
  ASSERT_EQ(parse(kline), parse_result::ok) << parser.last_error();
  EXPECT_EQ(parse(replaced(kline, R"("V":"5",)", "")), parse_result::malformed);
  EXPECT_NE(parser.last_error().find("k.V"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(replaced(kline, "\"T\":1633998539999", "\"T\":1633998470000")),
            parse_result::malformed);
  EXPECT_NE(parser.last_error().find("k.T"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(replaced(kline, "\"n\":30", "\"n\":-3")), parse_result::malformed);
  EXPECT_EQ(parse(replaced(kline, "\"x\":true", "\"x\":\"yes\"")), parse_result::malformed);
  EXPECT_EQ(parse(replaced(kline, "\"o\":\"1\"", "\"o\":\"1.000000001\"")),
            parse_result::malformed);
  EXPECT_NE(parser.last_error().find("more than 8 decimal places"), std::string::npos);

  const std::string depth =
      R"({"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":5,"u":9,)"
      R"("b":[["61737.63000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]})";
  ASSERT_EQ(parse(depth), parse_result::ok) << parser.last_error();
  EXPECT_EQ(parse(replaced(depth, R"(["61737.63000000","0.00000000"])", R"(["61737.63"])")),
            parse_result::malformed);
  EXPECT_NE(parser.last_error().find("\"b\""), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(replaced(depth, R"("1.54698000")", R"(1.54698)")), parse_result::malformed);
  EXPECT_NE(parser.last_error().find("\"a\" [0]"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(replaced(depth, R"("b":[[)", R"("b":[{}, [)")), parse_result::malformed);
  EXPECT_EQ(parse(replaced(depth, "\"U\":5", "\"U\":10")), parse_result::malformed);
  EXPECT_EQ(parse(replaced(depth, "\"u\":9,", "")), parse_result::malformed);
  EXPECT_NE(parser.last_error().find("missing field \"u\""), std::string::npos);
}

TEST_F(BinanceParser, ADepthMessageWithTooManyLevelsIsRefused) {
  // 20,000 levels a side parse; one more is refused before the book sees any of it.
  auto message = [](int levels) {
    std::string m = R"({"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":5,"u":9,"b":[)";
    for (int i = 0; i < levels; ++i) {
      if (i != 0) m += ',';
      m += "[\"";
      m += std::to_string(1000 + i);
      m += R"(","1"])";
    }
    return m + R"(],"a":[]})";
  };
  ASSERT_EQ(parse(message(20'000)), parse_result::ok) << parser.last_error();
  EXPECT_EQ(parse(message(20'001)), parse_result::malformed);
  EXPECT_EQ(parser.last_error(),
            "binance depthUpdate: field \"b\" [20000]: expected at most 20000 levels per side in "
            "one message, got more");
}

TEST_F(BinanceParser, MalformedBookTicker) {
  const std::string ticker =
      R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000",)"
      R"("A":"40.66000000"})";
  ASSERT_EQ(parse(ticker), parse_result::ok) << parser.last_error();
  EXPECT_EQ(parse(replaced(ticker, R"(,"A":"40.66000000")", "")), parse_result::malformed);
  EXPECT_EQ(parser.last_error(), "binance bookTicker: missing field \"A\"");
  EXPECT_EQ(parse(replaced(ticker, R"("25.35190000")", "25.3519")), parse_result::malformed);
  EXPECT_EQ(parser.last_error(),
            "binance bookTicker: field \"b\": expected a decimal string, got 25.3519");
  EXPECT_EQ(parse(replaced(ticker, "31.21000000", "31.210000001")), parse_result::malformed);
  EXPECT_NE(parser.last_error().find("more than 8 decimal places"), std::string::npos);
  EXPECT_EQ(sink.quotes.size(), 1u);
}

// ---- random mutations of real messages must never crash -----------------------------------------

TEST_F(BinanceParser, RandomMutationsNeverCrash) {
  std::vector<std::string> seeds = {trade_msg, R"({"result":null,"id":1})"};
  if (fs::exists(binance_dir())) {
    for (const char* name :
         {"spot_trade_combined_BTCUSDT.json", "spot_aggTrade_combined_NKNUSDT.json",
          "spot_bookTicker_combined_BTCUSDT.json", "spot_depthUpdate_combined_BTCUSDT.json",
          "spot_kline_1m_combined_NKNUSDT.json", "docs_examples/ws_kline.json",
          "nautilus/spot_bookTicker_combined_ETHUSDT_2022.json"}) {
      seeds.push_back(file(name));
    }
    std::string kline = file("spot_kline_1m_combined_NKNUSDT.json");
    seeds.push_back(replaced(kline, "\"x\":false", "\"x\":true"));
  }
  uint64_t rng = 20240808;
  size_t counts[5] = {};
  for (int i = 0; i < 6000; ++i) {
    const std::string& seed = seeds[next_random(rng) % seeds.size()];
    const std::string msg = mutate(seed, rng);
    recording_sink s;
    padded p(msg);
    const parse_result r = parser.parse(p.data(), p.size, local_ts, s);
    ASSERT_LE(static_cast<int>(r), static_cast<int>(parse_result::venue_error));
    ++counts[static_cast<int>(r)];
    if (r == parse_result::ok) {
      EXPECT_EQ(s.total(), 1u) << msg;
    } else {
      EXPECT_EQ(s.total(), 0u) << msg;
    }
    if (r == parse_result::malformed || r == parse_result::unknown) {
      EXPECT_FALSE(parser.last_error().empty()) << msg;
    }
    // The snapshot entry point sees the same inputs.
    book_update u;
    (void)parser.parse_depth_snapshot(p.data(), p.size, 1, local_ts, u);
  }
  // The mutations reach both the happy and the unhappy paths.
  EXPECT_GT(counts[static_cast<int>(parse_result::ok)], 100u);
  EXPECT_GT(counts[static_cast<int>(parse_result::malformed)], 1000u);
}

}  // namespace
}  // namespace cats
