// The soak (label `soak`; tools/soak.sh [MINUTES], and a 2-minute run in tools/test.sh): `cats
// live` against the fake exchange, two Binance symbols and one OKX symbol with trades and books,
// for CATS_SOAK_SECONDS (at least 60; it is skipped without it), with a fault every 2-4 s: dropped
// connections, stalls, malformed frames, sequence gaps, bad checksums, stale snapshots, 429s on the
// snapshot, the process stopped as a slow consumer would be, and hot reloads of the strategy.
// Afterwards:
// - the books equal the fake's;
// - every trade reached the strategy at most once and in order, and every Binance trade it did
//   not see is one the engine counted as missed (a dropped connection loses what the venue sent
//   meanwhile; OKX may aggregate trades, so its ids are not consecutive);
// - the strategy's state (a count) went on through every reload: no event lost or doubled;
// - RSS is bounded, and open files and threads are where they were after the warm-up.
// CATS_SOAK_SEED picks the fault sequence (printed; default: the clock).
#include <gtest/gtest.h>
#include <signal.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "integration/fake_exchange.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// The last complete line of a file (the counter's newest trade), without reading all of it.
std::string last_line(const fs::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  const std::streamoff from = size > 512 ? size - 512 : 0;
  in.seekg(from);
  std::string tail(static_cast<size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  if (tail.empty() || tail.back() != '\n') return {};
  tail.pop_back();
  const size_t nl = tail.rfind('\n');
  return nl == std::string::npos ? tail : tail.substr(nl + 1);
}

int version_of(const std::string& counter_line) {
  int v = 0;
  return std::sscanf(counter_line.c_str(), "v%d", &v) == 1 ? v : 0;
}

struct trade_line {
  uint64_t trade;
  int64_t count;
  uint32_t instrument;
};

std::vector<trade_line> read_counter_log(const fs::path& file) {
  std::vector<trade_line> out;
  std::ifstream in(file);
  std::string text;
  while (std::getline(in, text)) {
    int version = 0;
    unsigned long long trade = 0;
    long long count = 0;
    unsigned instrument = 0;
    if (std::sscanf(text.c_str(), "v%d %llu %lld %u", &version, &trade, &count, &instrument) == 4)
      out.push_back({trade, count, instrument});
  }
  return out;
}

uint64_t number(simdjson::dom::element e) {
  uint64_t v = 0;
  EXPECT_EQ(e.get(v), simdjson::SUCCESS) << simdjson::minify(e);
  return v;
}

class soak {
 public:
  soak() : seconds_(env_or("CATS_SOAK_SECONDS", 120)) {
    const long seed = env_or("CATS_SOAK_SEED", static_cast<long>(std::time(nullptr)));
    rng_.seed(static_cast<uint64_t>(seed));
    std::printf("soak: %ld s, seed %ld (CATS_SOAK_SEED=%ld repeats the faults)\n", seconds_, seed,
                seed);
  }
  long seconds() const { return seconds_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  static long env_or(const char* name, long dflt) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::atol(v) : dflt;
  }
  long seconds_;
  std::mt19937_64 rng_;
};

fs::path counter_build(int version) {
  return fs::path(CATS_TEST_PLUGIN_DIR) / ("counter_v" + std::to_string(version) + ".so");
}

TEST(Soak, LiveUnderFaultsAndReloadsKeepsBooksTradesStateAndResourcesRight) {
  if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
  if (std::getenv("CATS_SOAK_SECONDS") == nullptr)
    GTEST_SKIP() << "the soak runs when CATS_SOAK_SECONDS is set (tools/soak.sh, tools/test.sh)";
  soak plan;
  temp_dir dir;
  ASSERT_TRUE(make_cert(dir.path()));
  fs::create_directories(dir / "plugins");
  const fs::path plugin = dir / "plugins" / "counter.so";
  fs::copy_file(counter_build(1), plugin);

  // Generation lasts the soak; the faults stop 20 s before it ends, so that the last ones are
  // repaired while updates still flow (a gap in the very last update could not be seen, and a
  // connection made after the end gets no trades). Reconnects wait at most 2 s (reconnect_max):
  // with faults every few seconds the backoff never resets and would otherwise reach 30 s.
  ASSERT_GE(plan.seconds(), 60) << "CATS_SOAK_SECONDS must be at least 60";
  const long rate = 1500;
  const long faults_for = plan.seconds() - 20;
  fake_exchange fake(dir, {"--symbols", "BTCUSDT,ETHUSDT", "--okx-symbols", "BTC-USDT", "--rate",
                           std::to_string(rate), "--count", std::to_string(rate * plan.seconds()),
                           "--seed", "11"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  std::ostringstream c;
  const std::string ca = "ca_file = \"" + (dir / "cert.pem").string() + "\"\n";
  c << "[engine]\nlog_level = \"info\"\nplugin_dir = \"" << (dir / "plugins").string() << "\"\n"
    << "[live]\nstatus_interval = 0\n"
    << "[venues.binance]\nws_url = \"wss://" << fake.base() << "\"\nrest_url = \"https://"
    << fake.base() << "\"\nread_timeout = 2\nreconnect_max = 2\n"
    << ca << "[venues.okx]\nws_url = \"wss://" << fake.base() << "/ws/v5/public\"\nrest_url = "
    << "\"https://" << fake.base() << "\"\nread_timeout = 2\nreconnect_max = 2\n"
    << ca;
  for (const char* s : {"BINANCE:BTCUSDT", "BINANCE:ETHUSDT", "OKX:BTC-USDT"})
    c << "[[instrument]]\nsymbol = \"" << s << "\"\nchannels = [\"trades\", \"book\"]\n";
  c << "[[strategy]]\nname = \"count\"\nplugin = \"counter\"\n[strategy.params]\nlog = \""
    << (dir / "counter.log").string() << "\"\n";
  write_file(dir / "live.toml", c.str());
  background cats({CATS_BINARY, "live", "--config", (dir / "live.toml").string(), "--out",
                   (dir / "out").string()},
                  (dir / "cats.out").string(), (dir / "cats.err").string());
  auto cats_log = [&] {
    return fs::exists(dir / "cats.err") ? read_file(dir / "cats.err") : std::string();
  };
  ASSERT_TRUE(wait_until([&] { return version_of(last_line(dir / "counter.log")) == 1; }, 30))
      << cats_log();

  const auto start = clock_type::now();
  auto elapsed = [&] { return std::chrono::duration<double>(clock_type::now() - start).count(); };
  std::map<std::string, int> faults;
  int version = 1;
  process_usage baseline{}, peak{};
  // The baseline is the median of the first five samples after 20 s: a sample taken while a
  // connection is being replaced holds one more file.
  std::vector<process_usage> early;
  bool have_baseline = false;
  std::uniform_int_distribution<int> pick(0, 10), pause_ms(2000, 4000);
  for (;;) {
    const int pause = pause_ms(plan.rng());
    if (elapsed() + pause / 1000.0 >= static_cast<double>(faults_for)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(pause));
    const process_usage now = usage_of(cats.pid());
    ASSERT_GT(now.rss_kb, 0) << "cats is gone\n" << cats_log();
    if (!have_baseline && elapsed() >= 20) {
      early.push_back(now);
      if (early.size() == 5) {
        auto median = [&](long process_usage::*field) {
          std::vector<long> v;
          for (const process_usage& u : early) v.push_back(u.*field);
          std::nth_element(v.begin(), v.begin() + 2, v.end());
          return v[2];
        };
        baseline.rss_kb = median(&process_usage::rss_kb);
        baseline.fds = median(&process_usage::fds);
        baseline.threads = median(&process_usage::threads);
        have_baseline = true;
      }
    }
    peak.rss_kb = std::max(peak.rss_kb, now.rss_kb);
    peak.fds = std::max(peak.fds, now.fds);
    peak.threads = std::max(peak.threads, now.threads);
    const int f = pick(plan.rng());
    switch (f) {
      case 0:
        fake.control("GET", "/control/drop");
        ++faults["drop"];
        break;
      case 1:
        fake.control("GET", "/control/stall?ms=2500");  // beyond read_timeout: a reconnect
        ++faults["stall"];
        break;
      case 2:
        fake.control("GET", "/control/malformed?n=3");
        ++faults["malformed"];
        break;
      case 3:
        fake.control("GET", "/control/skip_seq?venue=binance&symbol=ETHUSDT");
        ++faults["binance gap"];
        break;
      case 4:
        fake.control("GET", "/control/skip_seq?venue=okx&symbol=BTC-USDT");
        ++faults["okx gap"];
        break;
      case 5:
        fake.control("GET", "/control/bad_checksum?symbol=BTC-USDT");
        ++faults["bad checksum"];
        break;
      case 6:  // the resync this gap causes gets an old snapshot first
        fake.control("GET", "/control/stale_snapshot?symbol=BTCUSDT");
        fake.control("GET", "/control/skip_seq?venue=binance&symbol=BTCUSDT");
        ++faults["stale snapshot"];
        break;
      case 7:  // ... or two 429s
        fake.control("GET", "/control/status?code=429&n=2&retry_after=1");
        fake.control("GET", "/control/skip_seq?venue=binance&symbol=BTCUSDT");
        ++faults["429 on snapshot"];
        break;
      case 8:  // a consumer that falls behind: the process stopped for 1.5 s
        cats.signal(SIGSTOP);
        std::this_thread::sleep_for(1500ms);
        cats.signal(SIGCONT);
        ++faults["stopped 1.5 s"];
        break;
      default: {  // a hot reload, half of them by rename
        const int next = version == 1 ? 2 : 1;
        const fs::path tmp = dir / "plugins" / ".counter.so.tmp";
        if (f == 9) {
          fs::copy_file(counter_build(next), tmp, fs::copy_options::overwrite_existing);
          fs::rename(tmp, plugin);
        } else {
          fs::copy_file(counter_build(next), plugin, fs::copy_options::overwrite_existing);
        }
        ASSERT_TRUE(
            wait_until([&] { return version_of(last_line(dir / "counter.log")) == next; }, 20))
            << "reload to v" << next << " at " << elapsed() << " s did not happen\n"
            << cats_log();
        version = next;
        ++faults["reload"];
      }
    }
  }
  ASSERT_TRUE(have_baseline) << "the soak ended before its baseline (five samples after 20 s)";

  // Generation ends; the engine catches up with the last trade of every symbol.
  ASSERT_TRUE(wait_until([&] { return fake.generated() >= fake.count(); }, 60));
  simdjson::dom::parser sp;
  simdjson::dom::element stats = parse_json(sp, fake.control("GET", "/control/stats"));
  const std::map<uint32_t, std::string> symbols = {{1, "BTCUSDT"}, {2, "ETHUSDT"}, {3, "BTC-USDT"}};
  std::map<uint32_t, uint64_t> last_sent;
  for (const auto& [id, name] : symbols) last_sent[id] = number(stats["trades"][name]);
  std::vector<trade_line> lines;
  ASSERT_TRUE(wait_until(
      [&] {
        lines = read_counter_log(dir / "counter.log");
        std::map<uint32_t, uint64_t> last;
        for (const trade_line& l : lines) last[l.instrument] = l.trade;
        return last == last_sent;
      },
      30))
      << "the strategy did not see the last trade of every symbol\n"
      << cats_log();
  std::this_thread::sleep_for(1s);  // the last book updates
  const process_usage end = usage_of(cats.pid());
  cats.signal(SIGINT);
  ASSERT_EQ(cats.wait(30), 0) << cats_log();
  const std::string summary = read_file(dir / "out" / "summary.json");
  expect_same_book(fake, summary, "binance", "BTCUSDT", "BINANCE:BTCUSDT");
  expect_same_book(fake, summary, "binance", "ETHUSDT", "BINANCE:ETHUSDT");
  expect_same_book(fake, summary, "okx", "BTC-USDT", "OKX:BTC-USDT");

  // Trades: at most once and in order per symbol; what is missing is what the engine counted.
  std::map<uint32_t, uint64_t> last;
  uint64_t gaps = 0, missed = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const trade_line& l = lines[i];
    if (i > 0) {
      ASSERT_EQ(l.count, lines[i - 1].count + 1) << "the count broke at line " << i + 1;
    }
    auto it = last.find(l.instrument);
    if (it != last.end()) {
      ASSERT_GT(l.trade, it->second) << "trade " << l.trade << " of instrument " << l.instrument
                                     << " after " << it->second << " (line " << i + 1 << ")";
      // Binance trade ids are consecutive and the engine counts every jump; OKX's trades channel
      // may aggregate trades, so its ids are only checked for order.
      if (l.instrument != 3 && l.trade > it->second + 1) {
        ++gaps;
        missed += l.trade - it->second - 1;
      }
    }
    last[l.instrument] = l.trade;
  }
  simdjson::dom::parser p;
  simdjson::dom::element s = parse_json(p, summary);
  EXPECT_EQ(gaps, number(s["feed"]["trade_id_gaps"]));
  EXPECT_EQ(missed, number(s["feed"]["trades_missed"]));
  EXPECT_EQ(static_cast<int>(number(s["hot_reload"]["reloads"])), faults["reload"]);

  // Resources: RSS bounded, no open file or thread left behind by the faults and reloads.
  EXPECT_LE(end.fds, baseline.fds + 2) << "open files grew";
  EXPECT_LE(end.threads, baseline.threads + 1) << "threads grew";
  EXPECT_LE(end.rss_kb, baseline.rss_kb + std::max(baseline.rss_kb / 2, 32L * 1024)) << "RSS grew";

  std::printf("soak: %.0f s, %zu trades seen, %llu gap(s) with %llu trade(s) missed\n", elapsed(),
              lines.size(), static_cast<unsigned long long>(gaps),
              static_cast<unsigned long long>(missed));
  std::printf("soak: faults:");
  for (const auto& [name, n] : faults) std::printf(" %s %d,", name.c_str(), n);
  std::printf(
      "\nsoak: RSS %ld -> %ld kB (peak %ld), fds %ld -> %ld (peak %ld), threads %ld -> %ld "
      "(peak %ld)\n",
      baseline.rss_kb, end.rss_kb, peak.rss_kb, baseline.fds, end.fds, peak.fds, baseline.threads,
      end.threads, peak.threads);
  for (size_t v = 0; v < 2; ++v) {
    simdjson::dom::element venue = s["venues"].at(v);
    std::printf(
        "soak: %s: connects %llu, resyncs %llu, gaps %llu, checksum failures %llu, stale "
        "snapshots %llu\n",
        std::string(std::string_view(venue["name"].get_string())).c_str(),
        static_cast<unsigned long long>(number(venue["connects"])),
        static_cast<unsigned long long>(number(venue["book_resyncs"])),
        static_cast<unsigned long long>(number(venue["book_gaps"])),
        static_cast<unsigned long long>(number(venue["book_checksum_failures"])),
        static_cast<unsigned long long>(number(venue["book_stale_snapshots"])));
  }
  std::printf("soak: malformed %llu, snapshot failures %llu\n",
              static_cast<unsigned long long>(number(s["feed"]["malformed"])),
              static_cast<unsigned long long>(number(s["feed"]["snapshot_failures"])));
}

}  // namespace
}  // namespace cats::test
