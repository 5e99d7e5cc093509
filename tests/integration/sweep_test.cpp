// `cats sweep` with the real binary and the reference plugin: a sweep's results equal running
// each combination alone with `cats backtest`; walk-forward; an interrupted sweep keeps its runs.
#include <gtest/gtest.h>

#include <chrono>

#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <sstream>

#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::run_result;

const std::string cats_bin = CATS_BINARY;

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The text of `"key": value` (number, string or null) after position `from` in a JSON text.
std::string json_field(const std::string& json, const std::string& key, size_t from = 0) {
  const std::string needle = "\"" + key + "\": ";
  const size_t at = json.find(needle, from);
  if (at == std::string::npos) return "<absent>";
  const size_t start = at + needle.size();
  const size_t end = json.find_first_of(",\n}", start);
  return json.substr(start, end - start);
}

class Sweep : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::temp_dir();
    const run_result g =
        run({cats_bin, "generate", "--out", data(), "--days", "10", "--seed", "11"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
    test::write_file(config(),
                     "[engine]\nlog_level = \"warn\"\n\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                     "files = [\"" +
                         data() +
                         "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n\n[backtest]\n"
                         "initial_cash = 10000\nfee_bps = 10\nslippage_bps = 1\n\n[[strategy]]\n"
                         "name = \"sma\"\nplugin = \"ma_crossover\"\n[strategy.params]\n"
                         "fast = 30\nslow = 120\n");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string data() { return (dir_->path() / "sample.csv").string(); }
  static std::string config() { return (dir_->path() / "sweep.toml").string(); }
  static test::temp_dir* dir_;
};
test::temp_dir* Sweep::dir_ = nullptr;

TEST_F(Sweep, ResultsEqualStandaloneBacktests) {
  const fs::path out = dir_->path() / "grid";
  const run_result r =
      run({cats_bin, "sweep", "--config", config(), "--param", "strategy.fast=10:30:20", "--param",
           "strategy.sma.slow=60,120", "--jobs", "2", "--metric", "total_return", "--out",
           out.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_field(r.out, "runs"), "4");
  EXPECT_EQ(json_field(r.out, "combinations"), "4");
  for (const char* f : {"runs.csv", "results.csv", "results.json", "best.txt", "report.html"})
    EXPECT_TRUE(fs::exists(out / f)) << f;

  // Every combination alone, with cats backtest: the same figures, exactly.
  double previous = 1e300;
  for (int fast : {10, 30}) {
    for (int slow : {60, 120}) {
      const std::string key = "\"strategy.sma.fast\": \"" + std::to_string(fast) +
                              "\",\n        \"strategy.sma.slow\": \"" + std::to_string(slow) +
                              "\"";
      const size_t at = r.out.find(key);
      ASSERT_NE(at, std::string::npos) << key << "\n" << r.out;
      const run_result alone = run({cats_bin, "backtest", "--config", config(), "--set",
                                    "strategy.sma.fast=" + std::to_string(fast), "--set",
                                    "strategy.sma.slow=" + std::to_string(slow), "--json"});
      ASSERT_EQ(alone.exit_code, 0) << alone.err;
      const size_t m = 0;  // the summary's figures are top-level keys
      for (const char* k : {"total_return_pct", "sharpe", "max_drawdown_pct", "trades"}) {
        const std::string sweep_key = std::string(k) == "total_return_pct"   ? "total_return"
                                      : std::string(k) == "max_drawdown_pct" ? "max_drawdown"
                                                                             : k;
        const double a = std::stod(json_field(r.out, sweep_key, at));
        const double b = std::stod(json_field(alone.out, k, m));
        EXPECT_NEAR(a, b, 1e-6 * std::max(1.0, std::abs(b)))
            << k << " fast=" << fast << " slow=" << slow;
      }
      EXPECT_EQ(json_field(r.out, "final_equity", at), json_field(alone.out, "final_equity", m))
          << "fast=" << fast << " slow=" << slow;
    }
  }
  // Ranked: total return does not increase down the list.
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    pos = r.out.find("\"total_return\": ", pos);
    ASSERT_NE(pos, std::string::npos);
    const double v = std::stod(json_field(r.out, "total_return", pos));
    EXPECT_LE(v, previous);
    previous = v;
    ++pos;
  }
  const std::string best = read_text(out / "best.txt");
  EXPECT_NE(best.find("cats backtest --config"), std::string::npos);
  EXPECT_NE(best.find("strategy.sma.fast="), std::string::npos);
}

// Every run once, whatever the jobs: batches shrink from 8 runs to 1 towards the end when several
// jobs take them (to 4 when streaming), and each run's figures are those of one job.
TEST_F(Sweep, EveryRunRunsOnceWhateverTheJobs) {
  std::vector<std::string> sorted_runs;
  std::vector<std::string> walk_forward;
  for (const char* jobs : {"1", "2", "3", "2 --stream", "1 --walk-forward", "3 --walk-forward"}) {
    const std::string how = jobs;
    const fs::path out = dir_->path() / ("jobs " + how);
    std::vector<std::string> args{cats_bin,   "sweep",
                                  "--config", config(),
                                  "--param",  "strategy.fast=5:60:5",
                                  "--param",  "strategy.slow=70:150:20",
                                  "--jobs",   how.substr(0, 1),
                                  "--out",    out.string(),
                                  "--json"};
    if (how.find("--stream") != std::string::npos) args.push_back("--stream");
    const bool folds = how.find("--walk-forward") != std::string::npos;
    if (folds) args.insert(args.end(), {"--walk-forward", "2"});
    const run_result r = run(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(json_field(r.out, "runs"), "60") << how;
    std::istringstream in(read_text(out / "runs.csv"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    // With 2 folds: every run in sample on each, and each fold's winner out of sample.
    ASSERT_EQ(lines.size(), folds ? 1u + 2 * 60 + 2 : 61u) << how;
    // One job takes the windows in order: the last fold first (the one runs are ranked by, so
    // that a sweep stopped early ranks what finished), every run on it, then the first fold.
    if (folds && how[0] == '1') {
      EXPECT_EQ(lines[1].rfind("1,is2,", 0), 0u) << lines[1];
      EXPECT_EQ(lines[60].rfind("60,is2,", 0), 0u) << lines[60];
      EXPECT_EQ(lines[61].rfind("1,is1,", 0), 0u) << lines[61];
    }
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(std::adjacent_find(lines.begin(), lines.end()), lines.end()) << how;
    std::string all;
    for (const std::string& l : lines) all += l + "\n";
    (folds ? walk_forward : sorted_runs).push_back(all);
  }
  for (size_t i = 1; i < sorted_runs.size(); ++i) EXPECT_EQ(sorted_runs[i], sorted_runs[0]) << i;
  ASSERT_EQ(walk_forward.size(), 2u);
  EXPECT_EQ(walk_forward[1], walk_forward[0]);
}

// The value of the last [time, value] pair of the array `key` in the first object after `from`.
double last_point(const std::string& text, const std::string& key, size_t from) {
  const size_t start = text.find("\"" + key + "\":[", from);
  if (start == std::string::npos) return std::nan("");
  const size_t end = text.find("]]", start);
  const size_t comma = text.rfind(',', end);
  return std::stod(text.substr(comma + 1, end - comma - 1));
}

TEST_F(Sweep, WalkForwardAndSampling) {
  const std::string out = (dir_->path() / "wf").string();
  const run_result r =
      run({cats_bin, "sweep", "--config", config(), "--param", "strategy.fast=5:40:5", "--param",
           "strategy.slow=60:180:60", "--sample", "5", "--seed", "3", "--walk-forward", "2",
           "--jobs", "2", "--json", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // report.html draws each fold's winner in and out of sample; the curves end where the
  // fold's figures say (the in-sample one is the winner run again).
  const std::string html = test::read_file(out + "/report.html");
  for (size_t k = 0, wf_at = r.out.find("\"walk_forward\""); k < 2; ++k) {
    SCOPED_TRACE("fold " + std::to_string(k + 1));
    const size_t fold = html.find("\"id\":\"fold-" + std::to_string(k + 1) + "\"");
    ASSERT_NE(fold, std::string::npos);
    wf_at = r.out.find("\"in_sample_return_pct\"", wf_at + 1);
    ASSERT_NE(wf_at, std::string::npos);
    EXPECT_NEAR(last_point(html, "is", fold),
                std::stod(json_field(r.out, "in_sample_return_pct", wf_at)), 1e-6);
    EXPECT_NEAR(last_point(html, "oos", fold),
                std::stod(json_field(r.out, "out_of_sample_return_pct", wf_at)), 1e-6);
  }
  EXPECT_EQ(json_field(r.out, "combinations"), "24");
  EXPECT_EQ(json_field(r.out, "runs"), "5");
  const size_t wf = r.out.find("\"walk_forward\"");
  ASSERT_NE(wf, std::string::npos);
  EXPECT_NE(json_field(r.out, "out_of_sample_return_pct", wf), "<absent>");
  const size_t second = r.out.find("\"in_sample\"", r.out.find("\"in_sample\"", wf) + 1);
  EXPECT_NE(second, std::string::npos) << "two folds expected:\n" << r.out;

  // The same seed picks the same sample.
  const run_result again =
      run({cats_bin, "sweep", "--config", config(), "--param", "strategy.fast=5:40:5", "--param",
           "strategy.slow=60:180:60", "--sample", "5", "--seed", "3", "--walk-forward", "2",
           "--jobs", "1", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(r.out.substr(r.out.find("\"results\"")),
            again.out.substr(again.out.find("\"results\"")));
}

// Without --jobs a sweep runs as many jobs as the cores the process may use: those of its CPU
// affinity (taskset, cpusets) and cgroup CPU quota (docker run --cpus), not the machine's.
TEST_F(Sweep, JobsDefaultToTheCoresTheProcessMayUse) {
  const std::string taskset = "/usr/bin/taskset";
  if (!fs::exists(taskset) || std::system((taskset + " -c 0 true").c_str()) != 0)
    GTEST_SKIP() << "no usable " << taskset << " here";
  const run_result r = run({taskset, "-c", "0", cats_bin, "sweep", "--config", config(), "--param",
                            "strategy.fast=10,20", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json_field(r.out, "jobs"), "1") << r.out;
}

TEST_F(Sweep, BadParamsAreUsageErrors) {
  run_result r = run({cats_bin, "sweep", "--config", config(), "--param", "strategy.fast=10:5:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("'to' is below 'from'"), std::string::npos) << r.err;
  r = run({cats_bin, "sweep", "--config", config(), "--param", "data.symbol=a,b"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("data.* cannot be swept"), std::string::npos) << r.err;
  r = run({cats_bin, "sweep", "--config", config(), "--param", "strategy.nope=1,2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  r = run({cats_bin, "sweep", "--config", config(), "--param", "strategy.fast=5,10", "--metric",
           "luck"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown metric"), std::string::npos) << r.err;
  r = run({cats_bin, "sweep", "--config", config(), "--param", "strategy.fast=5,10", "--oos", "0.3",
           "--walk-forward", "2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("exclude each other"), std::string::npos) << r.err;
  // A value with ':' that is not three numbers is a list item (here a latency distribution).
  r = run({cats_bin, "sweep", "--config", config(), "--param", "strategy.fast=10", "--param",
           "backtest.latency=0ms,uniform:1ms:2ms", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"backtest.latency\": \"uniform:1ms:2ms\""), std::string::npos) << r.out;
}

// When every run fails, the sweep fails: exit 1, no best command.
TEST_F(Sweep, EveryRunFailingIsAFailure) {
  const std::string cfg = (dir_->path() / "failing.toml").string();
  test::write_file(cfg, "[engine]\nlog_level = \"error\"\nplugin_dir = \"" CATS_TEST_PLUGIN_DIR
                        "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" +
                            data() +
                            "\"]\n[[strategy]]\nname = \"probe\"\nplugin = \"probe_strategy\"\n");
  const fs::path out = dir_->path() / "failing";
  const run_result r = run({cats_bin, "sweep", "--config", cfg, "--param",
                            "strategy.throw_at_bar=1,2", "--out", out.string(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("no run of the sweep succeeded"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("\"status\": \"failed\""), std::string::npos) << r.out;
  EXPECT_EQ(json_field(r.out, "best_command"), "\"\"");
}

// A sweep that lost part of its grid says so: the failed runs are counted, listed with their
// reason, carry no metrics (not zeros), and the exit code is 1 unless --allow-failures.
TEST_F(Sweep, SomeRunsFailingAreCountedListedAndFailTheExitCode) {
  const std::string cfg = (dir_->path() / "partly.toml").string();
  test::write_file(cfg, "[engine]\nlog_level = \"error\"\nplugin_dir = \"" CATS_TEST_PLUGIN_DIR
                        "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"" +
                            data() +
                            "\"]\n[[strategy]]\nname = \"probe\"\nplugin = \"probe_strategy\"\n");
  const fs::path out = dir_->path() / "partly";
  const std::vector<std::string> args = {cats_bin, "sweep",     "--config",
                                         cfg,      "--param",   "strategy.throw_at_bar=0,3,5",
                                         "--out",  out.string()};
  run_result r = run(args);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("2 of 3 runs failed"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("FAILED: 2 of 3 runs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    1 x "), std::string::npos) << "each reason with its count\n" << r.out;
  // The run that worked ranks first; the failed ones have empty metric cells in results.csv.
  const std::string csv = test::read_file(out / "results.csv");
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = csv.find('\n', at)) != std::string::npos; at = nl + 1)
    lines.push_back(csv.substr(at, nl - at));
  ASSERT_EQ(lines.size(), 4u) << csv;
  EXPECT_EQ(lines[1].substr(0, 4), "1,0,") << lines[1];
  EXPECT_NE(lines[2].find(",,,,,,,,,,,,,,failed,"), std::string::npos) << lines[2];
  const std::string html = test::read_file(out / "report.html");
  EXPECT_NE(html.find("2 failed</span>"), std::string::npos);
  EXPECT_NE(html.find("<th title=\"total_return\">Return %</th>"), std::string::npos);

  std::vector<std::string> allowed = args;
  allowed.push_back("--allow-failures");
  allowed.push_back("--json");
  r = run(allowed);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"failed_runs\": 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"metrics\": null"), std::string::npos) << r.out;
}

// Runs share one read of the data in lockstep batches: a combination whose config is refused
// fails alone, and its batch-mates' results equal their standalone backtests.
TEST_F(Sweep, ARefusedCombinationFailsAloneInItsBatch) {
  // Each value is fine alone; one pair is not (the end before the start).
  const fs::path out = dir_->path() / "refused";
  const run_result r = run({cats_bin, "sweep", "--config", config(), "--param",
                            "backtest.start=2024-01-03,2024-01-08", "--param",
                            "backtest.end=2024-01-06,2024-01-12", "--jobs", "1", "--metric",
                            "total_return", "--allow-failures", "--json", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"failed_runs\": 1"), std::string::npos) << r.out;
  for (const auto& [start, end] :
       {std::pair{"2024-01-03", "2024-01-06"}, std::pair{"2024-01-03", "2024-01-12"},
        std::pair{"2024-01-08", "2024-01-12"}}) {
    const run_result alone = run({cats_bin, "backtest", "--config", config(), "--set",
                                  std::string("backtest.start=") + start, "--set",
                                  std::string("backtest.end=") + end, "--json"});
    ASSERT_EQ(alone.exit_code, 0) << alone.err;
    const std::string ret = json_field(alone.out, "total_return_pct");
    EXPECT_NE(r.out.find("\"total_return\": " + ret), std::string::npos)
        << start << ".." << end << ": " << ret << "\n"
        << r.out;
  }
}

// Windows that start and end inside the sweep's blocks, over one feed (blocks of uniform bars,
// runs of bars in one call) and over two merged feeds (the bars of the two instruments alternate:
// nothing is uniform for long), give exactly the figures of each combination run alone.
TEST_F(Sweep, WindowsInsideBlocksAndMergedFeedsEqualStandaloneRunsExactly) {
  const std::string other = (dir_->path() / "other.csv").string();
  ASSERT_EQ(run({cats_bin, "generate", "--out", other, "--days", "10", "--seed", "5"}).exit_code,
            0);
  const std::string merged = (dir_->path() / "merged.toml").string();
  std::string text = read_text(config());
  text.replace(text.find("[backtest]"), 0,
               "[[data.feed]]\nsymbol = \"BINANCE:ETHUSDT\"\nfiles = [\"" + other +
                   "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n\n");
  text += "symbol = \"BINANCE:BTCUSDT\"\n";  // the strategy trades the first feed
  test::write_file(merged, text);
  for (const std::string& cfg : {config(), merged}) {
    SCOPED_TRACE(cfg);
    const run_result r = run({cats_bin, "sweep", "--config", cfg, "--param",
                              "backtest.start=2024-01-02T03:17:00Z,2024-01-04T11:59:00Z", "--param",
                              "strategy.fast=10,30", "--set", "backtest.end=2024-01-07T13:03:00Z",
                              "--jobs", "1", "--metric", "total_return", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* start : {"2024-01-02T03:17:00Z", "2024-01-04T11:59:00Z"}) {
      for (const char* fast : {"10", "30"}) {
        SCOPED_TRACE(std::string(start) + " fast=" + fast);
        std::string key = "\"backtest.start\": \"";
        key += start;
        key += "\",\n        \"strategy.sma.fast\": \"";
        key += fast;
        key += "\"";
        const size_t at = r.out.find(key);
        ASSERT_NE(at, std::string::npos) << key << "\n" << r.out;
        const run_result alone = run({cats_bin, "backtest", "--config", cfg, "--set",
                                      std::string("backtest.start=") + start, "--set",
                                      "backtest.end=2024-01-07T13:03:00Z", "--set",
                                      std::string("strategy.sma.fast=") + fast, "--json"});
        ASSERT_EQ(alone.exit_code, 0) << alone.err;
        EXPECT_EQ(json_field(r.out, "total_return", at), json_field(alone.out, "total_return_pct"));
        EXPECT_EQ(json_field(r.out, "sharpe", at), json_field(alone.out, "sharpe"));
        EXPECT_EQ(json_field(r.out, "max_drawdown", at), json_field(alone.out, "max_drawdown_pct"));
        EXPECT_EQ(json_field(r.out, "final_equity", at), json_field(alone.out, "final_equity"));
        EXPECT_EQ(json_field(r.out, "trades", at), json_field(alone.out, "trades"));
        EXPECT_NE(json_field(alone.out, "trades"), "0");
      }
    }
  }
}

TEST_F(Sweep, InterruptKeepsFinishedRuns) {
  // A year of minutes: each run takes long enough for the signal to land mid-sweep.
  const std::string year = (dir_->path() / "year.csv").string();
  ASSERT_EQ(run({cats_bin, "generate", "--out", year, "--days", "365"}).exit_code, 0);
  const std::string cfg = (dir_->path() / "year.toml").string();
  std::string text = read_text(config());
  text.replace(text.find(data()), data().size(), year);
  test::write_file(cfg, text);
  const fs::path out = dir_->path() / "interrupted";
  test::background sweep({cats_bin, "sweep", "--config", cfg, "--param", "strategy.fast=2:200:1",
                          "--param", "strategy.slow=300,400", "--jobs", "1", "--out", out.string()},
                         (dir_->path() / "int.out").string(), (dir_->path() / "int.err").string());
  // Wait for a few finished runs, then Ctrl-C.
  auto finished_runs = [&] {
    const std::string t = read_text(out / "runs.csv");
    return std::count(t.begin(), t.end(), '\n') - 1;
  };
  ASSERT_TRUE(test::wait_until([&] { return finished_runs() >= 3; }, 120));
  const auto t0 = std::chrono::steady_clock::now();
  sweep.signal(SIGINT);
  EXPECT_EQ(sweep.wait(60), 130);
  std::printf(
      "[ measured ] SIGINT to exit of a sweep (outputs written): %.1f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  const long runs = finished_runs();
  EXPECT_GE(runs, 3);
  EXPECT_LT(runs, 398) << "the sweep should have stopped early";
  const std::string results = read_text(out / "results.csv");
  EXPECT_EQ(std::count(results.begin(), results.end(), '\n') - 1, runs)
      << "every finished run is ranked";
  EXPECT_NE(read_text(dir_->path() / "int.err").find("interrupted"), std::string::npos);
}

// The progress bar is drawn on a terminal only: under a pseudo-terminal the replay shows it (and
// clears it at the end); with stderr on a pipe, as in every other test and in CI, and with --json,
// nothing of it appears.
TEST_F(Sweep, ProgressBarOnlyOnATerminal) {
  const std::string big = (dir_->path() / "big.csv").string();
  ASSERT_EQ(run({cats_bin, "generate", "--out", big, "--days", "90"}).exit_code, 0);
  const std::string cfg = (dir_->path() / "big.toml").string();
  std::string text = read_text(config());
  text.replace(text.find(data()), data().size(), big);
  test::write_file(cfg, text);

  auto under_pty = [&](const std::vector<std::string>& args) {
    int master = -1;
    const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    if (pid == 0) {
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO once the child has exited
      out.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(master);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
    return out;
  };
  const std::string tty = under_pty({cats_bin, "backtest", "--config", cfg});
  EXPECT_NE(tty.find("\r["), std::string::npos) << tty;
  EXPECT_NE(tty.find("events/s"), std::string::npos) << tty;
  EXPECT_NE(tty.find("Total return"), std::string::npos) << tty;
  const std::string json = under_pty({cats_bin, "backtest", "--config", cfg, "--json"});
  EXPECT_EQ(json.find("events/s"), std::string::npos) << json;

  const run_result piped = run({cats_bin, "backtest", "--config", cfg});
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.err.find('\r'), std::string::npos) << piped.err;
  EXPECT_EQ(piped.err.find("events/s"), std::string::npos) << piped.err;
}

}  // namespace
}  // namespace cats
