#include "cats/core/fixed.hpp"

#include <cmath>
#include <cstring>
#include <memory>
#include <new>

namespace cats {

const char* describe(parse_error e) noexcept {
  switch (e) {
    case parse_error::ok:
      return "ok";
    case parse_error::empty:
      return "empty value, expected a decimal number";
    case parse_error::invalid_character:
      return "not a decimal number";
    case parse_error::too_many_decimals:
      return "more than 8 decimal places";
    case parse_error::out_of_range:
      return "number too large for 8-decimal fixed point";
  }
  return "unknown error";
}

parse_error parse_fixed(std::string_view text, int64_t& out) noexcept {
  // The hot form needs 8 readable bytes after the number and a terminator that is not part of it:
  // the text goes into a padded copy (numbers in configs are short; a longer one, trailing zeros
  // and all, goes to the heap).
  bool neg = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    neg = text.front() == '-';
    text.remove_prefix(1);
  }
  char local[64];
  std::unique_ptr<char[]> heap;
  char* buf = local;
  if (text.size() + 9 > sizeof local) {
    heap.reset(new (std::nothrow) char[text.size() + 9]);
    if (!heap) return parse_error::out_of_range;
    buf = heap.get();
  }
  std::memcpy(buf, text.data(), text.size());
  std::memset(buf + text.size(), 0, 9);
  const char* p = buf;
  int64_t mag = 0;
  const parse_error e = parse_fixed_prefix(p, mag);
  if (e == parse_error::too_many_decimals) return e;
  if (p != buf + text.size()) return parse_error::invalid_character;
  if (e != parse_error::ok) return e;
  out = neg ? -mag : mag;
  return parse_error::ok;
}

parse_error parse_fixed_wide(const char* start, const char* int_end, uint64_t frac, int fd,
                             int64_t& out) noexcept {
  // Leading zeros carry nothing and do not count towards the 11 digits.
  const char* q = start;
  while (q != int_end && *q == '0') ++q;
  if (int_end - q > 11) return parse_error::out_of_range;
  uint64_t ip = 0;
  for (; q != int_end; ++q) ip = ip * 10 + static_cast<unsigned>(*q - '0');
  constexpr uint64_t max_int = static_cast<uint64_t>(INT64_MAX) / fixed_scale;
  if (ip > max_int) return parse_error::out_of_range;
  const uint64_t mag = ip * fixed_scale + frac * decimal_scale[fd];
  if (mag > static_cast<uint64_t>(INT64_MAX)) return parse_error::out_of_range;
  out = static_cast<int64_t>(mag);
  return parse_error::ok;
}

int128_t div_round(int128_t a, int128_t b, rounding mode) noexcept {
  if (b < 0) {
    a = -a;
    b = -b;
  }
  int128_t q = a / b;  // truncates toward zero
  const int128_t r = a % b;
  if (r == 0) return q;
  switch (mode) {
    case rounding::toward_zero:
      return q;
    case rounding::down:
      return a < 0 ? q - 1 : q;
    case rounding::up:
      return a > 0 ? q + 1 : q;
    case rounding::nearest: {
      const int128_t twice = (r < 0 ? -r : r) * 2;
      if (twice >= b) return a < 0 ? q - 1 : q + 1;
      return q;
    }
  }
  return q;
}

bool fixed_from_double(double v, int64_t& out) noexcept {
  const double scaled = std::nearbyint(v * static_cast<double>(fixed_scale));
  if (!(std::fabs(scaled) < 9.2e18)) return false;
  out = static_cast<int64_t>(scaled);
  return true;
}

int format_fixed(int64_t v, char* buf) noexcept {
  char* p = buf;
  uint64_t mag = static_cast<uint64_t>(v);
  if (v < 0) {
    *p++ = '-';
    mag = 0 - mag;
  }
  uint64_t ip = mag / fixed_scale;
  uint64_t frac = mag % fixed_scale;
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + ip % 10);
    ip /= 10;
  } while (ip != 0);
  while (n > 0) *p++ = tmp[--n];
  if (frac != 0) {
    *p++ = '.';
    char digits[8];
    for (int i = 7; i >= 0; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
    int len = 8;
    while (digits[len - 1] == '0') --len;
    for (int i = 0; i < len; ++i) *p++ = digits[i];
  }
  return static_cast<int>(p - buf);
}

std::string fixed_to_string(int64_t v) {
  char buf[32];
  return std::string(buf, static_cast<size_t>(format_fixed(v, buf)));
}

std::string fixed_to_string(int64_t v, int decimals) {
  if (decimals < 0) decimals = 0;
  if (decimals > 8) decimals = 8;
  int64_t unit = 1;
  for (int i = decimals; i < 8; ++i) unit *= 10;
  const int64_t rounded = static_cast<int64_t>(div_round(v, unit, rounding::nearest));
  const bool neg = rounded < 0;
  uint64_t mag = neg ? 0 - static_cast<uint64_t>(rounded) : static_cast<uint64_t>(rounded);
  uint64_t div = 1;
  for (int i = 0; i < decimals; ++i) div *= 10;
  std::string out;
  if (neg) out += '-';
  out += std::to_string(mag / div);
  if (decimals > 0) {
    std::string frac = std::to_string(mag % div);
    out += '.';
    out.append(static_cast<size_t>(decimals) - frac.size(), '0');
    out += frac;
  }
  return out;
}

}  // namespace cats
