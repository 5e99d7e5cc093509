// Exact fixed-point arithmetic on raw cats_fixed_t values (8 decimals).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cats {

__extension__ typedef __int128 int128_t;

inline constexpr int64_t fixed_scale = 100000000;  // 10^8, CATS_FIXED_SCALE

enum class parse_error : uint8_t {
  ok = 0,
  empty,              ///< no digits at all
  invalid_character,  ///< anything but digits, one '.', a leading '-' or '+'
  too_many_decimals,  ///< a non-zero digit beyond the 8th decimal
  out_of_range,       ///< larger than int64 allows at scale 10^8 (about 9.2e10)
};

/// Human text for a parse_error ("more than 8 decimal places", ...).
const char* describe(parse_error e) noexcept;

/// Parses a decimal string ("46216.93000000", "-0.5", "42066.0", "1e-3" is refused) exactly into
/// fixed-point. Trailing zeros beyond 8 decimals are accepted; anything else there is refused.
parse_error parse_fixed(std::string_view text, int64_t& out) noexcept;

enum class rounding : uint8_t { down, up, toward_zero, nearest };

/// a / b rounded as asked (b > 0 or b < 0, never 0).
int128_t div_round(int128_t a, int128_t b, rounding mode) noexcept;

/// a * b / 10^8: the product of two fixed values, rounded as asked.
inline int64_t fixed_mul(int64_t a, int64_t b, rounding mode) noexcept {
  return static_cast<int64_t>(div_round(static_cast<int128_t>(a) * b, fixed_scale, mode));
}

/// a * 10^8 / b: the quotient of two fixed values, rounded as asked.
inline int64_t fixed_div(int64_t a, int64_t b, rounding mode) noexcept {
  return static_cast<int64_t>(div_round(static_cast<int128_t>(a) * fixed_scale, b, mode));
}

/// Rounds `v` to a multiple of `step` (step <= 0 leaves it unchanged).
inline int64_t round_to_step(int64_t v, int64_t step, rounding mode) noexcept {
  if (step <= 0) return v;
  return static_cast<int64_t>(div_round(v, step, mode)) * step;
}

/// Nearest fixed value to a double; false for NaN or out of range.
bool fixed_from_double(double v, int64_t& out) noexcept;

inline double fixed_to_double(int64_t v) noexcept {
  return static_cast<double>(v) / static_cast<double>(fixed_scale);
}

/// Writes the exact decimal text of `v` without trailing zeros into `buf` (at least 24 bytes);
/// returns the length.
int format_fixed(int64_t v, char* buf) noexcept;
std::string fixed_to_string(int64_t v);

/// The exact decimal text of `v` in a small buffer, without allocating: json_writer::number(
/// fixed_text(v)) writes an amount as a JSON number.
class fixed_text {
 public:
  explicit fixed_text(int64_t v) noexcept : size_(format_fixed(v, buf_)) {}
  operator std::string_view() const noexcept { return {buf_, static_cast<size_t>(size_)}; }

 private:
  char buf_[32];
  int size_;
};

/// The same with exactly `decimals` digits after the point (rounded to nearest, ties away).
std::string fixed_to_string(int64_t v, int decimals);

}  // namespace cats
