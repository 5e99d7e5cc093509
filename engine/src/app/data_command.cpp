// cats data convert: Binance public-data files (klines, trades, aggTrades; CSV or zip) and
// recordings of either version into one block store file (docs/record_format.md, the block store).
// cats data download: those archives from the public-data site, checked and resumed.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "cats/net/download.hpp"
#include "cats/record/store.hpp"
#include "cats/replay/replay.hpp"
#include "cats/util/cpu.hpp"
#include "cats/util/time.hpp"
#include "cli.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

namespace {

const char* const data_usage =
    "usage: cats data convert IN... --out FILE [options]\n"
    "\n"
    "Converts Binance public-data files (klines, trades, aggTrades; .csv or .zip) and .catsrec\n"
    "recordings (any version) into one block-store file that `cats backtest` and `cats sweep`\n"
    "read through a memory mapping. Events are merged in time order. The symbol and the kind of a\n"
    "Binance file come from its name (BTCUSDT-1m-2024-01.zip, BTCUSDT-trades-2024-01-02.csv,\n"
    "BTCUSDT-aggTrades-2024-01.zip) unless --symbol and --format say otherwise.";

// What a Binance public-data file name says: "BINANCE:BTCUSDT" and the feed format. Names look
// like SYMBOL-KIND-YYYY-MM[-DD].(csv|zip), KIND being an interval (1s, 15m, 4h, 1d, 1w, 1mo),
// "trades" or "aggTrades". (Parsed by hand: std::regex trips GCC 12's uninitialized-use check
// in sanitizer builds.)
bool from_name(const fs::path& file, std::string& symbol, std::string& format) {
  std::string base = file.filename().string();
  if (!base.ends_with(".csv") && !base.ends_with(".zip")) return false;
  base.resize(base.size() - 4);
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    const size_t dash = base.find('-', at);
    parts.push_back(base.substr(at, dash - at));
    if (dash == std::string::npos) break;
    at = dash + 1;
  }
  auto digits = [](const std::string& t, size_t n) {
    return t.size() == n &&
           std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (parts.size() != 4 && parts.size() != 5) return false;
  const std::string& sym = parts[0];
  const std::string& kind = parts[1];
  if (sym.empty() || !std::all_of(sym.begin(), sym.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      }))
    return false;
  if (!digits(parts[2], 4) || !digits(parts[3], 2) || (parts.size() == 5 && !digits(parts[4], 2)))
    return false;
  const size_t unit = kind.find_first_not_of("0123456789");
  const bool interval =
      kind == "1mo" || (unit != std::string::npos && unit > 0 && unit + 1 == kind.size() &&
                        std::string("smhdw").find(kind[unit]) != std::string::npos);
  if (kind != "trades" && kind != "aggTrades" && !interval) return false;
  symbol = "BINANCE:" + sym;
  format = kind == "trades"      ? "binance_trades"
           : kind == "aggTrades" ? "binance_agg_trades"
                                 : "binance_klines";
  return true;
}

// One feed per (symbol, format), files in the order given.
std::optional<int> plan_feeds(const std::vector<std::string>& inputs, const std::string& symbol,
                              const std::string& format, data_section& data) {
  std::map<std::pair<std::string, std::string>, size_t> feed_of;
  for (const std::string& in : inputs) {
    std::string sym = symbol, fmt = format;
    int version = 0;
    try {
      version = record_file_version(in);
    } catch (const std::exception& e) {
      return usage_error(e.what());
    }
    if (version != 0) {
      fmt = "cats_record";
      if (sym.empty()) sym = "RECORDING:" + in;  // one feed per recording file: all merged
    } else {
      std::string named_sym, named_fmt;
      const bool named = from_name(in, named_sym, named_fmt);
      if (sym.empty()) sym = named_sym;
      if (fmt.empty()) fmt = named_fmt;
      if (sym.empty() || fmt.empty()) {
        return usage_error(in + ": cannot tell the " + (sym.empty() ? "symbol" : "kind") +
                           " from the file name (Binance names look like BTCUSDT-1m-2024-01.zip)"
                           "; give --symbol VENUE:SYMBOL and --format");
      }
      if (!named && fmt != "binance_klines" && fmt != "binance_trades" &&
          fmt != "binance_agg_trades") {
        return usage_error(
            "--format: expected binance_klines, binance_trades or "
            "binance_agg_trades, got '" +
            fmt + "'");
      }
    }
    const auto key = std::pair{sym, fmt};
    auto [it, added] = feed_of.emplace(key, data.feeds.size());
    if (added) {
      feed_section f;
      f.symbol = sym;
      f.format = fmt;
      f.where = in;
      data.feeds.push_back(std::move(f));
    }
    data.feeds[it->second].files.emplace_back(in);
  }
  return std::nullopt;
}

struct convert_options {
  std::string symbol, format;
  bool skip = false, force = false;
  size_t block_kib = 64;
  int threads = 0;  // 0: every core this process may use
};

int convert_files(const std::vector<std::string>& inputs, const std::string& out,
                  const convert_options& o) {
  std::error_code ec;
  if (fs::exists(out, ec) && !o.force) return usage_error(out + " exists (--force replaces it)");
  for (const std::string& in : inputs) {
    if (fs::exists(out, ec) && fs::equivalent(in, out, ec))
      return usage_error(in + ": the input is the output");
  }
  data_section data;
  data.skip_malformed = o.skip;
  if (auto rc = plan_feeds(inputs, o.symbol, o.format, data)) return *rc;

  const auto started = std::chrono::steady_clock::now();
  instrument_registry instruments;
  // Plain kline files are parsed on several threads; the rows and their order are the same.
  replay_stream stream(data, instruments,
                       o.threads != 0 ? static_cast<unsigned>(o.threads) : usable_cores());
  if (!stream.open()) {
    std::fprintf(stderr, "cats: %s\n", stream.error().c_str());
    return stream.unreadable() ? exit_usage : exit_failure;
  }
  uint64_t counts[5] = {};  // by market_event::kind
  store_writer_options wo;
  wo.block_bytes = o.block_kib << 10;
  wo.replace = true;  // written to FILE.part, renamed when whole
  try {
    if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
    store_writer writer(out, wo);
    while (const market_event* e = stream.next()) {
      if (e->built) continue;  // bars built from trades are the replay's, not the data's
      const instrument_info* inst = instruments.get(e->instrument_id());
      if (inst == nullptr) throw std::logic_error("event of an unregistered instrument");
      writer.append(inst->symbol, *e);
      ++counts[static_cast<int>(e->type)];
    }
    if (!stream.error().empty()) throw std::runtime_error(stream.error());
    writer.close();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const store_writer_stats& st = writer.stats();
    const replay_stats rs = stream.stats();
    std::printf(
        "%s: %llu events (%llu bars, %llu trades, %llu quotes, %llu books) in %llu blocks, "
        "%.1f MB, %.1f bytes/event, %.2f s\n",
        out.c_str(), static_cast<unsigned long long>(st.records),
        static_cast<unsigned long long>(counts[3]), static_cast<unsigned long long>(counts[1]),
        static_cast<unsigned long long>(counts[2]), static_cast<unsigned long long>(counts[4]),
        static_cast<unsigned long long>(st.blocks), static_cast<double>(st.bytes) / 1e6,
        st.records > 0 ? static_cast<double>(st.bytes) / static_cast<double>(st.records) : 0.0,
        secs);
    if (rs.skipped > 0 || rs.damaged_blocks > 0) {
      std::printf(
          "skipped %llu malformed rows and %llu damaged blocks (--on-error skip); "
          "first: %s\n",
          static_cast<unsigned long long>(rs.skipped),
          static_cast<unsigned long long>(rs.damaged_blocks),
          rs.messages.empty() ? "" : rs.messages.front().c_str());
    }
  } catch (const std::exception& e) {
    fs::remove(out + ".part", ec);
    std::fprintf(stderr, "cats: %s\n", e.what());
    return exit_failure;
  }
  return exit_ok;
}

int convert(const std::vector<std::string>& args) {
  std::vector<std::string> inputs;
  std::string out, on_error = "stop";
  convert_options o;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("in", po::value(&inputs), "input files")(
      "out,o", po::value(&out)->required(), "the store file to write (.catsrec)")(
      "symbol", po::value(&o.symbol),
      "VENUE:SYMBOL of the CSV/zip inputs (default: from the name)")(
      "format", po::value(&o.format),
      "binance_klines, binance_trades or binance_agg_trades (default: from the name)")(
      "force", "replace FILE if it exists")(
      "on-error", po::value(&on_error)->default_value("stop"),
      "stop, or skip malformed rows and damaged blocks (counted)")(
      "block-kib", po::value(&o.block_kib)->default_value(64), "records per block, in KiB")(
      "threads", po::value(&o.threads)->default_value(0),
      "threads that parse plain kline files (0: every core this process may use)");
  po::positional_options_description pos;
  pos.add("in", -1);
  po::variables_map vm;
  if (auto rc = parse(args, desc, &pos, vm, data_usage)) return *rc;
  if (inputs.empty()) return usage_error("data convert: no input files");
  if (on_error != "stop" && on_error != "skip")
    return usage_error("--on-error: expected stop or skip, got '" + on_error + "'");
  if (o.block_kib == 0 || o.block_kib > 65536)
    return usage_error("--block-kib: expected 1 to 65536, got " + std::to_string(o.block_kib));
  if (o.threads < 0 || o.threads > 256)
    return usage_error("--threads: expected 0 to 256, got " + std::to_string(o.threads));
  o.force = vm.count("force") != 0;
  o.skip = on_error == "skip";
  return convert_files(inputs, out, o);
}

// ---- download -----------------------------------------------------------------------------

const char* const download_usage =
    "usage: cats data download --kind klines|trades|aggTrades --symbol SYMBOL [--interval 1m]\n"
    "                          --from YYYY-MM --to YYYY-MM [--daily] [options]\n"
    "\n"
    "Fetches Binance public-data archives (data.binance.vision layout) into --dir, checks each\n"
    "against the SHA-256 of its .CHECKSUM file, resumes a partial download where it stopped,\n"
    "and keeps files already there that pass their checksum. --store FILE converts what was\n"
    "fetched into one block-store file.";

struct download_plan {
  std::string base, market = "spot", kind, symbol, interval, dir = "data/binance";
  bool daily = false;
  net::download_options net;
};

// The periods to fetch: months "YYYY-MM", or days "YYYY-MM-DD" with --daily.
std::optional<std::vector<std::string>> periods(const std::string& from, const std::string& to,
                                                bool daily, std::string& error) {
  auto start = parse_iso8601(from.size() == 7 ? from + "-01" : from);
  auto end_at = parse_iso8601(to.size() == 7 ? to + "-01" : to);
  if (!start || (from.size() != 7 && !(daily && from.size() == 10))) {
    error = "--from: expected YYYY-MM" + std::string(daily ? " or YYYY-MM-DD" : "") + ", got '" +
            from + "'";
    return std::nullopt;
  }
  if (!end_at || (to.size() != 7 && !(daily && to.size() == 10))) {
    error = "--to: expected YYYY-MM" + std::string(daily ? " or YYYY-MM-DD" : "") + ", got '" + to +
            "'";
    return std::nullopt;
  }
  std::vector<std::string> out;
  if (!daily) {
    for (civil_time c = to_civil(*start);;) {
      char b[16];
      std::snprintf(b, sizeof b, "%04lld-%02u", static_cast<long long>(c.year), c.month);
      if (std::string(b) > to.substr(0, 7)) break;
      out.emplace_back(b);
      if (++c.month > 12) {
        c.month = 1;
        ++c.year;
      }
    }
  } else {
    int64_t last = *end_at;
    if (to.size() == 7) {  // the whole last month
      civil_time c = to_civil(*end_at);
      for (int64_t t = *end_at; to_civil(t).month == c.month; t += ns_per_day) last = t;
    }
    for (int64_t t = *start; t <= last; t += ns_per_day)
      out.push_back(format_iso8601(t).substr(0, 10));
  }
  if (out.empty()) error = "--from is after --to";
  if (out.size() > 100000) error = "more than 100000 files";
  if (!error.empty()) return std::nullopt;
  return out;
}

// The expected SHA-256 from a .CHECKSUM body ("<64 hex>  <name>").
std::optional<std::string> checksum_of(const std::string& text, const std::string& name) {
  if (text.size() < 64) return std::nullopt;
  std::string hex = text.substr(0, 64);
  for (char& c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (text.find(name) == std::string::npos) return std::nullopt;
  return hex;
}

// One archive: there already and whole, or fetched (resumed), then checked. Empty when good.
std::string fetch_one(const download_plan& p, const std::string& period, fs::path& file) {
  const std::string what = p.kind == "klines" ? p.interval : p.kind;
  const std::string name = p.symbol + "-" + what + "-" + period + ".zip";
  const std::string url = p.base + "/data/" + p.market + "/" + (p.daily ? "daily" : "monthly") +
                          "/" + p.kind + "/" + p.symbol + "/" +
                          (p.kind == "klines" ? p.interval + "/" : "") + name;
  file = fs::path(p.dir) / name;
  const fs::path sum_file = file.string() + ".CHECKSUM";
  std::string sum_text;
  const net::download_result sum = net::fetch_text(url + ".CHECKSUM", sum_text, p.net);
  std::error_code ec;
  if (!sum.error.empty()) {
    // The site does not answer: a file already here still counts if its saved checksum holds.
    std::ifstream saved(sum_file);
    std::string text((std::istreambuf_iterator<char>(saved)), std::istreambuf_iterator<char>());
    const std::optional<std::string> kept = checksum_of(text, name);
    if (sum.status != 404 && kept && fs::exists(file, ec) && net::sha256_file(file) == *kept) {
      std::printf("%s: already here, sha256 ok against the saved .CHECKSUM (%s)\n", name.c_str(),
                  sum.error.c_str());
      return {};
    }
    return sum.error;
  }
  const std::optional<std::string> want = checksum_of(sum_text, name);
  if (!want) return url + ".CHECKSUM: expected \"<64 hex digits>  " + name + "\"";
  if (fs::exists(file, ec) && net::sha256_file(file) == *want) {
    std::printf("%s: already here, sha256 ok\n", name.c_str());
    return {};
  }
  fs::remove(file, ec);  // not the file the checksum names: fetched again
  for (int round = 0; round < 2; ++round) {
    const bool tty = ::isatty(2) != 0;
    net::download_options o = p.net;
    o.progress = [&](uint64_t done, uint64_t total) {
      if (tty)
        std::fprintf(stderr, "\r%s  %.1f / %.1f MB   ", name.c_str(),
                     static_cast<double>(done) / 1e6, static_cast<double>(total) / 1e6);
    };
    const net::download_result r = net::download_file(url, file, o);
    if (tty) std::fputc('\n', stderr);
    if (!r.error.empty()) return r.error;
    const std::string got = net::sha256_file(file);
    if (got == *want) {
      std::ofstream(sum_file) << sum_text;
      std::printf("%s: %.1f MB, sha256 ok%s\n", name.c_str(), static_cast<double>(r.bytes) / 1e6,
                  r.resumed        ? " (resumed a partial download)"
                  : r.attempts > 1 ? (" (" + std::to_string(r.attempts) + " attempts)").c_str()
                                   : "");
      return {};
    }
    // A damaged partial file or a bad transfer: start again from nothing, once.
    fs::remove(file, ec);
    if (round == 1)
      return name + ": SHA-256 mismatch (expected " + *want + ", got " + got + "); deleted";
    std::fprintf(stderr, "cats: %s: SHA-256 mismatch; fetching it again from the start\n",
                 name.c_str());
  }
  return {};
}

int download(const std::vector<std::string>& args) {
  download_plan p;
  std::string venue = "binance", from, to, store, ca_file;
  int64_t timeout_s = 30;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")(
      "venue", po::value(&venue)->default_value("binance"), "binance (public data)")(
      "kind", po::value(&p.kind)->required(), "klines, trades or aggTrades")(
      "symbol", po::value(&p.symbol)->required(), "the venue's symbol, BTCUSDT")(
      "interval", po::value(&p.interval), "klines: 1s, 1m, 5m, 1h, 1d ...")(
      "from", po::value(&from)->required(), "first month YYYY-MM (or day with --daily)")(
      "to", po::value(&to)->required(), "last month YYYY-MM (or day with --daily)")(
      "daily", "daily files instead of monthly ones")(
      "market", po::value(&p.market)->default_value("spot"), "spot, futures/um or futures/cm")(
      "dir", po::value(&p.dir)->default_value("data/binance"), "where the archives go")(
      "base-url", po::value(&p.base)->default_value("https://data.binance.vision"),
      "the public-data site")("ca-file", po::value(&ca_file), "an extra trusted CA (PEM)")(
      "timeout", po::value(&timeout_s)->default_value(30),
      "seconds of silence that end an attempt")(
      "store", po::value(&store), "convert what was fetched into this block-store file")(
      "force", "replace the --store file if it exists");
  po::variables_map vm;
  if (auto rc = parse(args, desc, nullptr, vm, download_usage)) return *rc;
  if (venue != "binance")
    return usage_error("--venue: only binance publishes public data archives");
  if (p.kind != "klines" && p.kind != "trades" && p.kind != "aggTrades")
    return usage_error("--kind: expected klines, trades or aggTrades, got '" + p.kind + "'");
  if (p.kind == "klines" && !parse_interval(p.interval))
    return usage_error("--interval: klines need one (1s, 1m, 1h, 1d ...), got '" + p.interval +
                       "'");
  if (p.symbol.empty() ||
      p.symbol.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos)
    return usage_error("--symbol: expected a Binance symbol like BTCUSDT, got '" + p.symbol + "'");
  if (p.market != "spot" && p.market != "futures/um" && p.market != "futures/cm")
    return usage_error("--market: expected spot, futures/um or futures/cm");
  if (timeout_s <= 0) return usage_error("--timeout must be positive");
  while (!p.base.empty() && p.base.back() == '/') p.base.pop_back();
  p.daily = vm.count("daily") != 0;
  p.net.tls.ca_file = ca_file;
  p.net.timeout = std::chrono::seconds(timeout_s);
  std::string error;
  const auto list = periods(from, to, p.daily, error);
  if (!list) return usage_error(error);
  std::error_code ec;
  fs::create_directories(p.dir, ec);
  if (ec) return usage_error("--dir: cannot create " + p.dir + ": " + ec.message());
  std::vector<std::string> fetched, failed;
  for (const std::string& period : *list) {
    fs::path file;
    std::string err;
    try {
      err = fetch_one(p, period, file);
    } catch (const std::exception& e) {
      err = e.what();
    }
    if (err.empty()) {
      fetched.push_back(file.string());
    } else {
      std::fprintf(stderr, "cats: %s\n", err.c_str());
      failed.push_back(err);
    }
  }
  std::printf("%zu of %zu files here and checked in %s\n", fetched.size(), list->size(),
              p.dir.c_str());
  if (!failed.empty()) {
    std::fprintf(stderr, "cats: %zu files failed (run the same command again to resume)\n",
                 failed.size());
    return exit_failure;
  }
  if (store.empty()) return exit_ok;
  convert_options o;
  o.force = vm.count("force") != 0;
  return convert_files(fetched, store, o);
}

}  // namespace

int data_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s\n\n%s\n", data_usage, download_usage);
    return args.empty() ? exit_usage : exit_ok;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "convert") return convert(rest);
  if (args[0] == "download") return download(rest);
  return usage_error("data: unknown subcommand '" + args[0] + "' (expected convert or download)");
}

}  // namespace cats::cli
