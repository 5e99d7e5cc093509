// Field parsers shared by the public-data CSV readers (klines, trades, aggTrades): exact
// fixed-point decimals (core's one decimal parser) and integers with SWAR steps.
// Internal to the engine; every function here relies on the line_reader guarantees (see
// cats/util/byte_source.hpp): the byte at a line's end is not a digit, '.' or ',', and at least
// 8 readable bytes follow it.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "cats/core/fixed.hpp"
#include "cats/replay/kline_csv.hpp"

namespace cats::csv {

// Millisecond epochs stay below 1e14 until the year 5138; microsecond epochs pass 1e14 in 1973.
constexpr int64_t us_threshold = 100'000'000'000'000;
constexpr int64_t ns_threshold = 100'000'000'000'000'000;
// Below 1e11 a millisecond epoch is before 1973-03-03: such a time is in seconds (from 1e9,
// 2001-09-09, to 1e11, the year 5138), which exporters other than the venues write. Read as
// milliseconds it would put the data in January 1970.
constexpr int64_t ms_threshold = 100'000'000'000;
constexpr int64_t s_floor = 1'000'000'000;

/// The unit of an epoch time in a venue file; unknown when it is none of them (before 2001).
constexpr time_unit unit_of(int64_t t) noexcept {
  if (t >= ns_threshold || t < s_floor) return time_unit::unknown;
  return t >= us_threshold   ? time_unit::microseconds
         : t >= ms_threshold ? time_unit::milliseconds
                             : time_unit::seconds;
}
/// Nanoseconds per unit.
constexpr int64_t ns_per(time_unit u) noexcept {
  return u == time_unit::microseconds ? 1'000 : u == time_unit::seconds ? 1'000'000'000 : 1'000'000;
}
inline const char* unit_name(time_unit u) noexcept {
  return u == time_unit::microseconds ? "microseconds"
         : u == time_unit::seconds    ? "seconds"
                                      : "milliseconds";
}
/// Why `t` is not an epoch time a venue file may hold.
inline std::string bad_epoch(const char* field, int64_t t) {
  return std::string(field) + " " + std::to_string(t) +
         " is not an epoch time in seconds, milliseconds or microseconds (after 2001)";
}

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

using swar::all_digits8;
using swar::digits8_value;
using swar::is_digit;
using swar::load8;

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

// Parses a non-negative decimal field exactly into fixed point (core's parse_fixed_prefix, the
// one decimal parser); same contract as parse_int.
[[gnu::always_inline]] inline field_error parse_decimal(const char*& p, const char* end,
                                                        int64_t& out) {
  if (p >= end) return field_error::missing;
  const char* const s = p;
  const parse_error e = parse_fixed_prefix(p, out);
  if (e == parse_error::ok && *p == ',') [[likely]] {
    ++p;
    return field_error::none;
  }
  if (e == parse_error::too_many_decimals) return field_error::too_many_decimals;
  if (*p != ',') return p >= end ? field_error::missing : field_error::bad_char;
  // "." is not an empty field, but not a number either.
  if (e == parse_error::out_of_range) return field_error::range;
  return p == s ? field_error::empty : field_error::bad_char;
}

// Skips the last column (Binance's "ignore"); anything without a comma is accepted.
inline field_error skip_field(const char*& p, const char* end) {
  while (p < end && *p != ',') ++p;
  return p == end ? field_error::none : field_error::bad_char;
}

/// The text of column `field` (0-based) of the row [b, e), for messages.
inline std::string field_text(const char* b, const char* e, int field);

inline std::string show(const char* b, const char* e) {
  std::string s(b, static_cast<size_t>(e - b));
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

/// Columns of the row [b, e): one more than its commas.
inline int count_columns(const char* b, const char* e) {
  int n = 1;
  for (const char* q = b; q < e; ++q) n += *q == ',';
  return n;
}

inline std::string field_text(const char* b, const char* e, int field) {
  const char* fb = b;
  for (int i = 0; i < field && fb < e; ++i) {
    while (fb < e && *fb != ',') ++fb;
    if (fb < e) ++fb;
  }
  const char* fe = fb;
  while (fe < e && *fe != ',') ++fe;
  return show(fb, fe);
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
