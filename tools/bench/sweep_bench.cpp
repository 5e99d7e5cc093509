// Parameter sweep throughput, measured side by side in one run on the same generated data:
//   standalone = one `cats backtest` process (read, decode and replay the file: what each run
//                would cost without sharing)
//   sweep      = `cats sweep` over a grid of SMA combinations with --jobs 1 and --jobs 2 (the CSV
//                read once into an in-memory block store shared read-only by the runs), with
//                --copy events (decoded events instead), then the same over the data as a block
//                store file (streamed by each lockstep batch, no copy), with each one's memory
//   numpy      = tools/bench/numpy_sweep.py: the same grid the tuned NumPy way (each SMA once from
//                a cumulative sum, vectorised positions, fees and Sharpe), data already in memory
// It prints runs/s, the speed-up from 1 to 2 jobs, the cost of one sweep run relative to a
// standalone backtest and to NumPy's time per combination. Usage: cats_sweep_bench [--bars N]
// [--repeat R] [--keep DIR]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_process.hpp"
#include "cats/replay/sample_data.hpp"

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

// The peak RSS of the last command timed(), in KiB.
long last_max_rss_kb = 0;

// Runs the command, returns its wall time; exits the benchmark if it fails.
double timed(const std::vector<std::string>& argv, const fs::path& dir) {
  const auto t0 = clock_type::now();
  const pid_t pid = cats::bench::spawn(argv, dir / "out.txt", dir / "err.txt");
  int status = 0;
  struct rusage use {};
  wait4(pid, &status, 0, &use);
  last_max_rss_kb = use.ru_maxrss;
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "failed: %s ...\n%s\n", argv[1].c_str(),
                 cats::bench::slurp(dir / "err.txt").c_str());
    std::exit(1);
  }
  return s;
}

// A number printed by the sweep's JSON ("decode_seconds": 0.12).
double json_number(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\": ");
  return at == std::string::npos ? -1 : std::strtod(json.c_str() + at + key.size() + 4, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t bars = 1'000'000;
  int repeat = 2;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bars" && i + 1 < argc)
      bars = std::stoull(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--keep" && i + 1 < argc)
      keep = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--bars N] [--repeat R] [--keep DIR]\n", argv[0]);
      return 2;
    }
  }
  const fs::path dir = keep.empty()
                           ? fs::temp_directory_path() / ("cats-sweep-" + std::to_string(getpid()))
                           : fs::path(keep);
  fs::create_directories(dir);
  const fs::path csv = dir / ("bars-" + std::to_string(bars) + ".csv");
  if (!fs::exists(csv)) {
    cats::sample_options o;
    o.bars = bars;
    o.start_ns = 1'577'836'800'000'000'000;  // 2020-01-01
    cats::write_sample_klines(csv, o);
  }
  const fs::path cfg = dir / "sweep.toml";
  std::ofstream(cfg) << "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                        "files = [\""
                     << csv.string()
                     << "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n[backtest]\n"
                        "fee_bps = 10\n[[strategy]]\nname = \"sma\"\nplugin = \"ma_crossover\"\n"
                        "[strategy.params]\nfast = 10\nslow = 40\n";
  const std::string bin = CATS_BINARY;
  // 10 x 10 = 100 combinations.
  const std::vector<std::string> grid = {"--param", "strategy.fast=5:50:5", "--param",
                                         "strategy.slow=60:240:20"};
  const size_t runs = 100;
  auto sweep = [&](int jobs) {
    std::vector<std::string> a = {
        bin, "sweep", "--config", cfg.string(), "--jobs", std::to_string(jobs), "--json"};
    a.insert(a.end(), grid.begin(), grid.end());
    return a;
  };
  const std::vector<std::string> alone = {bin, "backtest", "--config", cfg.string(), "--json"};

  // The same bars as a block store, which sweeps stream from (no decoded copy).
  const fs::path store = dir / ("bars-" + std::to_string(bars) + ".catsrec");
  timed({bin, "data", "convert", csv.string(), "--symbol", "BINANCE:BTCUSDT", "--format",
         "binance_klines", "--out", store.string(), "--force"},
        dir);
  const fs::path store_cfg = dir / "sweep-store.toml";
  {
    std::string text = cats::bench::slurp(cfg);
    const std::string files = "files = [\"" + csv.string() + "\"]\n";
    text.replace(text.find(files), files.size(),
                 "files = [\"" + store.string() + "\"]\nformat = \"cats_record\"\n");
    std::ofstream(store_cfg) << text;
  }
  auto sweep_store = [&](int jobs) {
    std::vector<std::string> a = sweep(jobs);
    a[3] = store_cfg.string();
    return a;
  };

  timed(alone, dir);  // warm the page cache
  double best_alone = 1e30, best_1 = 1e30, best_2 = 1e30, decode = 0;
  double store_1 = 1e30, store_2 = 1e30, scan = 0, events_1 = 1e30, copy_bytes = 0;
  long rss_copy = 0, rss_store = 0, rss_events = 0;
  auto sweep_events = [&](int jobs) {
    std::vector<std::string> a = sweep(jobs);
    a.insert(a.end(), {"--copy", "events"});
    return a;
  };
  for (int k = 0; k < repeat; ++k) {  // interleaved: machine noise hits all alike
    best_alone = std::min(best_alone, timed(alone, dir));
    best_1 = std::min(best_1, timed(sweep(1), dir));
    decode = json_number(cats::bench::slurp(dir / "out.txt"), "decode_seconds");
    copy_bytes = json_number(cats::bench::slurp(dir / "out.txt"), "data_copy_bytes");
    rss_copy = std::max(rss_copy, last_max_rss_kb);
    events_1 = std::min(events_1, timed(sweep_events(1), dir));
    rss_events = std::max(rss_events, last_max_rss_kb);
    best_2 = std::min(best_2, timed(sweep(2), dir));
    store_1 = std::min(store_1, timed(sweep_store(1), dir));
    scan = json_number(cats::bench::slurp(dir / "out.txt"), "decode_seconds");
    rss_store = std::max(rss_store, last_max_rss_kb);
    store_2 = std::min(store_2, timed(sweep_store(2), dir));
  }
  const double per_run_1 = (best_1 - decode) / static_cast<double>(runs);
  std::printf("bars %llu, %zu combinations (fast 5..50 x slow 60..240), best of %d\n",
              static_cast<unsigned long long>(bars), runs, repeat);
  std::printf("%-34s %10.3f s\n", "standalone cats backtest", best_alone);
  std::printf("%-34s %10.3f s  (%.1f runs/s, decode %.3f s)\n", "cats sweep --jobs 1", best_1,
              static_cast<double>(runs) / best_1, decode);
  std::printf("%-34s %10.3f s  (%.1f runs/s)\n", "cats sweep --jobs 2", best_2,
              static_cast<double>(runs) / best_2);
  std::printf("%-34s %10.2fx  (target >= 1.9x)\n", "speed-up 1 -> 2 jobs", best_1 / best_2);
  std::printf("%-34s %10.3f s  (%.1f runs/s)\n", "--copy events: cats sweep --jobs 1", events_1,
              static_cast<double>(runs) / events_1);
  std::printf("%-34s %10.3f s  (%.1f runs/s, scan %.3f s)\n", "store: cats sweep --jobs 1", store_1,
              static_cast<double>(runs) / store_1, scan);
  std::printf("%-34s %10.3f s  (%.1f runs/s)\n", "store: cats sweep --jobs 2", store_2,
              static_cast<double>(runs) / store_2);
  std::printf("%-34s %10.2fx\n", "store: speed-up 1 -> 2 jobs", store_1 / store_2);
  const double per_bar = 1024.0 / static_cast<double>(bars);
  // The in-memory store is shared memory: only the pages a batch has mapped count in the RSS, so
  // its whole size is added (an upper bound: the mapped pages count twice).
  const double copy_kb = copy_bytes / 1024.0;
  std::printf(
      "%-34s %10.1f MB (%.0f bytes a bar) CSV, in-memory store: peak RSS %.1f MB + the "
      "store %.1f MB (%.1f bytes a bar)\n",
      "memory, jobs 1", (static_cast<double>(rss_copy) + copy_kb) / 1024.0,
      (static_cast<double>(rss_copy) + copy_kb) * per_bar, static_cast<double>(rss_copy) / 1024.0,
      copy_kb / 1024.0, copy_bytes / static_cast<double>(bars));
  std::printf("%-34s %10.1f MB (%.0f bytes a bar) CSV, --copy events: peak RSS\n", "",
              static_cast<double>(rss_events) / 1024.0, static_cast<double>(rss_events) * per_bar);
  std::printf("%-34s %10.1f MB store file, streamed: peak RSS (the same for any number of bars)\n",
              "", static_cast<double>(rss_store) / 1024.0);
  std::printf("%-34s %10.3f s = %.1f%% of a standalone run (target < 33%%)\n",
              "one sweep run (jobs 1, after decode)", per_run_1, per_run_1 / best_alone * 100.0);
  std::printf("%-34s %10.3f s = %.1f%% of a standalone run\n", "whole sweep / runs (jobs 1)",
              best_1 / static_cast<double>(runs),
              best_1 / static_cast<double>(runs) / best_alone * 100.0);
  // The NumPy peer, in the same run (python3-numpy from Debian; skipped when missing).
  const std::vector<std::string> peer = {
      "/usr/bin/python3",    CATS_NUMPY_PEER, csv.string(), "5:50:5", "60:240:20", "10",
      std::to_string(repeat)};
  const pid_t pid = cats::bench::spawn(peer, dir / "numpy.txt", dir / "numpy.err");
  int status = 0;
  waitpid(pid, &status, 0);
  const double numpy_per = json_number(cats::bench::slurp(dir / "numpy.txt"), "per_combination_s");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && numpy_per > 0) {
    std::printf("%-34s %10.4f s per combination (data in memory)\n", "NumPy peer", numpy_per);
    std::printf("%-34s %10.2fx NumPy's time per combination (target <= 0.5x)\n",
                "one sweep run (jobs 1)", per_run_1 / numpy_per);
  } else {
    std::printf("NumPy peer skipped: %s\n", cats::bench::slurp(dir / "numpy.err").c_str());
  }
  if (keep.empty()) fs::remove_all(dir);
  return 0;
}
