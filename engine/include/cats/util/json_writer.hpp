// A small streaming JSON writer with deterministic number formatting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cats {

class json_writer {
 public:
  /// indent = 0 writes one line; otherwise pretty-prints with that many spaces.
  explicit json_writer(int indent = 0) : indent_(indent) {}

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);

  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(bool b);
  json_writer& value(int64_t v);
  json_writer& value(uint64_t v);
  json_writer& value(int v) { return value(static_cast<int64_t>(v)); }
  json_writer& value(unsigned v) { return value(static_cast<uint64_t>(v)); }
  /// Non-finite values are written as null. `decimals` < 0 means shortest round-trip form.
  json_writer& value(double v, int decimals = -1);
  /// A number already formatted as JSON ("10234.5"), written as it is: exact fixed-point amounts
  /// come as cats::fixed_text(raw), so that this layer knows nothing of the fixed-point type.
  json_writer& number(std::string_view text);
  json_writer& null();

  const std::string& str() const noexcept { return out_; }

  static void escape(std::string_view s, std::string& out);
  /// Formats a double: shortest form, or `decimals` digits with trailing zeros removed.
  static std::string format_double(double v, int decimals = -1);

 private:
  void before_value();
  void newline();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
  int indent_;
};

}  // namespace cats
