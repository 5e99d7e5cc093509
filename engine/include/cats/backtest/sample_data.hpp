// Deterministic synthetic market data for demos, tests and benchmarks: a regime-switching random
// walk (calm bull, calm bear, chop, turbulence) with realistic wicks and volume, written in the
// Binance public-data kline layout.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace cats {

struct sample_options {
  uint64_t bars = uint64_t{365} * 1440;                    ///< number of bars
  int64_t start_ns = 1'704'067'200'000'000'000;  ///< 2024-01-01T00:00:00Z
  int64_t interval_ns = 60'000'000'000;          ///< 1 minute
  uint64_t seed = 42;
  double start_price = 42'000.0;
  bool microseconds = false;  ///< write times in µs like Binance spot files from 2025
  bool header = false;        ///< write a header row
};

/// Writes the sample to `file`; throws std::runtime_error on I/O errors.
void write_sample_klines(const std::filesystem::path& file, const sample_options& options);

}  // namespace cats
