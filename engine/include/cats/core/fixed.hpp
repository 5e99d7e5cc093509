// Exact fixed-point arithmetic on raw cats_fixed_t values (8 decimals).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cats {

__extension__ typedef __int128 int128_t;

inline constexpr int64_t fixed_scale = 100000000;  // 10^8, CATS_FIXED_SCALE

/// |v| (amounts are far from INT64_MIN).
constexpr int64_t abs64(int64_t v) noexcept {
  return v < 0 ? -v : v;
}

enum class parse_error : uint8_t {
  ok = 0,
  empty,              ///< no digits at all
  invalid_character,  ///< anything but digits, one '.', a leading '-' or '+'
  too_many_decimals,  ///< a non-zero digit beyond the 8th decimal
  out_of_range,       ///< larger than int64 allows at scale 10^8 (about 9.2e10)
};

/// Human text for a parse_error ("more than 8 decimal places", ...).
const char* describe(parse_error e) noexcept;

/// THE exact-decimal parser: a decimal string ("46216.93000000", "-0.5", "42066.0"; "1e-3" is
/// refused) into fixed-point. Leading zeros are free; digits beyond the 8th decimal must be zeros;
/// at most 92233720368.54775807. Config values, sweep ranges and anything else that is text of
/// its own use this; the readers of padded buffers use its hot form, parse_fixed_prefix().
parse_error parse_fixed(std::string_view text, int64_t& out) noexcept;

// ---- the hot form -------------------------------------------------------------------------------

/// Eight ASCII digits at a time (SWAR). Binance pads every decimal to 8 places and millisecond
/// timestamps have 13 digits, so most digits of a CSV row or a venue message go through here
/// instead of a byte loop.
namespace swar {
inline uint64_t load8(const char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
/// Every byte of `v` (loaded little-endian) in '0'..'9': the high nibble is 3, and adding 6 does
/// not carry into it.
inline bool all_digits8(uint64_t v) noexcept {
  return (v & 0xF0F0F0F0F0F0F0F0ull) == 0x3030303030303030ull &&
         ((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) == 0x3030303030303030ull;
}
/// The value of 8 digits; the first character is the lowest byte and the most significant digit.
inline uint64_t digits8_value(uint64_t v) noexcept {
  v -= 0x3030303030303030ull;
  v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFull;    // 2-digit numbers in even bytes
  v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFull;  // 4-digit numbers in even 16-bit lanes
  return (v & 0xFFFF) * 10000 + (v >> 32);
}
inline bool is_digit(char c) noexcept {
  return static_cast<unsigned char>(c - '0') <= 9;
}
}  // namespace swar

/// 10^(8 - n): what the integer value of n decimal digits is multiplied by to become fixed point.
inline constexpr uint64_t decimal_scale[9] = {100000000, 10000000, 1000000, 100000, 10000,
                                              1000,      100,      10,      1};

/// The rare ends of parse_fixed_prefix(): an integer part of 12 or more digits (leading zeros
/// do not count) or at the very top of the range. `int_end` is where the integer digits end.
parse_error parse_fixed_wide(const char* start, const char* int_end, uint64_t frac, int fd,
                             int64_t& out) noexcept;

/// parse_fixed()'s rules, for a non-negative decimal inside a buffer the caller owns: parses from
/// `p` up to the first byte that is neither a digit nor '.', and leaves `p` there, for the caller
/// to check its terminator (',' in a CSV row, '"' in JSON) before it trusts `empty` or
/// `out_of_range`. Returns ok, empty (no digit), too_many_decimals (at once, whatever follows) or
/// out_of_range; never invalid_character. Reads up to 8 bytes past the terminator, which must be
/// readable (the CSV line reader's and simdjson's padding).
[[gnu::always_inline]] inline parse_error parse_fixed_prefix(const char*& p,
                                                             int64_t& out) noexcept {
  using namespace swar;
  const char* const start = p;
  // The integer part, up to 8 digits in one step: find the first non-digit of the next 8 bytes,
  // move the digits to the top of the word, pad the bottom with '0' and convert.
  uint64_t ip = 0;
  const uint64_t chunk = load8(p);
  const uint64_t not_digit =
      ((chunk & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
      (((chunk + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull);
  const int n = not_digit == 0 ? 8 : __builtin_ctzll(not_digit) / 8;
  if (n == 1) {  // quantities below 1 ("0.00123000") and single-digit prices
    ip = static_cast<unsigned>(*p - '0');
    p += 1;
  } else if (n == 8) {
    ip = digits8_value(chunk);
    p += 8;
    while (is_digit(*p)) ip = ip * 10 + static_cast<unsigned>(*p++ - '0');
  } else if (n > 0) {
    const int shift = 8 * (8 - n);
    ip = digits8_value((chunk << shift) | (0x3030303030303030ull >> (64 - shift)));
    p += n;
  }
  const char* const int_end = p;
  uint64_t frac = 0;
  int fd = 0;
  if (*p == '.') {
    ++p;
    if (const uint64_t f = load8(p); all_digits8(f)) {
      frac = digits8_value(f);
      fd = 8;
      p += 8;
    } else {
      for (; fd < 8 && is_digit(*p); ++fd, ++p) frac = frac * 10 + static_cast<unsigned>(*p - '0');
    }
    for (; is_digit(*p); ++p)
      if (*p != '0') return parse_error::too_many_decimals;
  }
  if (int_end == start && fd == 0) return parse_error::empty;
  // Up to 11 integer digits below 92233720368 cannot leave the range; anything else is decided
  // out of line (and `ip` may have overflowed then: it is read again there).
  constexpr uint64_t max_int = static_cast<uint64_t>(INT64_MAX) / fixed_scale;
  if (int_end - start > 11 || ip >= max_int) [[unlikely]]
    return parse_fixed_wide(start, int_end, frac, fd, out);
  out = static_cast<int64_t>(ip * fixed_scale + frac * decimal_scale[fd]);
  return parse_error::ok;
}

enum class rounding : uint8_t { down, up, toward_zero, nearest };

/// a / b rounded as asked (b > 0 or b < 0, never 0).
int128_t div_round(int128_t a, int128_t b, rounding mode) noexcept;

/// a * b / 10^8: the product of two fixed values, rounded as asked.
///
/// Mostly in 64 bits: with b = hi * 10^8 + lo (lo has b's sign), a * b / 10^8 is exactly
/// a * hi + a * lo / 10^8, and the two terms have one sign, so rounding the second rounds the sum
/// in every mode. When a product does not fit (|a| beyond 9.2e10, 922 units), the 128-bit path
/// gives the same answer. A division by the constant 10^8 is a multiply; the 128-bit one is a
/// library call (this runs for every bar that marks a position).
inline int64_t fixed_mul(int64_t a, int64_t b, rounding mode) noexcept {
  const int64_t hi = b / fixed_scale, lo = b % fixed_scale;
  int64_t whole = 0, part = 0;
  if (!__builtin_mul_overflow(a, hi, &whole) && !__builtin_mul_overflow(a, lo, &part)) {
    int64_t q = part / fixed_scale;
    const int64_t r = part % fixed_scale;
    if (r != 0) {
      switch (mode) {
        case rounding::toward_zero:
          break;
        case rounding::down:
          q -= part < 0 ? 1 : 0;
          break;
        case rounding::up:
          q += part > 0 ? 1 : 0;
          break;
        case rounding::nearest:
          if ((r < 0 ? -r : r) * 2 >= fixed_scale) q += part < 0 ? -1 : 1;
          break;
      }
    }
    int64_t out = 0;
    if (!__builtin_add_overflow(whole, q, &out)) return out;
  }
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
