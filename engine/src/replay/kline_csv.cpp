#include "cats/replay/kline_csv.hpp"

#include <cctype>
#include <cstring>

#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"
#include "csv_fields.hpp"

namespace cats {

namespace {

using namespace csv;

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
    case field_error::extra:
      return "more than 12 columns";
  }
  return "?";
}

}  // namespace

kline_csv_reader::kline_csv_reader(std::string path, kline_reader_options options)
    : path_(std::move(path)), options_(options) {
  if (options_.buffer_size < 4096) options_.buffer_size = 4096;
}

kline_csv_reader::~kline_csv_reader() = default;

bool kline_csv_reader::open() {
  return lines_.open(path_, options_.buffer_size, error_);
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
    const char* b = nullptr;
    const char* e = nullptr;
    const auto st = lines_.next(b, e, error_);
    if (st != line_reader::status::line)
      return st == line_reader::status::end ? status::end : status::error;
    line_ = lines_.line_number();
    if (b == e) continue;  // blank line
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
  const time_unit u = unit_of(open_time);
  if (u == time_unit::unknown) return reject(line_, bad_epoch("open_time", open_time));
  if (unit_ == time_unit::unknown) {
    unit_ = u;
  } else if (u != unit_) {
    return reject(line_, "open_time " + std::to_string(open_time) + " is in " + unit_name(u) +
                             " but the file started in " + unit_name(unit_));
  }
  const int64_t mult = ns_per(unit_);
  // Nanoseconds since the epoch fit in int64 until 2262; later times are corrupt data here.
  if (open_time > INT64_MAX / mult || close_time > INT64_MAX / mult)
    return reject(line_, "open_time " + std::to_string(open_time) + " or close_time " +
                             std::to_string(close_time) + " is out of range (after the year 2262)");
  r.open_time_ns = open_time * mult;
  r.close_time_ns = close_time * mult;
  // In seconds, a 1-second bar's last instant is its open.
  if (close_time < open_time || (close_time == open_time && unit_ != time_unit::seconds))
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
