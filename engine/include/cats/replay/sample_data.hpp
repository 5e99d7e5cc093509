// Deterministic synthetic market data for demos, tests and benchmarks: a regime-switching random
// walk (calm bull, calm bear, chop, turbulence) with realistic wicks and volume, written in the
// Binance public-data kline layout.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace cats {

struct sample_options {
  uint64_t bars = uint64_t{365} * 1440;          ///< number of bars
  int64_t start_ns = 1'704'067'200'000'000'000;  ///< 2024-01-01T00:00:00Z
  int64_t interval_ns = 60'000'000'000;          ///< 1 minute
  uint64_t seed = 42;
  double start_price = 42'000.0;
  bool microseconds = false;  ///< write times in µs like Binance spot files from 2025
  bool header = false;        ///< write a header row
};

/// Writes the sample to `file`; throws std::runtime_error on I/O errors.
void write_sample_klines(const std::filesystem::path& file, const sample_options& options);
/// The same bars written straight to a block store (.catsrec version 4) under `symbol`; the
/// store equals what `cats data convert` makes of the CSV. microseconds and header do not apply.
void write_sample_store(const std::filesystem::path& file, const sample_options& options,
                        const std::string& symbol = "BINANCE:BTCUSDT");

struct sample_trades_options {
  uint64_t trades = 1'000'000;
  int64_t start_ns = 1'704'067'200'000'000'000;  ///< 2024-01-01T00:00:00Z
  int64_t span_ns = 86'400'000'000'000;          ///< the trades are spread over this long
  uint64_t seed = 42;
  double start_price = 42'000.0;
  bool microseconds = false;
  bool header = false;
};

/// Writes synthetic trades in the Binance spot trades layout
/// (id,price,qty,quote_qty,time,is_buyer_maker,is_best_match): a random walk on a 0.01 tick with
/// bursts of activity, consecutive ids, times that never go back.
void write_sample_trades(const std::filesystem::path& file, const sample_trades_options& options);

}  // namespace cats
