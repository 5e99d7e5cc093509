// `cats live` against the fake exchange over TLS on 127.0.0.1: real binary, real plugin, real
// sockets. Each test starts its own fake exchange (a certificate made with openssl for the test)
// and checks what reached the strategy, the summary counters and the final order book against the
// fake exchange's own book.
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "cats/core/fixed.hpp"
#include "integration/fake_exchange.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class LiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
    ASSERT_TRUE(make_cert(dir_.path())) << "openssl could not make a test certificate";
  }

  // Writes a paper config for the fake exchange and starts `cats live`.
  // `live_extra` goes into [live]; `wrapper` runs cats (e.g. taskset).
  std::unique_ptr<background> start_cats(const fake_exchange& fake, const std::string& instruments,
                                         const std::string& extra = {}, bool trust = true,
                                         const std::string& live_extra = {},
                                         std::vector<std::string> wrapper = {}) {
    std::ostringstream c;
    c << "[engine]\nlog_level = \"info\"\nplugin_dir = \"" << CATS_TEST_PLUGIN_DIR << "\"\n"
      << "[live]\nstatus_interval = 1\n"
      << live_extra << "[venues.binance]\nws_url = \"wss://" << fake.base()
      << "\"\nrest_url = \"https://" << fake.base() << "\"\nread_timeout = 2\n"
      << (trust ? "ca_file = \"" + (dir_ / "cert.pem").string() + "\"\n" : "")
      << "[venues.okx]\nws_url = \"wss://" << fake.base() << "/ws/v5/public\"\nread_timeout = 2\n"
      << (trust ? "ca_file = \"" + (dir_ / "cert.pem").string() + "\"\n" : "") << instruments
      << "[backtest]\ninitial_cash = 100000\nfee_bps = 10\n"
      << "[[strategy]]\nname = \"probe\"\nplugin = \"probe_strategy\"\n[strategy.params]\nlog = \""
      << (dir_ / "probe.log").string() << "\"\n"
      << extra;
    write_file(dir_ / "paper.toml", c.str());
    for (const std::string& a :
         {std::string(CATS_BINARY), std::string("live"), std::string("--config"),
          (dir_ / "paper.toml").string(), std::string("--out"), (dir_ / "out").string()})
      wrapper.push_back(a);
    return std::make_unique<background>(wrapper, (dir_ / "cats.out").string(),
                                        (dir_ / "cats.err").string());
  }

  std::string probe_log() const {
    return fs::exists(dir_ / "probe.log") ? read_file(dir_ / "probe.log") : std::string();
  }
  std::string cats_log() const {
    return fs::exists(dir_ / "cats.err") ? read_file(dir_ / "cats.err") : std::string();
  }

  // Trade ids seen by the strategy, in order.
  std::vector<uint64_t> trade_ids() const { return probe_trade_ids(probe_log()); }

  // Stops cats with SIGINT, expects a clean exit and returns summary.json.
  std::string stop_cats(background& cats) {
    cats.signal(SIGINT);
    EXPECT_EQ(cats.wait(20), 0) << cats_log();
    return read_file(dir_ / "out" / "summary.json");
  }

  uint64_t stat(const std::string& summary, const char* section, const char* key,
                size_t venue = 0) {
    simdjson::dom::parser p;
    simdjson::dom::element e = parse_json(p, summary);
    simdjson::dom::element v;
    if (std::string(section) == "venues")
      v = e["venues"].at(venue)[key];
    else
      v = e[section][key];
    uint64_t out = 0;
    EXPECT_EQ(v.get(out), simdjson::SUCCESS) << section << "." << key << " in " << summary;
    return out;
  }

  // Waits until the fake exchange has generated everything and the strategy has seen `trades`.
  void settle(const fake_exchange& fake, size_t min_trades) {
    EXPECT_TRUE(wait_until([&] { return fake.generated() >= fake.count(); }, 30))
        << fake.control("GET", "/control/stats");
    EXPECT_TRUE(wait_until([&] { return trade_ids().size() >= min_trades; }, 20))
        << trade_ids().size() << " trades seen\n"
        << cats_log();
    std::this_thread::sleep_for(500ms);  // the last book updates
  }

  temp_dir dir_;
};

const char* binance_btc =
    "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\", \"book\"]\n"
    "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n";
const char* okx_btc =
    "[[instrument]]\nsymbol = \"OKX:BTC-USDT\"\nchannels = [\"trades\", \"book\"]\n"
    "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n";

TEST_F(LiveTest, BinanceEventsReachTheStrategyExactlyAndInOrderAndTheBookMatches) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                            "--count", "4000", "--seed", "7"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, binance_btc);
  ASSERT_TRUE(wait_until([&] { return !trade_ids().empty(); }, 20)) << cats_log();
  settle(fake, 1);
  simdjson::dom::parser p;
  simdjson::dom::element st = parse_json(p, fake.control("GET", "/control/stats"));
  uint64_t last_trade = 0;
  ASSERT_EQ(st["trades"]["BTCUSDT"].get(last_trade), simdjson::SUCCESS);
  const std::string summary = stop_cats(*cats);

  // Every trade the fake exchange sent after the subscription, once each, in order.
  const std::vector<uint64_t> ids = trade_ids();
  ASSERT_FALSE(ids.empty());
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_EQ(ids[i], ids[i - 1] + 1) << "at " << i;
  EXPECT_EQ(ids.back(), last_trade);
  expect_same_book(fake, summary, "binance", "BTCUSDT", "BINANCE:BTCUSDT");
  EXPECT_EQ(stat(summary, "venues", "book_gaps"), 0u);
  EXPECT_EQ(stat(summary, "feed", "malformed"), 0u);
  EXPECT_NE(probe_log().find("book 1 flags 1 seq"), std::string::npos);  // the first snapshot
}

TEST_F(LiveTest, OkxEventsAndChecksummedBookMatch) {
  fake_exchange fake(dir_, {"--symbols", "", "--okx-symbols", "BTC-USDT", "--rate", "2000",
                            "--count", "4000", "--seed", "9"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, okx_btc);
  ASSERT_TRUE(wait_until([&] { return !trade_ids().empty(); }, 20)) << cats_log();
  settle(fake, 1);
  const std::string summary = stop_cats(*cats);
  const std::vector<uint64_t> ids = trade_ids();
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_EQ(ids[i], ids[i - 1] + 1) << "at " << i;
  expect_same_book(fake, summary, "okx", "BTC-USDT", "OKX:BTC-USDT");
  EXPECT_EQ(stat(summary, "venues", "book_checksum_failures"), 0u);
  EXPECT_GT(stat(summary, "venues", "book_updates"), 100u);
}

TEST_F(LiveTest, ADroppedConnectionIsRestoredAndResubscribed) {
  fake_exchange fake(
      dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "BTC-USDT", "--rate", "1000", "--seed", "3"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, std::string(binance_btc) + okx_btc);
  ASSERT_TRUE(wait_until([&] { return trade_ids().size() > 50; }, 20)) << cats_log();
  fake.control("POST", "/control/drop");
  const size_t before = trade_ids().size();
  // Trades flow again on both venues after the reconnect.
  EXPECT_TRUE(wait_until([&] { return trade_ids().size() > before + 200; }, 20)) << cats_log();
  const std::string summary = stop_cats(*cats);
  for (size_t v = 0; v < 2; ++v) {
    EXPECT_GE(stat(summary, "venues", "disconnects", v), 1u) << summary;
    EXPECT_GE(stat(summary, "venues", "connects", v), 2u) << summary;
    EXPECT_GE(stat(summary, "venues", "book_snapshots", v), 2u) << summary;  // rebuilt
  }
  EXPECT_NE(cats_log().find("reconnected to"), std::string::npos) << cats_log();
}

TEST_F(LiveTest, ASkippedBinanceUpdateTriggersAResyncAndTheBookRecovers) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "1000",
                            "--count", "4000", "--seed", "11"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, binance_btc, "log_books = false\n");
  ASSERT_TRUE(wait_until([&] { return trade_ids().size() > 20; }, 20)) << cats_log();
  fake.control("POST", "/control/skip_seq?venue=binance&symbol=BTCUSDT");
  settle(fake, 1);
  const std::string summary = stop_cats(*cats);
  EXPECT_GE(stat(summary, "venues", "book_gaps"), 1u) << summary;
  EXPECT_GE(stat(summary, "venues", "book_resyncs"), 1u) << summary;
  EXPECT_NE(cats_log().find("depth gap"), std::string::npos) << cats_log();
  expect_same_book(fake, summary, "binance", "BTCUSDT", "BINANCE:BTCUSDT");
}

TEST_F(LiveTest, ABadOkxChecksumAndASequenceGapTriggerResyncsAndTheBookRecovers) {
  fake_exchange fake(dir_, {"--symbols", "", "--okx-symbols", "BTC-USDT", "--rate", "1000",
                            "--count", "5000", "--seed", "13"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, okx_btc, "log_books = false\n");
  ASSERT_TRUE(wait_until([&] { return trade_ids().size() > 20; }, 20)) << cats_log();
  fake.control("POST", "/control/bad_checksum?symbol=BTC-USDT");
  std::this_thread::sleep_for(500ms);
  fake.control("POST", "/control/skip_seq?venue=okx&symbol=BTC-USDT");
  settle(fake, 1);
  const std::string summary = stop_cats(*cats);
  EXPECT_GE(stat(summary, "venues", "book_checksum_failures"), 1u) << summary;
  EXPECT_GE(stat(summary, "venues", "book_gaps"), 1u) << summary;
  EXPECT_GE(stat(summary, "venues", "book_resyncs"), 2u) << summary;
  EXPECT_NE(cats_log().find("checksum mismatch"), std::string::npos) << cats_log();
  expect_same_book(fake, summary, "okx", "BTC-USDT", "OKX:BTC-USDT");
}

TEST_F(LiveTest, MalformedFramesAreCountedNotFatal) {
  fake_exchange fake(
      dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "1000", "--seed", "5"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, binance_btc);
  ASSERT_TRUE(wait_until([&] { return trade_ids().size() > 20; }, 20)) << cats_log();
  fake.control("POST", "/control/malformed?n=5");
  const size_t before = trade_ids().size();
  EXPECT_TRUE(wait_until([&] { return trade_ids().size() > before + 100; }, 20)) << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_GE(stat(summary, "feed", "malformed"), 3u) << summary;
  EXPECT_EQ(stat(summary, "venues", "disconnects"), 0u) << summary;
  EXPECT_NE(cats_log().find("malformed message #1 skipped"), std::string::npos) << cats_log();
}

TEST_F(LiveTest, ASilentStallIsDetectedAndTheSessionReconnects) {
  fake_exchange fake(dir_,
                     {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "500", "--seed", "6"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, binance_btc);  // read_timeout = 2 s
  ASSERT_TRUE(wait_until([&] { return trade_ids().size() > 20; }, 20)) << cats_log();
  fake.control("POST", "/control/stall?ms=5000");
  EXPECT_TRUE(
      wait_until([&] { return cats_log().find("reconnected to") != std::string::npos; }, 20))
      << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_GE(stat(summary, "venues", "disconnects"), 1u) << summary;
}

TEST_F(LiveTest, PaperOrdersFillAgainstTheLiveMarket) {
  fake_exchange fake(
      dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "1000", "--seed", "8"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, binance_btc, "buy_at_trade = 10\nquantity = 0.01\n");
  ASSERT_TRUE(wait_until([&] { return probe_log().find("fill ") != std::string::npos; }, 20))
      << probe_log() << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_EQ(stat(summary, "account", "fills"), 1u) << summary;
  EXPECT_NE(probe_log().find("pos 0.01"), std::string::npos) << probe_log();
}

TEST_F(LiveTest, AnUntrustedCertificateIsRefused) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "1000"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, binance_btc, "", /*trust=*/false);
  EXPECT_TRUE(wait_until(
      [&] {
        return cats_log().find("certificate refused: self-signed certificate") != std::string::npos;
      },
      20))
      << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_EQ(stat(summary, "venues", "connects"), 0u);
  EXPECT_TRUE(trade_ids().empty());
}

TEST_F(LiveTest, ARecordedSessionReplaysInABacktestWithTheSameEvents) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                            "--count", "3000", "--seed", "21"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  std::ostringstream c;
  c << "[live]\nstatus_interval = 1\n[record]\ndir = \"" << (dir_ / "rec").string()
    << "\"\ncsv = true\n[venues.binance]\nws_url = \"wss://" << fake.base()
    << "\"\nrest_url = \"https://" << fake.base() << "\"\nca_file = \""
    << (dir_ / "cert.pem").string() << "\"\n"
    << binance_btc;
  write_file(dir_ / "record.toml", c.str());
  auto rec = std::make_unique<background>(
      std::vector<std::string>{CATS_BINARY, "record", "--config", (dir_ / "record.toml").string(),
                               "--out", (dir_ / "out").string()},
      (dir_ / "cats.out").string(), (dir_ / "cats.err").string());
  ASSERT_TRUE(wait_until([&] { return fake.generated() >= fake.count(); }, 30));
  std::this_thread::sleep_for(1500ms);
  simdjson::dom::parser p;
  simdjson::dom::element st = parse_json(p, fake.control("GET", "/control/stats"));
  uint64_t last_trade = 0;
  ASSERT_EQ(st["trades"]["BTCUSDT"].get(last_trade), simdjson::SUCCESS);
  // Killed, not stopped: the recorder flushes at least once a second, so after a quiet second
  // nothing of the session may be missing.
  rec->signal(SIGKILL);
  rec->wait(10);

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir_ / "rec"))
    if (e.path().extension() == ".catsrec") files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);

  // The recorded day, backtested: the strategy sees every trade, in order, and the books.
  write_file(dir_ / "replay.toml",
             "[engine]\nplugin_dir = \"" + std::string(CATS_TEST_PLUGIN_DIR) +
                 "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nformat = \"cats_record\"\nfiles = [\"" +
                 files[0].string() +
                 "\"]\n[[strategy]]\nname = \"probe\"\nplugin = \"probe_strategy\"\n"
                 "[strategy.params]\nlog = \"" +
                 (dir_ / "probe.log").string() + "\"\nbuy_at_trade = 50\n");
  const run_result r =
      run({CATS_BINARY, "backtest", "--config", (dir_ / "replay.toml").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<uint64_t> ids = trade_ids();
  ASSERT_FALSE(ids.empty());
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_EQ(ids[i], ids[i - 1] + 1) << "at " << i;
  EXPECT_EQ(ids.back(), last_trade);
  EXPECT_NE(probe_log().find("book 1 flags 1 seq"), std::string::npos);
  EXPECT_NE(probe_log().find("fill "), std::string::npos) << probe_log();

  // A recording cut short (a killed recorder) is reported, not misread.
  const auto size = fs::file_size(files[0]);
  fs::copy_file(files[0], dir_ / "cut.catsrec");
  fs::resize_file(dir_ / "cut.catsrec", size - 7);
  std::string cfg = read_file(dir_ / "replay.toml");
  cfg.replace(cfg.find(files[0].string()), files[0].string().size(),
              (dir_ / "cut.catsrec").string());
  write_file(dir_ / "cut.toml", cfg);
  const run_result cut = run({CATS_BINARY, "backtest", "--config", (dir_ / "cut.toml").string()});
  EXPECT_EQ(cut.exit_code, 1);
  // The recorder writes the block store: the cut is in the last block.
  EXPECT_NE(cut.err.find("cut.catsrec: at byte"), std::string::npos) << cut.err;
  EXPECT_NE(cut.err.find(": truncated block (needs"), std::string::npos) << cut.err;
}

// A thread that never sleeps on a machine without cores to spare starves the engine thread (p99
// 1.5x to 7x worse measured on 2 cores): busy_poll falls back to epoll waits there, and says so.
TEST_F(LiveTest, BusyPollWithoutACoreToSpareFallsBackWithAWarning) {
  const std::string taskset = "/usr/bin/taskset";
  if (!fs::exists(taskset) || std::system((taskset + " -c 0 true").c_str()) != 0)
    GTEST_SKIP() << "no usable " << taskset << " here";
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "500",
                            "--trades-only", "--seed", "3"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto cats = start_cats(fake, binance_btc, {}, true, "busy_poll = true\n", {taskset, "-c", "0"});
  ASSERT_TRUE(wait_until([&] { return trade_ids().size() > 50; }, 20)) << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_NE(cats_log().find("busy_poll is off for this run: 1 polling thread(s) need a core each, "
                            "plus one for the engine thread and one for the rest of the machine: "
                            "3 cores, this process may use 1"),
            std::string::npos)
      << cats_log();
  simdjson::dom::parser p;
  simdjson::dom::element s = parse_json(p, summary);
  EXPECT_EQ(s["busy_poll"]["requested"].get_bool().value(), true);
  EXPECT_EQ(s["busy_poll"]["active"].get_bool().value(), false);
  EXPECT_EQ(s["busy_poll"]["cores"].get_uint64().value(), 1u);
}

TEST_F(LiveTest, ConfigErrorsNameTheFileAndKey) {
  write_file(dir_ / "bad.toml",
             "[live]\nbroker = \"real\"\n[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\n"
             "[[strategy]]\nname = \"p\"\nplugin = \"probe_strategy\"\n");
  const run_result r = run({CATS_BINARY, "live", "--config", (dir_ / "bad.toml").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(
      r.err.find(
          "bad.toml:2:10: live.broker: expected \"paper\", \"binance\" or \"okx\", got string "
          "\"real\""),
      std::string::npos)
      << r.err;
  write_file(dir_ / "bad2.toml",
             "[[instrument]]\nsymbol = \"KRAKEN:XBTUSD\"\n"
             "[[strategy]]\nname = \"p\"\nplugin = \"probe_strategy\"\n");
  const run_result r2 = run({CATS_BINARY, "live", "--config", (dir_ / "bad2.toml").string()});
  EXPECT_EQ(r2.exit_code, 2);
  EXPECT_NE(r2.err.find("unknown venue 'KRAKEN'"), std::string::npos) << r2.err;
}

}  // namespace
}  // namespace cats::test
