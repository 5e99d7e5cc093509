#include "cats/config/config.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <cmath>

#include "cats/core/instrument.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/text.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view set_prefix = "--set ";

struct key_info {
  std::string_view name;
  std::string_view expect;  // what the value must be, for messages
};

const std::vector<key_info> top_keys = {{"engine", "table"},   {"data", "table"},
                                        {"backtest", "table"}, {"strategy", "array of tables"},
                                        {"live", "table"},     {"record", "table"},
                                        {"venues", "table"},   {"instrument", "array of tables"}};
const std::vector<key_info> live_keys = {{"broker", "\"paper\""},
                                         {"book_depth", "an integer in [1, 1000]"},
                                         {"queue_capacity", "an integer in [1024, 16777216]"},
                                         {"overflow", "\"drop_quotes\" or \"block\""},
                                         {"status_interval", "seconds >= 0 (0 = no status line)"},
                                         {"duration", "seconds >= 0 (0 = until SIGINT/SIGTERM)"},
                                         {"busy_poll", "a boolean"},
                                         {"spin_us", "an integer in [0, 100000] (microseconds)"},
                                         {"hot_reload", "a boolean"},
                                         {"on_plugin_removed", "\"stop\" or \"keep\""}};
const std::vector<key_info> record_keys = {
    {"dir", "a path"}, {"prefix", "a file name prefix"}, {"csv", "a boolean"}};
const std::vector<key_info> venue_keys = {{"ws_url", "a wss:// URL"},
                                          {"rest_url", "an https:// URL"},
                                          {"ca_file", "a PEM file path"},
                                          {"read_timeout", "seconds > 0"},
                                          {"permessage_deflate", "a boolean"}};
const std::vector<key_info> instrument_keys = {
    {"symbol", "\"BINANCE:BTCUSDT\" or \"OKX:BTC-USDT\""},
    {"channels", "a list of \"trades\", \"agg_trades\", \"quotes\", \"book\", \"bars\""},
    {"bar_interval", "\"1m\", \"5m\", \"1h\" ..."},
    {"tick_size", "a positive decimal"},
    {"lot_size", "a positive decimal"},
    {"min_quantity", "a decimal >= 0"},
    {"min_notional", "a decimal >= 0"}};
const std::vector<key_info> engine_keys = {
    {"plugin_dir", "a path"},
    {"log_level", "one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", \"off\""},
    {"log_file", "a path"}};
const std::vector<key_info> feed_keys = {
    {"symbol", "an instrument name such as \"BINANCE:BTCUSDT\""},
    {"files", "a list of data file paths (.csv, .zip or .catsrec)"},
    {"format",
     "\"binance_klines\", \"binance_trades\", \"binance_agg_trades\" or \"cats_record\" (files "
     "written by cats record)"},
    {"bars", "a bar interval such as \"1m\", \"15m\", \"1h\" (trades only: build bars)"},
    {"tick_size", "a positive decimal"},
    {"lot_size", "a positive decimal"},
    {"min_quantity", "a decimal >= 0"},
    {"min_notional", "a decimal >= 0"},
    {"base", "an asset name"},
    {"quote", "an asset name"}};
const std::vector<key_info> data_keys = [] {
  std::vector<key_info> keys = feed_keys;
  keys.push_back({"on_error", "\"stop\" or \"skip\""});
  keys.push_back({"feed", "[[data.feed]] tables, one per further feed"});
  return keys;
}();
const std::vector<key_info> backtest_keys = {
    {"initial_cash", "a positive decimal"},
    {"fill", "\"next_open\" or \"close\""},
    {"fee_bps", "a number >= 0 (taker fee in basis points)"},
    {"maker_fee_bps", "a number >= 0 (maker fee in basis points)"},
    {"slippage_bps", "a number >= 0"},
    {"leverage", "a number > 0"},
    {"latency",
     "a duration such as \"5ms\", or \"uniform:<low>:<high>\", \"normal:<mean>:<stddev>\", "
     "\"lognormal:<median>:<sigma>\" (units ns, us, ms, s)"},
    {"seed", "an integer >= 0"},
    {"participation", "a number in (0, 1]"},
    {"start", "a date or date-time (UTC)"},
    {"end", "a date or date-time (UTC)"}};
const std::vector<key_info> strategy_keys = {{"name", "a string"},
                                             {"plugin", "a plugin name or .so path"},
                                             {"enabled", "a boolean"},
                                             {"params", "a table"}};

std::string key_list(const std::vector<key_info>& keys) {
  std::string out;
  for (const key_info& k : keys) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

const key_info* find_key(const std::vector<key_info>& keys, std::string_view name) {
  for (const key_info& k : keys)
    if (k.name == name) return &k;
  return nullptr;
}

std::string where(const toml::source_region& r, const std::string& fallback) {
  const std::string path = r.path ? *r.path : fallback;
  if (path.rfind(set_prefix, 0) == 0) return path;
  if (r.begin.line == 0) return path;
  return path + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

std::string describe(const toml::node& n) {
  std::string out;
  switch (n.type()) {
    case toml::node_type::string:
      out = "string ";
      json_writer::escape(n.as_string()->get(), out);
      return out;
    case toml::node_type::integer:
      return "integer " + std::to_string(n.as_integer()->get());
    case toml::node_type::floating_point:
      return "float " + json_writer::format_double(n.as_floating_point()->get());
    case toml::node_type::boolean:
      return n.as_boolean()->get() ? "boolean true" : "boolean false";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

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
    if (n->is_date()) return from_date(n->as_date()->get());
    if (n->is_date_time()) {
      const toml::date_time dt = n->as_date_time()->get();
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

fs::path resolve_path(const toml::node& n, const std::string& text, const fs::path& base) {
  fs::path p(text);
  if (p.is_absolute()) return p;
  const bool from_cli = n.source().path && n.source().path->rfind(set_prefix, 0) == 0;
  if (from_cli || base.empty()) return p.lexically_normal();
  return (base / p).lexically_normal();
}

config_value to_value(const toml::node& n, const std::string& file) {
  config_value v;
  v.where = where(n.source(), file);
  switch (n.type()) {
    case toml::node_type::boolean:
      v.type = config_value::kind::boolean;
      v.b = n.as_boolean()->get();
      v.type_name = "boolean";
      break;
    case toml::node_type::integer:
      v.type = config_value::kind::integer;
      v.i = n.as_integer()->get();
      v.type_name = "integer";
      break;
    case toml::node_type::floating_point:
      v.type = config_value::kind::floating;
      v.f = n.as_floating_point()->get();
      v.type_name = "float";
      break;
    case toml::node_type::string:
      v.type = config_value::kind::string;
      v.s = n.as_string()->get();
      v.type_name = "string";
      break;
    default:
      v.type = config_value::kind::other;
      v.type_name = describe(n);
  }
  return v;
}

// ---- --set ------------------------------------------------------------------------------------

std::vector<std::string> split_dots(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return out;
}

// Parses the right-hand side as TOML; a bare word that is not TOML becomes a string.
toml::table parse_override_value(const std::string& expr, const std::string& value_text) {
  const std::string source = std::string(set_prefix) + expr;
  try {
    return toml::parse("v = " + value_text, source);
  } catch (const toml::parse_error&) {
    std::string quoted;
    json_writer::escape(value_text, quoted);
    try {
      return toml::parse("v = " + quoted, source);
    } catch (const toml::parse_error& e) {
      throw config_error(source + ": value is not valid TOML: " + std::string(e.description()));
    }
  }
}

void put(toml::table& into, const std::string& key, toml::table& holder) {
  toml::node* n = holder.get("v");
  // Moved, not copied: a copy would drop the node's source location ("--set ...") that error
  // messages cite. `holder` is thrown away afterwards.
  n->visit([&](auto&& node) {
    into.insert_or_assign(key, std::move(node));  // NOLINT(bugprone-move-forwarding-reference)
  });
}

void apply_override(toml::table& root, const std::string& expr) {
  const std::string source = std::string(set_prefix) + expr;
  const size_t eq = expr.find('=');
  if (eq == std::string::npos)
    throw config_error(source + ": expected key=value, e.g. backtest.fee_bps=10");
  const std::string key = trim(std::string_view(expr).substr(0, eq));
  const std::string value_text = trim(std::string_view(expr).substr(eq + 1));
  const std::vector<std::string> path = split_dots(key);
  for (const std::string& part : path)
    if (part.empty()) throw config_error(source + ": empty component in key '" + key + "'");
  if (value_text.empty()) throw config_error(source + ": missing value after '='");
  toml::table holder = parse_override_value(expr, value_text);

  const std::string& head = path[0];
  if (head == "venues") {
    if (path.size() != 3)
      throw config_error(source +
                         ": expected venues.<binance|okx>.<key>; keys: " + key_list(venue_keys));
    if (!root.contains("venues")) root.insert("venues", toml::table{});
    toml::table* v = root.get_as<toml::table>("venues");
    if (v == nullptr) throw config_error(source + ": 'venues' in the config is not a table");
    if (!v->contains(path[1])) v->insert(path[1], toml::table{});
    toml::table* sec = v->get_as<toml::table>(path[1]);
    if (sec == nullptr) throw config_error(source + ": 'venues." + path[1] + "' is not a table");
    put(*sec, path[2], holder);
    return;
  }
  if (head == "engine" || head == "data" || head == "backtest" || head == "live" ||
      head == "record") {
    if (path.size() != 2)
      throw config_error(source + ": expected " + head + ".<key>; keys of [" + head + "]: " +
                         key_list(head == "engine"   ? engine_keys
                                  : head == "data"   ? data_keys
                                  : head == "live"   ? live_keys
                                  : head == "record" ? record_keys
                                                     : backtest_keys));
    if (!root.contains(head)) root.insert(head, toml::table{});
    toml::table* sec = root.get_as<toml::table>(head);
    if (sec == nullptr)
      throw config_error(source + ": '" + head + "' in the config is not a table");
    put(*sec, path[1], holder);
    return;
  }
  if (head == "strategy") {
    toml::array* list = root.get_as<toml::array>("strategy");
    std::vector<std::string> names;
    toml::table* target = nullptr;
    if (list != nullptr) {
      for (toml::node& n : *list) {
        toml::table* t = n.as_table();
        if (t == nullptr) continue;
        const std::string name = t->get_as<std::string>("name") != nullptr
                                     ? t->get_as<std::string>("name")->get()
                                     : std::string();
        names.push_back(name);
        if (path.size() >= 2 && name == path[1]) target = t;
      }
    }
    if (path.size() < 3) {
      throw config_error(source + ": expected strategy.<name>.<param> (or .plugin, .enabled)");
    }
    if (target == nullptr) {
      std::string known;
      for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
      throw config_error(source + ": no [[strategy]] named '" + path[1] +
                         "' (strategies: " + (known.empty() ? "none" : known) + ")");
    }
    const std::string& field = path[2];
    if (path.size() == 3 && (field == "plugin" || field == "enabled")) {
      put(*target, field, holder);
      return;
    }
    if (path.size() == 3 && field == "name")
      throw config_error(source + ": a strategy's name cannot be overridden");
    const bool explicit_params = field == "params";
    if ((explicit_params && path.size() != 4) || (!explicit_params && path.size() != 3))
      throw config_error(source + ": expected strategy." + path[1] + ".<param>");
    const std::string& param = explicit_params ? path[3] : field;
    if (!target->contains("params")) target->insert("params", toml::table{});
    toml::table* params = target->get_as<toml::table>("params");
    if (params == nullptr)
      throw config_error(source + ": strategy '" + path[1] + "' has 'params' that is not a table");
    put(*params, param, holder);
    return;
  }
  throw config_error(source + ": unknown section '" + head + "'; valid: " + key_list(top_keys));
}

}  // namespace

namespace {

/// One feed from [data] or a [[data.feed]] table.
feed_section load_feed(const section& s, const fs::path& base, std::string where_text) {
  feed_section f;
  f.where = std::move(where_text);
  auto symbol = s.string("symbol");
  if (!symbol) s.missing("symbol");
  std::string venue, name;
  if (!split_symbol(*symbol, "BINANCE", venue, name))
    s.fail(*s.get("symbol"), "symbol", "not an instrument name: \"" + *symbol + "\"");
  f.symbol = venue + ":" + name;
  const toml::node* files = s.get("files");
  if (files == nullptr) s.missing("files");
  if (files->is_string()) {
    f.files.push_back(resolve_path(*files, files->as_string()->get(), base));
  } else if (files->is_array()) {
    for (const toml::node& n : *files->as_array()) {
      if (!n.is_string()) s.fail(n, "files");
      f.files.push_back(resolve_path(n, n.as_string()->get(), base));
    }
    if (f.files.empty()) s.fail(*files, "files", "the list is empty");
  } else {
    s.fail(*files, "files");
  }
  if (auto v = s.string("format")) {
    if (*v != "binance_klines" && *v != "binance_trades" && *v != "binance_agg_trades" &&
        *v != "cats_record")
      s.fail(*s.get("format"), "format");
    f.format = *v;
  }
  if (auto v = s.string("bars")) {
    const auto interval = parse_interval(*v);
    if (!interval) s.fail(*s.get("bars"), "bars");
    if (f.format != "binance_trades" && f.format != "binance_agg_trades")
      s.fail(*s.get("bars"), "bars",
             "bars are built from trades: only with format \"binance_trades\" or "
             "\"binance_agg_trades\", not \"" +
                 f.format + "\"");
    f.bar_interval_ns = *interval;
  }
  s.amount("tick_size", f.tick_size, false);
  s.amount("lot_size", f.lot_size, false);
  s.amount("min_quantity", f.min_quantity, true);
  s.amount("min_notional", f.min_notional, true);
  guess_base_quote(name, f.base, f.quote);
  if (auto v = s.string("base")) f.base = *v;
  if (auto v = s.string("quote")) f.quote = *v;
  return f;
}

}  // namespace

void load_live_sections(const toml::table& root, const fs::path& base, const std::string& fname,
                        config_purpose purpose, run_config& cfg);

run_config load_config(const fs::path& file, const std::vector<std::string>& overrides,
                       config_purpose purpose) {
  run_config cfg;
  cfg.file = file;
  const std::string fname = file.string();
  toml::table root;
  {
    std::error_code ec;
    if (!fs::exists(file, ec)) throw config_error(fname + ": config file not found");
    try {
      root = toml::parse_file(fname);
    } catch (const toml::parse_error& e) {
      throw config_error(where(e.source(), fname) +
                         ": invalid TOML: " + std::string(e.description()));
    }
  }
  for (const std::string& o : overrides) apply_override(root, o);

  for (auto&& [k, v] : root) {
    if (find_key(top_keys, k.str()) == nullptr)
      throw config_error(where(k.source().path ? k.source() : v.source(), fname) +
                         ": unknown top-level key '" + std::string(k.str()) +
                         "'; valid keys: " + key_list(top_keys));
    const bool want_array = k.str() == "strategy" || k.str() == "instrument";
    if (want_array ? !v.is_array_of_tables() : !v.is_table())
      throw config_error(where(v.source(), fname) + ": '" + std::string(k.str()) + "' must be " +
                         (want_array ? "[[" + std::string(k.str()) + "]] tables" : "a [table]") +
                         ", got " + describe(v));
  }
  const fs::path base = file.parent_path();

  // [engine]
  {
    section s(root.get_as<toml::table>("engine"), "[engine]", engine_keys, fname);
    if (auto v = s.string("plugin_dir"))
      cfg.engine.plugin_dir = resolve_path(*s.get("plugin_dir"), *v, base);
    if (auto v = s.string("log_level")) {
      static const std::vector<std::string> levels = {"trace", "debug", "info",
                                                      "warn",  "error", "off"};
      if (std::find(levels.begin(), levels.end(), *v) == levels.end())
        s.fail(*s.get("log_level"), "log_level");
      cfg.engine.log_level = *v;
    }
    if (auto v = s.string("log_file"))
      cfg.engine.log_file = resolve_path(*s.get("log_file"), *v, base);
  }
  load_live_sections(root, base, fname, purpose, cfg);
  // [data]
  if (purpose == config_purpose::backtest || root.contains("data")) {
    const toml::table* t = root.get_as<toml::table>("data");
    if (t == nullptr) throw config_error(fname + ": missing the [data] section");
    section s(t, "[data]", data_keys, fname);
    if (auto v = s.string("on_error")) {
      if (*v != "stop" && *v != "skip") s.fail(*s.get("on_error"), "on_error");
      cfg.data.skip_malformed = *v == "skip";
    }
    // The keys of [data] are the first feed (optional when [[data.feed]] tables are given).
    const toml::node* extra = t->get("feed");
    const toml::array* feeds = extra != nullptr ? extra->as_array() : nullptr;
    if (extra != nullptr && (feeds == nullptr || !feeds->is_array_of_tables()))
      throw config_error(where(extra->source(), fname) +
                         ": data.feed must be [[data.feed]] tables, got " + describe(*extra));
    const bool has_main = t->contains("symbol") || t->contains("files");
    if (!has_main && feeds != nullptr)
      for (const key_info& k : feed_keys)
        if (const toml::node* n = t->get(k.name))
          throw config_error(where(n->source(), fname) + ": data." + std::string(k.name) +
                             ": [data] has no symbol and files of its own, so its feed keys "
                             "would be ignored; put it in a [[data.feed]] table");
    if (has_main || feeds == nullptr || feeds->empty())
      cfg.data.feeds.push_back(load_feed(s, base, where(t->source(), fname)));
    if (feeds != nullptr) {
      for (const toml::node& n : *feeds) {
        section fs_(n.as_table(), "[[data.feed]]", feed_keys, fname);
        cfg.data.feeds.push_back(load_feed(fs_, base, where(n.source(), fname)));
      }
    }
  }
  // [backtest]
  {
    section s(root.get_as<toml::table>("backtest"), "[backtest]", backtest_keys, fname);
    backtest_section& b = cfg.backtest;
    if (auto v = s.decimal("initial_cash")) {
      if (*v <= 0) s.fail(*s.get("initial_cash"), "initial_cash");
      b.initial_cash = *v;
    }
    if (auto v = s.string("fill")) {
      if (*v == "next_open")
        b.sim.fill = fill_model::next_open;
      else if (*v == "close")
        b.sim.fill = fill_model::close;
      else
        s.fail(*s.get("fill"), "fill");
    }
    auto non_negative = [&](std::string_view key, double& out) {
      if (auto v = s.number(key)) {
        if (*v < 0) s.fail(*s.get(key), key);
        out = *v;
      }
    };
    non_negative("fee_bps", b.fee_bps);
    b.maker_fee_bps = b.fee_bps;
    non_negative("maker_fee_bps", b.maker_fee_bps);
    non_negative("slippage_bps", b.slippage_bps);
    // 1000 bps (10 %) per fill is already far beyond any exchange; more is a typo.
    for (const auto& [key, v] :
         {std::pair{"fee_bps", b.fee_bps}, std::pair{"maker_fee_bps", b.maker_fee_bps},
          std::pair{"slippage_bps", b.slippage_bps}}) {
      if (v > 1000)
        s.fail(*s.get(key), key, "at most 1000 bps (10 %), got " + json_writer::format_double(v));
    }
    if (auto v = s.number("leverage")) {
      if (*v <= 0 || *v > 100)
        s.fail(*s.get("leverage"), "leverage",
               "must be in (0, 100], got " + json_writer::format_double(*v));
      b.leverage = *v;
    }
    fixed_from_double(b.fee_bps / 1e4, b.sim.taker_fee_rate);
    fixed_from_double(b.maker_fee_bps / 1e4, b.sim.maker_fee_rate);
    fixed_from_double(b.slippage_bps / 1e4, b.sim.slippage_rate);
    fixed_from_double(b.leverage, b.sim.leverage);
    // Amounts are 8-decimal int64: about 9.2e10 at most. Keep the account's buying power well
    // inside that range.
    const double buying_power = fixed_to_double(b.initial_cash) * b.leverage;
    if (buying_power > 1e10)
      s.fail(s.get("initial_cash") != nullptr ? *s.get("initial_cash") : *s.table(), "initial_cash",
             "initial_cash x leverage must stay at or below 10,000,000,000, got " +
                 json_writer::format_double(buying_power, 2));
    if (auto v = s.string("latency")) {
      std::string why;
      if (!parse_latency(*v, b.sim.latency, why)) s.fail(*s.get("latency"), "latency", why);
    } else if (const toml::node* n = s.get("latency")) {
      s.fail(*n, "latency");
    }
    if (const toml::node* n = s.get("seed")) {
      if (!n->is_integer() || n->as_integer()->get() < 0) s.fail(*n, "seed");
      b.sim.seed = static_cast<uint64_t>(n->as_integer()->get());
    }
    if (auto v = s.number("participation")) {
      if (!(*v > 0 && *v <= 1))
        s.fail(*s.get("participation"), "participation",
               "must be in (0, 1], got " + json_writer::format_double(*v));
      fixed_from_double(*v, b.sim.participation);
    }
    b.start_ns = s.timestamp("start");
    b.end_ns = s.timestamp("end");
    if (b.start_ns && b.end_ns && *b.end_ns <= *b.start_ns)
      s.fail(*s.get("end"), "end", "must be after start");
  }
  // [[strategy]]
  if (const toml::array* list = root.get_as<toml::array>("strategy")) {
    for (const toml::node& n : *list) {
      const toml::table& t = *n.as_table();
      section s(&t, "[[strategy]]", strategy_keys, fname);
      strategy_section st;
      st.where = s.loc();
      auto name = s.string("name");
      if (!name) s.missing("name");
      if (name->empty() || name->find_first_of(". =") != std::string::npos)
        s.fail(*s.get("name"), "name",
               "a strategy name must be non-empty and have no '.', ' ' or '='");
      for (const strategy_section& other : cfg.strategies)
        if (other.name == *name)
          s.fail(*s.get("name"), "name", "two strategies are named '" + *name + "'");
      st.name = *name;
      auto plugin = s.string("plugin");
      if (!plugin) s.missing("plugin");
      st.plugin = *plugin;
      // A path (not a bare name looked up in plugin_dir) is relative to the config like data.files.
      if (is_plugin_path(*plugin))
        st.plugin = resolve_path(*s.get("plugin"), *plugin, base).string();
      if (auto v = s.boolean("enabled")) st.enabled = *v;
      if (const toml::node* p = s.get("params")) {
        if (!p->is_table()) s.fail(*p, "params");
        for (auto&& [k, v] : *p->as_table())
          st.params.emplace_back(std::string(k.str()), to_value(v, fname));
      }
      cfg.strategies.push_back(std::move(st));
    }
  }
  if (cfg.strategies.empty() && purpose != config_purpose::record)
    throw config_error(fname + ": no [[strategy]] configured; add one with name and plugin");
  return cfg;
}

namespace {

int64_t seconds_to_ms(const section& s, std::string_view key, double v, bool allow_zero) {
  if (v < 0 || (!allow_zero && v == 0) || v > 1e9) s.fail(*s.get(key), key);
  return static_cast<int64_t>(v * 1000.0 + 0.5);
}

}  // namespace

void load_live_sections(const toml::table& root, const fs::path& base, const std::string& fname,
                        config_purpose purpose, run_config& cfg) {
  if (purpose == config_purpose::backtest) return;  // a backtest ignores the live sections
  // [live]
  {
    section s(root.get_as<toml::table>("live"), "[live]", live_keys, fname);
    live_section& l = cfg.live;
    l.present = s.table() != nullptr;
    if (auto v = s.string("broker")) {
      if (*v != "paper")
        s.fail(*s.get("broker"), "broker",
               "only \"paper\" is available: orders are simulated against the live market");
      l.broker = *v;
    }
    auto int_in = [&](std::string_view key, int64_t lo, int64_t hi, int64_t& out) {
      const toml::node* n = s.get(key);
      if (n == nullptr) return;
      if (!n->is_integer() || n->as_integer()->get() < lo || n->as_integer()->get() > hi)
        s.fail(*n, key);
      out = n->as_integer()->get();
    };
    int_in("book_depth", 1, 1000, l.book_depth);
    int_in("queue_capacity", 1024, 16777216, l.queue_capacity);
    if (auto v = s.string("overflow")) {
      if (*v != "drop_quotes" && *v != "block") s.fail(*s.get("overflow"), "overflow");
      l.drop_quotes_when_full = *v == "drop_quotes";
    }
    if (auto v = s.number("status_interval"))
      l.status_interval_ms = seconds_to_ms(s, "status_interval", *v, true);
    if (auto v = s.number("duration")) l.duration_ms = seconds_to_ms(s, "duration", *v, true);
    if (auto v = s.boolean("busy_poll")) l.busy_poll = *v;
    int_in("spin_us", 0, 100000, l.spin_us);
    if (auto v = s.boolean("hot_reload")) l.hot_reload = *v;
    if (auto v = s.string("on_plugin_removed")) {
      if (*v != "stop" && *v != "keep") s.fail(*s.get("on_plugin_removed"), "on_plugin_removed");
      l.keep_on_remove = *v == "keep";
    }
  }
  // [record]
  {
    section s(root.get_as<toml::table>("record"), "[record]", record_keys, fname);
    record_section& r = cfg.record;
    r.present = s.table() != nullptr;
    if (auto v = s.string("dir")) r.dir = resolve_path(*s.get("dir"), *v, base);
    if (auto v = s.string("prefix")) {
      if (v->empty() || v->find_first_of("/\\") != std::string::npos)
        s.fail(*s.get("prefix"), "prefix", "must be a non-empty file name without '/'");
      r.prefix = *v;
    }
    if (auto v = s.boolean("csv")) r.csv = *v;
    if (purpose == config_purpose::record && r.dir.empty())
      throw config_error(s.loc() + ": [record] needs 'dir' (where the daily files go)");
  }
  // [[instrument]]
  const toml::array* list = root.get_as<toml::array>("instrument");
  if (list == nullptr || list->empty())
    throw config_error(fname +
                       ": no [[instrument]] configured; add one with symbol = "
                       "\"BINANCE:BTCUSDT\" and channels = [\"trades\", \"book\"]");
  for (const toml::node& n : *list) {
    section s(n.as_table(), "[[instrument]]", instrument_keys, fname);
    instrument_section in;
    in.where = s.loc();
    auto symbol = s.string("symbol");
    if (!symbol) s.missing("symbol");
    if (!split_symbol(*symbol, "", in.venue, in.name) || in.venue.empty())
      s.fail(*s.get("symbol"), "symbol", "expected VENUE:SYMBOL, got \"" + *symbol + "\"");
    if (in.venue != "BINANCE" && in.venue != "OKX")
      s.fail(*s.get("symbol"), "symbol",
             "unknown venue '" + in.venue + "'; live data is available from BINANCE and OKX");
    in.symbol = in.venue + ":" + in.name;
    for (const instrument_section& other : cfg.instruments)
      if (other.symbol == in.symbol)
        s.fail(*s.get("symbol"), "symbol", "listed twice: " + in.symbol);
    if (const toml::node* c = s.get("channels")) {
      if (!c->is_array() || c->as_array()->empty()) s.fail(*c, "channels");
      in.trades = in.quotes = false;
      for (const toml::node& ch : *c->as_array()) {
        const auto* str = ch.as_string();
        const std::string v = str != nullptr ? str->get() : std::string();
        if (v == "trades")
          in.trades = true;
        else if (v == "agg_trades")
          in.agg_trades = true;
        else if (v == "quotes")
          in.quotes = true;
        else if (v == "book")
          in.book = true;
        else if (v == "bars")
          in.bars = true;
        else
          s.fail(ch, "channels");
      }
    }
    if (auto v = s.string("bar_interval")) {
      static const std::vector<std::string> ok = {"1m", "3m", "5m", "15m", "30m", "1h",
                                                  "2h", "4h", "6h", "12h", "1d"};
      if (std::find(ok.begin(), ok.end(), *v) == ok.end())
        s.fail(*s.get("bar_interval"), "bar_interval");
      in.bar_interval = *v;
    }
    s.amount("tick_size", in.tick_size, false);
    s.amount("lot_size", in.lot_size, false);
    s.amount("min_quantity", in.min_quantity, true);
    s.amount("min_notional", in.min_notional, true);
    cfg.instruments.push_back(std::move(in));
  }
  // [venues.<name>]
  const toml::table* venues = root.get_as<toml::table>("venues");
  if (venues != nullptr) {
    for (auto&& [k, v] : *venues) {
      if (k.str() != "binance" && k.str() != "okx")
        throw config_error(where(v.source(), fname) + ": unknown venue [venues." +
                           std::string(k.str()) + "]; valid: binance, okx");
      if (!v.is_table())
        throw config_error(where(v.source(), fname) + ": venues." + std::string(k.str()) +
                           " must be a table");
    }
  }
  for (const char* name : {"binance", "okx"}) {
    const std::string upper = name == std::string("binance") ? "BINANCE" : "OKX";
    bool used = false;
    for (const auto& in : cfg.instruments) used = used || in.venue == upper;
    if (!used) continue;
    venue_section v;
    v.name = name;
    v.ws_url =
        upper == "BINANCE" ? "wss://stream.binance.com:9443" : "wss://ws.okx.com:8443/ws/v5/public";
    v.rest_url = upper == "BINANCE" ? "https://api.binance.com" : "https://www.okx.com";
    section s(venues != nullptr ? venues->get_as<toml::table>(name) : nullptr,
              std::string("[venues.") + name + "]", venue_keys, fname);
    if (auto u = s.string("ws_url")) {
      if (u->rfind("wss://", 0) != 0) s.fail(*s.get("ws_url"), "ws_url");
      v.ws_url = *u;
    }
    if (auto u = s.string("rest_url")) {
      if (u->rfind("https://", 0) != 0) s.fail(*s.get("rest_url"), "rest_url");
      v.rest_url = *u;
    }
    while (!v.rest_url.empty() && v.rest_url.back() == '/') v.rest_url.pop_back();
    while (!v.ws_url.empty() && v.ws_url.back() == '/' && upper == "BINANCE") v.ws_url.pop_back();
    if (auto u = s.string("ca_file")) {
      v.ca_file = resolve_path(*s.get("ca_file"), *u, base);
      std::error_code ec;
      if (!fs::is_regular_file(v.ca_file, ec))
        s.fail(*s.get("ca_file"), "ca_file", "no such file: " + v.ca_file.string());
    }
    if (auto t = s.number("read_timeout"))
      v.read_timeout_ms = seconds_to_ms(s, "read_timeout", *t, false);
    if (auto b = s.boolean("permessage_deflate")) v.permessage_deflate = *b;
    cfg.venues.push_back(std::move(v));
  }
}

bool is_plugin_path(const std::string& plugin) noexcept {
  return plugin.find('/') != std::string::npos ||
         (plugin.size() > 3 && plugin.compare(plugin.size() - 3, 3, ".so") == 0);
}

}  // namespace cats
