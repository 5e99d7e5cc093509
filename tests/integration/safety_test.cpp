// A strategy that misbehaves must not freeze the engine, kill it silently, corrupt its output or
// get past the risk limits; a local user must not get code into it. Each test runs the real `cats`
// with the purpose-built hostile plugin (tests/plugins/hostile_strategy.cpp), in a backtest or in
// `cats live` against the fake exchange over TLS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "integration/fake_exchange.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string cats_bin = CATS_BINARY;
const std::string hostile_so = std::string(CATS_TEST_PLUGIN_DIR) + "/hostile_strategy.so";

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string file_or_empty(const fs::path& p) {
  return fs::exists(p) ? read_file(p) : std::string();
}

// A backtest of the hostile strategy over generated 1-minute bars.
class Backtest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new temp_dir();
    const run_result g = run({cats_bin, "generate", "--out", (dir_->path() / "bars.csv").string(),
                              "--days", "3", "--seed", "5"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  // A config with the hostile strategy named "bad"; `params` and `extra` are TOML lines.
  static std::string config(const std::string& name, const std::string& params,
                            const std::string& extra = "") {
    const fs::path file = dir_->path() / (name + ".toml");
    write_file(file, "[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" +
                         (dir_->path() / "bars.csv").string() +
                         "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n\n"
                         "[backtest]\ninitial_cash = 10000\n\n[[strategy]]\nname = \"bad\"\n"
                         "plugin = \"" +
                         hostile_so + "\"\n[strategy.params]\n" + params + "\n" + extra);
    return file.string();
  }
  static temp_dir* dir_;
};
temp_dir* Backtest::dir_ = nullptr;

TEST_F(Backtest, ASegfaultNamesTheStrategyAndTheCallback) {
  const run_result r =
      run({cats_bin, "backtest", "--config", config("segv", "mode = \"segv\"\nat = 7")});
  EXPECT_EQ(r.exit_code, -1) << "the process dies of the signal";
  EXPECT_NE(r.err.find("cats: fatal: SIGSEGV (invalid memory access) in strategy 'bad' during "
                       "on_event(bar)"),
            std::string::npos)
      << r.err;
}

TEST_F(Backtest, AStackOverflowInASweepWorkerNamesTheStrategy) {
  // Two runs on two threads: the calling thread and a worker, each with its own signal stack.
  const run_result r = run({cats_bin, "sweep", "--config", config("recurse", "mode = \"recurse\""),
                            "--param", "strategy.at=5,6", "--jobs", "2"});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.err.find("cats: fatal: SIGSEGV (invalid memory access) in strategy 'bad' during "
                       "on_event(bar)"),
            std::string::npos)
      << r.err;
}

TEST_F(Backtest, AnAbortNamesTheStrategyAndTheCallback) {
  const run_result r =
      run({cats_bin, "backtest", "--config", config("abort", "mode = \"abort\"\nat = 3")});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.err.find("cats: fatal: SIGABRT (abort) in strategy 'bad' during on_event(bar)"),
            std::string::npos)
      << r.err;
}

TEST_F(Backtest, ExitFromAStrategyIsReportedAndTheExitCodeIsNotZero) {
  const run_result r =
      run({cats_bin, "backtest", "--config", config("exit", "mode = \"exit\"\nat = 3")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("cats: strategy 'bad' called exit() during on_event(bar)"),
            std::string::npos)
      << r.err;
}

TEST_F(Backtest, PluginOutputCannotCorruptTheJsonOnStdout) {
  const run_result r = run(
      {cats_bin, "backtest", "--config", config("stdout", "mode = \"stdout\"\nat = 2"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  simdjson::dom::parser p;
  simdjson::dom::element e;
  ASSERT_EQ(p.parse(r.out).get(e), simdjson::SUCCESS) << r.out;
  EXPECT_EQ(r.out.find("GARBAGE"), std::string::npos);
  EXPECT_NE(r.err.find("GARBAGE FROM THE PLUGIN"), std::string::npos) << "it goes to stderr";
}

TEST_F(Backtest, PluginLogLinesAreSanitisedAndCapped) {
  const run_result r =
      run({cats_bin, "backtest", "--config", config("log", "mode = \"log\"\nat = 2")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The newline and the escape sequence arrive as text on the strategy's own line ...
  EXPECT_NE(r.err.find("innocent\\nE 00:00:00.000 [engine] FORGED LINE\\x1b[2Jxxx"),
            std::string::npos)
      << r.err.substr(0, 2000);
  // ... so no line of the log starts with the forged prefix, and no raw ESC reaches it.
  EXPECT_EQ(r.err.find("\nE 00:00:00.000 [engine] FORGED"), std::string::npos);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos);
  // 10,000 x's and the prefix: cut at 4096 bytes.
  EXPECT_NE(r.err.find("more bytes cut)"), std::string::npos);
  EXPECT_EQ(r.err.find(std::string(5000, 'x')), std::string::npos);
}

TEST_F(Backtest, AnOrderLoopDisablesTheStrategyInsteadOfExhaustingMemory) {
  const run_result r = run({cats_bin, "backtest", "--config",
                            config("flood", "mode = \"flood\"\nat = 5\ncount = 200000"), "--json"},
                           "", 120);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("sent more than 1000 orders at one instant (an order loop?"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"order_loop\": 1"), std::string::npos) << r.out;
}

TEST_F(Backtest, RiskLimitsRefuseOrdersWithTheReasonThroughTheSdk) {
  const fs::path log = dir_->path() / "risk.log";
  const run_result r =
      run({cats_bin, "backtest", "--config",
           config("risk",
                  "mode = \"orders\"\nat = 10\nquantity = \"0.6\"\nthen = \"buy:limit:0.1:0.2\"\n"
                  "log = \"" +
                      log.string() + "\"",
                  "[risk]\nmax_order_quantity = 0.5\nprice_band = 0.05\n"),
           "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string l = read_file(log);
  // Status 5 = CATS_ORDER_REJECTED, with the limit named.
  EXPECT_NE(l.find("order 1 status 5 filled 0 reason risk: quantity 0.6 is above [risk] "
                   "max_order_quantity 0.5"),
            std::string::npos)
      << l;
  EXPECT_NE(l.find("order 2 status 5 filled 0 reason risk: price "), std::string::npos) << l;
  EXPECT_NE(l.find("is outside [risk] price_band 0.05 around the last price"), std::string::npos);
  EXPECT_NE(r.out.find("\"refused_orders\": 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"max_order_quantity\": 1"), std::string::npos);
  EXPECT_NE(r.out.find("\"price_band\": 1"), std::string::npos);
}

TEST_F(Backtest, SigintStopsARunWithASlowStrategyAtOnce) {
  // 20 ms per bar: the 4,320 bars would take 86 s.
  const fs::path out = dir_->path() / "slow-out";
  background b({cats_bin, "backtest", "--config", config("slow", "mode = \"slow\"\nsleep_ms = 20"),
                "--out", out.string()},
               (dir_->path() / "slow.out").string(), (dir_->path() / "slow.err").string());
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(b.running());
  const auto t0 = std::chrono::steady_clock::now();
  b.signal(SIGINT);
  const int rc = b.wait(20);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(rc, 130) << read_file(dir_->path() / "slow.err");
  std::printf("[ measured ] SIGINT to exit of a backtest: %.1f ms\n", ms);
  // Not a speed target: the old check every 65,536 events would have run all 86 s.
  EXPECT_LT(ms, 5000);
  EXPECT_TRUE(fs::exists(out / "summary.json")) << "an interrupted run still reports";
}

TEST_F(Backtest, ACallbackTimeoutDisablesTheSlowStrategyAndTheRunReportsIt) {
  const run_result r = run({cats_bin, "backtest", "--config",
                            config("timeout", "mode = \"sleep\"\nat = 100\nsleep_ms = 400",
                                   "[engine]\ncallback_timeout = 0.1\n"),
                            "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("watchdog: strategy 'bad' has been running on_event(bar)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("the callback ran longer than engine.callback_timeout"), std::string::npos)
      << r.out;
}

TEST(PrivatePluginFolder, IsFreshAndPrivateAndIgnoresAPlantedFolder) {
  temp_dir dir;
  // The attack: another user creates the folder the engine used to take for granted, with a link
  // where the copy of the plugin would go, pointing at a file of the victim's.
  const fs::path tmp = dir / "tmp";
  fs::create_directories(tmp);
  const fs::path victim = dir / "victim.txt";
  write_file(victim, "precious");
  // `cats plugins` does not copy; `cats live` with hot reload does: start one with an unreachable
  // venue, which loads the strategy (private copy) before connecting, then stop it.
  const fs::path cfg = dir / "live.toml";
  write_file(cfg,
             "[engine]\ncallback_timeout = 0\n[live]\nstatus_interval = 0\n"
             "[venues.binance]\nws_url = \"wss://127.0.0.1:1\"\nrest_url = "
             "\"https://127.0.0.1:1\"\n"
             "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\"]\n"
             "[[strategy]]\nname = \"h\"\nplugin = \"" +
                 hostile_so + "\"\n");
  // Plant the old, predictable folder for the next pids the test may start.
  std::ifstream last("/proc/sys/kernel/ns_last_pid");
  long next = 0;
  if (last >> next) {
    for (long pid = next + 1; pid < next + 64; ++pid) {
      const fs::path planted = tmp / ("cats-plugins-" + std::to_string(pid));
      fs::create_directories(planted);
      for (int n = 1; n <= 3; ++n)
        fs::create_symlink(victim, planted / ("hostile_strategy." + std::to_string(n) + ".so"));
    }
  }
  background b({"/usr/bin/env", "TMPDIR=" + tmp.string(), cats_bin, "live", "--config",
                cfg.string(), "--out", (dir / "out").string()},
               (dir / "out.txt").string(), (dir / "err.txt").string());
  // The private folder: a fresh mkdtemp name, mode 0700.
  fs::path made;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& e : fs::directory_iterator(tmp)) {
          const std::string n = e.path().filename().string();
          if (n.rfind("cats-plugins-", 0) == 0 && n.size() == 19 &&
              n.find_first_not_of("0123456789", 13) != std::string::npos)
            made = e.path();
        }
        return !made.empty();
      },
      10))
      << file_or_empty(dir / "err.txt");
  struct stat st {};
  ASSERT_EQ(::stat(made.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "out" / "cats.pid"); }, 10));
  b.signal(SIGTERM);
  b.wait(20);
  EXPECT_EQ(read_file(victim), "precious") << "the planted link was never written through";
  EXPECT_NE(file_or_empty(dir / "err.txt").find("strategy 'h': hostile 1.0.0"), std::string::npos)
      << file_or_empty(dir / "err.txt");
  EXPECT_FALSE(fs::exists(made)) << "removed at exit";
}

// `cats live` against the fake exchange, with the hostile strategy and a well-behaved probe.
class Live : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
    ASSERT_TRUE(make_cert(dir_.path()));
    fake_ = std::make_unique<fake_exchange>(
        dir_, std::vector<std::string>{"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "500",
                                       "--trades-only", "--seed", "11"});
    ASSERT_GT(fake_->port(), 0) << fake_->log();
  }
  // `live` goes into the [live] table, `extra` after the instrument.
  void start(const std::string& strategies, const std::string& extra = "",
             const std::string& live = "") {
    write_config(strategies, extra, live);
    cats_ = std::make_unique<background>(
        std::vector<std::string>{cats_bin, "live", "--config", (dir_ / "live.toml").string(),
                                 "--out", (dir_ / "out").string()},
        (dir_ / "cats.out").string(), (dir_ / "cats.err").string());
  }
  void write_config(const std::string& strategies, const std::string& extra,
                    const std::string& live) {
    std::ostringstream c;
    c << "[live]\nstatus_interval = 0\n"
      << live

      << "[venues.binance]\nws_url = \"wss://" << fake_->base() << "\"\nrest_url = \"https://"
      << fake_->base() << "\"\nca_file = \"" << (dir_ / "cert.pem").string() << "\"\n"
      << "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\"]\n"
      << "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n"
      << extra << "\n"
      << strategies;
    write_file(dir_ / "live.toml", c.str());
  }
  std::string err() const { return file_or_empty(dir_ / "cats.err"); }
  std::string lines(const std::string& name) const { return file_or_empty(dir_ / name); }
  static std::string strategy(const std::string& name, const std::string& plugin,
                              const std::string& params) {
    return "[[strategy]]\nname = \"" + name + "\"\nplugin = \"" + plugin +
           "\"\n[strategy.params]\n" + params + "\n";
  }
  std::string probe(const std::string& name) const {
    return strategy(name, std::string(CATS_TEST_PLUGIN_DIR) + "/probe_strategy.so",
                    "log = \"" + (dir_ / (name + ".log")).string() + "\"");
  }
  std::string hostile(const std::string& params) const {
    return strategy("bad", hostile_so, params + "\nlog = \"" + (dir_ / "bad.log").string() + "\"");
  }

  temp_dir dir_;
  std::unique_ptr<fake_exchange> fake_;
  std::unique_ptr<background> cats_;
};

TEST_F(Live, TheWatchdogDisablesAStrategyWhoseCallbackRanTooLongAndTheOthersGoOn) {
  start(hostile("mode = \"sleep\"\nat = 20\nsleep_ms = 1500") + probe("good"),
        "[engine]\ncallback_timeout = 0.3\n");
  ASSERT_TRUE(wait_until(
      [&] {
        return err().find("watchdog: strategy 'bad' has been running on_event(trade)") !=
               std::string::npos;
      },
      20))
      << err();
  // Once the callback returns the strategy is disabled; the probe keeps receiving trades.
  ASSERT_TRUE(wait_until(
      [&] {
        return err().find("the callback ran longer than engine.callback_timeout") !=
               std::string::npos;
      },
      10))
      << err();
  const size_t before = count_of(lines("good.log"), "trade ");
  ASSERT_TRUE(wait_until([&] { return count_of(lines("good.log"), "trade ") > before + 50; }, 10));
  cats_->signal(SIGINT);
  EXPECT_EQ(cats_->wait(20), 1) << "a strategy failed: exit code 1";
  const std::string summary = read_file(dir_ / "out" / "summary.json");
  EXPECT_NE(summary.find("\"watchdog_overruns\":1"), std::string::npos) << summary;
}

TEST_F(Live, AStrategyStuckForeverDoesNotMakeTheEngineDeafToSigterm) {
  start(hostile("mode = \"loop\"\nat = 10"),
        "[engine]\ncallback_timeout = 0.3\n[record]\ndir = \"" + (dir_ / "rec").string() + "\"\n");
  ASSERT_TRUE(wait_until(
      [&] {
        return err().find("watchdog: strategy 'bad' has been running on_event(trade)") !=
               std::string::npos;
      },
      20))
      << err();
  const auto t0 = std::chrono::steady_clock::now();
  cats_->signal(SIGTERM);
  const int rc = cats_->wait(15);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(rc, 3) << err();
  EXPECT_LT(s, 10.0);
  EXPECT_NE(err().find("strategy 'bad' has been stuck in on_event(trade)"), std::string::npos)
      << err();
  // The recording ends on a record boundary: a backtest replays it whole, the 9 trades the
  // strategy saw before it froze (and the 10th it froze on) included.
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir_ / "rec"))
    if (e.path().extension() == ".catsrec") files.push_back("\"" + e.path().string() + "\"");
  ASSERT_EQ(files.size(), 1u);
  write_file(dir_ / "replay.toml",
             "[data]\nsymbol = \"BINANCE:BTCUSDT\"\nformat = \"cats_record\"\nfiles = [" +
                 files[0] + "]\n[[strategy]]\nname = \"p\"\nplugin = \"" +
                 std::string(CATS_TEST_PLUGIN_DIR) +
                 "/probe_strategy.so\"\n[strategy.params]\nlog = \"" +
                 (dir_ / "replay.log").string() + "\"\n");
  const run_result r = run({cats_bin, "backtest", "--config", (dir_ / "replay.toml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(count_of(lines("replay.log"), "trade "), 10u);
}

TEST_F(Live, RiskLimitsAndTheKillSwitchWorkEndToEnd) {
  // At trade 30: a buy of 0.6 (over max_order_quantity), then a resting limit 3 % below the market
  // and a market buy of 0.1 that fills; the kill switch must cancel the first and flatten the
  // second.
  start(hostile("mode = \"orders\"\nat = 30\nquantity = \"0.6\"\n"
                "then = \"buy:limit:0.1:-0.03\"") +
            strategy("buyer", hostile_so,
                     "mode = \"orders\"\nat = 31\nquantity = \"0.1\"\nlog = \"" +
                         (dir_ / "buyer.log").string() + "\""),
        "[risk]\nmax_order_quantity = 0.5\nprice_band = 0.05\nflatten_on_kill = true\n");
  ASSERT_TRUE(wait_until([&] { return lines("buyer.log").find("fill ") != std::string::npos; }, 20))
      << err();
  ASSERT_TRUE(
      wait_until([&] { return lines("bad.log").find("status 1") != std::string::npos; }, 10));
  EXPECT_NE(lines("bad.log").find("reason risk: quantity 0.6 is above [risk] max_order_quantity "
                                  "0.5"),
            std::string::npos)
      << lines("bad.log");
  const run_result ctl = run({cats_bin, "ctl", "kill", "--run", (dir_ / "out").string()});
  EXPECT_EQ(ctl.exit_code, 0) << ctl.err;
  EXPECT_NE(ctl.err.find("kill switch sent to pid"), std::string::npos) << ctl.err;
  // The resting order is cancelled (status 4) by the kill switch.
  ASSERT_TRUE(wait_until(
      [&] {
        return lines("bad.log").find("status 4 filled 0 reason risk: kill switch") !=
               std::string::npos;
      },
      10))
      << lines("bad.log") << err();
  // The engine's log line may reach stderr after the plugin's own log shows the cancel.
  EXPECT_TRUE(wait_until(
      [&] {
        return err().find("risk: KILL SWITCH (SIGUSR1 (cats ctl kill))") != std::string::npos;
      },
      10))
      << err();
  ASSERT_TRUE(wait_until(
      [&] {
        return err().find(
                   "risk: kill switch: sell 0.1 BINANCE:BTCUSDT at "
                   "market") != std::string::npos;
      },
      10))
      << err();
  // Give the flattening order a few trades to fill against, then stop.
  std::this_thread::sleep_for(500ms);
  cats_->signal(SIGINT);
  EXPECT_EQ(cats_->wait(20), 0) << err();
  simdjson::dom::parser p;
  simdjson::dom::element s = parse_json(p, read_file(dir_ / "out" / "summary.json"));
  std::string_view state;
  ASSERT_EQ(s["risk"]["state"].get(state), simdjson::SUCCESS);
  EXPECT_EQ(state, "halted");
  uint64_t open = 1;
  ASSERT_EQ(s["account"]["open_orders"].get(open), simdjson::SUCCESS);
  EXPECT_EQ(open, 0u);
  // The account is flat again: the kill switch's market sell filled the buyer's 0.1.
  simdjson::dom::object positions;
  ASSERT_EQ(s["strategies"].at(1)["positions"].get(positions), simdjson::SUCCESS);
  EXPECT_EQ(positions.size(), 1u) << "the buyer's own ledger keeps its buy";
  simdjson::dom::object account_positions;
  ASSERT_EQ(s["account"]["positions"].get(account_positions), simdjson::SUCCESS);
  EXPECT_EQ(account_positions.size(), 0u) << "the account is flat";
}

TEST_F(Live, ASecondRunInTheSameFolderIsRefused) {
  start(probe("good"));
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir_ / "out" / "cats.pid"); }, 10)) << err();
  // `cats ctl kill --run out` must reach one run, the one it means.
  const run_result second = run({cats_bin, "live", "--config", (dir_ / "live.toml").string(),
                                 "--out", (dir_ / "out").string()},
                                "", 30);
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_NE(second.err.find("another cats live (pid "), std::string::npos) << second.err;
  cats_->signal(SIGINT);
  EXPECT_EQ(cats_->wait(20), 0) << err();
  EXPECT_FALSE(fs::exists(dir_ / "out" / "cats.pid")) << "removed at the end of the run";
}

TEST_F(Live, AnUntrustedCertificateIsNamedAndEndsTheRunAfterBoundedAttempts) {
  // No ca_file: the fake's self-signed certificate is not trusted.
  write_config(probe("good"), "", "");
  std::string text = read_file(dir_ / "live.toml");
  const size_t at = text.find("ca_file = ");
  text.erase(at, text.find('\n', at) - at + 1);
  write_file(dir_ / "live.toml", text);
  background run({cats_bin, "live", "--config", (dir_ / "live.toml").string(), "--out",
                  (dir_ / "tls-out").string()},
                 (dir_ / "tls.out").string(), (dir_ / "tls.err").string());
  EXPECT_EQ(run.wait(30), 1);
  const std::string e = file_or_empty(dir_ / "tls.err");
  EXPECT_EQ(count_of(e, "cannot connect to wss://"), 5u) << e;
  EXPECT_NE(e.find("certificate refused: self-signed certificate [/CN=localhost]"),
            std::string::npos);
  EXPECT_NE(e.find("(attempt 5 of 5)"), std::string::npos);
  EXPECT_NE(e.find("binance: giving up on wss://"), std::string::npos) << e;
  EXPECT_NE(e.find("stopped retrying after repeated certificate failures"), std::string::npos);

  // The same certificate trusted through SSL_CERT_FILE: it connects, and the override is logged.
  background ok({"/usr/bin/env", "SSL_CERT_FILE=" + (dir_ / "cert.pem").string(), cats_bin, "live",
                 "--config", (dir_ / "live.toml").string(), "--set", "live.duration=1", "--out",
                 (dir_ / "ok-out").string()},
                (dir_ / "ok.out").string(), (dir_ / "ok.err").string());
  EXPECT_EQ(ok.wait(30), 0) << file_or_empty(dir_ / "ok.err");
  EXPECT_NE(file_or_empty(dir_ / "ok.err")
                .find("TLS: the system trust store is overridden by SSL_CERT_FILE="),
            std::string::npos);
}

TEST_F(Live, AVenueThatDropsRightAfterConnectingIsRetriedEverMoreSlowly) {
  start(probe("good"));
  auto reconnects = [&] { return count_of(err(), "binance: reconnected to"); };
  ASSERT_TRUE(
      wait_until([&] { return err().find("binance: connected to") != std::string::npos; }, 10))
      << err();
  // Four drops, each as soon as the previous reconnect is done: the waits must grow (0.25, 0.5,
  // 1, 2 s nominal, +-25 %), not restart at 0.25 s each time.
  for (size_t i = 0; i < 4; ++i) {
    fake_->control("POST", "/control/drop");
    ASSERT_TRUE(wait_until([&] { return reconnects() == i + 1; }, 10)) << err();
  }
  std::vector<double> down;
  std::istringstream in(err());
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find(" after ");
    if (line.find("binance: reconnected to") != std::string::npos && at != std::string::npos)
      down.push_back(std::stod(line.substr(at + 7)));
  }
  ASSERT_EQ(down.size(), 4u) << err();
  EXPECT_LT(down[0], 0.6);
  EXPECT_GT(down[3], 1.4) << "the backoff started over after a connection that did not last";
  cats_->signal(SIGINT);
  EXPECT_EQ(cats_->wait(20), 0);
  // The trades generated while disconnected are gaps in the trade ids: counted exactly as the
  // probe's own log shows them.
  uint64_t gaps = 0, missed = 0, prev = 0;
  std::istringstream log(lines("good.log"));
  for (std::string line; std::getline(log, line);) {
    unsigned inst = 0;
    unsigned long long id = 0;
    if (std::sscanf(line.c_str(), "trade %u %llu", &inst, &id) != 2) continue;
    if (prev != 0 && id > prev + 1) {
      ++gaps;
      missed += id - prev - 1;
    }
    prev = id;
  }
  simdjson::dom::parser p;
  simdjson::dom::element s = parse_json(p, read_file(dir_ / "out" / "summary.json"));
  uint64_t counted_gaps = 0, counted_missed = 0;
  ASSERT_EQ(s["feed"]["trade_id_gaps"].get(counted_gaps), simdjson::SUCCESS);
  ASSERT_EQ(s["feed"]["trades_missed"].get(counted_missed), simdjson::SUCCESS);
  EXPECT_GE(gaps, 4u);
  EXPECT_EQ(counted_gaps, gaps);
  EXPECT_EQ(counted_missed, missed);
}

// A plain HTTP GET to 127.0.0.1:port; returns the whole response ("" if it cannot connect).
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

TEST_F(Live, TheMetricsEndpointServesPrometheusTextAndJsonStatus) {
  start(hostile("mode = \"orders\"\nat = 5\nquantity = \"0.6\"") + probe("good"),
        "[risk]\nmax_order_quantity = 0.5\n", "metrics = \"127.0.0.1:0\"\n");
  int port = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string e = err();
        const size_t at = e.find("metrics on http://127.0.0.1:");
        if (at != std::string::npos) port = std::atoi(e.c_str() + at + 28);
        return port > 0;
      },
      10))
      << err();
  // Wait until the refusal and some trades are in a published snapshot.
  std::string m;
  ASSERT_TRUE(wait_until(
      [&] {
        m = http_get(port, "/metrics");
        return m.find("cats_risk_refused_orders_total{limit=\"max_order_quantity\"} 1") !=
               std::string::npos;
      },
      10))
      << m;
  EXPECT_EQ(m.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(m.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(m.find("# TYPE cats_events_total counter\ncats_events_total "), std::string::npos);
  EXPECT_NE(m.find("cats_strategy_running{strategy=\"good\"} 1"), std::string::npos);
  EXPECT_NE(m.find("cats_risk_state{state=\"active\"} 1"), std::string::npos);
  EXPECT_NE(m.find("cats_venue_connects_total{venue=\"binance\"} 1"), std::string::npos) << m;
  const std::string st = http_get(port, "/status");
  const std::string body = st.substr(st.find("\r\n\r\n") + 4);
  simdjson::dom::parser p;
  simdjson::dom::element s = parse_json(p, body);
  uint64_t refused = 0;
  ASSERT_EQ(s["risk"]["refused_orders"].get(refused), simdjson::SUCCESS);
  EXPECT_EQ(refused, 1u);
  EXPECT_EQ(http_get(port, "/nope").rfind("HTTP/1.1 404", 0), 0u);
  cats_->signal(SIGINT);
  EXPECT_EQ(cats_->wait(20), 0) << err();
}

}  // namespace
}  // namespace cats::test
