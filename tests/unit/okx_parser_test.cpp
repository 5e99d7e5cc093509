// OKX v5 parser against real messages (../shared/data/messages/okx, see PROVENANCE.md). Expected
// values were read off the JSON by hand, or extracted independently with a plain string scanner.
#include "cats/venues/okx/parser.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/core/fixed.hpp"
#include "cats/venues/okx/book_sync.hpp"
#include "test_util.hpp"
#include "unit/feed_test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;
using namespace test;  // the shared parser-test helpers (unit/feed_test_util.hpp)

constexpr int64_t ms = 1'000'000;
constexpr int64_t day_ns = 86'400'000 * ms;

fs::path okx_dir() {
  return test::shared_data_dir() / "messages" / "okx";
}

#define CATS_REQUIRE_DATA() CATS_REQUIRE_DIR(okx_dir())

const symbol_map& symbols() {
  static const symbol_map m = {{"BTC-USDT", 11}, {"BTC-USD", 12}, {"ETH-USDT", 13}};
  return m;
}

struct fixture : ::testing::Test {
  okx::parser parser{symbols()};
  recording_sink sink;

  parse_result parse(std::string text, int64_t local = local_ts) {
    const padded p(std::move(text));
    return parser.parse(p.data(), p.size, local, sink);
  }
  std::string file(const std::string& name) { return test::read_file(okx_dir() / name); }
};

using OkxParser = fixture;

// ---- real messages ------------------------------------------------------------------------------

TEST_F(OkxParser, TradesBtcUsdt) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("ws_trades_BTC-USDT.json")), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 1u);
  ASSERT_EQ(sink.total(), 1u);
  const auto& t = sink.trades[0];
  expect_header(t.header, sizeof(cats_trade_event_t), CATS_EVENT_TRADE, 11, 1652459224818 * ms);
  EXPECT_EQ(t.price, 3'023'600'000'000);  // "30236"
  EXPECT_EQ(t.quantity, 20'000);          // "0.0002"
  EXPECT_EQ(t.trade_id, 338476307u);
  EXPECT_EQ(t.aggressor_side, CATS_SIDE_BUY);
}

TEST_F(OkxParser, TickersBtcUsdt) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("ws_tickers_BTC-USDT.json")), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.quotes.size(), 1u);
  const auto& q = sink.quotes[0];
  expect_header(q.header, sizeof(cats_quote_event_t), CATS_EVENT_QUOTE, 11, 1652459224956 * ms);
  EXPECT_EQ(q.bid_price, fx("30228.6"));
  EXPECT_EQ(q.bid_quantity, fx("0.23393"));
  EXPECT_EQ(q.ask_price, fx("30228.7"));
  EXPECT_EQ(q.ask_quantity, fx("1.55896972"));
}

TEST_F(OkxParser, SubscribeAckAndPong) {
  CATS_REQUIRE_DATA();
  EXPECT_EQ(parse(file("ws_subscribe_ack.json")), parse_result::control) << parser.last_error();
  EXPECT_EQ(parse("pong"), parse_result::control);
  EXPECT_TRUE(parser.last_error().empty());
  EXPECT_EQ(sink.total(), 0u);
}

TEST_F(OkxParser, BooksSnapshotAndUpdate) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("ws_books_snapshot_BTC-USDT.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(parse(file("ws_books_update_BTC-USDT.json")), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.books.size(), 2u);
  const auto& s = sink.books[0];
  EXPECT_EQ(s.instrument_id, 11u);
  EXPECT_TRUE(s.snapshot);
  EXPECT_EQ(s.exchange_ts_ns, 1652459225381 * ms);
  EXPECT_EQ(s.local_ts_ns, local_ts);
  EXPECT_TRUE(s.has_checksum);
  EXPECT_EQ(s.checksum, 47640993);
  EXPECT_EQ(s.first_seq, 0u);  // 2022 data: no seqId / prevSeqId yet
  EXPECT_EQ(s.last_seq, 0u);
  EXPECT_EQ(s.prev_seq, -1);
  ASSERT_EQ(s.bids.size(), 400u);
  ASSERT_EQ(s.asks.size(), 400u);
  EXPECT_EQ(s.bids.front(), (book_level{fx("30243.4"), fx("0.0012029")}));
  EXPECT_EQ(s.asks.front(), (book_level{fx("30243.5"), fx("1.44679")}));
  EXPECT_EQ(s.bids.back(), (book_level{fx("29999.7"), fx("0.00276686")}));
  EXPECT_EQ(s.asks.back(), (book_level{fx("30650.2"), fx("0.00102749")}));

  const auto& u = sink.books[1];
  EXPECT_FALSE(u.snapshot);
  EXPECT_EQ(u.exchange_ts_ns, 1652459225453 * ms);
  EXPECT_EQ(u.checksum, -652563973);
  ASSERT_EQ(u.bids.size(), 17u);
  ASSERT_EQ(u.asks.size(), 26u);
  EXPECT_EQ(u.bids.front(), (book_level{fx("30237.2"), 0}));
  EXPECT_EQ(u.asks.front(), (book_level{fx("30243.5"), fx("1.2112")}));
  EXPECT_EQ(u.bids.back(), (book_level{fx("29999.6"), fx("0.04507001")}));
  EXPECT_EQ(u.asks.back(), (book_level{fx("30651"), 0}));

  // The snapshot and the update are consecutive: the checksums prove okx_checksum on 400 levels.
  order_book book;
  book.assign(s.bids, s.asks);
  EXPECT_EQ(okx_checksum(book), s.checksum);
  book.apply(u.bids, u.asks);
  EXPECT_EQ(okx_checksum(book), u.checksum);
}

// ---- the books sequence: a snapshot and 97 updates, checksum after every one --------------------

/// The number after `"key":`.
std::optional<int64_t> scan_int(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return std::nullopt;
  return std::stoll(json.substr(at + key.size() + 3, 24));
}

/// An independent reading of [["px","sz","0","n"],...] after `"key":` by plain string scanning.
std::vector<book_level> scan_levels(const std::string& json, const std::string& key) {
  std::vector<book_level> out;
  size_t at = json.find("\"" + key + "\":[");
  if (at == std::string::npos) return out;
  at += key.size() + 4;
  while (at < json.size() && json[at] == '[') {
    const size_t end = json.find(']', at);
    const size_t p0 = json.find('"', at) + 1;
    const size_t p1 = json.find('"', p0);
    const size_t q0 = json.find('"', p1 + 1) + 1;
    const size_t q1 = json.find('"', q0);
    out.push_back({fx(json.substr(p0, p1 - p0)), fx(json.substr(q0, q1 - q0))});
    at = end + 1;
    if (json[at] == ',') ++at;
  }
  return out;
}

TEST_F(OkxParser, BooksSequenceChecksumAfterEveryMessage) {
  CATS_REQUIRE_DATA();
  std::ifstream in(okx_dir() / "ws_books_sequence_BTC-USDT.jsonl");
  ASSERT_TRUE(in);
  order_book book;
  std::string line;
  size_t messages = 0, snapshots = 0, levels = 0;
  while (std::getline(in, line)) {
    recording_sink s;
    std::string buf = line;
    buf.append(64, ' ');
    ASSERT_EQ(parser.parse(buf.data(), line.size(), local_ts, s), parse_result::ok)
        << "line " << messages + 1 << ": " << parser.last_error();
    ASSERT_EQ(s.books.size(), 1u);
    const auto& u = s.books[0];
    // Field by field against the scanner.
    EXPECT_EQ(u.snapshot, line.find("\"action\":\"snapshot\"") != std::string::npos);
    EXPECT_EQ(u.exchange_ts_ns, std::stoll(line.substr(line.find("\"ts\":\"") + 6, 13)) * ms);
    ASSERT_TRUE(u.has_checksum);
    EXPECT_EQ(u.checksum, scan_int(line, "checksum").value());
    EXPECT_EQ(u.bids, scan_levels(line, "bids"));
    EXPECT_EQ(u.asks, scan_levels(line, "asks"));
    levels += u.bids.size() + u.asks.size();
    if (u.snapshot) {
      ++snapshots;
      book.assign(u.bids, u.asks);
    } else {
      ASSERT_FALSE(book.empty()) << "an update before the snapshot";
      book.apply(u.bids, u.asks);
    }
    ++messages;
    ASSERT_EQ(okx_checksum(book), u.checksum) << "after message " << messages;
    ASSERT_FALSE(book.crossed()) << "after message " << messages;
  }
  EXPECT_EQ(messages, 98u);
  EXPECT_EQ(snapshots, 1u);
  EXPECT_EQ(levels, 4968u);  // Python: sum of len(bids) + len(asks) over the file
}

// ---- schema examples (illustrative values, newer fields) ----------------------------------------

TEST_F(OkxParser, SchemaExamples) {
  CATS_REQUIRE_DATA();
  ASSERT_EQ(parse(file("schema_examples/nautilus_ws_trades.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 1u);
  expect_header(sink.trades[0].header, sizeof(cats_trade_event_t), CATS_EVENT_TRADE, 12,
                1630048897897 * ms);
  EXPECT_EQ(sink.trades[0].trade_id, 130639474u);
  EXPECT_EQ(sink.trades[0].price, fx("42219.9"));
  EXPECT_EQ(sink.trades[0].quantity, fx("0.12060306"));
  EXPECT_EQ(sink.trades[0].aggressor_side, CATS_SIDE_BUY);

  ASSERT_EQ(parse(file("schema_examples/nautilus_ws_tickers.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.quotes.size(), 1u);
  expect_header(sink.quotes[0].header, sizeof(cats_quote_event_t), CATS_EVENT_QUOTE, 11,
                1597026383085 * ms);
  EXPECT_EQ(sink.quotes[0].bid_price, fx("8888.88"));
  EXPECT_EQ(sink.quotes[0].bid_quantity, fx("5"));
  EXPECT_EQ(sink.quotes[0].ask_price, fx("9999.99"));
  EXPECT_EQ(sink.quotes[0].ask_quantity, fx("11"));

  ASSERT_EQ(parse(file("schema_examples/nautilus_ws_bbo_tbt.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.quotes.size(), 2u);
  expect_header(sink.quotes[1].header, sizeof(cats_quote_event_t), CATS_EVENT_QUOTE, 11,
                1597026383085 * ms);
  EXPECT_EQ(sink.quotes[1].bid_price, fx("8476.97"));
  EXPECT_EQ(sink.quotes[1].bid_quantity, fx("256"));
  EXPECT_EQ(sink.quotes[1].ask_price, fx("8476.98"));
  EXPECT_EQ(sink.quotes[1].ask_quantity, fx("415"));

  ASSERT_EQ(parse(file("schema_examples/nautilus_ws_books_snapshot.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(parse(file("schema_examples/nautilus_ws_books_update.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.books.size(), 2u);
  const auto& s = sink.books[0];
  EXPECT_TRUE(s.snapshot);
  EXPECT_EQ(s.last_seq, 123456u);
  EXPECT_EQ(s.prev_seq, -1);
  EXPECT_TRUE(s.has_checksum);
  EXPECT_EQ(s.checksum, -855196043);
  EXPECT_EQ(s.exchange_ts_ns, 1597026383085 * ms);
  ASSERT_EQ(s.bids.size(), 8u);
  ASSERT_EQ(s.asks.size(), 8u);
  EXPECT_EQ(s.bids[3], (book_level{fx("8475.3"), fx("1")}));
  EXPECT_EQ(s.asks[7], (book_level{fx("8506.96"), fx("100")}));
  const auto& u = sink.books[1];
  EXPECT_FALSE(u.snapshot);
  EXPECT_EQ(u.last_seq, 123457u);
  EXPECT_EQ(u.prev_seq, 123456);
  // These values are made up, so the sample's checksum does not match its levels. The
  // checksum of the levels, computed with Python's zlib.crc32 over the interleaved text:
  order_book book;
  book.assign(s.bids, s.asks);
  EXPECT_EQ(okx_checksum(book), -2102840145);

  ASSERT_EQ(parse(file("schema_examples/nautilus_ws_candle.json")), parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.bars.size(), 1u);
  const auto& b = sink.bars[0];
  expect_header(b.header, sizeof(cats_bar_event_t), CATS_EVENT_BAR, 11,
                1597026383085 * ms + day_ns);
  EXPECT_EQ(b.open_time_ns, 1597026383085 * ms);
  EXPECT_EQ(b.interval_ns, day_ns);
  EXPECT_EQ(b.open, fx("8533.02"));
  EXPECT_EQ(b.high, fx("8553.74"));
  EXPECT_EQ(b.low, fx("8527.17"));
  EXPECT_EQ(b.close, fx("8548.26"));
  EXPECT_EQ(b.volume, fx("45247"));
  EXPECT_EQ(b.quote_volume, fx("5529.5858061"));  // volCcyQuote
  EXPECT_EQ(b.taker_buy_volume, 0);
  EXPECT_EQ(b.taker_buy_quote_volume, 0);
  EXPECT_EQ(b.trade_count, 0);
}

// ---- multiple items, candles, errors ------------------------------------------------------------

TEST_F(OkxParser, OneSinkCallPerDataItem) {
  const std::string msg =
      R"({"arg":{"channel":"trades","instId":"ETH-USDT"},"data":[)"
      R"({"instId":"ETH-USDT","tradeId":"1","px":"2000.5","sz":"1","side":"sell",)"
      R"("ts":"1700000000001"},)"
      R"({"instId":"ETH-USDT","tradeId":"2","px":"2000.6","sz":"2","side":"buy",)"
      R"("ts":"1700000000002"},)"
      R"({"instId":"ETH-USDT","tradeId":"3","px":"2000.7","sz":"3","side":"sell",)"
      R"("ts":"1700000000003"}]})";
  ASSERT_EQ(parse(msg), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.trades.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sink.trades[i].header.instrument_id, 13u);
    EXPECT_EQ(sink.trades[i].trade_id, i + 1);
    EXPECT_EQ(sink.trades[i].quantity, static_cast<int64_t>(i + 1) * fixed_scale);
    EXPECT_EQ(sink.trades[i].header.exchange_ts_ns, (1700000000001 + static_cast<int64_t>(i)) * ms);
  }
  EXPECT_EQ(sink.trades[0].aggressor_side, CATS_SIDE_SELL);
  EXPECT_EQ(sink.trades[1].aggressor_side, CATS_SIDE_BUY);
  EXPECT_EQ(sink.trades[1].price, fx("2000.6"));

  // If one item is broken, nothing of the message is delivered.
  std::string broken = msg;
  broken.replace(broken.find("\"2000.7\""), 8, "\"2000,7\"");
  EXPECT_EQ(parse(broken), parse_result::malformed);
  EXPECT_NE(parser.last_error().find("\"px\""), std::string::npos) << parser.last_error();
  EXPECT_EQ(sink.trades.size(), 3u);

  EXPECT_EQ(parse(R"({"arg":{"channel":"trades","instId":"ETH-USDT"},"data":[]})"),
            parse_result::control);
}

std::string candle(const std::string& channel, const std::string& items) {
  return R"({"arg":{"channel":")" + channel + R"(","instId":"BTC-USDT"},"data":[)" + items + "]}";
}

TEST_F(OkxParser, CandlesOnlyWhenConfirmed) {
  const std::string open_item = R"(["1700000040000","1","3","0.5","2","10","20","21","0"])";
  const std::string closed_item = R"(["1700000040000","1","3","0.5","2","10","20","21","1"])";
  EXPECT_EQ(parse(candle("candle1m", open_item)), parse_result::control) << parser.last_error();
  EXPECT_EQ(sink.total(), 0u);
  ASSERT_EQ(parse(candle("candle1m", closed_item)), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.bars.size(), 1u);
  EXPECT_EQ(sink.bars[0].open_time_ns, 1700000040000 * ms);
  EXPECT_EQ(sink.bars[0].interval_ns, 60'000 * ms);
  EXPECT_EQ(sink.bars[0].header.exchange_ts_ns, 1700000100000 * ms);
  EXPECT_EQ(sink.bars[0].quote_volume, fx("21"));

  // Without volCcyQuote the quote volume is volCcy; without confirm nothing is known closed.
  ASSERT_EQ(parse(candle("candle1H", R"(["1700000000000","1","3","0.5","2","10","20","1"])")),
            parse_result::ok)
      << parser.last_error();
  ASSERT_EQ(sink.bars.size(), 2u);
  EXPECT_EQ(sink.bars[1].quote_volume, fx("20"));
  EXPECT_EQ(sink.bars[1].interval_ns, 3'600'000 * ms);
  EXPECT_EQ(parse(candle("candle1H", R"(["1700000000000","1","3","0.5","2","10","20"])")),
            parse_result::control);

  // Calendar months: 1Mutc from 2024-02-01 00:00 UTC is 29 days (leap year); the plain 1M
  // candle opens at 00:00 Hong Kong time (2024-01-31 16:00 UTC) and is as long.
  ASSERT_EQ(
      parse(candle("candle1Mutc", R"(["1706745600000","1","3","0.5","2","10","20","21","1"])")),
      parse_result::ok)
      << parser.last_error();
  EXPECT_EQ(sink.bars.back().interval_ns, 29 * day_ns);
  ASSERT_EQ(parse(candle("candle1M", R"(["1706716800000","1","3","0.5","2","10","20","21","1"])")),
            parse_result::ok)
      << parser.last_error();
  EXPECT_EQ(sink.bars.back().interval_ns, 29 * day_ns);
  ASSERT_EQ(
      parse(candle("candle3Mutc", R"(["1704067200000","1","3","0.5","2","10","20","21","1"])")),
      parse_result::ok);
  EXPECT_EQ(sink.bars.back().interval_ns, (31 + 29 + 31) * day_ns);  // Jan, Feb, Mar 2024

  // Broken candles.
  EXPECT_EQ(parse(candle("candle1m", R"(["1700000040000","1","3","0.5","2","10","20","21","2"])")),
            parse_result::malformed);
  EXPECT_NE(parser.last_error().find("confirm"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(candle("candle1m", R"(["1700000040000","1","x","0.5","2","10","20","21","1"])")),
            parse_result::malformed);
  EXPECT_NE(parser.last_error().find("\"h\""), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(candle("candle1m", R"(["1700000040000","1","3"])")), parse_result::malformed);
  EXPECT_EQ(parse(candle("candle1m", R"([1700000040000,"1","3","0.5","2","10","20","21","1"])")),
            parse_result::malformed);
  EXPECT_NE(parser.last_error().find("\"ts\""), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(candle("candle7x", closed_item)), parse_result::unknown);
}

TEST(OkxCandleInterval, Channels) {
  constexpr int64_t s = 1'000'000'000;
  EXPECT_EQ(okx::candle_interval_ns("candle1s"), s);
  EXPECT_EQ(okx::candle_interval_ns("candle1m"), 60 * s);
  EXPECT_EQ(okx::candle_interval_ns("candle15m"), 900 * s);
  EXPECT_EQ(okx::candle_interval_ns("candle1H"), 3600 * s);
  EXPECT_EQ(okx::candle_interval_ns("candle4H"), 4 * 3600 * s);
  EXPECT_EQ(okx::candle_interval_ns("candle6Hutc"), 6 * 3600 * s);
  EXPECT_EQ(okx::candle_interval_ns("candle1D"), 86400 * s);
  EXPECT_EQ(okx::candle_interval_ns("candle1Dutc"), 86400 * s);
  EXPECT_EQ(okx::candle_interval_ns("candle1W"), 7 * 86400 * s);
  // Months and years have no fixed length (the parser works them out from the open time).
  EXPECT_EQ(okx::candle_interval_ns("candle1M"), 0);
  EXPECT_EQ(okx::candle_interval_ns("candle1Y"), 0);
  for (const char* not_candle : {"trades", "candle", "candle1", "candleH", "candle0m", "candle1x",
                                 "candle1Dxyz", "candle1mutc2", ""}) {
    EXPECT_EQ(okx::candle_interval_ns(not_candle), 0) << not_candle;
  }
}

TEST_F(OkxParser, VenueErrorsAndControl) {
  EXPECT_EQ(parse(R"({"event":"error","code":"60012",)"
                  R"("msg":"Invalid request: {\"op\": \"subscribe\"}","connId":"a4d3ae55"})"),
            parse_result::venue_error);
  EXPECT_NE(parser.last_error().find("60012"), std::string::npos) << parser.last_error();
  EXPECT_NE(parser.last_error().find("Invalid request: {\"op\": \"subscribe\"}"), std::string::npos)
      << parser.last_error();
  EXPECT_EQ(parse(R"({"event":"unsubscribe","arg":{"channel":"trades","instId":"BTC-USDT"}})"),
            parse_result::control);
  EXPECT_TRUE(parser.last_error().empty());
  EXPECT_EQ(parse(R"({"event":"unsubscribe","arg":{"channel":"trades","instId":"BTC-USDT"})"),
            parse_result::malformed);
  EXPECT_EQ(
      parse(R"({"event":"notice","code":"64008","msg":"The connection will soon be closed"})"),
      parse_result::control);
  EXPECT_EQ(sink.total(), 0u);
}

TEST_F(OkxParser, FieldOrderDoesNotMatter) {
  // "data" before "arg" and "action".
  const std::string msg =
      R"({"data":[{"asks":[["10","1","0","1"]],"bids":[["9","2","0","1"]],"ts":"1700000000000",)"
      R"("checksum":123,"seqId":7,"prevSeqId":6}],"action":"update",)"
      R"("arg":{"instId":"BTC-USDT","channel":"books"}})";
  ASSERT_EQ(parse(msg), parse_result::ok) << parser.last_error();
  ASSERT_EQ(sink.books.size(), 1u);
  EXPECT_FALSE(sink.books[0].snapshot);
  EXPECT_EQ(sink.books[0].last_seq, 7u);
  EXPECT_EQ(sink.books[0].prev_seq, 6);
  EXPECT_EQ(sink.books[0].checksum, 123);
  EXPECT_EQ(sink.books[0].instrument_id, 11u);
  EXPECT_EQ(sink.books[0].asks, (std::vector<book_level>{{fx("10"), fx("1")}}));
}

const std::string trade_msg =
    R"({"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",)"
    R"("tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]})";

const std::string book_msg =
    R"({"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":)"
    R"([["30243.5","1.44679","0","6"]],"bids":[["30243.4","0.0012029","0","1"]],)"
    R"("ts":"1652459225381","checksum":47640993,"prevSeqId":-1,"seqId":5}]})";

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST_F(OkxParser, MalformedFieldsAreNamed) {
  ASSERT_EQ(parse(trade_msg), parse_result::ok) << parser.last_error();
  ASSERT_EQ(parse(book_msg), parse_result::ok) << parser.last_error();
  sink = {};
  struct bad_case {
    const std::string& base;
    std::string from, to;
    std::vector<std::string> words;
  };
  const std::vector<bad_case> cases = {
      {trade_msg, R"("px":"30236",)", "", {"missing field \"px\""}},
      {trade_msg, R"(,"ts":"1652459224818")", "", {"missing field \"ts\""}},
      {trade_msg, R"("tradeId":"338476307",)", "", {"missing field \"tradeId\""}},
      {trade_msg, "\"30236\"", "30236", {"\"px\"", "decimal string, got 30236"}},
      {trade_msg, "\"30236\"", "\"30236.000000001\"", {"\"px\"", "more than 8 decimal"}},
      {trade_msg, "\"30236\"", "\"-30236\"", {"\"px\""}},
      {trade_msg, "\"30236\"", "\"123456789012\"", {"\"px\"", "too large"}},
      {trade_msg, "\"0.0002\"", "\"0.0.2\"", {"\"sz\"", "not a decimal number"}},
      {trade_msg, "\"338476307\"", "\"33847x307\"", {"\"tradeId\"", "string of digits"}},
      {trade_msg, "\"338476307\"", "338476307", {"\"tradeId\"", "string of digits"}},
      {trade_msg, "\"338476307\"", "\"99999999999999999999\"", {"\"tradeId\"", "too large"}},
      {trade_msg, "\"buy\"", "\"hold\"", {"\"side\"", "\"buy\" or \"sell\"", "hold"}},
      {trade_msg, "\"1652459224818\"", "\"-1652459224818\"", {"\"ts\""}},
      {trade_msg, "\"1652459224818\"", "\"9223372036855\"", {"\"ts\"", "too large"}},
      {trade_msg, "\"data\":[{", "\"data\":{\"x\":{", {"\"data\"", "array"}},
      {trade_msg, "\"data\":[{", "\"data\":[[", {"\"data\"", "object"}},
      {trade_msg, "\"channel\":\"trades\",", "", {"missing field \"arg.channel\""}},
      {book_msg, "\"checksum\":47640993", "\"checksum\":4764099300", {"\"checksum\"", "32-bit"}},
      {book_msg, "\"checksum\":47640993", "\"checksum\":\"4764\"", {"\"checksum\"", "integer"}},
      {book_msg, "\"seqId\":5", "\"seqId\":-5", {"\"seqId\"", "unsigned"}},
      {book_msg, "\"prevSeqId\":-1", "\"prevSeqId\":-2", {"\"prevSeqId\""}},
      {book_msg, "\"snapshot\"", "\"partial\"", {"\"action\"", "partial"}},
      {book_msg, "\"action\":\"snapshot\",", "", {"missing field \"action\""}},
      {book_msg, R"(["30243.5","1.44679","0","6"])", R"(["30243.5"])", {"\"asks\" [0]"}},
      {book_msg, R"("1.44679")", R"("1.446790001")", {"\"asks\" [0]", "more than 8"}},
      {book_msg, R"("ts":"1652459225381",)", "", {"missing field \"ts\""}},
  };
  for (const auto& c : cases) {
    const std::string msg = replaced(c.base, c.from, c.to);
    EXPECT_EQ(parse(msg), parse_result::malformed) << msg;
    for (const auto& word : c.words) {
      EXPECT_NE(parser.last_error().find(word), std::string::npos)
          << "message: " << parser.last_error() << "\nexpected to contain: " << word
          << "\ninput: " << msg;
    }
    EXPECT_EQ(parser.last_error().rfind("okx", 0), 0u) << parser.last_error();
  }
  EXPECT_EQ(sink.total(), 0u);
}

TEST_F(OkxParser, BrokenJsonUnknownChannelAndSymbol) {
  for (size_t n = 0; n < trade_msg.size(); ++n) {
    EXPECT_EQ(parse(trade_msg.substr(0, n)), parse_result::malformed) << trade_msg.substr(0, n);
    EXPECT_FALSE(parser.last_error().empty());
  }
  for (const std::string& bad : std::vector<std::string>{"", "ping", "pong2", "[]", "{", "null",
                                                         trade_msg + "]", trade_msg + " {}"}) {
    EXPECT_EQ(parse(bad), parse_result::malformed) << bad;
  }
  EXPECT_EQ(sink.total(), 0u);

  EXPECT_EQ(parse(replaced(trade_msg, "\"trades\"", "\"mark-price\"")), parse_result::unknown);
  EXPECT_NE(parser.last_error().find("mark-price"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse(replaced(trade_msg, "\"instId\":\"BTC-USDT\"},", "\"instId\":\"DOGE-USDT\"},")),
            parse_result::unknown);
  EXPECT_NE(parser.last_error().find("DOGE-USDT"), std::string::npos) << parser.last_error();
  EXPECT_EQ(parse("{}"), parse_result::unknown);
  EXPECT_EQ(sink.total(), 0u);
}

// ---- random mutations of real messages must never crash -----------------------------------------

TEST_F(OkxParser, RandomMutationsNeverCrash) {
  std::vector<std::string> seeds = {
      trade_msg, book_msg,
      candle("candle1m", R"(["1700000040000","1","3","0.5","2","10","20","21","1"])"),
      R"({"event":"error","code":"60012","msg":"Invalid request"})"};
  if (fs::exists(okx_dir())) {
    for (const char* name :
         {"ws_trades_BTC-USDT.json", "ws_tickers_BTC-USDT.json", "ws_books_update_BTC-USDT.json",
          "ws_subscribe_ack.json", "schema_examples/nautilus_ws_bbo_tbt.json",
          "schema_examples/nautilus_ws_candle.json",
          "schema_examples/nautilus_ws_books_snapshot.json"}) {
      seeds.push_back(file(name));
    }
  }
  uint64_t rng = 20220513;
  size_t counts[5] = {};
  for (int i = 0; i < 6000; ++i) {
    const std::string msg = mutate(seeds[next_random(rng) % seeds.size()], rng);
    recording_sink s;
    std::string buf = msg;
    buf.append(64, ' ');
    const parse_result r = parser.parse(buf.data(), msg.size(), local_ts, s);
    ASSERT_LE(static_cast<int>(r), static_cast<int>(parse_result::venue_error));
    ++counts[static_cast<int>(r)];
    if (r != parse_result::ok) {
      EXPECT_EQ(s.total(), 0u) << msg;
    }
    if (r == parse_result::malformed || r == parse_result::unknown ||
        r == parse_result::venue_error) {
      EXPECT_FALSE(parser.last_error().empty()) << msg;
    }
  }
  EXPECT_GT(counts[static_cast<int>(parse_result::ok)], 100u);
  EXPECT_GT(counts[static_cast<int>(parse_result::malformed)], 1000u);
}

}  // namespace
}  // namespace cats
