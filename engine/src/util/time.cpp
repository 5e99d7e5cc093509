#include "cats/util/time.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace cats {

// Civil-date conversion by the era / day-of-era method (400-year Gregorian cycles).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

civil_time to_civil(int64_t ts_ns) noexcept {
  int64_t days = ts_ns / ns_per_day;
  int64_t rem = ts_ns % ns_per_day;
  if (rem < 0) {
    rem += ns_per_day;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  civil_time c{};
  c.year = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  c.month = m;
  c.day = d;
  const int64_t secs = rem / ns_per_s;
  c.hour = static_cast<unsigned>(secs / 3600);
  c.minute = static_cast<unsigned>(secs / 60 % 60);
  c.second = static_cast<unsigned>(secs % 60);
  c.nanos = rem % ns_per_s;
  return c;
}

int format_iso8601_seconds(int64_t ts_ns, char* buf) noexcept {
  const civil_time c = to_civil(ts_ns);
  auto put2 = [](char* p, unsigned v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  int64_t y = c.year;
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  buf[0] = static_cast<char>('0' + y / 1000);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  buf[4] = '-';
  put2(buf + 5, c.month);
  buf[7] = '-';
  put2(buf + 8, c.day);
  buf[10] = 'T';
  put2(buf + 11, c.hour);
  buf[13] = ':';
  put2(buf + 14, c.minute);
  buf[16] = ':';
  put2(buf + 17, c.second);
  buf[19] = 'Z';
  return 20;
}

std::string format_iso8601(int64_t ts_ns) {
  char buf[40];
  int n = format_iso8601_seconds(ts_ns, buf);
  const civil_time c = to_civil(ts_ns);
  if (c.nanos != 0) {
    --n;  // drop the Z
    char frac[16];
    int digits = 9;
    int64_t v = c.nanos;
    while (v % 10 == 0) {
      v /= 10;
      --digits;
    }
    std::snprintf(frac, sizeof frac, ".%0*lld", digits, static_cast<long long>(v));
    for (const char* f = frac; *f != '\0'; ++f) buf[n++] = *f;
    buf[n++] = 'Z';
  }
  return std::string(buf, static_cast<size_t>(n));
}

std::optional<int64_t> parse_iso8601(std::string_view s) noexcept {
  auto num = [&](size_t pos, size_t len, unsigned& out) {
    if (pos + len > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!num(0, 4, y) || s.size() < 10 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || !year_fits_ns(static_cast<int>(y)))
    return std::nullopt;
  size_t pos = 10;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    if (!num(pos + 1, 2, h) || pos + 3 >= s.size() || s[pos + 3] != ':' || !num(pos + 4, 2, mi))
      return std::nullopt;
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!num(pos + 1, 2, se)) return std::nullopt;
      pos += 3;
    }
    if (h > 23 || mi > 59 || se > 60) return std::nullopt;
  }
  if (pos < s.size() && s[pos] == 'Z') ++pos;
  if (pos != s.size()) return std::nullopt;
  const int64_t days = days_from_civil(y, mo, d);
  return days * ns_per_day + (int64_t{h} * 3600 + int64_t{mi} * 60 + se) * ns_per_s;
}

std::optional<int64_t> parse_duration(std::string_view text, const duration_rules& rules) noexcept {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  const std::string_view num = text.substr(0, i), unit = text.substr(i);
  if (num.empty()) return std::nullopt;
  if (unit.empty()) {
    if (rules.bare_zero && num == "0") return 0;
    return std::nullopt;
  }
  struct unit_info {
    std::string_view name;
    unsigned bit;
    int64_t ns;
  };
  static constexpr unit_info units[] = {
      {"ns", duration_ns, 1},           {"us", duration_us, 1'000},
      {"ms", duration_ms, ns_per_ms},   {"s", duration_s, ns_per_s},
      {"m", duration_m, 60 * ns_per_s}, {"h", duration_h, 3600 * ns_per_s},
      {"d", duration_d, ns_per_day},    {"w", duration_w, 7 * ns_per_day}};
  int64_t unit_ns = 0;
  for (const unit_info& u : units)
    if (unit == u.name && (rules.units & u.bit) != 0) unit_ns = u.ns;
  if (unit_ns == 0) return std::nullopt;
  const size_t dot = num.find('.');
  const std::string_view whole = num.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : num.substr(dot + 1);
  if (whole.empty() || frac.find('.') != std::string_view::npos) return std::nullopt;
  if (dot != std::string_view::npos && (frac.empty() || !rules.fractions)) return std::nullopt;
  // Checked before each step, so that nothing overflows: at most max_count units and max_ns.
  const int64_t limit = std::min(rules.max_count, rules.max_ns / unit_ns);
  int64_t count = 0;
  for (char c : whole) {
    const int d = c - '0';
    if (count > limit / 10 || count * 10 > limit - d) return std::nullopt;
    count = count * 10 + d;
  }
  int64_t ns = count * unit_ns;
  int64_t scale = unit_ns;
  for (char c : frac) {  // exact: no floating point
    scale /= 10;
    if (scale == 0) {
      if (c != '0') return std::nullopt;  // finer than 1 ns
      continue;
    }
    const int64_t add = (c - '0') * scale;
    if (ns > rules.max_ns - add) return std::nullopt;
    ns += add;
  }
  if (rules.positive && ns <= 0) return std::nullopt;
  return ns;
}

std::optional<int64_t> parse_interval(std::string_view text) noexcept {
  // At most 10^7 units and ten years: nothing longer makes a bar.
  static constexpr duration_rules bar_intervals{
      duration_s | duration_m | duration_h | duration_d | duration_w,
      false,
      false,
      true,
      10'000'000,
      3653 * ns_per_day};
  return parse_duration(text, bar_intervals);
}

std::string format_interval(int64_t ns) {
  struct unit {
    int64_t ns;
    const char* suffix;
  };
  static constexpr unit units[] = {{7 * ns_per_day, "w"}, {ns_per_day, "d"}, {3600 * ns_per_s, "h"},
                                   {60 * ns_per_s, "m"},  {ns_per_s, "s"},   {ns_per_ms, "ms"}};
  for (const unit& u : units)
    if (ns > 0 && ns % u.ns == 0) return std::to_string(ns / u.ns) + u.suffix;
  return std::to_string(ns) + "ns";
}

std::string format_duration(int64_t ns) {
  if (ns < 0) ns = 0;
  const int64_t secs = ns / ns_per_s;
  const int64_t days = secs / 86400;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lldd %02lld:%02lld:%02lld", static_cast<long long>(days),
                static_cast<long long>(secs / 3600 % 24), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

}  // namespace cats

namespace cats {
int64_t wall_clock_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int64_t steady_clock_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace cats
