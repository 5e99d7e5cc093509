// Small text helpers shared by the command-line and config parsers.
#pragma once

#include <string>
#include <string_view>

namespace cats {

/// `s` without leading and trailing spaces and tabs.
inline std::string trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace cats
