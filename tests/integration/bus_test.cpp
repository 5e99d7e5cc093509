// The bus for real: nats-server (JetStream on, a free loopback port, its own store folder), the
// fake exchange over TLS, `cats collector` publishing, and `cats live --source nats://...`
// engines consuming, with the probe plugin logging every trade. Skipped with a message where
// nats-server is not installed (tools/setup.sh installs it).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "integration/fake_exchange.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string nats_server_binary() {
  for (const char* p :
       {"/usr/bin/nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server"})
    if (fs::exists(p)) return p;
  return {};
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

class BusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
    if (nats_server_binary().empty())
      GTEST_SKIP() << "nats-server is not installed (tools/setup.sh installs it): the bus tests "
                      "need a real server";
    ASSERT_TRUE(make_cert(dir_.path())) << "openssl could not make a test certificate";
    nats_port_ = free_port();
    start_nats();
  }

  void start_nats() {
    const fs::path log = dir_ / ("nats." + std::to_string(++nats_starts_) + ".log");
    nats_ = std::make_unique<background>(
        std::vector<std::string>{nats_server_binary(), "-js", "-a", "127.0.0.1", "-p",
                                 std::to_string(nats_port_), "-sd", (dir_ / "js").string()},
        (dir_ / "nats.out").string(), log.string());
    ASSERT_TRUE(wait_until(
        [&] {
          return fs::exists(log) && read_file(log).find("Server is ready") != std::string::npos;
        },
        20))
        << (fs::exists(log) ? read_file(log) : "no log");
  }

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(nats_port_); }

  std::string venue_config(const fake_exchange& fake) const {
    return "[venues.binance]\nws_url = \"wss://" + fake.base() + "\"\nrest_url = \"https://" +
           fake.base() + "\"\nread_timeout = 2\nca_file = \"" + (dir_ / "cert.pem").string() +
           "\"\n[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\", \"book\"]\n"
           "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n";
  }

  std::unique_ptr<background> start_collector(const fake_exchange& fake, double max_age = 600) {
    write_file(dir_ / "collector.toml",
               "[engine]\nlog_level = \"info\"\n[live]\nstatus_interval = 1\n[bus]\nurl = \"" +
                   url() + "\"\nsnapshot_interval = 0.5\nmax_age = " + std::to_string(max_age) +
                   "\n" + venue_config(fake));
    return std::make_unique<background>(
        std::vector<std::string>{CATS_BINARY, "collector", "--config",
                                 (dir_ / "collector.toml").string(), "--out",
                                 (dir_ / "collector").string()},
        (dir_ / "collector.out").string(), (dir_ / "collector.err").string());
  }

  // `cats live --source nats://...` as consumer `name`, logging to <name>.log; the run folder
  // <name>/ keeps its position, so starting it again continues there.
  std::unique_ptr<background> start_engine(const fake_exchange& fake, const std::string& name,
                                           const std::string& start = "all") {
    write_file(dir_ / (name + ".toml"),
               "[engine]\nlog_level = \"info\"\nplugin_dir = \"" +
                   std::string(CATS_TEST_PLUGIN_DIR) +
                   "\"\n[live]\nstatus_interval = 1\nhot_reload = false\n[bus]\ndurable = \"" +
                   name + "\"\nstart = \"" + start + "\"\n" + venue_config(fake) +
                   "[backtest]\ninitial_cash = 100000\n[[strategy]]\nname = \"probe\"\n"
                   "plugin = \"probe_strategy\"\n[strategy.params]\nlog = \"" +
                   (dir_ / (name + ".log")).string() + "\"\n");
    return std::make_unique<background>(
        std::vector<std::string>{CATS_BINARY, "live", "--config",
                                 (dir_ / (name + ".toml")).string(), "--out",
                                 (dir_ / name).string(), "--source", url()},
        (dir_ / (name + ".out")).string(), (dir_ / (name + ".err")).string());
  }

  std::string text(const std::string& file) const {
    return fs::exists(dir_ / file) ? read_file(dir_ / file) : std::string();
  }

  std::vector<uint64_t> trade_ids(const std::string& name) const {
    return probe_trade_ids(text(name + ".log"));
  }

  uint64_t last_trade(const fake_exchange& fake) const {
    simdjson::dom::parser p;
    simdjson::dom::element st = parse_json(p, fake.control("GET", "/control/stats"));
    uint64_t last = 0;
    EXPECT_EQ(st["trades"]["BTCUSDT"].get(last), simdjson::SUCCESS);
    return last;
  }

  // Waits until the fake has sent everything and `name` has seen its last trade.
  void settle(const fake_exchange& fake, const std::vector<std::string>& names) {
    ASSERT_TRUE(wait_until([&] { return fake.generated() >= fake.count(); }, 60))
        << fake.control("GET", "/control/stats");
    const uint64_t last = last_trade(fake);
    for (const std::string& n : names)
      EXPECT_TRUE(wait_until(
          [&] {
            const auto ids = trade_ids(n);
            return !ids.empty() && ids.back() == last;
          },
          30))
          << n << " saw " << trade_ids(n).size() << " trades, the fake's last is " << last << "\n"
          << text(n + ".err") << "\ncollector:\n"
          << text("collector.err");
    std::this_thread::sleep_for(700ms);  // the last book updates
  }

  std::string stop(background& p, const std::string& name, const std::string& summary_dir) {
    p.signal(SIGINT);
    const int rc = p.wait(30);
    if (rc == -1 && p.running()) {  // hung: its threads' stacks say where
      const std::string cmd = "gdb -batch -p " + std::to_string(p.pid()) +
                              " -ex 'thread apply all bt' > '" + (dir_ / "stacks.txt").string() +
                              "' 2>&1";
      if (std::system(cmd.c_str()) != 0) {
      }
      ADD_FAILURE() << name << " did not stop:\n" << text("stacks.txt");
      p.signal(SIGKILL);
    }
    EXPECT_EQ(rc, 0) << text(name + ".err");
    return fs::exists(dir_ / summary_dir / "summary.json")
               ? read_file(dir_ / summary_dir / "summary.json")
               : std::string("{}");
  }

  // Every id once, in order, from the first on.
  static void expect_consecutive(const std::vector<uint64_t>& ids, const std::string& who) {
    ASSERT_FALSE(ids.empty()) << who;
    for (size_t i = 1; i < ids.size(); ++i)
      ASSERT_EQ(ids[i], ids[i - 1] + 1) << who << ": trade " << i << " of " << ids.size();
  }

  uint64_t bus_stat(const std::string& summary, const char* key) {
    simdjson::dom::parser p;
    uint64_t out = 0;
    EXPECT_EQ(parse_json(p, summary)["bus"][key].get(out), simdjson::SUCCESS) << summary;
    return out;
  }

  temp_dir dir_;
  int nats_port_ = 0;
  int nats_starts_ = 0;
  std::unique_ptr<background> nats_;
};

TEST_F(BusTest, TwoEnginesReceiveEveryTradeOnceAndInOrderAndKeepTheSameBook) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                            "--count", "5000", "--seed", "11"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto a = start_engine(fake, "alpha");
  auto b = start_engine(fake, "beta");
  auto collector = start_collector(fake);
  settle(fake, {"alpha", "beta"});
  const std::string sa = stop(*a, "alpha", "alpha");
  const std::string sb = stop(*b, "beta", "beta");
  const std::string sc = stop(*collector, "collector", "collector");

  const auto ia = trade_ids("alpha"), ib = trade_ids("beta");
  expect_consecutive(ia, "alpha");
  EXPECT_EQ(ia, ib);
  EXPECT_EQ(ia.back(), last_trade(fake));
  // The engines' books are the fake exchange's, built from the collector's updates.
  expect_same_book(fake, sa, "binance", "BTCUSDT", "BINANCE:BTCUSDT");
  expect_same_book(fake, sb, "binance", "BTCUSDT", "BINANCE:BTCUSDT");
  EXPECT_EQ(bus_stat(sa, "consumer_restarts"), 0u);
  EXPECT_NE(text("collector.err").find("acknowledged"), std::string::npos) << text("collector.err");
}

TEST_F(BusTest, AnEngineKilledAndRestartedMissesNothing) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                            "--count", "12000", "--seed", "12"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto e = start_engine(fake, "gamma");
  auto collector = start_collector(fake);
  ASSERT_TRUE(wait_until([&] { return trade_ids("gamma").size() >= 1500; }, 30))
      << text("gamma.err");
  e->signal(SIGKILL);
  e->wait(10);
  const size_t before = trade_ids("gamma").size();
  std::this_thread::sleep_for(1500ms);  // the stream moves on without it
  e = start_engine(fake, "gamma");
  settle(fake, {"gamma"});
  const std::string s = stop(*e, "gamma", "gamma");
  stop(*collector, "collector", "collector");

  // The restarted engine continued right after the last event through its market step. A kill
  // inside a strategy callback gives that one event again (at least once, never lost).
  std::vector<uint64_t> ids = trade_ids("gamma");
  ASSERT_GT(ids.size(), before);
  if (ids[before] == ids[before - 1]) ids.erase(ids.begin() + static_cast<ptrdiff_t>(before));
  expect_consecutive(ids, "gamma");
  EXPECT_EQ(ids.back(), last_trade(fake));
  EXPECT_NE(text("gamma.err").find("from sequence"), std::string::npos) << text("gamma.err");
  EXPECT_EQ(bus_stat(s, "expired_before_read"), 0u);
}

// The stream keeps one second of events; an engine away for longer finds some gone: they are
// counted, the trades after them arrive in order, and the book waits for the next whole book
// (the lost events held updates) and ends equal to the fake exchange's.
TEST_F(BusTest, EventsThatExpiredWhileAnEngineWasAwayAreCountedAndItsBookRecovers) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                            "--count", "12000", "--seed", "15"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto e = start_engine(fake, "eps");
  auto collector = start_collector(fake, 1);
  ASSERT_TRUE(wait_until([&] { return trade_ids("eps").size() >= 1000; }, 30)) << text("eps.err");
  e->signal(SIGKILL);
  e->wait(10);
  std::this_thread::sleep_for(2500ms);
  e = start_engine(fake, "eps");
  settle(fake, {"eps"});
  const std::string s = stop(*e, "eps", "eps");
  stop(*collector, "collector", "collector");
  EXPECT_GT(bus_stat(s, "expired_before_read"), 0u) << s;
  const auto ids = trade_ids("eps");
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_GT(ids[i], ids[i - 1]) << "at " << i;
  EXPECT_EQ(ids.back(), last_trade(fake));
  expect_same_book(fake, s, "binance", "BTCUSDT", "BINANCE:BTCUSDT");
}

TEST_F(BusTest, ANatsServerRestartIsSurvivedWithoutALostOrRepeatedTrade) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                            "--count", "12000", "--seed", "13"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto e = start_engine(fake, "delta");
  auto collector = start_collector(fake);
  ASSERT_TRUE(wait_until([&] { return trade_ids("delta").size() >= 1500; }, 30))
      << text("delta.err");
  nats_->signal(SIGTERM);
  nats_->wait(20);  // nats-server exits 1 on SIGTERM
  std::this_thread::sleep_for(1s);
  start_nats();
  settle(fake, {"delta"});
  const std::string s = stop(*e, "delta", "delta");
  stop(*collector, "collector", "collector");

  const auto ids = trade_ids("delta");
  expect_consecutive(ids, "delta");
  EXPECT_EQ(ids.back(), last_trade(fake));
  simdjson::dom::parser p;
  uint64_t disconnects = 0;
  ASSERT_EQ(parse_json(p, s)["venues"].at(0)["disconnects"].get(disconnects), simdjson::SUCCESS);
  EXPECT_GE(disconnects, 1u) << s;
}

TEST_F(BusTest, ALateEngineStartsFromTheLatestWholeBook) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                            "--count", "8000", "--seed", "14"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto collector = start_collector(fake);
  ASSERT_TRUE(wait_until(
      [&] {
        return text("collector.err").find("whole") != std::string::npos || fake.generated() >= 2000;
      },
      30));
  auto late = start_engine(fake, "late", "snapshot");
  settle(fake, {"late"});
  const std::string s = stop(*late, "late", "late");
  stop(*collector, "collector", "collector");
  expect_consecutive(trade_ids("late"), "late");
  expect_same_book(fake, s, "binance", "BTCUSDT", "BINANCE:BTCUSDT");
  EXPECT_NE(text("late.err").find("latest whole books"), std::string::npos) << text("late.err");
}

// A sweep handed out over the bus to two workers, one of them killed in the middle of a run:
// the run goes to the other worker once its acknowledgement is overdue, and the outputs equal a
// local sweep's. Every run sleeps 0.4 s at its 100th event (the hostile plugin beside the SMA
// strategy), so the kill lands inside a run.
TEST_F(BusTest, ADistributedSweepWithAWorkerKilledMidRunEqualsALocalSweep) {
  const fs::path coord = dir_ / "coord", store = dir_ / "store";
  fs::create_directories(coord);
  fs::create_directories(store);
  const run_result g = test::run({CATS_BINARY, "generate", "--out", (coord / "sample.csv").string(),
                                  "--days", "20", "--seed", "5"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  fs::copy_file(coord / "sample.csv", store / "sample.csv");  // the workers' own copy
  const std::string sma = (fs::path(CATS_BINARY).parent_path().parent_path() / "lib" / "cats" /
                           "plugins" / "ma_crossover.so")
                              .string();
  write_file(coord / "sweep.toml",
             "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" + std::string(CATS_TEST_PLUGIN_DIR) +
                 "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"sample.csv\"]\n"
                 "tick_size = \"0.01\"\nlot_size = \"0.00001\"\n[backtest]\ninitial_cash = 10000\n"
                 "fee_bps = 10\n[[strategy]]\nname = \"sma\"\nplugin = \"" +
                 sma +
                 "\"\n[strategy.params]\nfast = 30\nslow = 120\n[[strategy]]\nname = \"slow\"\n"
                 "plugin = \"hostile_strategy\"\n[strategy.params]\nmode = \"sleep\"\nat = 100\n"
                 "sleep_ms = 400\n");
  const std::vector<std::string> grid = {"--param", "strategy.sma.fast=10:30:10", "--param",
                                         "strategy.sma.slow=60,120"};
  std::vector<std::string> local = {
      CATS_BINARY, "sweep", "--config", (coord / "sweep.toml").string(),
      "--jobs",    "2",     "--out",    (dir_ / "local").string()};
  local.insert(local.end(), grid.begin(), grid.end());
  const run_result l = test::run(local);
  ASSERT_EQ(l.exit_code, 0) << l.err;

  write_file(dir_ / "worker.toml", "[bus]\nack_wait = 2\n");
  auto worker = [&](const std::string& name) {
    return std::make_unique<background>(
        std::vector<std::string>{CATS_BINARY, "worker", "--nats", url(), "--store", store.string(),
                                 "--plugins", CATS_TEST_PLUGIN_DIR, "--config",
                                 (dir_ / "worker.toml").string()},
        (dir_ / (name + ".out")).string(), (dir_ / (name + ".err")).string());
  };
  auto a = worker("worker-a");
  auto b = worker("worker-b");
  std::vector<std::string> remote = {
      CATS_BINARY, "sweep", "--config", (coord / "sweep.toml").string(),
      "--workers", url(),   "--out",    (dir_ / "remote").string()};
  remote.insert(remote.end(), grid.begin(), grid.end());
  background coordinator(remote, (dir_ / "coordinator.out").string(),
                         (dir_ / "coordinator.err").string());
  // Worker b is killed as soon as it has started a run: the run is then sleeping inside.
  std::string taken;
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string t = text("worker-b.err");
        const size_t at = t.find(" run ");
        if (at == std::string::npos) return false;
        taken = t.substr(at, t.find(' ', at + 5) - at);
        return true;
      },
      30))
      << text("worker-b.err") << text("worker-a.err") << text("coordinator.err");
  b->signal(SIGKILL);
  b->wait(10);
  EXPECT_EQ(coordinator.wait(60), 0) << text("coordinator.err") << text("worker-a.err");
  a->signal(SIGINT);
  EXPECT_EQ(a->wait(20), 0) << text("worker-a.err");

  // The killed worker's run was done again by the other one; the outputs are the local sweep's.
  EXPECT_NE(text("worker-a.err").find(taken + " "), std::string::npos) << taken << "\n"
                                                                       << text("worker-a.err");
  EXPECT_EQ(read_file(dir_ / "remote" / "results.csv"), read_file(dir_ / "local" / "results.csv"));
  EXPECT_NE(read_file(dir_ / "remote" / "results.csv").find("ok"), std::string::npos);
}

TEST_F(BusTest, ABadBusConfigIsRefusedWithTheKey) {
  fake_exchange fake(dir_, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--count", "1"});
  write_file(dir_ / "bad.toml", "[bus]\nstart = \"yesterday\"\n" + venue_config(fake));
  background p({CATS_BINARY, "collector", "--config", (dir_ / "bad.toml").string()},
               (dir_ / "bad.out").string(), (dir_ / "bad.err").string());
  EXPECT_EQ(p.wait(20), 2);
  EXPECT_NE(text("bad.err").find("bus.start"), std::string::npos) << text("bad.err");
  // A password file others can read is refused before anything connects.
  write_file(dir_ / "pw", "secret\n");
  ::chmod((dir_ / "pw").c_str(), 0644);
  write_file(dir_ / "pw.toml", "[bus]\nurl = \"" + url() + "\"\nuser = \"u\"\npassword_file = \"" +
                                   (dir_ / "pw").string() + "\"\n" + venue_config(fake));
  background q({CATS_BINARY, "collector", "--config", (dir_ / "pw.toml").string()},
               (dir_ / "pw.out").string(), (dir_ / "pw.err").string());
  EXPECT_EQ(q.wait(20), 1);
  EXPECT_NE(text("pw.err").find("chmod 600"), std::string::npos) << text("pw.err");
  EXPECT_EQ(text("pw.err").find("secret"), std::string::npos);
}

}  // namespace
}  // namespace cats::test
