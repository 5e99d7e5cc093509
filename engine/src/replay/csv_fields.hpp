// Field parsers shared by the public-data CSV readers (klines, trades, aggTrades): exact
// fixed-point decimals and integers with SWAR steps for Binance's padded 8-decimal numbers.
// Internal to the engine; every function here relies on the line_reader guarantees (see
// cats/util/byte_source.hpp): the byte at a line's end is not a digit, '.' or ',', and at least
// 8 readable bytes follow it.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "cats/core/fixed.hpp"

namespace cats::csv {

// Millisecond epochs stay below 1e14 until the year 5138; microsecond epochs pass 1e14 in 1973.
constexpr int64_t us_threshold = 100'000'000'000'000;
constexpr int64_t ns_threshold = 100'000'000'000'000'000;

/// What was wrong with a field; `missing` and `extra` mean the row has too few or too many
/// columns.
enum class field_error : uint8_t {
  none,
  empty,
  bad_char,
  too_many_decimals,
  range,
  missing,
  extra
};

inline bool is_digit(char c) {
  return static_cast<unsigned char>(c - '0') <= 9;
}

// Eight ASCII digits at once (SWAR). Binance pads every decimal to 8 places and millisecond
// timestamps have 13 digits, so most digits of a row go through here instead of a byte loop.
inline uint64_t load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline bool all_digits8(uint64_t v) {
  // Every byte in '0'..'9': the high nibble is 3, and adding 6 does not carry into it.
  return (v & 0xF0F0F0F0F0F0F0F0ull) == 0x3030303030303030ull &&
         ((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) == 0x3030303030303030ull;
}
inline uint64_t digits8_value(uint64_t v) {
  // Little-endian: the first character is the lowest byte and the most significant digit.
  v -= 0x3030303030303030ull;
  v = (v * 10 + (v >> 8)) & 0x00FF00FF00FF00FFull;    // 2-digit numbers in even bytes
  v = (v * 100 + (v >> 16)) & 0x0000FFFF0000FFFFull;  // 4-digit numbers in even 16-bit lanes
  return (v & 0xFFFF) * 10000 + (v >> 32);
}

// The field parsers below rely on the line ending in a character that is not a digit, '.' or
// ',' (the newline, or the sentinel the reader keeps after the data), and on at least 8 readable
// bytes after it (the buffer's padding), so their loops need no bounds checks.

// Parses an unsigned integer field that must end with ','; advances p past the comma.
[[gnu::always_inline]] inline field_error parse_int(const char*& p, const char* end, int64_t& out) {
  if (p >= end) return field_error::missing;
  const char* s = p;
  uint64_t v = 0;
  if (const uint64_t chunk = load8(p); all_digits8(chunk)) {
    v = digits8_value(chunk);
    p += 8;
  }
  while (is_digit(*p)) {
    v = v * 10 + static_cast<unsigned>(*p - '0');
    ++p;
  }
  if (p - s > 18) return field_error::range;
  if (*p != ',') return p >= end ? field_error::missing : field_error::bad_char;
  if (p == s) return field_error::empty;
  ++p;
  out = static_cast<int64_t>(v);
  return field_error::none;
}

// Parses a non-negative decimal field exactly into fixed point; same contract as parse_int.
// Values with more than 8 decimals are refused unless the extra digits are zeros.
[[gnu::always_inline]] inline field_error parse_decimal(const char*& p, const char* end,
                                                        int64_t& out) {
  if (p >= end) return field_error::missing;
  const char* s = p;
  uint64_t ip = 0;
  // The integer part, up to 8 digits in one step: find the first non-digit of the next 8 bytes,
  // move the digits to the top of the word, pad the bottom with '0' and convert.
  const uint64_t chunk = load8(p);
  const uint64_t not_digit =
      ((chunk & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull) |
      (((chunk + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) ^ 0x3030303030303030ull);
  const int n = not_digit == 0 ? 8 : __builtin_ctzll(not_digit) / 8;
  if (n == 8) {
    ip = digits8_value(chunk);
    p += 8;
    while (is_digit(*p)) {
      ip = ip * 10 + static_cast<unsigned>(*p - '0');
      ++p;
    }
  } else if (n > 0) {
    const int shift = 8 * (8 - n);
    ip = digits8_value((chunk << shift) | (0x3030303030303030ull >> (64 - shift)));
    p += n;
  }
  const long int_digits = p - s;
  uint64_t frac = 0;
  int fd = 0;
  if (*p == '.') {
    ++p;
    if (const uint64_t chunk = load8(p); all_digits8(chunk)) {
      frac = digits8_value(chunk);
      fd = 8;
      p += 8;
    } else {
      while (fd < 8 && is_digit(*p)) {
        frac = frac * 10 + static_cast<unsigned>(*p - '0');
        ++fd;
        ++p;
      }
    }
    while (is_digit(*p)) {
      if (*p != '0') return field_error::too_many_decimals;
      ++p;
    }
    if (int_digits == 0 && fd == 0) return p >= end ? field_error::missing : field_error::bad_char;
  }
  if (*p != ',') return p >= end ? field_error::missing : field_error::bad_char;
  if (int_digits == 0 && fd == 0) return field_error::empty;
  if (int_digits > 11 || ip > static_cast<uint64_t>(INT64_MAX) / fixed_scale - 1)
    return field_error::range;
  static constexpr uint64_t scale_for[9] = {100000000, 10000000, 1000000, 100000, 10000,
                                            1000,      100,      10,      1};
  ++p;
  out = static_cast<int64_t>(ip * fixed_scale + frac * scale_for[fd]);
  return field_error::none;
}

// Skips the last column (Binance's "ignore"); anything without a comma is accepted.
inline field_error skip_field(const char*& p, const char* end) {
  while (p < end && *p != ',') ++p;
  return p == end ? field_error::none : field_error::bad_char;
}

inline std::string show(const char* b, const char* e) {
  std::string s(b, static_cast<size_t>(e - b));
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Parses True/False/true/false. The last column of a row ends at `end`, any other one at ','
// (p is then moved past it); what follows decides between a bad value and a wrong column count.
[[gnu::always_inline]] inline field_error parse_bool(const char*& p, const char* end, bool last,
                                                     bool& out) {
  if (p >= end) return field_error::missing;
  const char* s = p;
  // Compared byte by byte: GCC calls memcmp for these, and this runs once or twice per row.
  if ((*p == 'T' || *p == 't') && end - p >= 4 && p[1] == 'r' && p[2] == 'u' && p[3] == 'e') {
    out = true;
    p += 4;
  } else if ((*p == 'F' || *p == 'f') && end - p >= 5 && p[1] == 'a' && p[2] == 'l' &&
             p[3] == 's' && p[4] == 'e') {
    out = false;
    p += 5;
  }
  if (last) {
    if (p == end && p != s) return field_error::none;
    while (p < end && *p != ',') ++p;
    return p < end ? field_error::extra : field_error::bad_char;
  }
  if (p < end && *p == ',' && p != s) {
    ++p;
    return field_error::none;
  }
  while (p < end && *p != ',') ++p;
  return p < end ? field_error::bad_char : field_error::missing;
}

}  // namespace cats::csv
