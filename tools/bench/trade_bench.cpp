// Trade-level replay throughput, measured side by side in one run on the same generated file:
//   parse    = a bare parse of the Binance trades CSV: every field of every row, nothing else
//   backtest = the real `cats backtest` process replaying the trades (orders matched on them,
//              1-minute bars built from them for the reference plugin)
// and the ratio between them. Usage: cats_trade_bench [--trades N] [--repeat R] [--keep DIR]
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
#include "cats/replay/trade_csv.hpp"

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double bare_parse(const std::string& file, uint64_t& rows) {
  const auto t0 = clock_type::now();
  cats::trade_csv_reader reader(file, cats::trade_file_kind::trades);
  if (!reader.open()) {
    std::fprintf(stderr, "%s\n", reader.error().c_str());
    std::exit(1);
  }
  cats::trade_row row;
  int64_t checksum = 0;
  rows = 0;
  while (reader.next(row) == cats::trade_csv_reader::status::row) {
    checksum += row.id + row.price + row.quantity + row.quote_quantity + row.time_ns +
                (row.buyer_maker ? 1 : 0);
    ++rows;
  }
  if (!reader.error().empty()) {
    std::fprintf(stderr, "%s\n", reader.error().c_str());
    std::exit(1);
  }
  if (checksum == 42) std::printf(" ");  // keep the loop
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

double run_backtest(const std::string& config, const fs::path& dir, long& rss_kb) {
  const auto t0 = clock_type::now();
  const pid_t pid = cats::bench::spawn({CATS_BINARY, "backtest", "--config", config, "--json"},
                                       dir / "out.txt", dir / "err.txt");
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  rss_kb = std::max(rss_kb, ru.ru_maxrss);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "cats backtest failed:\n%s\n",
                 cats::bench::slurp(dir / "err.txt").c_str());
    std::exit(1);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t trades = 5'000'000;
  int repeat = 3;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--trades" && i + 1 < argc)
      trades = std::stoull(argv[++i]);
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--keep" && i + 1 < argc)
      keep = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--trades N] [--repeat R] [--keep DIR]\n", argv[0]);
      return 2;
    }
  }
  const fs::path dir = keep.empty()
                           ? fs::temp_directory_path() / ("cats-trades-" + std::to_string(getpid()))
                           : fs::path(keep);
  fs::create_directories(dir);
  const fs::path csv = dir / ("trades-" + std::to_string(trades) + ".csv");
  if (!fs::exists(csv)) {
    cats::sample_trades_options o;
    o.trades = trades;
    o.span_ns = 7 * 86'400'000'000'000;  // a week
    cats::write_sample_trades(csv, o);
  }
  const fs::path cfg = dir / "trades.toml";
  std::ofstream(cfg) << "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                        "format = \"binance_trades\"\nbars = \"1m\"\nfiles = [\""
                     << csv.string()
                     << "\"]\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n[backtest]\n"
                        "fee_bps = 10\n[[strategy]]\nname = \"sma\"\nplugin = \"ma_crossover\"\n"
                        "[strategy.params]\nfast = 30\nslow = 120\n";
  uint64_t rows = 0;
  bare_parse(csv.string(), rows);  // warm the page cache
  double best_parse = 1e30, best_run = 1e30;
  long rss = 0;
  for (int k = 0; k < repeat; ++k) {  // interleaved, so machine noise hits both alike
    best_parse = std::min(best_parse, bare_parse(csv.string(), rows));
    best_run = std::min(best_run, run_backtest(cfg.string(), dir, rss));
  }
  const double parse_rate = static_cast<double>(rows) / best_parse / 1e6;
  const double run_rate = static_cast<double>(rows) / best_run / 1e6;
  std::printf("%10s %9s %16s %16s %8s %12s\n", "trades", "file MB", "parse M trades/s",
              "cats M trades/s", "ratio", "peak RSS MB");
  std::printf("%10llu %9.1f %16.2f %16.2f %7.1f%% %12.1f\n", static_cast<unsigned long long>(rows),
              static_cast<double>(fs::file_size(csv)) / 1e6, parse_rate, run_rate,
              run_rate / parse_rate * 100.0, static_cast<double>(rss) / 1024.0);
  if (keep.empty()) fs::remove_all(dir);
  return 0;
}
