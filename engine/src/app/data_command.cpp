// cats data convert: Binance public-data files (klines, trades, aggTrades; CSV or zip) and
// recordings of either version into one block store file (docs/record_format.md, version 2).
#include <chrono>
#include <cstdio>
#include <map>
#include <regex>

#include "cats/record/store.hpp"
#include "cats/replay/replay.hpp"
#include "cli.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

namespace {

const char* const data_usage =
    "usage: cats data convert IN... --out FILE [options]\n"
    "\n"
    "Converts Binance public-data files (klines, trades, aggTrades; .csv or .zip) and .catsrec\n"
    "recordings (version 1 or 2) into one block-store file that `cats backtest` and `cats sweep`\n"
    "read through a memory mapping. Events are merged in time order. The symbol and the kind of a\n"
    "Binance file come from its name (BTCUSDT-1m-2024-01.zip, BTCUSDT-trades-2024-01-02.csv,\n"
    "BTCUSDT-aggTrades-2024-01.zip) unless --symbol and --format say otherwise.";

// What a Binance public-data file name says: "BINANCE:BTCUSDT" and the feed format.
bool from_name(const fs::path& file, std::string& symbol, std::string& format) {
  static const std::regex name(
      R"(^([A-Z0-9]+)-(trades|aggTrades|[0-9]+[smhdwM])-[0-9]{4}-[0-9]{2}(-[0-9]{2})?\.(csv|zip)$)");
  std::smatch m;
  const std::string base = file.filename().string();
  if (!std::regex_match(base, m, name)) return false;
  symbol = "BINANCE:" + m[1].str();
  format = m[2] == "trades"      ? "binance_trades"
           : m[2] == "aggTrades" ? "binance_agg_trades"
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
      if (sym.empty()) sym = "RECORDING:" + fs::path(in).filename().string();
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

int convert(const std::vector<std::string>& args) {
  std::vector<std::string> inputs;
  std::string out, symbol, format, on_error = "stop";
  size_t block_kib = 64;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")("in", po::value(&inputs), "input files")(
      "out,o", po::value(&out)->required(), "the store file to write (.catsrec)")(
      "symbol", po::value(&symbol), "VENUE:SYMBOL of the CSV/zip inputs (default: from the name)")(
      "format", po::value(&format),
      "binance_klines, binance_trades or binance_agg_trades (default: from the name)")(
      "force", "replace FILE if it exists")(
      "on-error", po::value(&on_error)->default_value("stop"),
      "stop, or skip malformed rows and damaged blocks (counted)")(
      "block-kib", po::value(&block_kib)->default_value(64), "records per block, in KiB");
  po::positional_options_description pos;
  pos.add("in", -1);
  po::variables_map vm;
  if (auto rc = parse(args, desc, &pos, vm, data_usage)) return *rc;
  if (inputs.empty()) return usage_error("data convert: no input files");
  if (on_error != "stop" && on_error != "skip")
    return usage_error("--on-error: expected stop or skip, got '" + on_error + "'");
  if (block_kib == 0 || block_kib > 65536)
    return usage_error("--block-kib: expected 1 to 65536, got " + std::to_string(block_kib));
  const bool force = vm.count("force") != 0;
  std::error_code ec;
  if (fs::exists(out, ec) && !force) return usage_error(out + " exists (--force replaces it)");
  for (const std::string& in : inputs) {
    if (fs::exists(out, ec) && fs::equivalent(in, out, ec))
      return usage_error(in + ": the input is the output");
  }
  data_section data;
  data.skip_malformed = on_error == "skip";
  if (auto rc = plan_feeds(inputs, symbol, format, data)) return *rc;

  const auto started = std::chrono::steady_clock::now();
  instrument_registry instruments;
  replay_stream stream(data, instruments);
  if (!stream.open()) {
    std::fprintf(stderr, "cats: %s\n", stream.error().c_str());
    return stream.unreadable() ? exit_usage : exit_failure;
  }
  uint64_t counts[5] = {};  // by market_event::kind
  store_writer_options wo;
  wo.block_bytes = block_kib << 10;
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
    const store_writer_stats& s = writer.stats();
    const replay_stats rs = stream.stats();
    std::printf(
        "%s: %llu events (%llu bars, %llu trades, %llu quotes, %llu books) in %llu blocks, "
        "%.1f MB, %.1f bytes/event, %.2f s\n",
        out.c_str(), static_cast<unsigned long long>(s.records),
        static_cast<unsigned long long>(counts[3]), static_cast<unsigned long long>(counts[1]),
        static_cast<unsigned long long>(counts[2]), static_cast<unsigned long long>(counts[4]),
        static_cast<unsigned long long>(s.blocks), static_cast<double>(s.bytes) / 1e6,
        s.records > 0 ? static_cast<double>(s.bytes) / static_cast<double>(s.records) : 0.0, secs);
    if (rs.skipped > 0) {
      std::printf("skipped %llu malformed rows (--on-error skip); first: %s\n",
                  static_cast<unsigned long long>(rs.skipped),
                  rs.messages.empty() ? "" : rs.messages.front().c_str());
    }
  } catch (const std::exception& e) {
    fs::remove(out + ".part", ec);
    std::fprintf(stderr, "cats: %s\n", e.what());
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace

int data_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::puts(data_usage);
    return args.empty() ? exit_usage : exit_ok;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "convert") return convert(rest);
  return usage_error("data: unknown subcommand '" + args[0] + "' (expected convert)");
}

}  // namespace cats::cli
