// Small text helpers shared by the command-line and config parsers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cats {

/// `s` without leading and trailing spaces and tabs.
inline std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

/// The parts of `s` between the separators (empty ones included: "a..b" has three), borrowed
/// from `s`.
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

}  // namespace cats
