#include "cats/backtest/kline_csv.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

constexpr size_t padding = 64;

constexpr const char* field_names[12] = {"open_time",
                                         "open",
                                         "high",
                                         "low",
                                         "close",
                                         "volume",
                                         "close_time",
                                         "quote_volume",
                                         "count",
                                         "taker_buy_base_volume",
                                         "taker_buy_quote_volume",
                                         "ignore"};

// Millisecond epochs stay below 1e14 until the year 5138; microsecond epochs pass 1e14 in 1973.
constexpr int64_t us_threshold = 100'000'000'000'000;
constexpr int64_t ns_threshold = 100'000'000'000'000'000;

enum class field_error : uint8_t { none, empty, bad_char, too_many_decimals, range, missing };

const char* describe(field_error e) {
  switch (e) {
    case field_error::none:
      return "ok";
    case field_error::empty:
      return "empty value";
    case field_error::bad_char:
      return "not a number";
    case field_error::too_many_decimals:
      return "more than 8 decimal places";
    case field_error::range:
      return "number out of range";
    case field_error::missing:
      return "missing (fewer than 12 columns)";
  }
  return "?";
}

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

std::string show(const char* b, const char* e) {
  std::string s(b, static_cast<size_t>(e - b));
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

}  // namespace

kline_csv_reader::kline_csv_reader(std::string path, kline_reader_options options)
    : path_(std::move(path)), options_(options) {
  if (options_.buffer_size < 4096) options_.buffer_size = 4096;
}

kline_csv_reader::~kline_csv_reader() {
  if (fd_ >= 0) ::close(fd_);
}

bool kline_csv_reader::open() {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    error_ = path_ + ": cannot open: " + std::strerror(errno);
    return false;
  }
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  // Padding after the data: a sentinel newline plus room for 8-byte loads (see the parsers).
  buf_ = std::make_unique<char[]>(options_.buffer_size + padding);
  buf_[0] = '\n';
  return true;
}

bool kline_csv_reader::fill() {
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, len_ - pos_);
    len_ -= pos_;
    pos_ = 0;
  }
  while (len_ < options_.buffer_size) {
    const ssize_t n = ::read(fd_, buf_.get() + len_, options_.buffer_size - len_);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = path_ + ": read failed: " + std::strerror(errno);
      return false;
    }
    if (n == 0) {
      eof_ = true;
      break;
    }
    len_ += static_cast<size_t>(n);
  }
  buf_[len_] = '\n';
  return true;
}

bool kline_csv_reader::reject(uint64_t line, const std::string& what) {
  std::string msg = path_ + ":" + std::to_string(line) + ": " + what;
  if (!options_.skip_malformed) {
    error_ = std::move(msg);
    return false;
  }
  ++skipped_;
  if (skip_messages_.size() < options_.max_kept_messages) skip_messages_.push_back(std::move(msg));
  return false;  // no row either way; error_ tells the caller whether to stop
}

kline_csv_reader::status kline_csv_reader::next(kline_row& row) {
  if (!error_.empty()) return status::error;
  for (;;) {
    const char* base = buf_.get();
    const char* nl = static_cast<const char*>(std::memchr(base + pos_, '\n', len_ - pos_));
    if (nl == nullptr) {
      if (!eof_) {
        if (pos_ == 0 && len_ == options_.buffer_size) {
          error_ = path_ + ":" + std::to_string(line_ + 1) + ": line longer than " +
                   std::to_string(options_.buffer_size) + " bytes";
          return status::error;
        }
        if (!fill()) return status::error;
        continue;
      }
      if (pos_ == len_) return status::end;
      nl = base + len_;  // last line without a newline
    }
    const char* b = base + pos_;
    const char* e = nl;
    pos_ = static_cast<size_t>(nl - base) + (nl < base + len_ ? 1 : 0);
    ++line_;
    if (e > b && e[-1] == '\r') --e;
    if (line_ == 1 && e - b >= 3 && std::memcmp(b, "\xEF\xBB\xBF", 3) == 0) b += 3;  // UTF-8 BOM
    if (b == e) continue;                                                            // blank line
    // A header row starts with a letter ("open_time,open,..."); anything else is data.
    if (line_ == 1 && std::isalpha(static_cast<unsigned char>(*b))) {
      had_header_ = true;
      continue;
    }
    if (parse_line(b, e, row)) {
      row.line = line_;
      ++rows_;
      return status::row;
    }
    if (!error_.empty()) return status::error;
  }
}

bool kline_csv_reader::parse_line(const char* b, const char* e, kline_row& r) {
  const char* p = b;
  int64_t open_time = 0, close_time = 0;
  field_error err = field_error::none;
  int field = 0;
  auto check = [&](field_error fe, int idx) {
    if (fe == field_error::none) return true;
    err = fe;
    field = idx;
    return false;
  };
  const bool ok =
      check(parse_int(p, e, open_time), 0) && check(parse_decimal(p, e, r.open), 1) &&
      check(parse_decimal(p, e, r.high), 2) && check(parse_decimal(p, e, r.low), 3) &&
      check(parse_decimal(p, e, r.close), 4) && check(parse_decimal(p, e, r.volume), 5) &&
      check(parse_int(p, e, close_time), 6) && check(parse_decimal(p, e, r.quote_volume), 7) &&
      check(parse_int(p, e, r.trade_count), 8) &&
      check(parse_decimal(p, e, r.taker_buy_volume), 9) &&
      check(parse_decimal(p, e, r.taker_buy_quote_volume), 10) && check(skip_field(p, e), 11);
  if (!ok) {
    if (err == field_error::missing || (field == 11 && err == field_error::bad_char)) {
      int columns = 1;
      for (const char* q = b; q < e; ++q) columns += *q == ',';
      return reject(line_, "expected 12 comma-separated columns, found " + std::to_string(columns));
    }
    // Find the offending field's text for the message.
    const char* fb = b;
    for (int i = 0; i < field && fb < e; ++i) {
      while (fb < e && *fb != ',') ++fb;
      if (fb < e) ++fb;
    }
    const char* fe = fb;
    while (fe < e && *fe != ',') ++fe;
    return reject(line_, std::string("column ") + std::to_string(field + 1) + " (" +
                             field_names[field] + "): " + describe(err) + ": '" + show(fb, fe) +
                             "'");
  }
  // Time unit: fixed by the first row of the file; later rows must agree.
  if (open_time >= ns_threshold)
    return reject(line_, "open_time " + std::to_string(open_time) +
                             " is neither epoch milliseconds nor microseconds");
  const time_unit u = open_time >= us_threshold ? time_unit::microseconds : time_unit::milliseconds;
  if (unit_ == time_unit::unknown) {
    unit_ = u;
  } else if (u != unit_) {
    return reject(line_, "open_time " + std::to_string(open_time) + " is in " +
                             (u == time_unit::microseconds ? "microseconds" : "milliseconds") +
                             " but the file started in " +
                             (unit_ == time_unit::microseconds ? "microseconds" : "milliseconds"));
  }
  const int64_t mult = unit_ == time_unit::microseconds ? 1000 : ns_per_ms;
  // Nanoseconds since the epoch fit in int64 until 2262; later times are corrupt data here.
  if (open_time > INT64_MAX / mult || close_time > INT64_MAX / mult)
    return reject(line_, "open_time " + std::to_string(open_time) + " or close_time " +
                             std::to_string(close_time) + " is out of range (after the year 2262)");
  r.open_time_ns = open_time * mult;
  r.close_time_ns = close_time * mult;
  if (close_time <= open_time)
    return reject(line_, "close_time " + std::to_string(close_time) + " is not after open_time " +
                             std::to_string(open_time));
  if (r.open == 0 || r.high == 0 || r.low == 0 || r.close == 0)
    return reject(line_, "prices must be positive");
  if (r.high < r.low || r.high < r.open || r.high < r.close || r.low > r.open || r.low > r.close)
    return reject(line_, "inconsistent prices: open " + fixed_to_string(r.open) + " high " +
                             fixed_to_string(r.high) + " low " + fixed_to_string(r.low) +
                             " close " + fixed_to_string(r.close) +
                             " (need low <= open, close <= high)");
  return true;
}

}  // namespace cats
