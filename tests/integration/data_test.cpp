// `cats data convert` and the block store, with the real binary: converted data replays exactly
// like its source, several files and kinds merge into one store in time order, damage is named
// or skipped and counted, and bad input gets a clear error without a half-written store.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "integration/fake_exchange.hpp"
#include "integration/process.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;
using test::run;
using test::run_result;

const std::string cats_bin = CATS_BINARY;
const std::string test_plugins = CATS_TEST_PLUGIN_DIR;

class StoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    klines_ = (dir_.path() / "BTCUSDT-1m-2024-01.csv").string();
    const run_result g =
        run({cats_bin, "generate", "--out", klines_, "--days", "10", "--seed", "11"});
    ASSERT_EQ(g.exit_code, 0) << g.err;
  }
  std::string config(const std::string& name, const std::string& file, const std::string& format,
                     const std::string& extra = "") {
    const fs::path cfg = dir_.path() / (name + ".toml");
    test::write_file(cfg,
                     "[engine]\nlog_level = \"warn\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\n"
                     "files = [\"" +
                         file + "\"]\nformat = \"" + format +
                         "\"\ntick_size = \"0.01\"\nlot_size = \"0.00001\"\n" + extra +
                         "[backtest]\nfee_bps = 10\nslippage_bps = 1\n[[strategy]]\n"
                         "name = \"sma\"\nplugin = \"ma_crossover\"\n[strategy.params]\n"
                         "fast = 30\nslow = 120\n");
    return cfg.string();
  }
  std::string convert(const std::vector<std::string>& inputs, const std::string& name) {
    const std::string out = (dir_.path() / name).string();
    std::vector<std::string> args{cats_bin, "data", "convert"};
    args.insert(args.end(), inputs.begin(), inputs.end());
    args.insert(args.end(), {"--out", out});
    const run_result r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
    return out;
  }
  // The summary JSON without the lines that name the data files.
  static std::string without_files(const std::string& json) {
    std::string out;
    bool in_files = false;
    for (size_t pos = 0; pos < json.size();) {
      const size_t eol = std::min(json.find('\n', pos), json.size());
      const std::string line = json.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.find("\"files\": [") != std::string::npos) in_files = true;
      if (!in_files) out += line + "\n";
      if (in_files && line.find(']') != std::string::npos) in_files = false;
    }
    return out;
  }

  test::temp_dir dir_;
  std::string klines_;
};

TEST_F(StoreCli, ConvertedKlinesBacktestAndSweepExactlyLikeTheCsv) {
  const std::string store = convert({klines_}, "btc.catsrec");
  // `cats generate` writes the same store straight away: equal after the 64-byte file header
  // (which holds its creation time).
  const std::string direct = (dir_.path() / "direct.catsrec").string();
  ASSERT_EQ(run({cats_bin, "generate", "--out", direct, "--days", "10", "--seed", "11"}).exit_code,
            0);
  EXPECT_EQ(test::read_file(direct).substr(64), test::read_file(store).substr(64));
  const run_result from_csv =
      run({cats_bin, "backtest", "--config", config("csv", klines_, "binance_klines"), "--json"});
  ASSERT_EQ(from_csv.exit_code, 0) << from_csv.err;
  const run_result from_store =
      run({cats_bin, "backtest", "--config", config("st", store, "cats_record"), "--json"});
  ASSERT_EQ(from_store.exit_code, 0) << from_store.err;
  EXPECT_NE(from_store.out.find("\"trades\": "), std::string::npos);
  EXPECT_EQ(without_files(from_store.out), without_files(from_csv.out));
  // The bars-only store is known as such before the run: no "only bars" warning.
  EXPECT_NE(from_store.out.find("\"warnings\": []"), std::string::npos) << from_store.out;

  // A window that starts on day 8: the store passes over its blocks before the start by their
  // headers and reads fewer rows, and the run is the CSV's to the last digit.
  auto without_rows = [](std::string json) {
    const size_t at = json.find("\"rows\": ");
    return at == std::string::npos ? json : json.erase(at, json.find('\n', at) - at);
  };
  std::vector<std::string> later;
  for (const auto& [file, format] :
       {std::pair{klines_, "binance_klines"}, {store, "cats_record"}}) {
    const run_result r =
        run({cats_bin, "backtest", "--config", config(std::string("later-") + format, file, format),
             "--json", "--set", "backtest.start=2024-01-08T00:00:00Z"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    later.push_back(without_files(r.out));
  }
  EXPECT_NE(later[0].find("\"rows\": 14400,"), std::string::npos) << later[0];
  const size_t rows_at = later[1].find("\"rows\": ");
  ASSERT_NE(rows_at, std::string::npos);
  const long rows = std::stol(later[1].substr(rows_at + 8));
  EXPECT_GE(rows, 4320) << "the last 3 days";
  EXPECT_LT(rows, 4320 + 1500)
      << "one 64 KiB block of bars (a run: 44 bytes each) before the start";
  EXPECT_EQ(without_rows(later[1]), without_rows(later[0]));
  EXPECT_NE(later[0], without_files(from_csv.out)) << "the window changes the run";

  // A sweep over the store, streamed by each lockstep batch from the file (constant memory; by
  // itself, and with --stream), ranks exactly as one over the CSV's copy (an in-memory store, or
  // decoded events with --copy events); so does a walk-forward one.
  for (const char* extra : {"--metric", "--oos"}) {
    std::vector<std::string> results;
    for (const auto& [name, file, format, stream] :
         {std::tuple{"sweep-csv", klines_, "binance_klines", false},
          std::tuple{"sweep-st", store, "cats_record", false},
          std::tuple{"sweep-stream", store, "cats_record", true},
          std::tuple{"sweep-capped", klines_, "binance_klines", false},
          std::tuple{"sweep-events", klines_, "binance_klines", false}}) {
      const fs::path out = dir_.path() / name;
      std::vector<std::string> args{cats_bin,
                                    "sweep",
                                    "--config",
                                    config(name, file, format),
                                    "--param",
                                    "strategy.fast=10:30:20",
                                    "--param",
                                    "strategy.slow=60,120",
                                    "--jobs",
                                    "2",
                                    "--out",
                                    out.string(),
                                    "--json",
                                    extra,
                                    std::string(extra) == "--oos" ? "0.3" : "sharpe"};
      if (stream) args.emplace_back("--stream");
      // A copy over its budget (the CSV's is about 2 MB): the runs stream the CSV instead.
      const bool capped = std::string(name) == "sweep-capped";
      if (capped) args.insert(args.end(), {"--max-copy", "1"});
      const bool events = std::string(name) == "sweep-events";
      if (events) args.insert(args.end(), {"--copy", "events"});
      const run_result s = run(args);
      ASSERT_EQ(s.exit_code, 0) << s.err;
      EXPECT_EQ(s.err.find("more than the 1 MB a copy may take") != std::string::npos, capped)
          << s.err;
      const bool streams = stream || capped || std::string(format) == "cats_record";
      EXPECT_NE(s.out.find(std::string("\"data_streamed\": ") + (streams ? "true" : "false")),
                std::string::npos)
          << name << " " << extra;
      const char* copy = streams ? "none" : events ? "events" : "store";
      EXPECT_NE(s.out.find(std::string("\"data_copy\": \"") + copy + "\""), std::string::npos)
          << name << " " << extra;
      results.push_back(test::read_file(out / "results.csv"));
    }
    EXPECT_NE(results[0].find("sharpe"), std::string::npos) << results[0];
    EXPECT_EQ(results[0], results[1]) << extra;
    EXPECT_EQ(results[0], results[2]) << extra;
    EXPECT_EQ(results[0], results[3]) << extra;
    EXPECT_EQ(results[0], results[4]) << extra;
  }
}

// The copy's estimate (72 bytes an event, about 140 bytes a kline row) can be short: short
// rows of bars that do not pack (a volume finer than 32 bits of its units). A store that grows
// past --max-copy while it is written is given up, and the runs stream the CSV instead, ranking
// as they would with the copy.
TEST_F(StoreCli, AnInMemoryStorePastTheBudgetGivesWayToStreaming) {
  const std::string csv = (dir_.path() / "short.csv").string();
  {
    std::string text;
    const int64_t t0 = 1'704'067'200'000;
    for (int64_t i = 0; i < 22'000; ++i) {
      const std::string px = std::to_string(100 + (i * 7919) % 13) + "." + std::to_string(i % 10);
      text += std::to_string(t0 + i * 60'000) + "," + px + "," + px + "," + px + "," + px +
              ",123456789.12345678," + std::to_string(t0 + i * 60'000 + 59'999) + ",1,1,0,0,0\n";
    }
    test::write_file(csv, text);
    ASSERT_LT(text.size(), 1'900'000u);  // estimated under 1 MB: 13.6 k rows of 72 bytes
  }
  const std::string cfg = config("short", csv, "binance_klines");
  std::vector<std::string> results;
  for (const bool capped : {false, true}) {
    const fs::path out = dir_.path() / (capped ? "capped" : "copy");
    std::vector<std::string> args{
        cats_bin, "sweep", "--config", cfg,          "--param", "strategy.fast=10,30",
        "--jobs", "2",     "--out",    out.string(), "--json"};
    if (capped) args.insert(args.end(), {"--max-copy", "1"});
    const run_result s = run(args);
    ASSERT_EQ(s.exit_code, 0) << s.err;
    EXPECT_EQ(s.err.find("the in-memory store would take more than the 1 MB a copy may take") !=
                  std::string::npos,
              capped)
        << s.err;
    EXPECT_NE(s.out.find(std::string("\"data_copy\": \"") + (capped ? "none" : "store") + "\""),
              std::string::npos)
        << s.out;
    results.push_back(test::read_file(out / "results.csv"));
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST_F(StoreCli, KlinesAndZippedTradesConvertToOneStoreInTimeOrder) {
  const std::string trades = (dir_.path() / "trades.csv").string();
  ASSERT_EQ(run({cats_bin, "generate", "--out", trades, "--trades", "20000", "--days", "1",
                 "--start", "2024-01-02", "--price", "2500", "--seed", "5"})
                .exit_code,
            0);
  const std::string zip = (dir_.path() / "ETHUSDT-trades-2024-01-02.zip").string();
  const run_result z = run({CATS_PYTHON, "-c",
                            "import sys, zipfile\n"
                            "with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n"
                            "    z.write(sys.argv[2], 'ETHUSDT-trades-2024-01-02.csv')\n",
                            zip, trades});
  ASSERT_EQ(z.exit_code, 0) << z.err;
  const std::string out = (dir_.path() / "both.catsrec").string();
  const run_result c = run({cats_bin, "data", "convert", klines_, zip, "--out", out});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.out.find("(14400 bars, 20000 trades, 0 quotes, 0 books)"), std::string::npos)
      << c.out;
  // A probe strategy sees both instruments, every bar and trade, in time order.
  const fs::path cfg = dir_.path() / "probe.toml";
  const fs::path log = dir_.path() / "probe.log";
  test::write_file(cfg, "[engine]\nlog_level = \"warn\"\nplugin_dir = \"" + test_plugins +
                            "\"\n[data]\nsymbol = \"BINANCE:BTCUSDT\"\nformat = \"cats_record\"\n"
                            "files = [\"" +
                            out +
                            "\"]\n[[strategy]]\nname = \"probe\"\nplugin = \"probe_strategy\"\n"
                            "[strategy.params]\nlog = \"" +
                            log.string() + "\"\n");
  const run_result r = run({cats_bin, "backtest", "--config", cfg.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = test::read_file(log);
  size_t bars = 0, trade_lines = 0;
  int64_t last = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    int64_t ts = 0;
    if (line.rfind("bar ", 0) == 0) {
      ++bars;
      ts = std::stoll(line.substr(line.find(' ', 4) + 1));
    } else if (line.rfind("trade ", 0) == 0) {
      ++trade_lines;
      ts = std::stoll(line.substr(line.rfind(' ') + 1));
    }
    if (ts != 0) {
      EXPECT_GE(ts, last) << line;
      last = ts;
    }
  }
  EXPECT_EQ(bars, 14400u);
  EXPECT_EQ(trade_lines, 20000u);
}

// The offset of the n-th block (walking the block headers) of a store file.
size_t nth_block(const std::string& b, size_t n) {
  size_t at = 64;
  for (size_t i = 0; i < n; ++i) {
    uint64_t len = 0;
    std::memcpy(&len, b.data() + at + 16, 8);
    at += 64 + len;
  }
  return at;
}

TEST_F(StoreCli, ADamagedBlockStopsTheRunOrIsSkippedAndCounted) {
  const std::string store = convert({klines_}, "dmg.catsrec");
  std::string b = test::read_file(store);
  const size_t bad = nth_block(b, 5);
  b[bad + 300] = static_cast<char>(b[bad + 300] ^ 1);
  test::write_file(store, b);
  const run_result stop =
      run({cats_bin, "backtest", "--config", config("dmg", store, "cats_record")});
  EXPECT_EQ(stop.exit_code, 1);
  EXPECT_NE(
      stop.err.find(store + ": at byte " + std::to_string(bad) + ": checksum mismatch in block"),
      std::string::npos)
      << stop.err;
  const run_result skip =
      run({cats_bin, "backtest", "--config",
           config("skip", store, "cats_record", "on_error = \"skip\"\n"), "--json"});
  ASSERT_EQ(skip.exit_code, 0) << skip.err;
  EXPECT_NE(skip.out.find("\"damaged_blocks\": 1"), std::string::npos) << skip.out;
  EXPECT_NE(skip.out.find("at byte " + std::to_string(bad)), std::string::npos) << skip.out;
  const run_result table = run({cats_bin, "backtest", "--config",
                                config("skip2", store, "cats_record", "on_error = \"skip\"\n")});
  EXPECT_NE(table.out.find("Damaged blocks skipped"), std::string::npos) << table.out;

  // Sweeps stream the store: strictly, every run fails with the damage; skipping it, the count is
  // of the records read (the block headers, which would count the damaged block too, are not
  // trusted for it), and the runs skip the block as the backtest does.
  uint32_t in_block = 0;
  std::memcpy(&in_block, b.data() + bad + 12, 4);
  ASSERT_GT(in_block, 0u);
  const run_result strict = run({cats_bin, "sweep", "--config", config("dmg", store, "cats_record"),
                                 "--param", "strategy.fast=10,20", "--json"});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.out.find("checksum mismatch in block"), std::string::npos) << strict.out;
  const run_result swept = run({cats_bin, "sweep", "--config",
                                config("skip", store, "cats_record", "on_error = \"skip\"\n"),
                                "--param", "strategy.fast=10,20", "--oos", "0.3", "--json"});
  ASSERT_EQ(swept.exit_code, 0) << swept.err;
  EXPECT_NE(swept.out.find("\"data_events\": " + std::to_string(14400 - in_block) + ","),
            std::string::npos)
      << swept.out.substr(0, 600);
}

TEST_F(StoreCli, BadInputIsAClearErrorAndLeavesNoStore) {
  const std::string out = (dir_.path() / "x.catsrec").string();
  // A file whose name says nothing.
  const std::string odd = (dir_.path() / "prices.csv").string();
  fs::copy_file(klines_, odd);
  run_result r = run({cats_bin, "data", "convert", odd, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(odd + ": cannot tell the symbol from the file name"), std::string::npos)
      << r.err;
  // ... converts once it is told.
  r = run({cats_bin, "data", "convert", odd, "--symbol", "BINANCE:BTCUSDT", "--format",
           "binance_klines", "--out", out});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // An existing store is not replaced without --force.
  r = run({cats_bin, "data", "convert", klines_, "--out", out});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(out + " exists (--force replaces it)"), std::string::npos) << r.err;
  // A thread count out of range.
  r = run({cats_bin, "data", "convert", klines_, "--out", out, "--force", "--threads", "-2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--threads: expected 0 to 256, got -2"), std::string::npos) << r.err;
  // A malformed row: the file and line, and no store (nor a .part) left behind.
  std::string text = test::read_file(klines_);
  size_t line3 = 0;
  for (int i = 0; i < 2; ++i) line3 = text.find('\n', line3) + 1;
  text.replace(line3, text.find(',', line3) - line3, "17O4067320000");
  const std::string broken = (dir_.path() / "ETHUSDT-1m-2024-01.csv").string();
  test::write_file(broken, text);
  const std::string out2 = (dir_.path() / "y.catsrec").string();
  r = run({cats_bin, "data", "convert", broken, "--out", out2});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(broken + ":3"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out2));
  EXPECT_FALSE(fs::exists(out2 + ".part"));
  // ... or skipped and counted.
  r = run({cats_bin, "data", "convert", broken, "--out", out2, "--on-error", "skip"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("skipped 1 malformed rows"), std::string::npos) << r.out;
  // A missing input is named.
  r = run({cats_bin, "data", "convert", (dir_.path() / "BTCUSDT-1m-2023-01.csv").string(), "--out",
           (dir_.path() / "z.catsrec").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("BTCUSDT-1m-2023-01.csv"), std::string::npos) << r.err;
  EXPECT_EQ(run({cats_bin, "data", "frobnicate"}).exit_code, 2);
}

// `cats data download` against the fake exchange serving the public-data layout over HTTPS.
class DataDownload : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::make_cert(dir_.path()));
    const fs::path site = dir_.path() / "site";
    const fs::path klines = site / "data/spot/monthly/klines/BTCUSDT/1m";
    fs::create_directories(klines);
    for (const char* month : {"2024-01", "2024-02"}) {
      const std::string name = std::string("BTCUSDT-1m-") + month;
      const fs::path csv = dir_.path() / (name + ".csv");
      ASSERT_EQ(run({cats_bin, "generate", "--out", csv.string(), "--days", "3", "--start",
                     std::string(month) + "-01"})
                    .exit_code,
                0);
      // A zip and its .CHECKSUM, as the site publishes them.
      const run_result z = run({CATS_PYTHON, "-c",
                                "import sys, zipfile, hashlib\n"
                                "zp, csv, name = sys.argv[1], sys.argv[2], sys.argv[3]\n"
                                "with zipfile.ZipFile(zp, 'w', zipfile.ZIP_DEFLATED) as z:\n"
                                "    z.write(csv, name + '.csv')\n"
                                "h = hashlib.sha256(open(zp, 'rb').read()).hexdigest()\n"
                                "open(zp + '.CHECKSUM', 'w').write(h + '  ' + name + '.zip\\n')\n",
                                (klines / (name + ".zip")).string(), csv.string(), name});
      ASSERT_EQ(z.exit_code, 0) << z.err;
    }
    fake_ = std::make_unique<test::fake_exchange>(
        dir_, std::vector<std::string>{"--rate", "0", "--data-dir", site.string()});
    ASSERT_GT(fake_->port(), 0) << fake_->log();
  }
  run_result download(const std::string& from, const std::string& to,
                      const std::vector<std::string>& extra = {}) {
    return download_from("https://" + fake_->base(), from, to, extra);
  }
  run_result download_from(const std::string& base, const std::string& from, const std::string& to,
                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{cats_bin,
                                  "data",
                                  "download",
                                  "--kind",
                                  "klines",
                                  "--symbol",
                                  "BTCUSDT",
                                  "--interval",
                                  "1m",
                                  "--from",
                                  from,
                                  "--to",
                                  to,
                                  "--dir",
                                  out().string(),
                                  "--base-url",
                                  base,
                                  "--ca-file",
                                  (dir_.path() / "cert.pem").string(),
                                  "--timeout",
                                  "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
  fs::path out() const { return dir_.path() / "out"; }
  fs::path served(const std::string& month) const {
    return dir_.path() / "site/data/spot/monthly/klines/BTCUSDT/1m" /
           ("BTCUSDT-1m-" + month + ".zip");
  }

  test::temp_dir dir_;
  std::unique_ptr<test::fake_exchange> fake_;
};

TEST_F(DataDownload, FetchesChecksAndConvertsThenKeepsWhatIsThere) {
  const std::string store = (out() / "btc.catsrec").string();
  run_result r = download("2024-01", "2024-02", {"--store", store});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  for (const char* m : {"2024-01", "2024-02"}) {
    EXPECT_EQ(test::read_file(out() / ("BTCUSDT-1m-" + std::string(m) + ".zip")),
              test::read_file(served(m)));
    EXPECT_NE(r.out.find("BTCUSDT-1m-" + std::string(m) + ".zip: "), std::string::npos);
  }
  EXPECT_NE(r.out.find("2 of 2 files here and checked"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(8640 bars, 0 trades"), std::string::npos) << r.out;
  // Again: nothing is fetched twice.
  r = download("2024-01", "2024-02");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BTCUSDT-1m-2024-01.zip: already here, sha256 ok"), std::string::npos)
      << r.out;
  // A month the site does not have: named, the others still fetched, exit 1.
  r = download("2023-12", "2024-01");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("BTCUSDT-1m-2023-12.zip.CHECKSUM: HTTP 404"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("1 of 2 files"), std::string::npos) << r.out;
  // The site gone: files already here still count against their saved checksums.
  fake_.reset();
  r = download_from("https://127.0.0.1:1", "2024-01", "2024-02");
  EXPECT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("BTCUSDT-1m-2024-02.zip: already here, sha256 ok against the saved"),
            std::string::npos)
      << r.out;
}

TEST_F(DataDownload, ACutTransferIsResumedWhereItStopped) {
  // Cut once: the next attempt asks for the rest (a Range request) and the file is whole.
  fake_->control("POST", "/control/data?cut=3000&times=1");
  run_result r = download("2024-01", "2024-01");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("(2 attempts)"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_file(out() / "BTCUSDT-1m-2024-01.zip"), test::read_file(served("2024-01")));
  EXPECT_NE(fake_->log().find("cut after 3000 bytes"), std::string::npos);
  // Cut every time: the command gives up, keeping the partial file; the next run resumes it.
  fake_->control("POST", "/control/data?cut=5000&times=100");
  r = download("2024-02", "2024-02");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("run the same command again to resume"), std::string::npos) << r.err;
  // Five attempts, each resuming where the last stopped and cut 5000 bytes later.
  EXPECT_EQ(fs::file_size(out() / "BTCUSDT-1m-2024-02.zip.part"), 25000u);
  fake_->control("POST", "/control/data?cut=0&times=0");
  r = download("2024-02", "2024-02");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("(resumed a partial download)"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_file(out() / "BTCUSDT-1m-2024-02.zip"), test::read_file(served("2024-02")));
  EXPECT_FALSE(fs::exists(out() / "BTCUSDT-1m-2024-02.zip.part"));
}

TEST_F(DataDownload, AFileThatFailsItsChecksumIsNotKept) {
  const fs::path sum = served("2024-01").string() + ".CHECKSUM";
  std::string text = test::read_file(sum);
  text[0] = text[0] == 'a' ? 'b' : 'a';
  test::write_file(sum, text);
  const run_result r = download("2024-01", "2024-01");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("BTCUSDT-1m-2024-01.zip: SHA-256 mismatch (expected"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out() / "BTCUSDT-1m-2024-01.zip"));
  EXPECT_FALSE(fs::exists(out() / "BTCUSDT-1m-2024-01.zip.part"));
  // Bad arguments are usage errors.
  EXPECT_EQ(run({cats_bin, "data", "download", "--kind", "klines", "--symbol", "BTCUSDT", "--from",
                 "2024-01", "--to", "2024-02"})
                .exit_code,
            2);  // no --interval
  EXPECT_EQ(run({cats_bin, "data", "download", "--kind", "candles", "--symbol", "BTCUSDT", "--from",
                 "2024-01", "--to", "2024-02"})
                .exit_code,
            2);
}

}  // namespace
}  // namespace cats
