// Replay throughput, measured side by side in one run:
//   ceiling  = a bare parse of the kline file (every field of every row to fixed point)
//   backtest = the real `cats backtest` process with the reference plugin on the same file
// (both on one thread: data.parse_threads = 1) and the ratio between them, plus the backtest's
// peak RSS at each size (it must not grow with the number of bars).
// Usage: cats_backtest_bench [--bars N,N,...] [--repeat R] [--keep DIR]
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

#include "cats/replay/kline_csv.hpp"
#include "cats/replay/sample_data.hpp"

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

struct parse_result {
  double seconds = 0;
  uint64_t rows = 0;
  int64_t checksum = 0;
};

parse_result bare_parse(const std::string& file) {
  parse_result r;
  const auto t0 = clock_type::now();
  cats::kline_csv_reader reader(file);
  if (!reader.open()) {
    std::fprintf(stderr, "%s\n", reader.error().c_str());
    std::exit(1);
  }
  cats::kline_row row;
  while (reader.next(row) == cats::kline_csv_reader::status::row) {
    // Touch every field so nothing can be skipped.
    r.checksum += row.open_time_ns + row.open + row.high + row.low + row.close + row.volume +
                  row.close_time_ns + row.quote_volume + row.trade_count + row.taker_buy_volume +
                  row.taker_buy_quote_volume;
    ++r.rows;
  }
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return r;
}

struct process_result {
  double seconds = 0;
  long max_rss_kb = 0;
  int status = -1;
};

process_result run_backtest(const std::string& config) {
  process_result r;
  std::fflush(stdout);
  const auto t0 = clock_type::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string devnull = "/dev/null";
    std::freopen(devnull.c_str(), "w", stdout);
    execl(CATS_BINARY, CATS_BINARY, "backtest", "--config", config.c_str(), "--json", nullptr);
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  r.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  r.max_rss_kb = ru.ru_maxrss;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> sizes = {1'000'000, 5'000'000};
  int repeat = 3;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bars" && i + 1 < argc) {
      sizes.clear();
      std::string list = argv[++i];
      for (size_t s = 0, e; s < list.size(); s = e + 1) {
        e = list.find(',', s);
        if (e == std::string::npos) e = list.size();
        sizes.push_back(std::stoull(list.substr(s, e - s)));
      }
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--bars N,N,...] [--repeat R] [--keep DIR]\n", argv[0]);
      return 2;
    }
  }
  const fs::path dir = keep.empty()
                           ? fs::temp_directory_path() / ("cats-bench-" + std::to_string(getpid()))
                           : fs::path(keep);
  fs::create_directories(dir);

  std::printf("%10s %9s %14s %14s %8s %12s %10s\n", "bars", "file MB", "parse M rows/s",
              "cats M bars/s", "ratio", "peak RSS MB", "trades");
  for (const uint64_t n : sizes) {
    const fs::path csv = dir / ("bench-" + std::to_string(n) + ".csv");
    if (!fs::exists(csv)) {
      cats::sample_options o;
      o.bars = n;
      o.start_ns = 1'577'836'800'000'000'000;  // 2020-01-01: 5 M minutes reach into 2029
      cats::write_sample_klines(csv, o);
    }
    const fs::path cfg = dir / ("bench-" + std::to_string(n) + ".toml");
    std::ofstream(cfg) << "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                          "files = [\""
                       << csv.string()
                       << "\"]\ntick_size = \"0.01\"\n"
                          "lot_size = \"0.00001\"\nparse_threads = 1\n[backtest]\n"
                          "fee_bps = 10\n[[strategy]]\n"
                          "name = \"sma\"\nplugin = \"ma_crossover\"\n";
    bare_parse(csv.string());  // warm the page cache
    double best_parse = 1e30, best_run = 1e30;
    long rss = 0;
    uint64_t rows = 0;
    // Interleave the two so that machine noise hits both alike.
    for (int k = 0; k < repeat; ++k) {
      const parse_result p = bare_parse(csv.string());
      best_parse = std::min(best_parse, p.seconds);
      rows = p.rows;
      const process_result b = run_backtest(cfg.string());
      if (b.status != 0) {
        std::fprintf(stderr, "cats backtest failed with status %d\n", b.status);
        return 1;
      }
      best_run = std::min(best_run, b.seconds);
      rss = std::max(rss, b.max_rss_kb);
    }
    // Trades, for context: the same run once more with output captured.
    const std::string cmd = std::string(CATS_BINARY) + " backtest --config " + cfg.string() +
                            " --json 2>/dev/null | grep '\"trades\"'";
    std::string trades = "?";
    std::fflush(stdout);
    if (FILE* f = popen(cmd.c_str(), "r")) {
      char buf[128] = {0};
      if (std::fgets(buf, sizeof buf, f) != nullptr) {
        trades = buf;
        trades = trades.substr(trades.find(':') + 2);
        trades = trades.substr(0, trades.find(','));
      }
      pclose(f);
    }
    const double parse_rate = static_cast<double>(rows) / best_parse / 1e6;
    const double run_rate = static_cast<double>(rows) / best_run / 1e6;
    std::printf("%10llu %9.1f %14.2f %14.2f %7.1f%% %12.1f %10s\n",
                static_cast<unsigned long long>(n), static_cast<double>(fs::file_size(csv)) / 1e6,
                parse_rate, run_rate, run_rate / parse_rate * 100.0,
                static_cast<double>(rss) / 1024.0, trades.c_str());
    std::fflush(stdout);
  }
  if (keep.empty()) fs::remove_all(dir);
  return 0;
}
