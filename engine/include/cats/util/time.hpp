// Calendar conversions for UTC timestamps in nanoseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace cats {

inline constexpr int64_t ns_per_ms = 1'000'000;
inline constexpr int64_t ns_per_s = 1'000'000'000;
inline constexpr int64_t ns_per_day = 86'400 * ns_per_s;

/// Days since 1970-01-01 for a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept;
/// Whether every day of year `y` fits in int64 nanoseconds since the epoch (1678 to 2261).
constexpr bool year_fits_ns(int64_t y) noexcept {
  return y >= 1678 && y <= 2261;
}

struct civil_time {
  int64_t year;
  unsigned month, day, hour, minute, second;
  int64_t nanos;
};
civil_time to_civil(int64_t ts_ns) noexcept;

/// "2024-01-31T23:59:00Z"; sub-second digits are added only when present (".123Z").
std::string format_iso8601(int64_t ts_ns);
/// Writes the seconds-precision form ("2024-01-31T23:59:00Z", 20 chars) into buf; returns 20.
int format_iso8601_seconds(int64_t ts_ns, char* buf) noexcept;

/// Accepts "2024-01-31", "2024-01-31T12:00:00", "2024-01-31 12:00", with optional "Z".
std::optional<int64_t> parse_iso8601(std::string_view text) noexcept;

/// "1m", "15m", "1h", "4h", "1d" for whole-unit intervals, else "N s".
std::string format_interval(int64_t interval_ns);
/// The units a duration may be written in (a bit set).
enum duration_unit : unsigned {
  duration_ns = 1,
  duration_us = 2,
  duration_ms = 4,
  duration_s = 8,
  duration_m = 16,  ///< minutes
  duration_h = 32,
  duration_d = 64,
  duration_w = 128,
};
/// What a caller accepts of a duration.
struct duration_rules {
  unsigned units = 0;             ///< duration_unit bits
  bool fractions = false;         ///< "1.5ms"
  bool bare_zero = false;         ///< "0" without a unit
  bool positive = false;          ///< refuse 0
  int64_t max_count = INT64_MAX;  ///< largest whole number of units
  int64_t max_ns = INT64_MAX;
};
/// THE duration parser: "<number><unit>" (digits, with a fraction where allowed: "1.5ms") into ns
/// exactly, with no floating point and nothing finer than 1 ns. Nothing for anything else.
std::optional<int64_t> parse_duration(std::string_view text, const duration_rules& rules) noexcept;
/// A bar interval: a positive whole number and a unit, s, m, h, d or w ("1m", "15m", "4h", "1d"),
/// at most 10^7 units and ten years.
std::optional<int64_t> parse_interval(std::string_view text) noexcept;
/// "3d 04:05:06" style duration.
std::string format_duration(int64_t ns);

}  // namespace cats

namespace cats {
/// Wall-clock time, ns since the Unix epoch (CLOCK_REALTIME).
int64_t wall_clock_ns() noexcept;
/// A clock that NTP does not step (CLOCK_MONOTONIC), in ns: for measuring how long something took.
int64_t steady_clock_ns() noexcept;
}  // namespace cats
