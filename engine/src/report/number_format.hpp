// Number formatting shared by the text and HTML reports.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "cats/core/fixed.hpp"

namespace cats::report_format {

/// `v` with `prec` decimals; "n/a" when it is not finite.
inline std::string num(double v, int prec) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

/// Thousands separators on a decimal string: "-1234567.89" -> "-1,234,567.89".
inline std::string group(std::string s) {
  size_t end = s.find('.');
  if (end == std::string::npos) end = s.size();
  const size_t start = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  for (size_t i = end; i > start + 3; i -= 3) s.insert(i - 3, ",");
  return s;
}

/// A fixed-point amount with 2 decimals and thousands separators: "1,234,567.89".
inline std::string money(int64_t raw) {
  return group(fixed_to_string(raw, 2));
}

}  // namespace cats::report_format
