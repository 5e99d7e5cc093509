// Field readers for the private side's answers (simdjson DOM: order answers are few and small,
// unlike market data, which uses the On-Demand readers of json_util.hpp). A missing or broken
// field reads as empty / 0; callers check what they need.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "cats/core/fixed.hpp"

namespace cats::venues {

/// A non-negative decimal text as fixed point; digits beyond the 8th decimal (an average price, a
/// fee computed by the venue) are cut, or with `up` rounded up to the next 1e-8. 0 when broken.
inline int64_t decimal_text(std::string_view text, bool up = false) {
  int64_t v = 0;
  const parse_error e = parse_fixed(text, v);
  if (e == parse_error::ok) return v;
  if (e != parse_error::too_many_decimals) return 0;
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos || parse_fixed(text.substr(0, dot + 9), v) != parse_error::ok)
    return 0;
  if (up && text.substr(dot + 9).find_first_not_of('0') != std::string_view::npos) ++v;
  return v;
}

/// A decimal string field ("0.00100000") as fixed point.
inline int64_t decimal(simdjson::dom::element e, const char* field, bool up = false) {
  std::string_view text;
  return e[field].get(text) == simdjson::SUCCESS ? decimal_text(text, up) : 0;
}

/// A signed decimal string field ("-0.0012"): OKX writes fees with a sign. Extra decimals are
/// rounded away from zero (a fee is never understated).
inline int64_t signed_decimal(simdjson::dom::element e, const char* field) {
  std::string_view text;
  if (e[field].get(text) != simdjson::SUCCESS || text.empty()) return 0;
  const bool negative = text.front() == '-';
  const int64_t v = decimal_text(negative ? text.substr(1) : text, true);
  return negative ? -v : v;
}

/// A string or integer field as text.
inline std::string text_of(simdjson::dom::element e, const char* field) {
  std::string_view s;
  if (e[field].get(s) == simdjson::SUCCESS) return std::string(s);
  int64_t i = 0;
  if (e[field].get(i) == simdjson::SUCCESS) return std::to_string(i);
  return {};
}

/// An integer field, or an integer written as a string ("1597026383085").
inline int64_t integer(simdjson::dom::element e, const char* field) {
  int64_t i = 0;
  if (e[field].get(i) == simdjson::SUCCESS) return i;
  std::string_view s;
  if (e[field].get(s) == simdjson::SUCCESS) {
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return 0;
      v = v * 10 + (c - '0');
    }
    return v;
  }
  return 0;
}

}  // namespace cats::venues
