// Helpers the venue parsers share: exact fixed-point from JSON strings, timestamps, field lookup
// that is safe on broken input, a walker for objects with optional fields, symbol lookup, and
// error text that names the field.
//
// Everything here uses simdjson's error-code API: nothing throws, and the hot path neither
// allocates nor formats text. A failure is recorded as a few pointers (`failure`) and turned into
// a message only when a parse actually fails.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/core/fixed.hpp"
#include "cats/venues/feed.hpp"

namespace cats::venues {

namespace od = simdjson::ondemand;

inline constexpr int64_t ns_per_ms = 1'000'000;
/// The latest millisecond timestamp whose nanosecond value still fits in int64 (year 2262).
inline constexpr int64_t max_ms = INT64_MAX / ns_per_ms;

/// `text == literal`, compared inline (std::string_view's == calls memcmp out of line).
template <size_t N>
[[gnu::always_inline]] inline bool equals(std::string_view text,
                                          const char (&literal)[N]) noexcept {
  return text.size() == N - 1 && __builtin_memcmp(text.data(), literal, N - 1) == 0;
}

// ---- numbers ------------------------------------------------------------------------------------

using swar::is_digit;

/// Parses the content of a JSON string holding a non-negative decimal ("61837.63000000", "30236",
/// "0.5") into fixed-point with core's one decimal parser (parse_fixed_prefix). `p` points just
/// past the opening quote; the number must run up to the closing quote. A sign is refused: venues
/// never send one for prices or quantities, so a sign means a broken message. Reads at most 8
/// bytes past the closing quote, which simdjson's padding guarantees are readable.
inline parse_error parse_decimal(const char* p, int64_t& out) noexcept {
  const parse_error e = parse_fixed_prefix(p, out);
  if (e == parse_error::ok && *p == '"') [[likely]]
    return e;
  if (e == parse_error::too_many_decimals) return e;
  if (*p != '"') return parse_error::invalid_character;
  return e;
}

/// Parses the content of a JSON string made only of digits ("338476307", "1652459224956") into
/// an unsigned integer. `p` points just past the opening quote.
inline parse_error parse_digits(const char* p, uint64_t& out) noexcept {
  const char* const start = p;
  uint64_t v = 0;
  for (; is_digit(*p); ++p) {
    const unsigned d = static_cast<unsigned>(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return parse_error::out_of_range;
    v = v * 10 + d;
  }
  if (*p != '"') return parse_error::invalid_character;
  if (p == start) return parse_error::empty;
  out = v;
  return parse_error::ok;
}

// ---- failures -----------------------------------------------------------------------------------

/// What went wrong, as borrowed pointers: cheap to record, formatted only when reported.
struct failure {
  const char* field = nullptr;     ///< the JSON field, or null for a message-level problem
  const char* expected = nullptr;  ///< "a decimal string", ...
  std::string_view got;            ///< the offending JSON text (borrowed from the message)
  simdjson::error_code code = simdjson::SUCCESS;  ///< NO_SUCH_FIELD for a missing field
  parse_error number = parse_error::ok;           ///< why a number was refused
  int64_t index = -1;  ///< position in an array of levels or candles, -1 if none

  bool set(const char* f, const char* exp, simdjson::error_code ec, std::string_view g) noexcept {
    field = f;
    expected = exp;
    code = ec;
    got = g;
    return false;
  }
  bool missing(const char* f) noexcept { return set(f, nullptr, simdjson::NO_SUCH_FIELD, {}); }
  bool bad_number(const char* f, const char* exp, parse_error why, std::string_view g) noexcept {
    number = why;
    return set(f, exp, simdjson::SUCCESS, g);
  }
};

/// "binance trade: field "p": expected a decimal string, got "1e5" (not a decimal number)".
[[gnu::cold]] inline std::string describe_failure(std::string_view where, const failure& f) {
  std::string s(where);
  s += ": ";
  const bool json_broken = f.code != simdjson::SUCCESS && f.code != simdjson::NO_SUCH_FIELD &&
                           f.code != simdjson::INCORRECT_TYPE && f.code != simdjson::NUMBER_ERROR &&
                           f.code != simdjson::NUMBER_OUT_OF_RANGE;
  if (json_broken) {
    s += "invalid JSON";
    if (f.field != nullptr) {
      s += " at field \"";
      s += f.field;
      s += '"';
    }
    s += ": ";
    s += simdjson::error_message(f.code);
    return s;
  }
  if (f.code == simdjson::NO_SUCH_FIELD) {
    s += "missing field \"";
    s += f.field != nullptr ? f.field : "?";
    s += '"';
    return s;
  }
  if (f.field != nullptr) {
    s += "field \"";
    s += f.field;
    s += "\"";
    if (f.index >= 0) {
      s += " [";
      s += std::to_string(f.index);
      s += ']';
    }
    s += ": ";
  }
  s += "expected ";
  s += f.expected != nullptr ? f.expected : "something else";
  s += ", got ";
  if (f.got.empty()) {
    s += "nothing";
  } else {
    std::string_view got = f.got;
    while (!got.empty() &&
           (got.back() == ' ' || got.back() == '\n' || got.back() == '\r' || got.back() == '\t')) {
      got.remove_suffix(1);
    }
    if (got.size() > 48) got = got.substr(0, 48);
    s += got;
  }
  if (f.number != parse_error::ok) {
    s += " (";
    s += describe(f.number);
    s += ')';
  } else if (f.code == simdjson::NUMBER_OUT_OF_RANGE) {
    s += " (out of range)";
  }
  return s;
}

/// The raw JSON text of a string value from its content pointer, quotes included, cut short.
inline std::string_view quoted_text(const char* content) noexcept {
  const char* p = content;
  const char* const limit = content + 48;
  while (p < limit && *p != '"') p += (*p == '\\' && p + 1 < limit) ? 2 : 1;
  return std::string_view(content - 1, static_cast<size_t>(p - content) + (*p == '"' ? 2 : 1));
}

// ---- reading values -----------------------------------------------------------------------------

inline bool read_decimal(od::value v, const char* field, int64_t& out, failure& f) noexcept {
  od::raw_json_string raw;
  if (const auto ec = v.get_raw_json_string().get(raw)) [[unlikely]] {
    return f.set(field, "a decimal string", ec, v.raw_json_token());
  }
  const parse_error pe = parse_decimal(raw.raw(), out);
  if (pe != parse_error::ok) [[unlikely]] {
    return f.bad_number(field, "a decimal string", pe, quoted_text(raw.raw()));
  }
  return true;
}

inline bool read_uint(od::value v, const char* field, uint64_t& out, failure& f) noexcept {
  if (const auto ec = v.get_uint64().get(out)) [[unlikely]] {
    return f.set(field, "an unsigned integer", ec, v.raw_json_token());
  }
  return true;
}

inline bool read_int(od::value v, const char* field, int64_t& out, failure& f) noexcept {
  if (const auto ec = v.get_int64().get(out)) [[unlikely]] {
    return f.set(field, "an integer", ec, v.raw_json_token());
  }
  return true;
}

/// A JSON number of milliseconds since the epoch -> ns.
inline bool read_ms(od::value v, const char* field, int64_t& ns, failure& f) noexcept {
  int64_t ms = 0;
  if (const auto ec = v.get_int64().get(ms)) [[unlikely]] {
    return f.set(field, "a time in ms since the epoch", ec, v.raw_json_token());
  }
  if (ms < 0 || ms > max_ms) [[unlikely]] {
    return f.bad_number(field, "a time in ms since the epoch", parse_error::out_of_range,
                        v.raw_json_token());
  }
  ns = ms * ns_per_ms;
  return true;
}

/// A JSON string of digits ("338476307").
inline bool read_uint_string(od::value v, const char* field, uint64_t& out, failure& f) noexcept {
  od::raw_json_string raw;
  if (const auto ec = v.get_raw_json_string().get(raw)) [[unlikely]] {
    return f.set(field, "a string of digits", ec, v.raw_json_token());
  }
  const parse_error pe = parse_digits(raw.raw(), out);
  if (pe != parse_error::ok) [[unlikely]] {
    return f.bad_number(field, "a string of digits", pe, quoted_text(raw.raw()));
  }
  return true;
}

/// A JSON string of milliseconds since the epoch ("1652459224956") -> ns.
inline bool read_ms_string(od::value v, const char* field, int64_t& ns, failure& f) noexcept {
  od::raw_json_string raw;
  if (const auto ec = v.get_raw_json_string().get(raw)) [[unlikely]] {
    return f.set(field, "a time in ms since the epoch as a string", ec, v.raw_json_token());
  }
  uint64_t ms = 0;
  parse_error pe = parse_digits(raw.raw(), ms);
  if (pe == parse_error::ok && ms > static_cast<uint64_t>(max_ms)) pe = parse_error::out_of_range;
  if (pe != parse_error::ok) [[unlikely]] {
    return f.bad_number(field, "a time in ms since the epoch as a string", pe,
                        quoted_text(raw.raw()));
  }
  ns = static_cast<int64_t>(ms) * ns_per_ms;
  return true;
}

inline bool read_bool(od::value v, const char* field, bool& out, failure& f) noexcept {
  if (const auto ec = v.get_bool().get(out)) [[unlikely]] {
    return f.set(field, "true or false", ec, v.raw_json_token());
  }
  return true;
}

/// A string that holds no escapes (symbols, event types), straight from the message text;
/// anything else goes through simdjson's unescaping. The view lives as long as the message.
inline bool read_plain_string(od::value v, const char* field, std::string_view& out,
                              failure& f) noexcept {
  const std::string_view token = v.raw_json_token();
  if (token.size() >= 2 && token[0] == '"') [[likely]] {
    size_t end = 1;
    while (end < token.size() && token[end] != '"' && token[end] != '\\') ++end;
    if (end < token.size() && token[end] == '"') {
      out = token.substr(1, end - 1);
      return true;
    }
  }
  if (const auto ec = v.get_string().get(out)) [[unlikely]] {
    return f.set(field, "a string", ec, v.raw_json_token());
  }
  return true;
}

/// The unescaped text of a string value; it lives in the parser until the next message.
inline bool read_string(od::value v, const char* field, std::string_view& out,
                        failure& f) noexcept {
  if (const auto ec = v.get_string().get(out)) [[unlikely]] {
    return f.set(field, "a string", ec, v.raw_json_token());
  }
  return true;
}

inline bool read_object(od::value v, const char* field, od::object& out, failure& f) noexcept {
  if (const auto ec = v.get_object().get(out)) [[unlikely]] {
    return f.set(field, "an object", ec, v.raw_json_token());
  }
  return true;
}

inline bool read_array(od::value v, const char* field, const char* expected, od::array& out,
                       failure& f) noexcept {
  if (const auto ec = v.get_array().get(out)) [[unlikely]] {
    return f.set(field, expected, ec, v.raw_json_token());
  }
  return true;
}

/// Levels one side of one message may carry. Venues send at most 5,000 (Binance's deepest REST
/// snapshot); more is a hostile or broken message, refused as malformed (the book resyncs).
inline constexpr int64_t max_levels_per_message = 20'000;

/// An array of levels, each an array that starts with a price and a quantity string (Binance
/// [p, q]; OKX [px, sz, liquidated orders, order count]: the rest is ignored). Appends to `out`.
inline bool read_levels(od::value v, const char* field, std::vector<book_level>& out,
                        failure& f) noexcept {
  static constexpr const char* expected = "an array of [price, quantity] string pairs";
  od::array levels;
  if (!read_array(v, field, expected, levels, f)) return false;
  int64_t index = 0;
  for (auto item : levels) {
    if (index == max_levels_per_message) [[unlikely]] {
      f.index = index;
      return f.set(field, "at most 20000 levels per side in one message", simdjson::INCORRECT_TYPE,
                   "more");
    }
    od::value iv;
    od::array pair;
    simdjson::error_code ec = item.get(iv);
    if (!ec && (ec = iv.get_array().get(pair))) {
      f.index = index;
      return f.set(field, expected, ec, iv.raw_json_token());
    }
    if (ec) {
      f.index = index;
      return f.set(field, expected, ec, {});
    }
    book_level level;
    int n = 0;
    for (auto element : pair) {
      od::value ev;
      if (const auto ec = element.get(ev)) {
        f.index = index;
        return f.set(field, expected, ec, {});
      }
      if (n == 0 || n == 1) {
        if (!read_decimal(ev, field, n == 0 ? level.price : level.quantity, f)) {
          f.index = index;
          return false;
        }
      }
      ++n;
    }
    if (n < 2) {
      f.index = index;
      return f.set(field, expected, simdjson::INCORRECT_TYPE, "an array of fewer than 2 strings");
    }
    out.push_back(level);
    ++index;
  }
  return true;
}

/// True when the document has been read to its end; otherwise records what follows the JSON
/// value (a second value, garbage) as the failure.
inline bool at_end(od::document& doc, const char* data, size_t size, failure& f) noexcept {
  const char* rest = nullptr;
  const auto ec = doc.current_location().get(rest);
  if (ec == simdjson::OUT_OF_BOUNDS) return true;
  std::string_view got;
  if (ec == simdjson::SUCCESS && rest >= data && rest < data + size) {
    got = std::string_view(rest, std::min<size_t>(24, static_cast<size_t>(data + size - rest)));
  }
  return f.set(nullptr, "the end of the message", simdjson::INCORRECT_TYPE, got);
}

// ---- looking fields up --------------------------------------------------------------------------

/// Finds `key` in `obj` whatever the field order: forward from where the previous lookup left
/// off (one key comparison when fields are read in document order), then once more from the
/// start of the object. Not find_field_unordered: when that wraps around, simdjson 3.0 assumes
/// without checking that the part it wraps over is well-formed (SIMDJSON_ASSUME), which on a
/// broken message is undefined behaviour; find_field checks everything it reads.
template <size_t N>
[[gnu::always_inline]] inline simdjson::error_code find(od::object& obj, const char (&key)[N],
                                                        od::value& v) noexcept {
  const std::string_view k(key, N - 1);
  auto ec = obj.find_field(k).get(v);
  if (ec != simdjson::NO_SUCH_FIELD) [[likely]]
    return ec;
  bool has_fields = false;
  if ((ec = obj.reset().get(has_fields))) return ec;
  return obj.find_field(k).get(v);
}

/// The value of `key` in `obj` (see find()). `name` is how errors call the field ("k.t" for "t"
/// inside "k"). Always inlined so that the key comparison sees a literal of known length (a byte
/// compare instead of strlen + memcmp).
template <size_t N>
[[gnu::always_inline]] inline bool lookup(od::object& obj, const char (&key)[N], od::value& v,
                                          failure& f, const char* name = nullptr) noexcept {
  const auto ec = find(obj, key, v);
  if (ec) [[unlikely]] {
    if (name == nullptr) name = key;
    return ec == simdjson::NO_SUCH_FIELD ? f.missing(name) : f.set(name, nullptr, ec, {});
  }
  return true;
}

/// Whether `obj` has `key`; false with `ec` set on broken JSON (then stop using the document:
/// simdjson's iterator is dead after an error).
template <size_t N>
inline bool has_field(od::object& obj, const char (&key)[N], simdjson::error_code& ec) noexcept {
  od::value ignored;
  const auto r = find(obj, key, ignored);
  ec = r == simdjson::NO_SUCH_FIELD ? simdjson::SUCCESS : r;
  return r == simdjson::SUCCESS;
}

/// The first key of the object whose text starts at `p` (at or before its '{'; the message ends
/// at `end`): a hint for the fast path only, so that, e.g., a bookTicker is not searched for an
/// "e" it does not have.
inline std::string_view first_key(const char* p, const char* end) noexcept {
  const auto skip_space = [&] {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  };
  skip_space();
  if (p == end || *p != '{') return {};
  ++p;
  skip_space();
  if (p == end || *p != '"') return {};
  const char* const start = ++p;
  while (p < end && p - start < 16 && *p != '"' && *p != '\\') ++p;
  if (p == end || *p != '"') return {};
  return std::string_view(start, static_cast<size_t>(p - start));
}

/// Skips the rest of the document from anywhere inside `root` and checks nothing follows it:
/// catches truncated messages and trailing garbage that a lazy parse would not look at.
inline bool finish(od::document& doc, od::object& root, const char* data, size_t size,
                   failure& f) noexcept {
  std::string_view ignored;
  if (const auto ec = root.raw_json().get(ignored)) return f.set(nullptr, nullptr, ec, {});
  return at_end(doc, data, size, f);
}

// ---- walking an object --------------------------------------------------------------------------

/// Visits the fields of an object once, in document order: the fastest way through a message
/// with On-Demand, and it does not care about the order the venue writes the fields in. The
/// value of the current field may be read or left alone (it is skipped).
class field_walker {
 public:
  explicit field_walker(od::object& obj) noexcept {
    if ((error_ = obj.begin().get(it_))) return;
    error_ = obj.end().get(end_);
  }

  /// Moves to the next field. False at the end, or on broken JSON (then `error()` says why).
  bool next() noexcept {
    if (error_) return false;
    if (started_) ++it_;
    started_ = true;
    if (!(it_ != end_)) return false;
    return !(error_ = (*it_).get(field_));
  }

  simdjson::error_code error() const noexcept { return error_; }
  od::value value() noexcept { return field_.value(); }
  od::raw_json_string key() const noexcept { return field_.key(); }
  /// The one-character key ("p", "T", ...), or 0 when the key is longer.
  char short_key() const noexcept {
    const char* k = field_.key().raw();
    return k[1] == '"' ? k[0] : '\0';
  }
  bool key_is(std::string_view k) const noexcept { return field_.key().unsafe_is_equal(k); }

 private:
  od::object_iterator it_;
  od::object_iterator end_;
  od::field field_;
  simdjson::error_code error_ = simdjson::SUCCESS;
  bool started_ = false;
};

// ---- symbols ------------------------------------------------------------------------------------

/// Looks venue symbols up in the caller's map without allocating: the key is copied into a
/// reused string (venue symbols fit the small-string buffer anyway).
class symbol_lookup {
 public:
  explicit symbol_lookup(const symbol_map& map) : map_(map) { key_.reserve(32); }
  bool find(std::string_view symbol, uint32_t& id) {
    key_.assign(symbol.data(), symbol.size());
    const auto it = map_.find(key_);
    if (it == map_.end()) return false;
    id = it->second;
    return true;
  }

 private:
  const symbol_map& map_;
  std::string key_;
};

/// The raw text at the start of the document, for messages about a non-object message.
inline std::string_view document_token(od::document& doc) noexcept {
  std::string_view got;
  if (doc.raw_json_token().get(got) != simdjson::SUCCESS) return {};
  return got;
}

/// Shared parser state: the simdjson parser is reused for every message, so its buffers are
/// allocated once.
inline simdjson::error_code iterate(od::parser& parser, od::document& doc, const char* data,
                                    size_t size) noexcept {
  return parser.iterate(data, size, size + simdjson::SIMDJSON_PADDING).get(doc);
}

}  // namespace cats::venues
