// Old plugins in a new host: a plugin built against the ABI 1.0 header loads, trades with its
// smaller structs and is never sent book events (ABI 1.1), while a current plugin in the same run
// gets them.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cats/core/events.hpp"
#include "cats/core/fixed.hpp"
#include "cats/record/record_file.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;
constexpr int64_t t0 = 1'733'300'000'000'000'000;  // 2024-12-04
constexpr int64_t ms = 1'000'000;

// A recording with 60 trades, 60 quotes and 60 book updates of one instrument, interleaved.
void write_recording(const fs::path& dir) {
  record_writer_options o;
  o.dir = dir;
  record_writer w(o);
  const std::string sym = "BINANCE:BTCUSDT";
  for (int i = 0; i < 60; ++i) {
    const int64_t ts = t0 + i * 10 * ms;
    book_update u;
    u.instrument_id = 1;
    u.exchange_ts_ns = u.local_ts_ns = ts;
    u.snapshot = i == 0;
    u.first_seq = u.last_seq = 1000 + static_cast<uint64_t>(i);
    u.bids = {{(60'000 - i % 3) * fixed_scale, fixed_scale}};
    u.asks = {{(60'001 + i % 3) * fixed_scale, fixed_scale}};
    w.write_book(sym, u, u.snapshot ? CATS_BOOK_FLAG_SNAPSHOT : 0);
    cats_quote_event_t q{};
    q.header = event_header<cats_quote_event_t>(CATS_EVENT_QUOTE, 1, ts + ms, 0);
    q.bid_price = u.bids[0].price;
    q.ask_price = u.asks[0].price;
    q.bid_quantity = q.ask_quantity = fixed_scale;
    w.write_quote(sym, q);
    cats_trade_event_t t{};
    t.header = event_header<cats_trade_event_t>(CATS_EVENT_TRADE, 1, ts + 2 * ms, 0);
    t.price = u.asks[0].price;
    t.quantity = fixed_scale / 10;
    t.trade_id = static_cast<uint64_t>(i) + 1;
    t.aggressor_side = CATS_SIDE_BUY;
    w.write_trade(sym, t);
  }
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(AbiCompat, APluginBuiltForAbi10LoadsTradesAndNeverGetsBookEvents) {
  test::temp_dir d;
  write_recording(d / "rec");
  fs::path file;
  for (const auto& e : fs::directory_iterator(d / "rec")) file = e.path();
  ASSERT_EQ(file.extension(), ".catsrec");

  const test::run_result inspect =
      test::run({CATS_BINARY, "plugins", "inspect",
                 std::string(CATS_TEST_PLUGIN_DIR) + "/abi_1_0_strategy.so"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("abi_1_0 1.0.0  (ABI 1.0)"), std::string::npos) << inspect.out;

  test::write_file(
      d / "run.toml",
      "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" + std::string(CATS_TEST_PLUGIN_DIR) +
          "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n" + "format = \"cats_record\"\nfiles = [\"" +
          file.string() + "\"]\n" + "[backtest]\ninitial_cash = 100000\n" +
          "[[strategy]]\nname = \"old\"\nplugin = \"abi_1_0_strategy\"\n" +
          "[strategy.params]\nlog = \"" + (d / "old.log").string() + "\"\n" +
          "[[strategy]]\nname = \"new\"\nplugin = \"probe_strategy\"\n" +
          "[strategy.params]\nlog = \"" + (d / "new.log").string() + "\"\n");
  const test::run_result r =
      test::run({CATS_BINARY, "backtest", "--config", (d / "run.toml").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::string old_log = test::read_file(d / "old.log");
  EXPECT_EQ(count(old_log, "event 1 "), 60u) << old_log;  // trades
  EXPECT_EQ(count(old_log, "event 2 "), 60u);             // quotes
  EXPECT_EQ(count(old_log, "event 7 "), 0u);              // books: never for a 1.0 plugin
  EXPECT_NE(old_log.find("submit 0\n"), std::string::npos);
  EXPECT_NE(old_log.find("fill 1000000\n"), std::string::npos);  // 0.01 filled
  const std::string new_log = test::read_file(d / "new.log");
  EXPECT_EQ(count(new_log, "\nbook "), 60u) << new_log;
}

}  // namespace
}  // namespace cats
