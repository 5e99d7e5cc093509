// cats generate: deterministic sample klines or trades (demos, benchmarks).
#include <cstdio>

#include "cats/replay/sample_data.hpp"
#include "cats/util/time.hpp"
#include "cli.hpp"

namespace cats::cli {

namespace fs = std::filesystem;

int generate_command(const std::vector<std::string>& args) {
  std::string out, interval = "1m", start = "2024-01-01";
  uint64_t bars = 0;
  double days_opt = 0;
  cats::sample_options o;
  po::options_description desc("options");
  desc.add_options()("help,h", "show this help")(
      "out,o", po::value(&out)->required(),
      "output file: CSV, or a block store when it ends in .catsrec")(
      "bars", po::value(&bars), "number of bars (default: one year)")(
      "days", po::value(&days_opt), "number of days instead of --bars")(
      "interval", po::value(&interval)->default_value("1m"),
      "bar interval: 1s, 1m, 15m, 1h, 1d ...")(
      "start", po::value(&start)->default_value("2024-01-01"), "first bar's open time (UTC)")(
      "seed", po::value(&o.seed)->default_value(42), "random seed")(
      "price", po::value(&o.start_price)->default_value(42000.0), "starting price")(
      "micros", "write times in microseconds (Binance spot files from 2025)")("header",
                                                                              "write a header row")(
      "trades", po::value<uint64_t>(),
      "write N trades in the Binance public-data trades layout instead of klines, spread over "
      "--days (default 1)");
  po::variables_map vm;
  if (auto rc = parse(args, desc, nullptr, vm, "usage: cats generate --out FILE [options]"))
    return *rc;
  const auto iv = cats::parse_interval(interval);
  if (!iv)
    return usage_error("--interval: expected a number and s, m, h or d, got '" + interval + "'");
  const auto st = cats::parse_iso8601(start);
  if (!st) return usage_error("--start: expected a date like 2024-01-01, got '" + start + "'");
  if (!(o.start_price > 0)) return usage_error("--price must be positive");
  o.interval_ns = *iv;
  o.start_ns = *st;
  o.microseconds = vm.count("micros") != 0;
  o.header = vm.count("header") != 0;
  if (vm.count("trades") != 0) {
    cats::sample_trades_options t;
    t.trades = vm["trades"].as<uint64_t>();
    if (t.trades == 0) return usage_error("--trades must be > 0");
    t.start_ns = *st;
    t.seed = o.seed;
    t.start_price = o.start_price;
    t.microseconds = o.microseconds;
    t.header = o.header;
    if (vm.count("days") != 0) {
      if (!(days_opt > 0)) return usage_error("--days must be positive");
      t.span_ns = static_cast<int64_t>(days_opt * static_cast<double>(cats::ns_per_day));
    }
    try {
      cats::write_sample_trades(out, t);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cats: %s\n", e.what());
      return exit_failure;
    }
    std::printf("wrote %llu trades to %s\n", static_cast<unsigned long long>(t.trades),
                out.c_str());
    return exit_ok;
  }
  if (vm.count("bars") != 0 && vm.count("days") != 0)
    return usage_error("give --bars or --days, not both");
  if (vm.count("days") != 0) {
    if (!(days_opt > 0)) return usage_error("--days must be positive");
    bars = static_cast<uint64_t>(days_opt * static_cast<double>(cats::ns_per_day) /
                                 static_cast<double>(*iv));
  } else if (vm.count("bars") == 0) {
    bars = static_cast<uint64_t>(365 * cats::ns_per_day / *iv);
  }
  if (bars == 0) return usage_error("nothing to generate (0 bars)");
  o.bars = bars;
  try {
    if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
    if (fs::path(out).extension() == ".catsrec")
      cats::write_sample_store(out, o);  // the block store, as `cats data convert` makes it
    else
      cats::write_sample_klines(out, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cats: %s\n", e.what());
    return exit_failure;
  }
  std::fprintf(stderr, "wrote %llu %s bars from %s to %s\n", static_cast<unsigned long long>(bars),
               interval.c_str(), cats::format_iso8601(o.start_ns).c_str(), out.c_str());
  return exit_ok;
}

}  // namespace cats::cli
