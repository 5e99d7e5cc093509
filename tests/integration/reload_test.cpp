// Hot reload under load: `cats live` against the fake exchange at a steady trade rate while the
// strategy's .so is replaced, v1 -> v2 -> v1 ... dozens of times, with a broken build and one that
// refuses the state in the middle. Every trade must reach exactly one version, in order, and the
// count (the strategy's state) must carry over every swap.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <thread>

#include "integration/fake_exchange.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct line {
  int version;
  uint64_t trade;
  int64_t count;
};

std::vector<line> read_counter_log(const fs::path& file) {
  std::vector<line> out;
  if (!fs::exists(file)) return out;
  std::istringstream in(read_file(file));
  std::string text;
  while (std::getline(in, text)) {
    line l{};
    if (std::sscanf(text.c_str(), "v%d %llu %lld", &l.version,
                    reinterpret_cast<unsigned long long*>(&l.trade),
                    reinterpret_cast<long long*>(&l.count)) == 3)
      out.push_back(l);
  }
  return out;
}

fs::path build_of(const std::string& variant) {
  return fs::path(CATS_TEST_PLUGIN_DIR) / ("counter_" + variant + ".so");
}

// Puts a build in place the two ways users do: copied over the file (close-after-write), or
// written next to it and renamed into place.
void install(const fs::path& build, const fs::path& target, bool by_rename) {
  if (by_rename) {
    const fs::path tmp = target.parent_path() / ".counter.so.tmp";
    fs::copy_file(build, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, target);
  } else {
    fs::copy_file(build, target, fs::copy_options::overwrite_existing);
  }
}

std::string counting_strategy(const std::string& name, const std::string& plugin,
                              const fs::path& log) {
  return "[[strategy]]\nname = \"" + name + "\"\nplugin = \"" + plugin +
         "\"\n[strategy.params]\nlog = \"" + log.string() + "\"\n";
}

// <dir>/live.toml: Binance trades from the fake exchange, plugins from <dir>/plugins.
void write_config(const temp_dir& dir, const fake_exchange& fake, const std::string& strategies) {
  std::ostringstream c;
  c << "[engine]\nplugin_dir = \"" << (dir / "plugins").string() << "\"\n"
    << "[live]\nstatus_interval = 0\n"
    << "[venues.binance]\nws_url = \"wss://" << fake.base() << "\"\nrest_url = \"https://"
    << fake.base() << "\"\nca_file = \"" << (dir / "cert.pem").string() << "\"\n"
    << "[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\nchannels = [\"trades\"]\n"
    << strategies;
  write_file(dir / "live.toml", c.str());
}

// `cats live` on <dir>/live.toml, its output in <dir>/cats.out and cats.err.
std::unique_ptr<background> start_live(const temp_dir& dir) {
  return std::make_unique<background>(
      std::vector<std::string>{CATS_BINARY, "live", "--config", (dir / "live.toml").string(),
                               "--out", (dir / "out").string()},
      (dir / "cats.out").string(), (dir / "cats.err").string());
}

std::string cats_err(const temp_dir& dir) {
  return fs::exists(dir / "cats.err") ? read_file(dir / "cats.err") : std::string();
}

TEST(HotReload, SwapsUnderLoadLoseNoEventAndCarryTheStateOver) {
  if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
  temp_dir dir;
  ASSERT_TRUE(make_cert(dir.path()));
  fs::create_directories(dir / "plugins");
  const fs::path target = dir / "plugins" / "counter.so";
  install(build_of("v1"), target, false);

  fake_exchange fake(dir, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "2000",
                           "--trades-only", "--seed", "4"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  write_config(dir, fake, counting_strategy("c", "counter", dir / "counter.log"));
  const auto proc = start_live(dir);
  background& cats = *proc;
  auto log = [&] { return read_counter_log(dir / "counter.log"); };
  auto cats_log = [&] { return cats_err(dir); };
  ASSERT_TRUE(wait_until([&] { return log().size() > 20; }, 20)) << cats_log();

  int current = 1;
  int swaps = 0;
  for (int i = 1; i <= 30; ++i) {
    if (i == 10 || i == 20) {
      // A broken build, then one that refuses the running version's state: both are refused
      // and the running version goes on counting.
      const std::string bad = i == 10 ? "broken" : "new_state";
      install(build_of(bad), target, i == 20);
      ASSERT_TRUE(wait_until(
          [&] {
            const std::string l = cats_log();
            return l.find(i == 10 ? "this build is broken on purpose"
                                  : "cannot read a version 1 state") != std::string::npos;
          },
          10))
          << cats_log();
      const size_t before = log().size();
      ASSERT_TRUE(wait_until([&] { return log().size() > before + 20; }, 10));
      EXPECT_EQ(log().back().version, current) << "the refused build must not replace v" << current;
    }
    const int next = current == 1 ? 2 : 1;
    install(build_of(next == 1 ? "v1" : "v2"), target, i % 3 == 0);
    ASSERT_TRUE(wait_until([&] { return !log().empty() && log().back().version == next; }, 10))
        << "swap " << i << " to v" << next << " did not happen\n"
        << cats_log();
    current = next;
    ++swaps;
  }
  // A little more traffic on the last version, then a clean stop.
  const size_t before = log().size();
  ASSERT_TRUE(wait_until([&] { return log().size() > before + 50; }, 10));
  cats.signal(SIGINT);
  ASSERT_EQ(cats.wait(20), 0) << cats_log();

  const std::vector<line> lines = log();
  ASSERT_GT(lines.size(), 500u);
  int transitions = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    // Every trade exactly once, in order, across the versions ...
    ASSERT_EQ(lines[i].trade, lines[i - 1].trade + 1) << "line " << i;
    // ... and the count continues through every swap.
    ASSERT_EQ(lines[i].count, lines[i - 1].count + 1) << "line " << i;
    if (lines[i].version != lines[i - 1].version) ++transitions;
    ASSERT_TRUE(lines[i].version == 1 || lines[i].version == 2) << "line " << i;
  }
  EXPECT_EQ(lines.front().count, 1);
  EXPECT_EQ(transitions, swaps);

  simdjson::dom::parser p;
  simdjson::dom::element summary = parse_json(p, read_file(dir / "out" / "summary.json"));
  uint64_t reloads = 0, refused = 0;
  ASSERT_EQ(summary["hot_reload"]["reloads"].get(reloads), simdjson::SUCCESS);
  ASSERT_EQ(summary["hot_reload"]["refused"].get(refused), simdjson::SUCCESS);
  EXPECT_EQ(reloads, static_cast<uint64_t>(swaps));
  EXPECT_EQ(refused, 2u);
}

// A hundred reloads leave nothing behind: no mapping of an old build, no open file, no thread, and
// (outside ASan, whose quarantine holds freed memory) no memory growth worth the name. Under ASan
// (tools/test.sh) LeakSanitizer checks the whole run when cats exits: a leak fails the exit code.
TEST(HotReload, AHundredReloadsLeaveNoMappingFileThreadOrLeakBehind) {
  if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
  temp_dir dir;
  ASSERT_TRUE(make_cert(dir.path()));
  fs::create_directories(dir / "plugins");
  const fs::path target = dir / "plugins" / "counter.so";
  install(build_of("v1"), target, false);
  fake_exchange fake(dir, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "500",
                           "--trades-only", "--seed", "6"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  write_config(dir, fake, counting_strategy("c", "counter", dir / "counter.log"));
  const auto proc = start_live(dir);
  background& cats = *proc;
  auto cats_log = [&] { return cats_err(dir); };
  auto version = [&] {
    const auto l = read_counter_log(dir / "counter.log");
    return l.empty() ? 0 : l.back().version;
  };
  ASSERT_TRUE(wait_until([&] { return version() == 1; }, 20)) << cats_log();
  // Plugins are loaded from private copies named after the plugin: "counter".
  process_usage first{};
  constexpr int reloads = 100;
  for (int i = 1; i <= reloads; ++i) {
    const int next = i % 2 == 1 ? 2 : 1;
    install(build_of(next == 1 ? "v1" : "v2"), target, i % 2 == 0);
    ASSERT_TRUE(wait_until([&] { return version() == next; }, 10))
        << "reload " << i << " to v" << next << " did not happen\n"
        << cats_log();
    if (i == 2) {
      std::this_thread::sleep_for(500ms);  // the retired build is unloaded
      first = usage_of(cats.pid(), "counter");
    }
  }
  std::this_thread::sleep_for(500ms);  // the last retired build is unloaded
  const process_usage last = usage_of(cats.pid(), "counter");
  cats.signal(SIGINT);
  ASSERT_EQ(cats.wait(30), 0) << "a leak report from LeakSanitizer makes this non-zero\n"
                              << cats_log();
  std::printf(
      "after reload 2: %ld kB, %ld threads, %ld files, %ld plugin mappings; after %d: "
      "%ld kB, %ld threads, %ld files, %ld plugin mappings\n",
      first.rss_kb, first.threads, first.fds, first.mappings, reloads, last.rss_kb, last.threads,
      last.fds, last.mappings);
  EXPECT_GT(first.mappings, 0) << "the plugin's mappings were not found";
  EXPECT_EQ(last.mappings, first.mappings) << "old builds stay mapped";
  EXPECT_LE(last.fds, first.fds) << "files stay open";
  EXPECT_LE(last.threads, first.threads) << "threads stay behind";
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  EXPECT_LE(last.rss_kb, first.rss_kb + 16 * 1024) << "memory grows with reloads";
#endif
  const auto lines = read_counter_log(dir / "counter.log");
  for (size_t i = 1; i < lines.size(); ++i) ASSERT_EQ(lines[i].count, lines[i - 1].count + 1) << i;
}

TEST(HotReload, ARemovedPluginStopsItsStrategyAndSighupReloadsTheConfig) {
  if (!fs::exists(fake_binary())) GTEST_SKIP() << "cats_fake_exchange was not built";
  temp_dir dir;
  ASSERT_TRUE(make_cert(dir.path()));
  fs::create_directories(dir / "plugins");
  install(build_of("v1"), dir / "plugins" / "counter.so", false);
  // "other" lives outside the watched folder: only SIGHUP reloads it.
  fs::create_directories(dir / "elsewhere");
  install(build_of("v2"), dir / "elsewhere" / "other.so", false);
  fake_exchange fake(dir, {"--symbols", "BTCUSDT", "--okx-symbols", "", "--rate", "1000",
                           "--trades-only", "--seed", "5"});
  ASSERT_GT(fake.port(), 0) << fake.log();
  auto config = [&](bool with_b, const std::string& b_log) {
    write_config(
        dir, fake,
        counting_strategy("a", "counter", dir / "a.log") +
            (with_b ? counting_strategy("b", (dir / "elsewhere" / "other.so").string(), dir / b_log)
                    : std::string()));
  };
  config(false, "");
  const auto proc = start_live(dir);
  background& cats = *proc;
  auto cats_log = [&] { return cats_err(dir); };
  ASSERT_TRUE(wait_until([&] { return read_counter_log(dir / "a.log").size() > 10; }, 20))
      << cats_log();

  // SIGHUP with a second strategy in the config: it is added and starts counting.
  config(true, "b.log");
  cats.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return read_counter_log(dir / "b.log").size() > 10; }, 10))
      << cats_log();
  EXPECT_EQ(read_counter_log(dir / "b.log").front().version, 2);
  // Changed parameters: the strategy is rebuilt with them, its state carried over.
  config(true, "b2.log");
  cats.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return read_counter_log(dir / "b2.log").size() > 10; }, 10))
      << cats_log();
  EXPECT_EQ(read_counter_log(dir / "b2.log").front().count,
            read_counter_log(dir / "b.log").back().count + 1);
  // A new build at the same path, outside the watched folder: SIGHUP swaps it in, state kept.
  std::this_thread::sleep_for(20ms);  // a modification time that surely differs
  install(build_of("v1"), dir / "elsewhere" / "other.so", false);
  cats.signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto l = read_counter_log(dir / "b2.log");
        return !l.empty() && l.back().version == 1;
      },
      10))
      << cats_log();
  {
    const auto l = read_counter_log(dir / "b2.log");
    for (size_t i = 1; i < l.size(); ++i) ASSERT_EQ(l[i].count, l[i - 1].count + 1) << i;
  }

  // The first strategy's .so is deleted: it stops; the other runs on.
  fs::remove(dir / "plugins" / "counter.so");
  ASSERT_TRUE(wait_until(
      [&] { return cats_log().find("strategy 'a' stopped: its plugin") != std::string::npos; }, 10))
      << cats_log();
  const size_t a_lines = read_counter_log(dir / "a.log").size();
  const size_t b_lines = read_counter_log(dir / "b2.log").size();
  ASSERT_TRUE(
      wait_until([&] { return read_counter_log(dir / "b2.log").size() > b_lines + 50; }, 10));
  EXPECT_EQ(read_counter_log(dir / "a.log").size(), a_lines);

  // A config whose order routes differ (live.broker) is not applied: its new strategy "c" is not
  // added, since routes change only at a restart.
  config(true, "b2.log");
  {
    std::string text = read_file(dir / "live.toml");
    text.replace(text.find("[live]\n"), 7, "[live]\nbroker = \"binance\"\n");
    write_file(
        dir / "live.toml",
        text + counting_strategy("c", (dir / "elsewhere" / "other.so").string(), dir / "c.log"));
  }
  cats.signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] { return cats_log().find("routes change only at a restart") != std::string::npos; }, 10))
      << cats_log();
  EXPECT_FALSE(fs::exists(dir / "c.log"));
  cats.signal(SIGINT);
  ASSERT_EQ(cats.wait(20), 0) << cats_log();
}

}  // namespace
}  // namespace cats::test
