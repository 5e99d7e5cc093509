#include "cats/replay/trade_csv.hpp"

#include <gtest/gtest.h>
#include <zip.h>
#include <zlib.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/replay/kline_csv.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;

// The first three rows of the real binance_spot_BTCUSDT-trades-2024-08-08T2354Z.csv, copied by
// hand as test input.
const std::string spot1 =
    "3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True";
const std::string spot2 =
    "3735683260,61837.63000000,0.04800000,2968.20624000,1723161255617,True,True";
const std::string spot3 = "3735683261,61837.63000000,0.00009000,5.56538670,1723161255617,True,True";

struct read_result {
  std::vector<trade_row> rows;
  std::string error;
  uint64_t skipped = 0;
  std::vector<std::string> messages;
  bool header = false;
  int columns = 0;
  time_unit unit = time_unit::unknown;
};

// Reads every row of `file`; `shown` replaces the folder part of the path in messages.
read_result read_path(const std::string& file, trade_file_kind kind, kline_reader_options opts,
                      const std::string& prefix = {}, const std::string& shown = {}) {
  trade_csv_reader r(file, kind, opts);
  read_result out;
  auto strip = [&](std::string s) {
    if (prefix.empty()) return s;
    for (size_t at = s.find(prefix); at != std::string::npos;
         at = s.find(prefix, at + shown.size()))
      s.replace(at, prefix.size(), shown);
    return s;
  };
  if (!r.open()) {
    out.error = strip(r.error());
    return out;
  }
  trade_row row;
  for (;;) {
    const auto st = r.next(row);
    if (st == trade_csv_reader::status::row) {
      out.rows.push_back(row);
      continue;
    }
    if (st == trade_csv_reader::status::error) out.error = strip(r.error());
    break;
  }
  out.skipped = r.skipped();
  for (const auto& m : r.skip_messages()) out.messages.push_back(strip(m));
  out.header = r.had_header();
  out.columns = r.columns();
  out.unit = r.unit();
  EXPECT_EQ(r.rows(), out.rows.size());
  return out;
}

read_result read_all(const std::string& text, trade_file_kind kind = trade_file_kind::trades,
                     kline_reader_options opts = {}) {
  test::temp_dir dir;
  const auto file = dir / "t.csv";
  test::write_file(file, text);
  return read_path(file.string(), kind, opts, file.string(), "t.csv");
}

std::string agg_error(const std::string& text) {
  return read_all(text, trade_file_kind::agg_trades).error;
}

// ---- the four layouts --------------------------------------------------------------------------

TEST(TradeCsv, SpotTradesEveryFieldExactly) {
  const auto r = read_all(spot1 + "\n" + spot2 + "\n" + spot3 + "\n");
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_FALSE(r.header);
  EXPECT_EQ(r.columns, 7);
  EXPECT_EQ(r.unit, time_unit::milliseconds);
  const trade_row& t = r.rows[0];
  EXPECT_EQ(t.id, 3'735'683'259);
  EXPECT_EQ(t.price, 6'183'763'000'000);
  EXPECT_EQ(t.quantity, 2'000'000);
  EXPECT_EQ(t.quote_quantity, 123'675'260'000);
  EXPECT_EQ(t.time_ns, 1'723'161'255'342'000'000);
  EXPECT_EQ(t.first_trade_id, 0);
  EXPECT_EQ(t.last_trade_id, 0);
  EXPECT_TRUE(t.buyer_maker);
  EXPECT_TRUE(t.best_match);
  EXPECT_EQ(t.line, 1u);
  EXPECT_EQ(r.rows[2].quantity, 9'000);
  EXPECT_EQ(r.rows[2].quote_quantity, 556'538'670);
  EXPECT_EQ(r.rows[2].time_ns, r.rows[1].time_ns);  // equal times are fine
  EXPECT_EQ(r.rows[2].line, 3u);
}

TEST(TradeCsv, SpotTradesMicrosecondsWithHeaderAndLowercaseBooleans) {
  const auto r = read_all(
      "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\r\n"
      "4300000000,93576.01,0.5,46788.005,1735689600123456,false,true\r\n"
      "4300000001,93576,1,93576,1735689600123457,False,False");  // no final newline
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_TRUE(r.header);
  EXPECT_EQ(r.unit, time_unit::microseconds);
  const trade_row& t = r.rows[0];
  EXPECT_EQ(t.id, 4'300'000'000);
  EXPECT_EQ(t.price, 9'357'601'000'000);
  EXPECT_EQ(t.quantity, 50'000'000);
  EXPECT_EQ(t.quote_quantity, 4'678'800'500'000);
  EXPECT_EQ(t.time_ns, 1'735'689'600'123'456'000);
  EXPECT_FALSE(t.buyer_maker);
  EXPECT_TRUE(t.best_match);
  EXPECT_EQ(t.line, 2u);
  EXPECT_EQ(r.rows[1].price, 9'357'600'000'000);
  EXPECT_EQ(r.rows[1].time_ns, 1'735'689'600'123'457'000);
  EXPECT_FALSE(r.rows[1].buyer_maker);
  EXPECT_FALSE(r.rows[1].best_match);
  EXPECT_EQ(r.rows[1].line, 3u);
}

TEST(TradeCsv, FuturesTradesWithAndWithoutHeader) {
  const std::string body =
      "5000000001,61800.10,0.005,309.0005,1723161255342,true\n"
      "5000000002,61800.2,0.010,618.002,1723161255342,false\n";
  for (const bool with_header : {true, false}) {
    const auto r =
        read_all((with_header ? "id,price,qty,quote_qty,time,is_buyer_maker\n" : "") + body);
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.header, with_header);
    EXPECT_EQ(r.columns, 6);
    const trade_row& t = r.rows[0];
    EXPECT_EQ(t.id, 5'000'000'001);
    EXPECT_EQ(t.price, 6'180'010'000'000);
    EXPECT_EQ(t.quantity, 500'000);
    EXPECT_EQ(t.quote_quantity, 30'900'050'000);
    EXPECT_EQ(t.time_ns, 1'723'161'255'342'000'000);
    EXPECT_TRUE(t.buyer_maker);
    EXPECT_TRUE(t.best_match);  // futures files have no such column
    EXPECT_EQ(t.line, with_header ? 2u : 1u);
    EXPECT_EQ(r.rows[1].price, 6'180'020'000'000);
    EXPECT_EQ(r.rows[1].quantity, 1'000'000);
    EXPECT_EQ(r.rows[1].quote_quantity, 61'800'200'000);
    EXPECT_FALSE(r.rows[1].buyer_maker);
  }
}

TEST(TradeCsv, SpotAggTradesComputeTheQuoteQuantity) {
  const auto r = read_all(
      "3000000001,61837.63000000,0.06809000,3735683259,3735683261,1723161255617,True,True\n"
      "3000000002,0.00000003,0.50000000,3735683262,3735683262,1723161255618,False,True\n"
      "3000000003,0.00000001,0.40000000,3735683263,3735683263,1723161255618,False,False\n",
      trade_file_kind::agg_trades);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_FALSE(r.header);
  EXPECT_EQ(r.columns, 8);
  EXPECT_EQ(r.unit, time_unit::milliseconds);
  const trade_row& a = r.rows[0];
  EXPECT_EQ(a.id, 3'000'000'001);
  EXPECT_EQ(a.price, 6'183'763'000'000);
  EXPECT_EQ(a.quantity, 6'809'000);
  EXPECT_EQ(a.first_trade_id, 3'735'683'259);
  EXPECT_EQ(a.last_trade_id, 3'735'683'261);
  EXPECT_EQ(a.time_ns, 1'723'161'255'617'000'000);
  EXPECT_TRUE(a.buyer_maker);
  EXPECT_TRUE(a.best_match);
  // 61837.63 × 0.06809 = 4210.5242267 exactly.
  EXPECT_EQ(a.quote_quantity, 421'052'422'670);
  // 0.00000003 × 0.5 = 0.000000015: rounded to the nearest 10^-8, half up.
  EXPECT_EQ(r.rows[1].quote_quantity, 2);
  EXPECT_EQ(r.rows[1].first_trade_id, 3'735'683'262);
  EXPECT_EQ(r.rows[1].last_trade_id, 3'735'683'262);
  EXPECT_FALSE(r.rows[1].buyer_maker);
  // 0.00000001 × 0.4 = 0.000000004: rounds down to 0.
  EXPECT_EQ(r.rows[2].quote_quantity, 0);
  EXPECT_FALSE(r.rows[2].best_match);
}

TEST(TradeCsv, FuturesAggTradesWithHeaderInMicroseconds) {
  const std::string header =
      "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n";
  const std::string body =
      "2100000000,100000.5,12.345,5100000000,5100000004,1735689600000001,true\n"
      "2100000001,99999.9,0.001,5100000005,5100000005,1735689600000001,false\n";
  for (const bool with_header : {true, false}) {
    const auto r = read_all((with_header ? header : "") + body, trade_file_kind::agg_trades);
    ASSERT_EQ(r.error, "");
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.header, with_header);
    EXPECT_EQ(r.columns, 7);
    EXPECT_EQ(r.unit, time_unit::microseconds);
    const trade_row& a = r.rows[0];
    EXPECT_EQ(a.id, 2'100'000'000);
    EXPECT_EQ(a.price, 10'000'050'000'000);
    EXPECT_EQ(a.quantity, 1'234'500'000);
    EXPECT_EQ(a.first_trade_id, 5'100'000'000);
    EXPECT_EQ(a.last_trade_id, 5'100'000'004);
    EXPECT_EQ(a.time_ns, 1'735'689'600'000'001'000);
    EXPECT_TRUE(a.buyer_maker);
    EXPECT_TRUE(a.best_match);
    // 100000.5 × 12.345 = 1234506.1725
    EXPECT_EQ(a.quote_quantity, 123'450'617'250'000);
    // 99999.9 × 0.001 = 99.9999
    EXPECT_EQ(r.rows[1].quote_quantity, 9'999'990'000);
    EXPECT_FALSE(r.rows[1].buyer_maker);
  }
}

// ---- errors ------------------------------------------------------------------------------------

TEST(TradeCsv, MalformedFieldsNameFileLineAndField) {
  const std::string ok = spot1 + "\n";
  EXPECT_EQ(read_all(ok + "3735683260,abc,0.048,2968.20624,1723161255617,True,True\n").error,
            "t.csv:2: field 'price': expected a decimal number, got 'abc'");
  EXPECT_EQ(read_all(ok + "3735683260,61837.63,0.123456789,1,1723161255617,True,True\n").error,
            "t.csv:2: field 'qty': more than 8 decimal places, got '0.123456789'");
  EXPECT_EQ(read_all(ok + "3735683260,61837.63,0.048,,1723161255617,True,True\n").error,
            "t.csv:2: field 'quote_qty': expected a decimal number, got ''");
  EXPECT_EQ(read_all(ok + "3735683260,-61837.63,0.048,1,1723161255617,True,True\n").error,
            "t.csv:2: field 'price': expected a decimal number, got '-61837.63'");
  EXPECT_EQ(read_all(ok + "3735683260,123456789012.5,0.048,1,1723161255617,True,True\n").error,
            "t.csv:2: field 'price': too large for 8-decimal fixed point, got '123456789012.5'");
  EXPECT_EQ(read_all("x1,61837.63,0.048,1,1723161255617,True,True\n").error,
            "t.csv:1: field 'id': expected a whole number, got 'x1'");
  EXPECT_EQ(read_all("1234567890123456789,61837.63,0.048,1,1723161255617,True,True\n").error,
            "t.csv:1: field 'id': number out of range, got '1234567890123456789'");
  EXPECT_EQ(read_all(ok + "3735683260,61837.63,0.048,1,17231612556.17,True,True\n").error,
            "t.csv:2: field 'time': expected a whole number, got '17231612556.17'");
  EXPECT_EQ(read_all(ok + "3735683260,61837.63,0.048,1,1723161255617,yes,True\n").error,
            "t.csv:2: field 'is_buyer_maker': expected True or False, got 'yes'");
  EXPECT_EQ(read_all(ok + "3735683260,61837.63,0.048,1,1723161255617,True,TRUE\n").error,
            "t.csv:2: field 'is_best_match': expected True or False, got 'TRUE'");
  EXPECT_EQ(read_all(ok + "3735683260,61837.63,0.048,1,1723161255617,True,\n").error,
            "t.csv:2: field 'is_best_match': expected True or False, got ''");
  EXPECT_EQ(read_all(ok + "3735683260,61837.63,0.048,1,1723161255617,Truex,True\n").error,
            "t.csv:2: field 'is_buyer_maker': expected True or False, got 'Truex'");
}

TEST(TradeCsv, WrongColumnCounts) {
  EXPECT_EQ(read_all("3735683259,61837.63,0.02,1236.7526,1723161255342\n").error,
            "t.csv:1: expected 6 (futures) or 7 (spot) comma-separated columns for Binance "
            "trades, found 5");
  EXPECT_EQ(read_all(spot1 + "\n3735683260,61837.63,0.048,2968.20624,1723161255617,True\n").error,
            "t.csv:2: expected 7 comma-separated columns, found 6");
  EXPECT_EQ(read_all(spot1 + "\n" + spot2 + ",True\n").error,
            "t.csv:2: expected 7 comma-separated columns, found 8");
  EXPECT_EQ(read_all("1,2,3,4,5,6,7,8,9\n", trade_file_kind::agg_trades).error,
            "t.csv:1: expected 7 (futures) or 8 (spot) comma-separated columns for Binance "
            "aggTrades, found 9");
  // A futures file (6 columns) has no seventh column to drop in.
  EXPECT_EQ(read_all("1,2,3,6,1723161255342,true\n2,2,3,6,1723161255342,true,true\n").error,
            "t.csv:2: expected 6 comma-separated columns, found 7");
}

TEST(TradeCsv, HeadersMustNameTheLayout) {
  // The header of the other kind is an error even in skip mode.
  kline_reader_options skip;
  skip.skip_malformed = true;
  EXPECT_EQ(read_all("agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
                     "is_buyer_maker\n1,2,3,1,1,1723161255342,true\n",
                     trade_file_kind::trades, skip)
                .error,
            "t.csv:1: the header 'agg_trade_id,price,quantity,first_trade_id,last_trade_id,...' "
            "is that of Binance aggTrades, not Binance trades");
  EXPECT_EQ(agg_error("id,price,qty,quote_qty,time,is_buyer_maker\n1,2,3,4,1723161255342,true\n"),
            "t.csv:1: the header 'id,price,qty,quote_qty,time,is_buyer_maker' is that of Binance "
            "trades, not Binance aggTrades");
  EXPECT_EQ(
      read_all("id,price,qty,quote_qty,time,isBuyerMaker\n1,2,3,6,1723161255342,true\n").error,
      "t.csv:1: unrecognised header 'id,price,qty,quote_qty,time,isBuyerMaker': expected "
      "'id,price,qty,quote_qty,time,is_buyer_maker' or "
      "'id,price,qty,quote_qty,time,is_buyer_maker,is_best_match'");
  // Only the first line can be a header; a later one is a malformed row.
  EXPECT_EQ(read_all(spot1 + "\nid,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n").error,
            "t.csv:2: field 'id': expected a whole number, got 'id'");
  // Upper-case header names are accepted.
  EXPECT_EQ(
      read_all("ID,PRICE,QTY,QUOTE_QTY,TIME,IS_BUYER_MAKER\n1,2,3,6,1723161255342,true\n").error,
      "");
}

TEST(TradeCsv, OrderAndValueChecks) {
  EXPECT_EQ(read_all(spot1 + "\n" + spot1 + "\n").error,
            "t.csv:2: trade id 3735683259 not after 3735683259");
  EXPECT_EQ(read_all(spot2 + "\n" + spot1 + "\n").error,
            "t.csv:2: trade id 3735683259 not after 3735683260");
  EXPECT_EQ(
      read_all(spot1 + "\n3735683260,61837.63,0.048,2968.20624,1723161255341,True,True\n").error,
      "t.csv:2: time 1723161255341 is before the previous row's 1723161255342");
  EXPECT_EQ(read_all(spot1 + "\n3735683260,1,1,1,1723161255342000,True,True\n").error,
            "t.csv:2: time 1723161255342000 is in microseconds but the file started in "
            "milliseconds");
  EXPECT_EQ(read_all("1,1,1,1,100000000000000000,True,True\n").error,
            "t.csv:1: time 100000000000000000 is not an epoch time in seconds, milliseconds or "
            "microseconds (after 2001)");
  // Epoch seconds are seconds (as milliseconds they would be January 1970); before 2001, nothing.
  const auto seconds = read_all("1,1,1,1,1723161255,True,True\n");
  ASSERT_EQ(seconds.error, "");
  EXPECT_EQ(seconds.unit, time_unit::seconds);
  EXPECT_EQ(seconds.rows[0].time_ns, 1'723'161'255'000'000'000);
  EXPECT_EQ(read_all("1,1,1,1,17231612,True,True\n").error,
            "t.csv:1: time 17231612 is not an epoch time in seconds, milliseconds or microseconds "
            "(after 2001)");
  EXPECT_EQ(read_all("1,1,1,1,9300000000000,True,True\n").error,
            "t.csv:1: time 9300000000000 is out of range (after the year 2262)");
  EXPECT_EQ(read_all("1,0,1,0,1723161255342,True,True\n").error, "t.csv:1: price must be positive");
  EXPECT_EQ(read_all("1,1,0.00000000,0,1723161255342,True,True\n").error,
            "t.csv:1: quantity must be positive");
  EXPECT_EQ(agg_error("5,1,1,10,9,1723161255342,true,true\n"),
            "t.csv:1: first_trade_id 10 is after last_trade_id 9");
  EXPECT_EQ(agg_error("5,1,1,9,9,1723161255342,true,true\n4,1,1,10,10,1723161255342,true,true\n"),
            "t.csv:2: agg_trade_id 4 not after 5");
  EXPECT_EQ(agg_error("5,1,1,9,9,1723161255342,true,true\n6,1,1,10,10,1723161255341,true,true\n"),
            "t.csv:2: transact_time 1723161255341 is before the previous row's 1723161255342");
  EXPECT_EQ(agg_error("5,1,1,9,9,17231612553x2,true,true\n"),
            "t.csv:1: field 'transact_time': expected a whole number, got '17231612553x2'");
  EXPECT_EQ(agg_error("5,1,1,9,x,1723161255342,true,true\n"),
            "t.csv:1: field 'last_trade_id': expected a whole number, got 'x'");
  // 90000000000 × 2 = 1.8e11: beyond what 8-decimal fixed point holds (about 9.2e10).
  EXPECT_EQ(agg_error("5,90000000000,2,9,9,1723161255342,true,true\n"),
            "t.csv:1: price * quantity is too large for 8-decimal fixed point");
}

TEST(TradeCsv, SkipModeCountsAndKeepsGoing) {
  kline_reader_options o;
  o.skip_malformed = true;
  // A bad first row in skip mode: the layout comes from the next good one.
  const auto r = read_all("garbage\n" + spot1 + "\n" + spot1 + "\n3735683260,x,1,1,1,True,True\n" +
                              spot2 + "\n\n" + spot3 + "\n",
                          trade_file_kind::trades, o);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0].id, 3'735'683'259);
  EXPECT_EQ(r.rows[0].line, 2u);
  EXPECT_EQ(r.rows[1].id, 3'735'683'260);  // the skipped row did not take id ...260
  EXPECT_EQ(r.rows[1].line, 5u);
  EXPECT_EQ(r.rows[2].line, 7u);
  EXPECT_EQ(r.skipped, 3u);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0],
            "t.csv:1: unrecognised header 'garbage': expected "
            "'id,price,qty,quote_qty,time,is_buyer_maker' or "
            "'id,price,qty,quote_qty,time,is_buyer_maker,is_best_match'");
  EXPECT_EQ(r.messages[1], "t.csv:3: trade id 3735683259 not after 3735683259");
  EXPECT_EQ(r.messages[2], "t.csv:4: field 'price': expected a decimal number, got 'x'");
}

TEST(TradeCsv, StreamsThroughASmallBuffer) {
  std::string text;
  for (int i = 0; i < 5000; ++i)
    text += std::to_string(1000 + i) + ",100." + std::to_string(i % 100) + ",0.5,50," +
            std::to_string(1'723'161'255'342 + i / 3) + "," + (i % 2 ? "True" : "False") +
            ",True\n";
  kline_reader_options o;
  o.buffer_size = 4096;
  const auto r = read_all(text, trade_file_kind::trades, o);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 5000u);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(r.rows[i].id, 1000 + i);
    ASSERT_EQ(r.rows[i].price,
              10'000'000'000 + int64_t{i % 100} * (i % 100 < 10 ? 10'000'000 : 1'000'000))
        << i;
    ASSERT_EQ(r.rows[i].buyer_maker, i % 2 == 1);
    ASSERT_EQ(r.rows[i].line, static_cast<uint64_t>(i + 1));
  }
}

TEST(TradeCsv, OverlongLineAndMissingFile) {
  kline_reader_options o;
  o.buffer_size = 4096;
  EXPECT_EQ(read_all(std::string(10000, '1') + "\n", trade_file_kind::trades, o).error,
            "t.csv:1: line longer than 4096 bytes");
  trade_csv_reader r("/nonexistent/t.csv", trade_file_kind::trades);
  EXPECT_FALSE(r.open());
  EXPECT_EQ(r.error(), "/nonexistent/t.csv: cannot open: No such file or directory");
  EXPECT_TRUE(read_all("").rows.empty());
  EXPECT_EQ(read_all("").error, "");
}

// ---- the real file -----------------------------------------------------------------------------

fs::path real_trades_file() {
  return test::shared_data_dir() / "trades" / "binance_spot_BTCUSDT-trades-2024-08-08T2354Z.csv";
}

void check_real_rows(const read_result& r) {
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.rows.size(), 9757u);
  EXPECT_FALSE(r.header);
  EXPECT_EQ(r.unit, time_unit::milliseconds);
  // First row: 3735683259,61837.63000000,0.02000000,1236.75260000,1723161255342,True,True
  const trade_row& f = r.rows.front();
  EXPECT_EQ(f.id, 3'735'683'259);
  EXPECT_EQ(f.price, 6'183'763'000'000);
  EXPECT_EQ(f.quantity, 2'000'000);
  EXPECT_EQ(f.quote_quantity, 123'675'260'000);
  EXPECT_EQ(f.time_ns, 1'723'161'255'342'000'000);
  EXPECT_TRUE(f.buyer_maker);
  EXPECT_TRUE(f.best_match);
  // Last row: 3735693015,61685.99000000,0.00140000,86.36038600,1723161601271,True,True
  const trade_row& l = r.rows.back();
  EXPECT_EQ(l.id, 3'735'693'015);
  EXPECT_EQ(l.price, 6'168'599'000'000);
  EXPECT_EQ(l.quantity, 140'000);
  EXPECT_EQ(l.quote_quantity, 8'636'038'600);
  EXPECT_EQ(l.time_ns, 1'723'161'601'271'000'000);
  EXPECT_TRUE(l.buyer_maker);
  EXPECT_TRUE(l.best_match);
  EXPECT_EQ(l.line, 9757u);
  // Second to last: 3735693014,61686.00000000,0.02432000,1500.20352000,1723161601262,False,True
  EXPECT_FALSE(r.rows[9755].buyer_maker);
  for (size_t i = 1; i < r.rows.size(); ++i) {
    ASSERT_EQ(r.rows[i].id, r.rows[i - 1].id + 1) << i;
    ASSERT_GE(r.rows[i].time_ns, r.rows[i - 1].time_ns) << i;
  }
}

TEST(TradeCsvRealData, BinanceSpotTradesFile) {
  const auto file = real_trades_file();
  if (!fs::exists(file)) GTEST_SKIP() << "shared data absent: " << file;
  check_real_rows(read_path(file.string(), trade_file_kind::trades, {}));
}

// ---- zip and gzip ------------------------------------------------------------------------------

// Writes a zip archive with libzip; `store` keeps the data uncompressed (to damage it on purpose).
void write_zip(const fs::path& zip, const std::vector<std::pair<std::string, std::string>>& files,
               bool store = false) {
  int err = 0;
  zip_t* za = zip_open(zip.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(za, nullptr) << "zip_open " << err;
  for (const auto& [name, data] : files) {
    zip_source_t* src = zip_source_buffer(za, data.data(), data.size(), 0);
    ASSERT_NE(src, nullptr);
    const zip_int64_t idx = zip_file_add(za, name.c_str(), src, ZIP_FL_OVERWRITE);
    ASSERT_GE(idx, 0) << zip_strerror(za);
    if (store) {
      ASSERT_EQ(zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0), 0);
    }
  }
  ASSERT_EQ(zip_close(za), 0);
}

void expect_same_rows(const read_result& a, const read_result& b) {
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const trade_row &x = a.rows[i], &y = b.rows[i];
    ASSERT_TRUE(x.id == y.id && x.price == y.price && x.quantity == y.quantity &&
                x.quote_quantity == y.quote_quantity && x.time_ns == y.time_ns &&
                x.first_trade_id == y.first_trade_id && x.last_trade_id == y.last_trade_id &&
                x.buyer_maker == y.buyer_maker && x.best_match == y.best_match && x.line == y.line)
        << "row " << i;
  }
}

std::string generated_trades(int n) {
  std::string text;
  text.reserve(static_cast<size_t>(n) * 72);
  for (int i = 0; i < n; ++i)
    text += std::to_string(4'000'000'000 + i) + "," + std::to_string(60000 + i % 977) + "." +
            std::to_string(10 + i % 90) + "000000,0.00" + std::to_string(100 + i % 900) + "00," +
            std::to_string(1 + i % 5000) + ".5," + std::to_string(1'735'689'600'000'000 + i * 7) +
            "," + (i % 3 ? "True" : "False") + ",True\n";
  return text;
}

TEST(ByteSource, TradesInAZipReadLikeThePlainFile) {
  test::temp_dir dir;
  const auto real = real_trades_file();
  const std::string text = fs::exists(real) ? test::read_file(real) : generated_trades(9757);
  test::write_file(dir / "t.csv", text);
  write_zip(dir / "t.zip", {{"BTCUSDT-trades-2024-08.csv", text}});
  const auto plain = read_path((dir / "t.csv").string(), trade_file_kind::trades, {});
  const auto zipped = read_path((dir / "t.zip").string(), trade_file_kind::trades, {});
  ASSERT_EQ(plain.error, "");
  ASSERT_EQ(zipped.error, "");
  if (fs::exists(real)) check_real_rows(zipped);
  expect_same_rows(plain, zipped);
}

TEST(ByteSource, KlinesInAZipAndAGzipReadLikeThePlainFile) {
  std::string text =
      "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
      "taker_buy_quote_volume,ignore\n";
  for (int i = 0; i < 3000; ++i) {
    const int64_t t = 1'640'995'200'000 + int64_t{i} * 60'000;
    text += std::to_string(t) + ",100." + std::to_string(i % 100) + ",101,99,100.5,1.25," +
            std::to_string(t + 59'999) + ",125.5," + std::to_string(i) + ",0.5,50.25,0\n";
  }
  test::temp_dir dir;
  test::write_file(dir / "k.csv", text);
  write_zip(dir / "k.zip", {{"BTCUSDT-1m-2022-01.csv", text}});
  {
    gzFile gz = gzopen((dir / "k.csv.gz").c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())),
              static_cast<int>(text.size()));
    ASSERT_EQ(gzclose(gz), Z_OK);
  }
  auto read = [](const fs::path& p) {
    std::vector<kline_row> rows;
    kline_reader_options o;
    o.buffer_size = 4096;
    kline_csv_reader r(p.string(), o);
    EXPECT_TRUE(r.open()) << r.error();
    kline_row row;
    while (r.next(row) == kline_csv_reader::status::row) rows.push_back(row);
    EXPECT_EQ(r.error(), "");
    EXPECT_TRUE(r.had_header());
    return rows;
  };
  const auto plain = read(dir / "k.csv");
  ASSERT_EQ(plain.size(), 3000u);
  for (const auto& p : {dir / "k.zip", dir / "k.csv.gz"}) {
    const auto other = read(p);
    ASSERT_EQ(other.size(), plain.size()) << p;
    for (size_t i = 0; i < plain.size(); ++i) {
      ASSERT_EQ(other[i].open_time_ns, plain[i].open_time_ns);
      ASSERT_EQ(other[i].open, plain[i].open);
      ASSERT_EQ(other[i].trade_count, plain[i].trade_count);
      ASSERT_EQ(other[i].taker_buy_quote_volume, plain[i].taker_buy_quote_volume);
      ASSERT_EQ(other[i].line, plain[i].line);
    }
  }
}

// One rule for what is compressed, in any case: what open_byte_source inflates.
TEST(ByteSource, CompressedPathsAreTheOnesThatAreInflated) {
  for (const char* p :
       {"a.gz", "A.GZ", "k.zip", "K.Zip", "k.zip#x.csv", "K.ZIP#x#y.csv", "dir.zip/k.zip#e"})
    EXPECT_TRUE(compressed_path(p)) << p;
  for (const char* p : {"a.csv", "a.gz.csv", "a.zip.csv", "notes#1.csv", "a#zip", "zip", "gz",
                        "a.tgz", "a.zipx#e", ""})
    EXPECT_FALSE(compressed_path(p)) << p;
}

TEST(ByteSource, MultiEntryZipNeedsAnEntryName) {
  test::temp_dir dir;
  const std::string zip = (dir / "m.zip").string();
  const std::string agg = "7,2,3,1,1,1723161255342,true,true\n8,2,4,2,2,1723161255343,true,true\n";
  write_zip(dir / "m.zip", {{"a.csv", spot1 + "\n"}, {"b/agg.csv", agg}});
  const auto all = read_path(zip, trade_file_kind::trades, {}, dir.path().string() + "/", "");
  EXPECT_EQ(all.error, "m.zip: holds 2 entries (a.csv, b/agg.csv); name one as m.zip#entry");
  const auto a = read_path(zip + "#a.csv", trade_file_kind::trades, {});
  ASSERT_EQ(a.error, "");
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_EQ(a.rows[0].id, 3'735'683'259);
  const auto b = read_path(zip + "#b/agg.csv", trade_file_kind::agg_trades, {});
  ASSERT_EQ(b.error, "");
  ASSERT_EQ(b.rows.size(), 2u);
  EXPECT_EQ(b.rows[1].quote_quantity, 8 * fixed_scale);
  const auto none =
      read_path(zip + "#c.csv", trade_file_kind::trades, {}, dir.path().string() + "/", "");
  EXPECT_EQ(none.error, "m.zip: no entry 'c.csv' (entries: a.csv, b/agg.csv)");
  // Errors in a row name the path as given, entry included.
  write_zip(dir / "bad.zip", {{"x.csv", spot1 + "\n"}, {"y.csv", "1,2\n"}});
  const auto bad = read_path((dir / "bad.zip").string() + "#y.csv", trade_file_kind::trades, {},
                             dir.path().string() + "/", "");
  EXPECT_EQ(bad.error,
            "bad.zip#y.csv:1: expected 6 (futures) or 7 (spot) comma-separated columns for Binance "
            "trades, found 2");
}

TEST(ByteSource, DamagedArchivesAreErrorsNotCrashes) {
  test::temp_dir dir;
  const std::string text = generated_trades(2000);
  write_zip(dir / "ok.zip", {{"t.csv", text}}, /*store=*/true);
  const std::string bytes = test::read_file(dir / "ok.zip");
  const std::string prefix = dir.path().string() + "/";
  auto error_of = [&](const std::string& name) {
    return read_path((dir / name).string(), trade_file_kind::trades, {}, prefix, "").error;
  };
  // Cut short: the central directory at the end is gone.
  test::write_file(dir / "cut.zip", bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(error_of("cut.zip"), "cut.zip: not a zip archive");
  // Cut off only the last bytes of the end-of-central-directory record.
  test::write_file(dir / "cut2.zip", bytes.substr(0, bytes.size() - 5));
  EXPECT_EQ(error_of("cut2.zip"), "cut2.zip: not a zip archive");
  // One digit of the stored data changed: every row still parses, the CRC does not match.
  std::string flipped = bytes;
  const size_t at = flipped.find("4000001000,");
  ASSERT_NE(at, std::string::npos);
  flipped[at + 11] = '5';  // price 60xxx -> 50xxx: still a valid row
  test::write_file(dir / "crc.zip", flipped);
  EXPECT_EQ(error_of("crc.zip"), "crc.zip: entry t.csv: CRC mismatch (the archive is damaged)");
  // Not a zip at all, an empty file, a missing file.
  test::write_file(dir / "text.zip", spot1 + "\n");
  EXPECT_EQ(error_of("text.zip"), "text.zip: not a zip archive");
  test::write_file(dir / "empty.zip", "");
  EXPECT_EQ(error_of("empty.zip"), "empty.zip: not a zip archive");
  EXPECT_EQ(error_of("missing.zip"), "missing.zip: cannot open: No such file or directory");
  EXPECT_EQ(error_of("missing.zip#t.csv"), "missing.zip: cannot open: No such file or directory");
  // A truncated gzip file and a .gz that is not gzip.
  {
    gzFile gz = gzopen((dir / "t.csv.gz").c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
  }
  const std::string gz = test::read_file(dir / "t.csv.gz");
  test::write_file(dir / "cut.csv.gz", gz.substr(0, gz.size() / 2));
  EXPECT_EQ(error_of("cut.csv.gz"),
            "cut.csv.gz: damaged or truncated gzip data: unexpected end of file");
  test::write_file(dir / "plain.csv.gz", spot1 + "\n");
  EXPECT_EQ(error_of("plain.csv.gz"), "plain.csv.gz: not a gzip file");
}

TEST(ByteSource, LargeZipStreams) {
  // 200,000 rows (about 14 MB) through a 64 KiB buffer: the entry is inflated piece by piece.
  const int n = 200'000;
  const std::string text = generated_trades(n);
  test::temp_dir dir;
  write_zip(dir / "big.zip", {{"big.csv", text}});
  EXPECT_LT(fs::file_size(dir / "big.zip"), text.size() / 3);  // really compressed
  kline_reader_options o;
  o.buffer_size = 1 << 16;
  trade_csv_reader r((dir / "big.zip").string(), trade_file_kind::trades, o);
  ASSERT_TRUE(r.open()) << r.error();
  trade_row row;
  int64_t i = 0;
  while (r.next(row) == trade_csv_reader::status::row) {
    ASSERT_EQ(row.id, 4'000'000'000 + i);
    ASSERT_EQ(row.time_ns, (1'735'689'600'000'000 + i * 7) * 1000);
    ASSERT_EQ(row.quantity, (100 + i % 900) * 1000);  // "0.00" "123" "00" = 0.0012300
    ASSERT_EQ(row.buyer_maker, i % 3 != 0);
    ++i;
  }
  EXPECT_EQ(r.error(), "");
  EXPECT_EQ(i, n);
  EXPECT_EQ(r.unit(), time_unit::microseconds);
}

}  // namespace
}  // namespace cats
