#include "sweep_util.hpp"

#include <cmath>

#include "cats/core/fixed.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/text.hpp"

namespace cats::sweep_util {

std::vector<std::string> split_trimmed(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (std::string_view part : split(s, sep)) out.push_back(trim(part));
  return out;
}

// A number in a range spec: an integer or a decimal (kept exact as 8-decimal fixed point).
bool parse_number(const std::string& text, int64_t& raw, bool& integer) {
  integer = text.find('.') == std::string::npos && text.find('e') == std::string::npos &&
            text.find('E') == std::string::npos;
  return parse_fixed(text, raw) == parse_error::ok;
}

std::string format_number(int64_t raw, bool integer) {
  if (integer) return std::to_string(raw / fixed_scale);
  std::string s = fixed_to_string(raw);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

std::string num(double v, int prec) {
  if (!std::isfinite(v)) return "";
  return json_writer::format_double(v, prec);
}

const std::vector<std::string> table_metrics = {
    "total_return", "cagr",          "sharpe",   "sortino", "calmar",   "max_drawdown",
    "volatility",   "profit_factor", "win_rate", "trades",  "exposure", "avg_trade_return"};

bool better(double a, double b, bool lower) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return lower ? a < b : a > b;
}

}  // namespace cats::sweep_util
