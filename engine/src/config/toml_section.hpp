// Reading the config's TOML (internal to the config area): the keys each section accepts, where a
// value came from ("file:line:col" or "--set ..."), and `section`, which reads one table knowing
// its valid keys and explains every refusal.
#pragma once

#include <toml++/toml.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"

namespace cats::config_detail {

namespace fs = std::filesystem;

inline constexpr std::string_view set_prefix = "--set ";

struct key_info {
  std::string_view name;
  std::string_view expect;  // what the value must be, for messages
};

extern const std::vector<key_info> top_keys, live_keys, record_keys, venue_keys, instrument_keys,
    engine_keys, feed_keys, data_keys, backtest_keys, strategy_keys, risk_keys, risk_limit_keys,
    bus_keys;

std::string key_list(const std::vector<key_info>& keys);
const key_info* find_key(const std::vector<key_info>& keys, std::string_view name);
/// "file:line:col" of a value, or the "--set ..." it came from.
std::string where(const toml::source_region& r, const std::string& fallback);
/// "string \"x\"", "integer 3", "an array"...: what a value is, for messages.
std::string describe(const toml::node& n);
/// A path from the config, relative to the config's folder (from --set: to the current one).
fs::path resolve_path(const toml::node& n, const std::string& text, const fs::path& base);
config_value to_value(const toml::node& n, const std::string& file);
/// Applies one --set override ("key=value") to the parsed file.
void apply_override(toml::table& root, const std::string& expr);

// Reads one [section] table, knowing its valid keys and where it came from.
class section {
 public:
  section(const toml::table* t, std::string name, const std::vector<key_info>& keys,
          std::string file)
      : t_(t), name_(std::move(name)), keys_(keys), file_(std::move(file)) {
    if (t_ == nullptr) return;
    for (auto&& [k, v] : *t_) {
      if (find_key(keys_, k.str()) == nullptr) {
        // Keys inserted by --set carry no source of their own; their values do.
        const toml::source_region& src = k.source().path ? k.source() : v.source();
        throw config_error(where(src, file_) + ": unknown key '" + std::string(k.str()) + "' in " +
                           name_ + "; valid keys: " + key_list(keys_));
      }
    }
  }

  const toml::node* get(std::string_view key) const {
    return t_ == nullptr ? nullptr : t_->get(key);
  }
  std::string loc(const toml::node& n) const { return where(n.source(), file_); }
  std::string loc() const { return t_ == nullptr ? file_ : where(t_->source(), file_); }
  [[noreturn]] void fail(const toml::node& n, std::string_view key) const {
    const key_info* k = find_key(keys_, key);
    throw config_error(loc(n) + ": " + dotted(key) + ": expected " +
                       std::string(k != nullptr ? k->expect : "something else") + ", got " +
                       describe(n));
  }
  [[noreturn]] void fail(const toml::node& n, std::string_view key, const std::string& why) const {
    throw config_error(loc(n) + ": " + dotted(key) + ": " + why);
  }
  [[noreturn]] void missing(std::string_view key) const {
    const key_info* k = find_key(keys_, key);
    throw config_error(loc() + ": " + name_ + " is missing the required key '" + std::string(key) +
                       "' (" + std::string(k != nullptr ? k->expect : "") + ")");
  }
  std::string dotted(std::string_view key) const {
    std::string prefix;
    for (char c : name_)
      if (c != '[' && c != ']') prefix += c;
    return prefix + "." + std::string(key);
  }

  std::optional<std::string> string(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_string()) fail(*n, key);
    return n->as_string()->get();
  }
  std::optional<bool> boolean(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (!n->is_boolean()) fail(*n, key);
    return n->as_boolean()->get();
  }
  std::optional<double> number(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    if (n->is_integer()) return static_cast<double>(n->as_integer()->get());
    if (n->is_floating_point()) {
      const double v = n->as_floating_point()->get();
      if (!std::isfinite(v)) fail(*n, key);
      return v;
    }
    fail(*n, key);
  }
  // A decimal as a string ("0.01", exact) or a number.
  std::optional<int64_t> decimal(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    int64_t out = 0;
    if (n->is_string()) {
      const parse_error e = parse_fixed(n->as_string()->get(), out);
      if (e != parse_error::ok) fail(*n, key, std::string(describe(e)) + ": " + describe(*n));
      return out;
    }
    if (n->is_integer()) {
      const int64_t v = n->as_integer()->get();
      if (v > INT64_MAX / fixed_scale || v < INT64_MIN / fixed_scale)
        fail(*n, key, "number too large: " + describe(*n));
      return v * fixed_scale;
    }
    if (n->is_floating_point()) {
      if (!fixed_from_double(n->as_floating_point()->get(), out))
        fail(*n, key, "number out of range: " + describe(*n));
      return out;
    }
    fail(*n, key);
  }
  /// A decimal that must be >= 0 (and > 0 unless `allow_zero`), stored in `out` when given.
  void amount(std::string_view key, int64_t& out, bool allow_zero) const {
    if (auto v = decimal(key)) {
      if (*v < 0 || (!allow_zero && *v == 0)) fail(*get(key), key);
      out = *v;
    }
  }

  std::optional<int64_t> timestamp(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::nullopt;
    auto from_date = [](const toml::date& d) {
      return days_from_civil(d.year, d.month, d.day) * ns_per_day;
    };
    if (n->is_date()) {
      if (!year_fits_ns(n->as_date()->get().year)) fail(*n, key);
      return from_date(n->as_date()->get());
    }
    if (n->is_date_time()) {
      const toml::date_time dt = n->as_date_time()->get();
      if (!year_fits_ns(dt.date.year)) fail(*n, key);
      int64_t ts = from_date(dt.date) +
                   (int64_t{dt.time.hour} * 3600 + int64_t{dt.time.minute} * 60 + dt.time.second) *
                       ns_per_s +
                   dt.time.nanosecond;
      if (dt.offset) ts -= int64_t{dt.offset->minutes} * 60 * ns_per_s;
      return ts;
    }
    if (n->is_string()) {
      if (auto ts = parse_iso8601(n->as_string()->get())) return ts;
    }
    fail(*n, key);
  }
  std::string name() const { return name_; }
  const toml::table* table() const { return t_; }

 private:
  const toml::table* t_;
  std::string name_;
  const std::vector<key_info>& keys_;
  std::string file_;
};

/// [risk] and its per-instrument and per-strategy tables.
void load_risk(const toml::table& root, const std::string& fname, run_config& cfg);

/// [bus] alone (the live sections read it too).
void load_bus(const toml::table& root, const fs::path& base, const std::string& fname,
              bus_section& b);
void load_live_sections(const toml::table& root, const fs::path& base, const std::string& fname,
                        config_purpose purpose, run_config& cfg);

}  // namespace cats::config_detail
