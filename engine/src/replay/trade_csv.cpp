#include "cats/replay/trade_csv.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"
#include "csv_fields.hpp"

namespace cats {

namespace {

using namespace csv;

enum class field_type : uint8_t { integer, decimal, boolean };

struct column {
  const char* name;
  field_type type;
};

// The spot layouts; the futures ones are the same without the last column.
constexpr column trade_columns[7] = {
    {"id", field_type::integer},
    {"price", field_type::decimal},
    {"qty", field_type::decimal},
    {"quote_qty", field_type::decimal},
    {"time", field_type::integer},
    {"is_buyer_maker", field_type::boolean},
    {"is_best_match", field_type::boolean},
};
constexpr column agg_columns[8] = {
    {"agg_trade_id", field_type::integer},   {"price", field_type::decimal},
    {"quantity", field_type::decimal},       {"first_trade_id", field_type::integer},
    {"last_trade_id", field_type::integer},  {"transact_time", field_type::integer},
    {"is_buyer_maker", field_type::boolean}, {"is_best_match", field_type::boolean},
};

const column* columns_of(trade_file_kind kind) {
  return kind == trade_file_kind::trades ? trade_columns : agg_columns;
}
int spot_columns(trade_file_kind kind) {
  return kind == trade_file_kind::trades ? 7 : 8;
}

std::string layout_text(trade_file_kind kind, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i > 0) s += ',';
    s += columns_of(kind)[i].name;
  }
  return s;
}

bool equal_ci(const char* b, const char* e, const std::string& s) {
  if (static_cast<size_t>(e - b) != s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(b[i])) != s[i]) return false;
  return true;
}

// price × quantity / 10^8, rounded to the nearest unit (ties up; both are positive), in 64-bit
// pieces instead of a 128-bit division: with p = ph·S + pl and q = qh·S + ql,
// p·q / S = ph·qh·S + ph·ql + pl·qh + pl·ql / S, where only the last term has a remainder.
bool quote_of(int64_t price, int64_t quantity, int64_t& out) {
  constexpr uint64_t s = fixed_scale;
  const uint64_t p = static_cast<uint64_t>(price), q = static_cast<uint64_t>(quantity);
  const uint64_t ph = p / s, pl = p % s, qh = q / s, ql = q % s;
  const uint64_t low = pl * ql;  // < 10^16
  uint64_t v = low / s + (low % s >= s / 2 ? 1 : 0);
  uint64_t t = 0;
  if (__builtin_mul_overflow(ph, qh, &t) || __builtin_mul_overflow(t, s, &t) ||
      __builtin_add_overflow(v, t, &v))
    return false;
  if (__builtin_add_overflow(v, ph * ql, &v) || __builtin_add_overflow(v, pl * qh, &v))
    return false;  // ph·ql and pl·qh are below 9.3e10 · 10^8: no overflow of their own
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

const char* to_string(trade_file_kind kind) noexcept {
  return kind == trade_file_kind::trades ? "Binance trades" : "Binance aggTrades";
}

trade_csv_reader::trade_csv_reader(std::string path, trade_file_kind kind,
                                   kline_reader_options options)
    : path_(std::move(path)), kind_(kind), options_(options) {
  if (options_.buffer_size < 4096) options_.buffer_size = 4096;
}

bool trade_csv_reader::open() {
  return lines_.open(path_, options_.buffer_size, error_);
}

bool trade_csv_reader::reject(const std::string& what) {
  std::string msg = path_ + ":" + std::to_string(line_) + ": " + what;
  if (!options_.skip_malformed) {
    error_ = std::move(msg);
    return false;
  }
  ++skipped_;
  if (skip_messages_.size() < options_.max_kept_messages) skip_messages_.push_back(std::move(msg));
  return false;  // no row either way; error_ tells the caller whether to stop
}

// The first row fixes the layout (spot or futures) from its number of columns.
bool trade_csv_reader::set_layout(const char* b, const char* e, bool header) {
  const int n = count_columns(b, e);
  const int spot = spot_columns(kind_);
  if (header) {
    if ((n == spot || n == spot - 1) && equal_ci(b, e, layout_text(kind_, n))) {
      columns_ = n;
      has_best_match_ = n == spot;
      return true;
    }
    // The header of the other kind (an aggTrades file read as trades, say) is fatal even in skip
    // mode: every row would parse into the wrong fields.
    const auto other =
        kind_ == trade_file_kind::trades ? trade_file_kind::agg_trades : trade_file_kind::trades;
    const int other_spot = spot_columns(other);
    if ((n == other_spot || n == other_spot - 1) && equal_ci(b, e, layout_text(other, n))) {
      error_ = path_ + ":" + std::to_string(line_) + ": the header '" + show(b, e) +
               "' is that of " + to_string(other) + ", not " + to_string(kind_);
      return false;
    }
    return reject("unrecognised header '" + show(b, e) + "': expected '" +
                  layout_text(kind_, spot - 1) + "' or '" + layout_text(kind_, spot) + "'");
  }
  if (n != spot && n != spot - 1)
    return reject("expected " + std::to_string(spot - 1) + " (futures) or " + std::to_string(spot) +
                  " (spot) comma-separated columns for " + to_string(kind_) + ", found " +
                  std::to_string(n));
  columns_ = n;
  has_best_match_ = n == spot;
  return true;
}

trade_csv_reader::status trade_csv_reader::next(trade_row& row) {
  if (!error_.empty()) return status::error;
  for (;;) {
    const char* b = nullptr;
    const char* e = nullptr;
    const auto st = lines_.next(b, e, error_);
    if (st != line_reader::status::line)
      return st == line_reader::status::end ? status::end : status::error;
    line_ = lines_.line_number();
    if (b == e) continue;  // blank line
    if (columns_ == 0) [[unlikely]] {
      // A header row starts with a letter and has no digits ("id,price,..."); a row with
      // numbers in it is data, and gets the messages of a malformed row if it is wrong.
      const bool header = line_ == 1 && std::isalpha(static_cast<unsigned char>(*b)) &&
                          std::find_if(b, e, is_digit) == e;
      if (!set_layout(b, e, header)) {
        if (!error_.empty()) return status::error;
        continue;
      }
      if (header) {
        had_header_ = true;
        continue;
      }
    }
    if (parse_line(b, e, row)) {
      row.line = line_;
      ++rows_;
      return status::row;
    }
    if (!error_.empty()) return status::error;
  }
}

bool trade_csv_reader::parse_line(const char* b, const char* e, trade_row& r) {
  const char* p = b;
  int64_t t = 0;
  field_error err = field_error::none;
  int field = 0;
  auto check = [&](field_error fe, int idx) {
    if (fe == field_error::none) [[likely]]
      return true;
    err = fe;
    field = idx;
    return false;
  };
  bool ok;
  if (kind_ == trade_file_kind::trades) {
    ok = check(parse_int(p, e, r.id), 0) && check(parse_decimal(p, e, r.price), 1) &&
         check(parse_decimal(p, e, r.quantity), 2) &&
         check(parse_decimal(p, e, r.quote_quantity), 3) && check(parse_int(p, e, t), 4) &&
         check(parse_bool(p, e, !has_best_match_, r.buyer_maker), 5) &&
         (!has_best_match_ || check(parse_bool(p, e, true, r.best_match), 6));
    r.first_trade_id = r.last_trade_id = 0;
  } else {
    ok = check(parse_int(p, e, r.id), 0) && check(parse_decimal(p, e, r.price), 1) &&
         check(parse_decimal(p, e, r.quantity), 2) && check(parse_int(p, e, r.first_trade_id), 3) &&
         check(parse_int(p, e, r.last_trade_id), 4) && check(parse_int(p, e, t), 5) &&
         check(parse_bool(p, e, !has_best_match_, r.buyer_maker), 6) &&
         (!has_best_match_ || check(parse_bool(p, e, true, r.best_match), 7));
  }
  if (!ok) [[unlikely]]
    return field_failure(b, e, field, static_cast<int>(err));
  if (!has_best_match_) r.best_match = true;

  // Time unit: fixed by the first row of the file; later rows must agree.
  const char* time_name = columns_of(kind_)[kind_ == trade_file_kind::trades ? 4 : 5].name;
  const time_unit u = unit_of(t);
  if (u == time_unit::unknown) [[unlikely]]
    return reject(bad_epoch(time_name, t));
  if (u != unit_) [[unlikely]] {
    if (unit_ != time_unit::unknown)
      return reject(std::string(time_name) + " " + std::to_string(t) + " is in " + unit_name(u) +
                    " but the file started in " + unit_name(unit_));
    unit_ = u;
    time_mult_ = ns_per(u);
  }
  // Nanoseconds since the epoch fit in int64 until 2262; later times are corrupt data here.
  if (t > INT64_MAX / time_mult_) [[unlikely]]
    return reject(std::string(time_name) + " " + std::to_string(t) +
                  " is out of range (after the year 2262)");
  r.time_ns = t * time_mult_;
  if (r.price == 0) [[unlikely]]
    return reject("price must be positive");
  if (r.quantity == 0) [[unlikely]]
    return reject("quantity must be positive");
  if (kind_ == trade_file_kind::agg_trades) {
    if (r.first_trade_id > r.last_trade_id) [[unlikely]]
      return reject("first_trade_id " + std::to_string(r.first_trade_id) +
                    " is after last_trade_id " + std::to_string(r.last_trade_id));
    if (!quote_of(r.price, r.quantity, r.quote_quantity)) [[unlikely]]
      return reject("price * quantity is too large for 8-decimal fixed point");
  }
  if (have_prev_) [[likely]] {
    if (r.id <= prev_id_) [[unlikely]]
      return reject(std::string(kind_ == trade_file_kind::trades ? "trade id " : "agg_trade_id ") +
                    std::to_string(r.id) + " not after " + std::to_string(prev_id_));
    if (t < prev_time_) [[unlikely]]
      return reject(std::string(time_name) + " " + std::to_string(t) +
                    " is before the previous row's " + std::to_string(prev_time_));
  }
  have_prev_ = true;
  prev_id_ = r.id;
  prev_time_ = t;
  return true;
}

// Out of the hot path: turns a field parser's complaint into the message for this row.
[[gnu::cold]] bool trade_csv_reader::field_failure(const char* b, const char* e, int field,
                                                   int code) {
  const auto err = static_cast<field_error>(code);
  const int found = count_columns(b, e);
  if ((err == field_error::missing || err == field_error::extra) && found != columns_)
    return reject("expected " + std::to_string(columns_) + " comma-separated columns, found " +
                  std::to_string(found));
  const column& c = columns_of(kind_)[field];
  const std::string got = "'" + field_text(b, e, field) + "'";
  std::string what = std::string("field '") + c.name + "': ";
  if (err == field_error::too_many_decimals) {
    what += "more than 8 decimal places, got " + got;
  } else if (err == field_error::range) {
    what += c.type == field_type::decimal ? "too large for 8-decimal fixed point, got " + got
                                          : "number out of range, got " + got;
  } else if (c.type == field_type::boolean) {
    what += "expected True or False, got " + got;
  } else if (c.type == field_type::decimal) {
    what += "expected a decimal number, got " + got;
  } else {
    what += "expected a whole number, got " + got;
  }
  return reject(what);
}

}  // namespace cats
