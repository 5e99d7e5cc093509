// The block store against the CSV path, measured side by side in one run:
//   walk      = a bare walk of the store file through a mapping: block to block, every record's
//               close price summed (no checksum), the ceiling of any reader
//   walk+crc  = the same with every block's CRC-32C checked
//   reader    = store_reader::next, every record decoded to an engine event
//   cats      = the real `cats backtest` process with the reference plugin, from the store and
//               from the kline CSV it was converted from (whole process, and the engine's own
//               "replayed ... events/s" figure for the replay loop alone)
// plus `cats data convert`'s rate and each backtest's peak RSS.
// Usage: cats_store_bench [--bars N,N,...] [--repeat R] [--keep DIR]
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cats/record/store.hpp"
#include "cats/replay/sample_data.hpp"
#include "cats/util/crc32c.hpp"

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct walk_result {
  double seconds = 0;
  uint64_t records = 0;
  int64_t checksum = 0;
};

// Block to block through a mapping; a whole bar's close is at byte 64 of its record, a packed
// bar's is its open (byte 16) plus the 32-bit offset at byte 56 in units of 10^(flags & 15), and
// a bar run's bar k is the run's base open (byte 16) plus the bar's open and close offsets (bytes
// 16 and 28 of its 44, from byte 40) in those units.
walk_result bare_walk(const std::string& file, bool crc) {
  int64_t unit[16];  // 10^0 .. 10^15
  for (int64_t i = 0, v = 1; i < 16; ++i, v *= 10) unit[i] = v;
  walk_result r;
  const auto t0 = clock_type::now();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) std::exit(1);
  const auto size = static_cast<size_t>(st.st_size);
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) std::exit(1);
  ::madvise(m, size, MADV_SEQUENTIAL);
  const char* base = static_cast<const char*>(m);
  for (size_t at = 64; at + 64 <= size;) {
    uint64_t payload = 0;
    uint32_t count = 0, stored = 0;
    uint16_t kind = 0;
    std::memcpy(&stored, base + at + 4, 4);
    std::memcpy(&kind, base + at + 8, 2);
    std::memcpy(&count, base + at + 12, 4);
    std::memcpy(&payload, base + at + 16, 8);
    if (crc && cats::crc32c(base + at + 8, 56 + payload) != stored) std::exit(3);
    const char* p = base + at + 64;
    if (kind == 1) {
      for (uint32_t i = 0; i < count; ++i) {
        uint32_t rsize = 0;
        int64_t close = 0;
        std::memcpy(&rsize, p + 4, 4);
        if (p[0] == 6) {  // a bar run: n bars of 44 bytes from byte 40, opens from a base
          const int64_t u = unit[static_cast<uint8_t>(p[1]) & 15];
          int64_t base = 0;
          uint32_t n = 0;
          std::memcpy(&base, p + 16, 8);
          std::memcpy(&n, p + 32, 4);
          for (uint32_t k = 0; k < n; ++k) {
            int32_t open = 0, offset = 0;
            std::memcpy(&open, p + 40 + 44 * k + 16, 4);
            std::memcpy(&offset, p + 40 + 44 * k + 28, 4);
            r.checksum += base + (int64_t{open} + offset) * u;
          }
          i += n - 1;
          p += rsize;
          continue;
        }
        if (p[0] == 5) {
          int32_t offset = 0;
          std::memcpy(&close, p + 16, 8);
          std::memcpy(&offset, p + 56, 4);
          close += offset * unit[static_cast<uint8_t>(p[1]) & 15];
        } else {
          std::memcpy(&close, p + 64, 8);
        }
        r.checksum += close;
        p += rsize;
      }
      r.records += count;
    }
    at += 64 + payload;
  }
  ::munmap(m, size);
  r.seconds = since(t0);
  return r;
}

walk_result read_all(const std::string& file) {
  walk_result r;
  const auto t0 = clock_type::now();
  cats::store_reader reader(file);
  cats::market_event e;
  while (reader.next(e)) {
    r.checksum += e.bar.close;
    ++r.records;
  }
  r.seconds = since(t0);
  return r;
}

struct process_result {
  double seconds = 0;
  double replay_rate = 0;  // M events/s, from the engine's log line
  long max_rss_kb = 0;
  int status = -1;
};

process_result run_cats(const std::vector<std::string>& args, const fs::path& err_file) {
  process_result r;
  std::fflush(stdout);
  const auto t0 = clock_type::now();
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen(err_file.c_str(), "w", stderr))
      _exit(126);
    std::vector<char*> argv{const_cast<char*>(CATS_BINARY)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(CATS_BINARY, argv.data());
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  r.seconds = since(t0);
  r.max_rss_kb = ru.ru_maxrss;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find(" s (");
    if (line.find("replayed ") != std::string::npos && at != std::string::npos)
      r.replay_rate = std::atof(line.c_str() + at + 4);
  }
  return r;
}

std::vector<uint64_t> parse_list(const std::string& list) {
  std::vector<uint64_t> out;
  for (size_t s = 0, e; s < list.size(); s = e + 1) {
    e = list.find(',', s);
    if (e == std::string::npos) e = list.size();
    out.push_back(std::stoull(list.substr(s, e - s)));
  }
  return out;
}

void write_config(const fs::path& cfg, const fs::path& data, bool store) {
  std::ofstream(cfg) << "[engine]\nlog_level = \"info\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                        "files = [\""
                     << data.string() << "\"]\nformat = \""
                     << (store ? "cats_record" : "binance_klines")
                     << "\"\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n"
                        // One core each: the CSV is parsed on one thread, as the store is read.
                        "parse_threads = 1\n[backtest]\n"
                        "fee_bps = 10\n[[strategy]]\nname = \"sma\"\nplugin = \"ma_crossover\"\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint64_t> sizes = {1'000'000, 5'000'000};
  int repeat = 3;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bars" && i + 1 < argc) {
      sizes = parse_list(argv[++i]);
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--bars N,N,...] [--repeat R] [--keep DIR]\n", argv[0]);
      return 2;
    }
  }
  const fs::path dir =
      keep.empty() ? fs::temp_directory_path() / ("cats-store-bench-" + std::to_string(getpid()))
                   : fs::path(keep);
  fs::create_directories(dir);
  std::printf("CRC-32C: %s\n", cats::crc32c_hardware() ? "SSE4.2 instruction" : "table");
  std::printf("%10s %8s %8s | %9s %9s %9s | %9s %9s %9s %9s | %7s %9s %9s\n", "bars", "CSV MB",
              "store MB", "walk", "walk+crc", "reader", "cats st", "cats csv", "loop st",
              "loop csv", "st/csv", "RSS st MB", "RSS csv");
  std::printf("%28s | %29s | %39s |\n", "", "M events/s (best of R)",
              "M events/s (process; replay loop)");
  for (const uint64_t n : sizes) {
    const std::string tag = "bars-" + std::to_string(n);
    const fs::path csv = dir / ("BTCUSDT-1m-" + tag + ".csv");
    const fs::path store = dir / (tag + ".catsrec");
    if (!fs::exists(csv)) {
      cats::sample_options o;
      o.bars = n;
      o.start_ns = 1'577'836'800'000'000'000;  // 2020-01-01
      cats::write_sample_klines(csv, o);
    }
    const process_result conv =
        run_cats({"data", "convert", csv.string(), "--symbol", "BINANCE:BTCUSDT", "--format",
                  "binance_klines", "--out", store.string(), "--force"},
                 dir / "convert.err");
    if (conv.status != 0) {
      std::fprintf(stderr, "cats data convert failed (%d)\n", conv.status);
      return 1;
    }
    const fs::path cfg_store = dir / (tag + "-store.toml");
    const fs::path cfg_csv = dir / (tag + "-csv.toml");
    write_config(cfg_store, store, true);
    write_config(cfg_csv, csv, false);
    bare_walk(store.string(), false);  // warm the page cache
    double walk = 1e30, walk_crc = 1e30, reader = 1e30;
    process_result best_st, best_csv;
    best_st.seconds = best_csv.seconds = 1e30;
    uint64_t records = 0;
    for (int k = 0; k < repeat; ++k) {  // interleaved: machine noise hits all alike
      const walk_result w = bare_walk(store.string(), false);
      walk = std::min(walk, w.seconds);
      walk_crc = std::min(walk_crc, bare_walk(store.string(), true).seconds);
      const walk_result rd = read_all(store.string());
      reader = std::min(reader, rd.seconds);
      if (rd.records != w.records || rd.checksum != w.checksum) {
        std::fprintf(stderr, "reader and walk disagree\n");
        return 1;
      }
      records = w.records;
      for (auto [cfg, best] : {std::pair{&cfg_store, &best_st}, std::pair{&cfg_csv, &best_csv}}) {
        const process_result p =
            run_cats({"backtest", "--config", cfg->string(), "--json"}, dir / "run.err");
        if (p.status != 0) {
          std::fprintf(stderr, "cats backtest failed (%d); see %s\n", p.status,
                       (dir / "run.err").c_str());
          return 1;
        }
        if (p.seconds < best->seconds) *best = p;
      }
    }
    const double m = static_cast<double>(records) / 1e6;
    std::printf(
        "%10llu %8.1f %8.1f | %9.1f %9.1f %9.1f | %9.2f %9.2f %9.2f %9.2f | %6.2fx %9.1f %9.1f\n",
        static_cast<unsigned long long>(n), static_cast<double>(fs::file_size(csv)) / 1e6,
        static_cast<double>(fs::file_size(store)) / 1e6, m / walk, m / walk_crc, m / reader,
        m / best_st.seconds, m / best_csv.seconds, best_st.replay_rate, best_csv.replay_rate,
        best_csv.seconds / best_st.seconds, static_cast<double>(best_st.max_rss_kb) / 1024.0,
        static_cast<double>(best_csv.max_rss_kb) / 1024.0);
    std::printf("%10s convert: %.2f M bars/s (CSV to store, whole process)\n", "",
                m / conv.seconds);
    std::fflush(stdout);
  }
  if (keep.empty()) fs::remove_all(dir);
  return 0;
}
