// Real orders: `cats live --set live.broker=binance` against the fake exchange's private side
// (signed REST over TLS on 127.0.0.1, the WebSocket-API user stream), with the trader test plugin.
// Every test compares what the strategy saw with what the venue did (the fake's own account).
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/net/signing.hpp"
#include "integration/fake_exchange.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* secret = "s3cr3t-for-the-execution-tests-9f8e7d";

int64_t amount(simdjson::dom::element e) {
  std::string text = e.is_string() ? std::string(std::string_view(e.get_string()))
                                   : std::string(simdjson::minify(e));
  int64_t out = 0;
  EXPECT_EQ(parse_fixed(text, out), parse_error::ok) << text;
  return out;
}

class ExecutionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
    ASSERT_TRUE(make_cert(dir_.path())) << "openssl could not make a test certificate";
    // Binance reads the secret after the first line; OKX the secret, then the passphrase.
    write_file(dir_ / "key", std::string("exec-test-key\n") + secret + "\n");
    ::chmod((dir_ / "key").c_str(), 0600);
  }

  std::unique_ptr<fake_exchange> start_fake(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--symbols",        okx_ ? "" : "BTCUSDT",
                                     "--okx-symbols",    okx_ ? "BTC-USDT" : "",
                                     "--rate",           "300",
                                     "--api-key",        "exec-test-key",
                                     "--api-secret",     secret,
                                     "--api-passphrase", "exec-test-pass"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto f = std::make_unique<fake_exchange>(dir_, args);
    EXPECT_GT(f->port(), 0) << f->log();
    return f;
  }

  // `cats live` with the trader plugin trading on the fake's private side.
  std::unique_ptr<background> start_cats(const fake_exchange& fake, const std::string& plan,
                                         const std::string& extra_live = {},
                                         const std::string& params = {}) {
    write_file(dir_ / "live.toml", config(fake, plan, extra_live, params));
    return launch();
  }
  std::unique_ptr<background> launch() {
    return std::make_unique<background>(
        std::vector<std::string>{CATS_BINARY, "live", "--config", (dir_ / "live.toml").string(),
                                 "--out", (dir_ / "out").string()},
        (dir_ / "cats.out").string(), (dir_ / "cats.err").string());
  }
  std::string config(const fake_exchange& fake, const std::string& plan,
                     const std::string& extra_live = {}, const std::string& params = {}) {
    std::ostringstream c;
    c << "[engine]\nlog_level = \"info\"\nplugin_dir = \"" << CATS_TEST_PLUGIN_DIR << "\"\n"
      << "[live]\nbroker = \"" << (okx_ ? "okx" : "binance")
      << "\"\nstatus_interval = 1\nhot_reload = false\n"
      << extra_live;
    if (okx_)
      c << "[venues.okx]\nws_url = \"wss://" << fake.base() << "/ws/v5/public\"\n"
        << "ws_api_url = \"wss://" << fake.base() << "/ws/v5/private\"\n";
    else
      c << "[venues.binance]\nws_url = \"wss://" << fake.base() << "\"\nws_api_url = \"wss://"
        << fake.base() << "/ws-api/v3\"\n";
    c << "rest_url = \"https://" << fake.base() << "\"\nread_timeout = 5\nca_file = \""
      << (dir_ / "cert.pem").string() << "\"\nkey_file = \"" << (dir_ / "key").string() << "\"\n"
      << "[[instrument]]\nsymbol = \"" << symbol() << "\"\nchannels = [\"trades\", \"quotes\"]\n"
      << "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n"
      << "[backtest]\ninitial_cash = 1000000\n"
      << "[[strategy]]\nname = \"t\"\nplugin = \"trader_strategy\"\n[strategy.params]\nplan = \""
      << plan << "\"\nlog = \"" << (dir_ / "trader.log").string() << "\"\n"
      << params;
    return c.str();
  }

  std::string trader_log() const {
    return fs::exists(dir_ / "trader.log") ? read_file(dir_ / "trader.log") : std::string();
  }
  // Orders the venue acknowledged, as the strategy saw them ("update <id> new" lines).
  size_t acknowledged() const {
    const std::string log = trader_log();
    size_t n = 0;
    for (size_t at = log.find(" new "); at != std::string::npos; at = log.find(" new ", at + 1))
      ++n;
    return n;
  }
  // The "rest" plan's order rests; cats is killed; the venue fills it in `fills` executions of
  // 0.00001 meanwhile; the restarted run books them all.
  void missed_fills_are_read_page_by_page(int fills) {
    auto fake = start_fake();
    auto cats = start_cats(*fake, "rest");
    kill_with_an_order_resting(*cats);
    simdjson::dom::parser p;
    std::string_view cid;
    ASSERT_EQ(parse_json(p, fake->control("GET", "/control/private/state"))["orders"]
                  .at(0)["clientOrderId"]
                  .get(cid),
              simdjson::SUCCESS);
    const std::string order(cid);
    fake->control("POST", "/control/private/fill?cid=" + order +
                              "&qty=0.00001&parts=" + std::to_string(fills));
    fs::remove(dir_ / "cats.err");  // the wait below reads the new run's log, not the old one's
    auto again = start_cats(*fake, "rest");
    ASSERT_TRUE(
        wait_until([&] { return cats_log().find("live: 1 instrument") != std::string::npos; }, 30))
        << cats_log();
    const std::string summary = stop_cats(*again);
    expect_same_position(summary, *fake);
    simdjson::dom::parser p2;
    EXPECT_EQ(fixed_to_string(amount(parse_json(p2, summary)["account"]["positions"][symbol()])),
              fixed_to_string(fills * 1000));
  }
  // The "rest" plan's order is working at the venue, and cats is killed with SIGKILL.
  void kill_with_an_order_resting(background& cats) {
    ASSERT_TRUE(
        wait_until([&] { return trader_log().find("update 1 new") != std::string::npos; }, 30))
        << trader_log() << cats_log();
    cats.signal(SIGKILL);
    cats.wait(10);
  }
  std::string cats_log() const {
    return fs::exists(dir_ / "cats.err") ? read_file(dir_ / "cats.err") : std::string();
  }
  std::string stop_cats(background& cats) {
    cats.signal(SIGINT);
    EXPECT_EQ(cats.wait(30), 0) << cats_log();
    return read_file(dir_ / "out" / "summary.json");
  }

  // The strategy's fills per order: quantity and notional, from its log.
  struct totals {
    int64_t bought = 0, sold = 0, buy_notional = 0, sell_notional = 0;
    size_t fills = 0;
  };
  totals strategy_fills() const {
    totals t;
    std::istringstream in(trader_log());
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with("fill ")) continue;
      std::istringstream f(line.substr(5));
      std::string id, side, qty, price;
      f >> id >> side >> qty >> price;
      int64_t q = 0, p = 0;
      EXPECT_EQ(parse_fixed(qty, q), parse_error::ok) << line;
      EXPECT_EQ(parse_fixed(price, p), parse_error::ok) << line;
      (side == "buy" ? t.bought : t.sold) += q;
      (side == "buy" ? t.buy_notional : t.sell_notional) += fixed_mul(q, p, rounding::nearest);
      ++t.fills;
    }
    return t;
  }
  // The same from the venue's trade list.
  static totals venue_fills(simdjson::dom::element state) {
    totals t;
    for (simdjson::dom::element tr : state["trades"].get_array()) {
      const int64_t q = amount(tr["qty"]), p = amount(tr["price"]);
      bool buyer = false;
      EXPECT_EQ(tr["isBuyer"].get(buyer), simdjson::SUCCESS);
      (buyer ? t.bought : t.sold) += q;
      (buyer ? t.buy_notional : t.sell_notional) += fixed_mul(q, p, rounding::nearest);
      ++t.fills;
    }
    return t;
  }
  static size_t venue_orders(simdjson::dom::element state) {
    return state["orders"].get_array().size();
  }
  static void expect_same(const totals& ours, const totals& theirs) {
    EXPECT_EQ(ours.fills, theirs.fills);
    EXPECT_EQ(fixed_to_string(ours.bought), fixed_to_string(theirs.bought));
    EXPECT_EQ(fixed_to_string(ours.sold), fixed_to_string(theirs.sold));
    EXPECT_EQ(fixed_to_string(ours.buy_notional), fixed_to_string(theirs.buy_notional));
    EXPECT_EQ(fixed_to_string(ours.sell_notional), fixed_to_string(theirs.sell_notional));
  }
  // The engine's position (summary.json) equals the venue's net trades.
  void expect_same_position(const std::string& summary, const fake_exchange& fake) {
    simdjson::dom::parser p, p2;
    const totals v = venue_fills(parse_json(p, fake.control("GET", "/control/private/state")));
    simdjson::dom::element s = parse_json(p2, summary);
    simdjson::dom::element pos;
    const int64_t ours =
        s["account"]["positions"][symbol()].get(pos) == simdjson::SUCCESS ? amount(pos) : 0;
    EXPECT_EQ(fixed_to_string(ours), fixed_to_string(v.bought - v.sold)) << summary;
  }
  // The lifecycle plan's last order (the working buy nearest the market) is filled by the venue:
  // a little first, then the rest (the fake's book alone may take long to come back to it).
  void finish_lifecycle(const fake_exchange& fake) {
    ASSERT_TRUE(
        wait_until([&] { return trader_log().find("update 4 new") != std::string::npos; }, 30))
        << trader_log() << cats_log();
    for (const char* qty : {"0.001", "100"}) {
      simdjson::dom::parser p;
      simdjson::dom::element state = parse_json(p, fake.control("GET", "/control/private/state"));
      std::string cid;
      int64_t best = -1;
      for (simdjson::dom::element o : state["orders"].get_array()) {
        std::string_view status, side, id;
        if (o["status"].get(status) != 0 || o["side"].get(side) != 0 ||
            o["clientOrderId"].get(id) != 0 || side != "BUY" ||
            (status != "NEW" && status != "PARTIALLY_FILLED"))
          continue;
        if (const int64_t px = amount(o["price"]); px > best) {
          best = px;
          cid = std::string(id);
        }
      }
      if (cid.empty()) break;  // already filled by the market
      fake.control("POST", "/control/private/fill?cid=" + cid + "&qty=" + qty);
    }
  }
  uint64_t exec_stat(const std::string& summary, const char* key) {
    simdjson::dom::parser p;
    uint64_t v = 0;
    EXPECT_EQ(parse_json(p, summary)["strategies"].error(), simdjson::SUCCESS);
    simdjson::dom::element e = parse_json(p, summary);
    EXPECT_EQ(e["execution"][venue()][key].get(v), simdjson::SUCCESS) << key << ": " << summary;
    return v;
  }

  std::string symbol() const { return okx_ ? "OKX:BTC-USDT" : "BINANCE:BTCUSDT"; }
  const char* venue() const { return okx_ ? "okx" : "binance"; }
  // OKX's key file: the key, the secret, the passphrase.
  void use_okx() {
    okx_ = true;
    write_file(dir_ / "key", std::string("exec-test-key\n") + secret + "\nexec-test-pass\n");
    ::chmod((dir_ / "key").c_str(), 0600);
  }

  temp_dir dir_;
  simdjson::dom::parser p_;
  bool okx_ = false;  ///< trade on the fake's OKX side instead of Binance's
};

TEST_F(ExecutionTest, OrdersArePlacedFilledInPartsAmendedAndCancelledAsTheVenueSays) {
  auto fake = start_fake();
  auto cats = start_cats(*fake, "lifecycle");
  finish_lifecycle(*fake);
  // The last step of the plan: the order bought at the ask fills completely.
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("update 4 filled") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("update 2 cancelled") != std::string::npos; }, 10))
      << trader_log();
  const std::string summary = stop_cats(*cats);
  const std::string log = trader_log();
  EXPECT_NE(log.find("update 2 new 0 amended"), std::string::npos) << log;
  EXPECT_NE(log.find("update 4 partial"), std::string::npos) << log;
  EXPECT_NE(log.find("update 1 filled 0.01"), std::string::npos) << log;
  EXPECT_NE(log.find("update 3 filled 0.003"), std::string::npos) << log;

  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  expect_same(strategy_fills(), venue_fills(venue));
  EXPECT_EQ(venue_orders(venue), 5u) << "4 orders and one replacement, nothing sent twice";
  // The engine's position equals the venue's net trades.
  const totals v = venue_fills(venue);
  simdjson::dom::parser p2;
  simdjson::dom::element s = parse_json(p2, summary);
  EXPECT_EQ(fixed_to_string(amount(s["account"]["positions"][symbol()])),
            fixed_to_string(v.bought - v.sold));
  EXPECT_EQ(exec_stat(summary, "rejected"), 0u);
  // The venue's trading rules were fetched and kept.
  EXPECT_NE(
      read_file(dir_ / "out" / "venue_rules.binance.json")
          .find("\"BTCUSDT\":{\"tick_size\":\"0.01\",\"lot_size\":\"0.00001\","
                "\"min_quantity\":\"0.00001\",\"min_notional\":\"5\",\"status\":\"TRADING\"}"),
      std::string::npos)
      << read_file(dir_ / "out" / "venue_rules.binance.json");
  // --out has the fills (one row each, as the strategy saw them), the round trips and the equity.
  const std::string fills_csv = read_file(dir_ / "out" / "fills.csv");
  EXPECT_EQ(static_cast<size_t>(std::count(fills_csv.begin(), fills_csv.end(), '\n')),
            strategy_fills().fills + 1)
      << fills_csv;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "trades.csv"));
  // orders.csv: one row per order, with its final status and filled quantity.
  std::map<std::string, std::string> orders;
  std::istringstream orders_csv(read_file(dir_ / "out" / "orders.csv"));
  for (std::string line; std::getline(orders_csv, line);) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
    if (f.size() >= 14 && f[0] != "created") orders[f[3]] = f[12] + " " + f[13];
  }
  EXPECT_EQ(orders["1"], "filled 0.01");
  EXPECT_EQ(orders["2"].substr(0, 9), "cancelled");
  EXPECT_EQ(orders["3"], "filled 0.003");
  EXPECT_EQ(orders["4"].substr(0, 6), "filled");
  EXPECT_EQ(orders.size(), 4u) << read_file(dir_ / "out" / "orders.csv");
  const std::string equity_csv = read_file(dir_ / "out" / "equity.csv");
  EXPECT_GE(std::count(equity_csv.begin(), equity_csv.end(), '\n'), 3) << equity_csv;
  // Everything the run did is in the journal, one JSON object a line.
  const std::string journal = read_file(dir_ / "out" / "orders.binance.journal");
  EXPECT_NE(journal.find("\"k\":\"intent\""), std::string::npos);
  EXPECT_NE(journal.find("\"k\":\"replace\""), std::string::npos);
}

TEST_F(ExecutionTest, ALostResponseLeavesExactlyOneOrderResolvedByQuery) {
  auto fake = start_fake();
  // The venue takes the order but the answer never comes, and no stream event tells of it.
  fake->control("POST", "/control/private/drop_response?n=1");
  fake->control("POST", "/control/private/mute_stream?n=1");
  auto cats = start_cats(*fake, "market", {}, "qty = 0.02\ncount = 2\n");
  ASSERT_TRUE(wait_until(
      [&] {
        return trader_log().find("update 1 filled") != std::string::npos &&
               trader_log().find("update 2 filled") != std::string::npos;
      },
      30))
      << trader_log() << cats_log();
  const std::string summary = stop_cats(*cats);
  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  EXPECT_EQ(venue_orders(venue), 2u) << "the lost one was not sent again";
  expect_same(strategy_fills(), venue_fills(venue));
  expect_same_position(summary, *fake);
  EXPECT_EQ(exec_stat(summary, "responses_lost"), 1u);
  EXPECT_EQ(exec_stat(summary, "unknown"), 1u);
  EXPECT_EQ(exec_stat(summary, "unknown_resolved"), 1u);
  EXPECT_NE(trader_log().find("update 1 filled 0.02"), std::string::npos) << trader_log();
}

TEST_F(ExecutionTest, KilledMidOrderAndRestartedTheOrderIsRestoredNotDuplicated) {
  auto fake = start_fake();
  auto cats = start_cats(*fake, "rest");
  kill_with_an_order_resting(*cats);
  auto again = start_cats(*fake, "rest");
  ASSERT_TRUE(wait_until([&] { return trader_log().find("restored") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  // The strategy goes on: a fill of the restored order reaches it.
  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  ASSERT_EQ(venue_orders(venue), 1u) << "no duplicate after the restart";
  std::string_view cid;
  ASSERT_EQ(venue["orders"].at(0)["clientOrderId"].get(cid), simdjson::SUCCESS);
  fake->control("POST", "/control/private/fill?cid=" + std::string(cid) + "&qty=0.02");
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("fill 1 buy 0.02") != std::string::npos; }, 15))
      << trader_log() << cats_log();
  const std::string summary = stop_cats(*again);
  simdjson::dom::parser p2;
  venue = parse_json(p2, fake->control("GET", "/control/private/state"));
  EXPECT_EQ(venue_orders(venue), 1u);
  std::string_view status;
  ASSERT_EQ(venue["orders"].at(0)["status"].get(status), simdjson::SUCCESS);
  EXPECT_EQ(status, "CANCELED") << "cancel_on_stop";
  simdjson::dom::parser p3;
  EXPECT_EQ(fixed_to_string(amount(parse_json(p3, summary)["account"]["positions"][symbol()])),
            "0.02");
}

TEST_F(ExecutionTest, AKeyFileOthersCanReadIsRefusedAndTheSecretNeverAppears) {
  auto fake = start_fake();
  ::chmod((dir_ / "key").c_str(), 0644);
  auto refused = start_cats(*fake, "lifecycle");
  EXPECT_EQ(refused->wait(20), 2) << cats_log();
  EXPECT_NE(cats_log().find("has mode 0644"), std::string::npos) << cats_log();
  EXPECT_NE(cats_log().find("chmod 600"), std::string::npos) << cats_log();

  ::chmod((dir_ / "key").c_str(), 0600);
  auto cats = start_cats(*fake, "lifecycle");
  finish_lifecycle(*fake);
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("update 4 filled") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  stop_cats(*cats);
  // The secret in every form a leak could take: as is, hex, base64.
  std::string hex;
  for (unsigned char ch : std::string(secret)) {
    static const char* digits = "0123456789abcdef";
    hex += digits[ch >> 4];
    hex += digits[ch & 15];
  }
  const std::vector<std::string> forms = {secret, hex, net::base64_encode(secret)};
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
    if (!e.is_regular_file() || e.path().filename() == "key" || e.path() == dir_ / "live.toml")
      continue;
    const std::string text = read_file(e.path());
    ++files;
    for (const std::string& f : forms)
      EXPECT_EQ(text.find(f), std::string::npos) << f << " found in " << e.path();
  }
  EXPECT_GE(files, 5u);  // cats.out, cats.err, summary.json, the journal, the strategy's log
}

TEST_F(ExecutionTest, RateLimitsAreObeyedAndCounted) {
  auto fake = start_fake();
  auto cats = start_cats(*fake, "market", {}, "qty = 0.01\ncount = 400\n");
  ASSERT_TRUE(wait_until([&] { return trader_log().find("filled 0.01") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  // The next order meets a 429; nothing is sent for a second; then orders go out again.
  fake->control("POST", "/control/private/status?code=429&n=1&retry_after=1");
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string log = trader_log();
        const size_t refused = log.rfind("rate limited (429)");
        return refused != std::string::npos && log.find("filled", refused) != std::string::npos;
      },
      30))
      << trader_log() << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_EQ(exec_stat(summary, "throttled"), 1u);
  EXPECT_NE(trader_log().find("rejected 0 binance -1003: Too many requests"), std::string::npos)
      << trader_log();
  EXPECT_NE(trader_log().find("rejected 0 binance: rate limited (429); nothing is sent for 1 s"),
            std::string::npos)
      << trader_log();
  expect_same_position(summary, *fake);
}

TEST_F(ExecutionTest, DuplicateFillMessagesAndAStreamDropChangeNothing) {
  auto fake = start_fake();
  fake->control("POST", "/control/private/duplicate_fills?n=3");
  auto cats = start_cats(*fake, "lifecycle");
  finish_lifecycle(*fake);
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("update 4 filled") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  fake->control("POST", "/control/private/user_stream_drop");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const std::string summary = stop_cats(*cats);
  EXPECT_GE(exec_stat(summary, "duplicate_fills"), 1u);
  EXPECT_GE(exec_stat(summary, "user_stream_connects"), 2u) << cats_log();
  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  expect_same(strategy_fills(), venue_fills(venue));
}

TEST_F(ExecutionTest, TheVenuesTradingRulesWinOverAConfigThatDiffers) {
  auto fake = start_fake();
  // The config claims a 1.0 tick: the venue says 0.01, and orders are rounded with that.
  std::string cfg = config(*fake, "market", {}, "qty = 0.012345\ncount = 1\n");
  cfg.replace(cfg.find("tick_size = \"0.01\""), 18, "tick_size = \"1\"");
  write_file(dir_ / "live.toml", cfg);
  auto again = launch();
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("filled 0.01234") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  again->signal(SIGINT);
  EXPECT_EQ(again->wait(30), 0) << cats_log();
  EXPECT_NE(cats_log().find("BINANCE:BTCUSDT: the config says tick 1 lot 0.00001, the venue tick "
                            "0.01 lot 0.00001: using the venue's"),
            std::string::npos)
      << cats_log();
}

// The venue's balances are read at start and kept in the summary; an initial_cash above what the
// venue holds is warned about (strategies size their orders on it).
TEST_F(ExecutionTest, CashAboveTheVenuesBalanceIsWarnedAbout) {
  auto fake = start_fake();
  std::string cfg = config(*fake, "none");
  cfg.replace(cfg.find("initial_cash = 1000000"), 22, "initial_cash = 5000000");
  write_file(dir_ / "live.toml", cfg);
  auto cats = launch();
  ASSERT_TRUE(
      wait_until([&] { return cats_log().find("live: 1 instrument") != std::string::npos; }, 30))
      << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_NE(cats_log().find("the account's cash is backtest.initial_cash = 5000000 USDT, but the "
                            "venue(s) hold 1000000 USDT"),
            std::string::npos)
      << cats_log();
  simdjson::dom::parser p;
  simdjson::dom::element usdt;
  ASSERT_EQ(parse_json(p, summary)["execution"]["binance"]["start_balances"]["USDT"].get(usdt),
            simdjson::SUCCESS)
      << summary;
  EXPECT_EQ(fixed_to_string(amount(usdt["free"])), "1000000");
}

TEST_F(ExecutionTest, TheVenueClockOffsetIsMeasuredAndApplied) {
  auto fake = start_fake();
  fake->control("POST", "/control/private/skew?ms=30000");  // far beyond recvWindow
  auto cats = start_cats(*fake, "market", {}, "qty = 0.01\ncount = 1\n");
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("update 1 filled") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  const std::string summary = stop_cats(*cats);
  simdjson::dom::parser p;
  int64_t offset = 0;
  ASSERT_EQ(parse_json(p, summary)["execution"]["binance"]["clock_offset_ms"].get(offset),
            simdjson::SUCCESS);
  EXPECT_NEAR(static_cast<double>(offset), 30000.0, 500.0);
}

// ---- OKX --------------------------------------------------------------------------------------

TEST_F(ExecutionTest, OkxOrdersArePlacedFilledAmendedInPlaceAndCancelled) {
  use_okx();
  auto fake = start_fake();
  auto cats = start_cats(*fake, "lifecycle");
  finish_lifecycle(*fake);
  ASSERT_TRUE(wait_until(
      [&] {
        return trader_log().find("update 4 filled") != std::string::npos &&
               trader_log().find("update 2 cancelled") != std::string::npos;
      },
      30))
      << trader_log() << cats_log();
  const std::string summary = stop_cats(*cats);
  const std::string log = trader_log();
  EXPECT_NE(log.find("update 2 new 0 amended"), std::string::npos) << log;
  EXPECT_NE(log.find("update 4 partial"), std::string::npos) << log;
  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  expect_same(strategy_fills(), venue_fills(venue));
  EXPECT_EQ(venue_orders(venue), 4u) << "an OKX amend keeps the order: 4 orders, none twice";
  expect_same_position(summary, *fake);
  EXPECT_EQ(exec_stat(summary, "rejected"), 0u);
  EXPECT_NE(
      read_file(dir_ / "out" / "venue_rules.okx.json").find("\"BTC-USDT\":{\"tick_size\":\"0.01\""),
      std::string::npos);
}

TEST_F(ExecutionTest, OkxALostResponseLeavesExactlyOneOrder) {
  use_okx();
  auto fake = start_fake();
  fake->control("POST", "/control/private/drop_response?n=1");
  fake->control("POST", "/control/private/mute_stream?n=1");
  auto cats = start_cats(*fake, "market", {}, "qty = 0.02\ncount = 2\n");
  ASSERT_TRUE(wait_until(
      [&] {
        return trader_log().find("update 1 filled") != std::string::npos &&
               trader_log().find("update 2 filled") != std::string::npos;
      },
      30))
      << trader_log() << cats_log();
  const std::string summary = stop_cats(*cats);
  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  EXPECT_EQ(venue_orders(venue), 2u);
  expect_same(strategy_fills(), venue_fills(venue));
  EXPECT_EQ(exec_stat(summary, "unknown_resolved"), 1u);
}

// OKX closes a private connection silent for 30 s; CATS sends the "ping" text it asks for after
// half the read timeout (5 s here) of silence, and the connection stays up.
TEST_F(ExecutionTest, OkxPrivateStreamIsKeptAliveWithPingTexts) {
  use_okx();
  auto fake = start_fake();
  auto cats = start_cats(*fake, "rest");
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("update 1 new") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  auto text_pings = [&] {
    simdjson::dom::parser p;
    uint64_t n = 0;
    EXPECT_EQ(parse_json(p, fake->control("GET", "/control/stats"))["text_pings"].get(n),
              simdjson::SUCCESS);
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return text_pings() >= 1; }, 10)) << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_EQ(exec_stat(summary, "user_stream_connects"), 1u) << cats_log();
}

// OKX lists open orders 100 at a time: reconciliation reads every page. 120 orders of this
// journal's mark rest at the venue, the journal is lost, and the restarted run cancels them all
// (no strategy knows them); an order beyond the first page would otherwise be left working.
TEST_F(ExecutionTest, OkxReconciliationReadsEveryPageOfOpenOrders) {
  use_okx();
  auto fake = start_fake();
  auto cats = start_cats(*fake, "rest", {}, "count = 120\n");
  ASSERT_TRUE(wait_until([&] { return acknowledged() == 120; }, 30)) << trader_log() << cats_log();
  cats->signal(SIGKILL);
  cats->wait(10);
  fs::remove(dir_ / "out" / "orders.okx.journal");
  auto again = start_cats(*fake, "none");
  auto working = [&] {
    simdjson::dom::parser p;
    size_t n = 0;
    for (simdjson::dom::element o :
         parse_json(p, fake->control("GET", "/control/private/state"))["orders"].get_array()) {
      std::string_view status;
      if (o["status"].get(status) == simdjson::SUCCESS && status == "NEW") ++n;
    }
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return working() == 0; }, 30)) << working() << cats_log();
  const std::string summary = stop_cats(*again);
  EXPECT_EQ(exec_stat(summary, "reconcile_differences"), 120u);
}

// An order filled in more executions than one page of the venue's fill list (OKX 100, Binance
// 1000) while cats was down: the restart reads every page, and the position equals the venue's.
TEST_F(ExecutionTest, OkxMissedFillsAreReadPageByPage) {
  use_okx();
  missed_fills_are_read_page_by_page(150);
}

TEST_F(ExecutionTest, BinanceMissedFillsAreReadPageByPage) {
  missed_fills_are_read_page_by_page(1001);
}

// OKX allows 60 new orders per 2 s per instrument (the fake enforces it with 429s): 70 orders at
// once are paced under the limit, and every one is placed.
TEST_F(ExecutionTest, OkxOrdersArePacedUnderTheVenuesLimit) {
  use_okx();
  auto fake = start_fake();
  auto cats = start_cats(*fake, "rest", {}, "count = 70\n");
  ASSERT_TRUE(wait_until([&] { return acknowledged() == 70; }, 30)) << trader_log() << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_EQ(exec_stat(summary, "throttled"), 0u);
  EXPECT_GE(exec_stat(summary, "paced"), 10u);
  EXPECT_EQ(exec_stat(summary, "rejected"), 0u);
}

TEST_F(ExecutionTest, OkxKilledMidOrderAndRestartedTheOrderIsRestored) {
  use_okx();
  auto fake = start_fake();
  auto cats = start_cats(*fake, "rest");
  kill_with_an_order_resting(*cats);
  auto again = start_cats(*fake, "rest");
  ASSERT_TRUE(wait_until([&] { return trader_log().find("restored") != std::string::npos; }, 30))
      << trader_log() << cats_log();
  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  ASSERT_EQ(venue_orders(venue), 1u) << "no duplicate after the restart";
  std::string_view cid;
  ASSERT_EQ(venue["orders"].at(0)["clientOrderId"].get(cid), simdjson::SUCCESS);
  fake->control("POST", "/control/private/fill?cid=" + std::string(cid) + "&qty=0.02");
  ASSERT_TRUE(
      wait_until([&] { return trader_log().find("fill 1 buy 0.02") != std::string::npos; }, 15))
      << trader_log() << cats_log();
  stop_cats(*again);
}

// A journal of a venue no route names any more holds orders nobody would manage: the run refuses
// to start and says how to go on.
TEST_F(ExecutionTest, AJournalOfAVenueWithoutABrokerStopsTheStart) {
  auto fake = start_fake();
  fs::create_directories(dir_ / "out");
  write_file(dir_ / "out" / "orders.okx.journal", "{\"k\":\"intent\"}\n");
  write_file(dir_ / "live.toml", config(*fake, "none"));
  const run_result r = run({CATS_BINARY, "live", "--config", (dir_ / "live.toml").string(), "--out",
                            (dir_ / "out").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("orders.okx.journal is in the run folder, but this run has no okx broker"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(venue_orders(parse_json(p_, fake->control("GET", "/control/private/state"))), 0u);
}

// ---- several brokers in one run ---------------------------------------------------------------

// One run, three brokers: BINANCE:BTCUSDT live on Binance (live.broker), OKX:BTC-USDT live on OKX
// ([[instrument]] broker), BINANCE:ETHUSDT on paper; a paper strategy ([[strategy]] broker) that
// also wants BTCUSDT is refused, since the account's BTCUSDT position is at Binance.
TEST_F(ExecutionTest, OneRunTradesOnBothVenuesAndOnPaperAsRouted) {
  auto fake = std::make_unique<fake_exchange>(
      dir_, std::vector<std::string>{"--symbols", "BTCUSDT,ETHUSDT", "--okx-symbols", "BTC-USDT",
                                     "--rate", "300", "--api-key", "exec-test-key", "--api-secret",
                                     secret, "--api-passphrase", "exec-test-pass"});
  ASSERT_GT(fake->port(), 0) << fake->log();
  write_file(dir_ / "okx-key", std::string("exec-test-key\n") + secret + "\nexec-test-pass\n");
  ::chmod((dir_ / "okx-key").c_str(), 0600);
  std::ostringstream c;
  const std::string ca = (dir_ / "cert.pem").string();
  c << "[engine]\nplugin_dir = \"" << CATS_TEST_PLUGIN_DIR << "\"\n"
    << "[live]\nbroker = \"binance\"\nstatus_interval = 1\nhot_reload = false\n"
    << "[venues.binance]\nws_url = \"wss://" << fake->base() << "\"\nws_api_url = \"wss://"
    << fake->base() << "/ws-api/v3\"\nrest_url = \"https://" << fake->base() << "\"\nca_file = \""
    << ca << "\"\nkey_file = \"" << (dir_ / "key").string() << "\"\n"
    << "[venues.okx]\nws_url = \"wss://" << fake->base() << "/ws/v5/public\"\nws_api_url = \"wss://"
    << fake->base() << "/ws/v5/private\"\nrest_url = \"https://" << fake->base()
    << "\"\nca_file = \"" << ca << "\"\nkey_file = \"" << (dir_ / "okx-key").string() << "\"\n";
  for (const char* sym : {"BINANCE:BTCUSDT", "BINANCE:ETHUSDT", "OKX:BTC-USDT"}) {
    c << "[[instrument]]\nsymbol = \"" << sym << "\"\nchannels = [\"trades\", \"quotes\"]\n"
      << "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n";
    if (std::string(sym) == "BINANCE:ETHUSDT") c << "broker = \"paper\"\n";
    if (std::string(sym) == "OKX:BTC-USDT") c << "broker = \"okx\"\n";
  }
  c << "[backtest]\ninitial_cash = 1000000\n";
  // In the engine's order: "b" trades BTCUSDT on the first quote, before "x" sees it.
  for (const auto& [name, sym, broker] :
       {std::tuple<const char*, const char*, const char*>{"b", "BINANCE:BTCUSDT", ""},
        {"o", "OKX:BTC-USDT", ""},
        {"e", "BINANCE:ETHUSDT", ""},
        {"x", "BINANCE:BTCUSDT", "paper"}}) {
    c << "[[strategy]]\nname = \"" << name << "\"\nplugin = \"trader_strategy\"\n";
    if (*broker != '\0') c << "broker = \"" << broker << "\"\n";
    c << "[strategy.params]\nplan = \"market\"\nqty = 0.01\nsymbol = \"" << sym << "\"\nlog = \""
      << (dir_ / (std::string(name) + ".log")).string() << "\"\n";
  }
  write_file(dir_ / "live.toml", c.str());
  auto cats = launch();
  auto log_of = [&](const char* name) {
    const fs::path f = dir_ / (std::string(name) + ".log");
    return fs::exists(f) ? read_file(f) : std::string();
  };
  ASSERT_TRUE(wait_until(
      [&] {
        return log_of("b").find("filled") != std::string::npos &&
               log_of("o").find("filled") != std::string::npos &&
               log_of("e").find("filled") != std::string::npos &&
               log_of("x").find("rejected") != std::string::npos;
      },
      30))
      << "b:\n"
      << log_of("b") << "o:\n"
      << log_of("o") << "e:\n"
      << log_of("e") << "x:\n"
      << log_of("x") << cats_log();
  const std::string summary = stop_cats(*cats);
  EXPECT_NE(log_of("x").find("BINANCE:BTCUSDT trades through binance in this run"),
            std::string::npos)
      << log_of("x");
  // The venue saw one BTCUSDT and one BTC-USDT order, and no ETHUSDT one (that was paper).
  simdjson::dom::parser p;
  simdjson::dom::element venue = parse_json(p, fake->control("GET", "/control/private/state"));
  std::map<std::string, int> by_symbol;
  for (simdjson::dom::element o : venue["orders"].get_array()) {
    std::string_view sym;
    ASSERT_EQ(o["symbol"].get(sym), simdjson::SUCCESS);
    ++by_symbol[std::string(sym)];
  }
  EXPECT_EQ(by_symbol, (std::map<std::string, int>{{"BTC-USDT", 1}, {"BTCUSDT", 1}}));
  simdjson::dom::parser p2;
  simdjson::dom::element s = parse_json(p2, summary);
  uint64_t n = 0;
  for (const char* v : {"binance", "okx"}) {
    ASSERT_EQ(s["execution"][v]["orders"].get(n), simdjson::SUCCESS) << summary;
    EXPECT_EQ(n, 1u) << v;
    EXPECT_TRUE(fs::exists(dir_ / "out" / (std::string("orders.") + v + ".journal"))) << v;
  }
  // Each position is where it was traded; the paper one too.
  for (const char* sym : {"BINANCE:BTCUSDT", "BINANCE:ETHUSDT", "OKX:BTC-USDT"})
    EXPECT_EQ(fixed_to_string(amount(s["account"]["positions"][sym])), "0.01") << sym;
}

// ---- paper / backtest parity ------------------------------------------------------------------

// The fill lines of a trader log ("fill <id> <side> <qty> <price> <fee>"), in order.
std::vector<std::string> fill_lines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("fill ")) out.push_back(line);
  return out;
}

TEST_F(ExecutionTest, APaperRunRecordedAndReplayedInABacktestFillsTheSame) {
  auto fake = start_fake({"--count", "3000", "--seed", "21", "--rate", "3000"});
  std::ostringstream c;
  c << "[engine]\nplugin_dir = \"" << CATS_TEST_PLUGIN_DIR << "\"\n"
    << "[live]\nbroker = \"paper\"\nstatus_interval = 0\nhot_reload = false\n"
    << "[record]\ndir = \"" << (dir_ / "rec").string() << "\"\n"
    << "[venues.binance]\nws_url = \"wss://" << fake->base() << "\"\nrest_url = \"https://"
    << fake->base() << "\"\nca_file = \"" << (dir_ / "cert.pem").string() << "\"\n"
    << "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\", \"quotes\"]\n"
    << "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n";
  const std::string account =
      "[backtest]\ninitial_cash = 1000000\nfee_bps = 10\nslippage_bps = 1\n"
      "[[strategy]]\nname = \"t\"\nplugin = \"trader_strategy\"\n[strategy.params]\n"
      "plan = \"market\"\nqty = 0.01\ncount = 20\n";
  write_file(dir_ / "paper.toml",
             c.str() + account + "log = \"" + (dir_ / "paper.log").string() + "\"\n");
  auto cats = std::make_unique<background>(
      std::vector<std::string>{CATS_BINARY, "live", "--config", (dir_ / "paper.toml").string(),
                               "--out", (dir_ / "out").string()},
      (dir_ / "cats.out").string(), (dir_ / "cats.err").string());
  ASSERT_TRUE(wait_until([&] { return fake->generated() >= 3000; }, 30)) << cats_log();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  cats->signal(SIGINT);
  ASSERT_EQ(cats->wait(20), 0) << cats_log();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir_ / "rec"))
    if (e.path().extension() == ".catsrec") files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);

  write_file(dir_ / "replay.toml",
             "[engine]\nplugin_dir = \"" + std::string(CATS_TEST_PLUGIN_DIR) +
                 "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nformat = \"cats_record\"\nfiles = "
                 "[\"" +
                 files[0].string() + "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n" +
                 account + "log = \"" + (dir_ / "replay.log").string() + "\"\n");
  const run_result r = run({CATS_BINARY, "backtest", "--config", (dir_ / "replay.toml").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> paper = fill_lines(read_file(dir_ / "paper.log"));
  const std::vector<std::string> replay = fill_lines(read_file(dir_ / "replay.log"));
  ASSERT_EQ(paper.size(), 20u) << read_file(dir_ / "paper.log");
  EXPECT_EQ(paper, replay) << "paper:\n"
                           << read_file(dir_ / "paper.log") << "replay:\n"
                           << read_file(dir_ / "replay.log");
}

}  // namespace
}  // namespace cats::test
