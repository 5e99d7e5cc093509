#include "cats/config/config.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "cats/core/instrument.hpp"
#include "cats/util/json_writer.hpp"
#include "toml_section.hpp"

namespace cats {

using namespace config_detail;  // NOLINT(google-build-using-namespace): this area's own helpers

namespace {

/// The trading rules a live run fetched from the venue (venue_rules.<venue>.json, written by
/// `cats live`), for the feed's symbol.
void load_venue_rules(const fs::path& file, const std::string& venue, const std::string& name,
                      feed_section& f) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config_error(file.string() + ": cannot read the venue rules file");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  simdjson::dom::parser parser;
  simdjson::dom::element doc, sym;
  std::string_view file_venue;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS || doc["venue"].get(file_venue) != 0)
    throw config_error(file.string() +
                       ": not a venue rules file (JSON with \"venue\" and "
                       "\"symbols\", as cats live writes it)");
  std::string upper(file_venue);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper != venue || doc["symbols"][name].get(sym) != simdjson::SUCCESS)
    throw config_error(file.string() + ": no trading rules for " + venue + ":" + name +
                       " (the file is for " + std::string(file_venue) + ")");
  auto rule = [&](const char* key, int64_t& out) {
    std::string_view text;  // a string: a JSON number would come back through a double
    if (sym[key].get(text) != simdjson::SUCCESS || parse_fixed(text, out) != parse_error::ok)
      throw config_error(file.string() + ": " + name + "." + key +
                         ": expected a decimal string such as \"0.01\"");
  };
  rule("tick_size", f.tick_size);
  rule("lot_size", f.lot_size);
  rule("min_quantity", f.min_quantity);
  rule("min_notional", f.min_notional);
}

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
  if (auto v = s.string("venue_rules"))
    load_venue_rules(resolve_path(*s.get("venue_rules"), *v, base), venue, name, f);
  s.amount("tick_size", f.tick_size, false);  // explicit keys win over the venue's file
  s.amount("lot_size", f.lot_size, false);
  s.amount("min_quantity", f.min_quantity, true);
  s.amount("min_notional", f.min_notional, true);
  f.rules_missing = f.tick_size == 1 && f.lot_size == 1;
  guess_base_quote(name, f.base, f.quote);
  if (auto v = s.string("base")) f.base = *v;
  if (auto v = s.string("quote")) f.quote = *v;
  return f;
}

// The file, parsed, with the --set overrides put in; every top-level key checked.
toml::table parse_root(const fs::path& file, const std::vector<std::string>& overrides) {
  const std::string fname = file.string();
  toml::table root;
  std::error_code ec;
  if (!fs::exists(file, ec)) throw config_error(fname + ": config file not found");
  try {
    root = toml::parse_file(fname);
  } catch (const toml::parse_error& e) {
    throw config_error(where(e.source(), fname) +
                       ": invalid TOML: " + std::string(e.description()));
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
  return root;
}

void load_engine(const toml::table& root, const fs::path& base, const std::string& fname,
                 engine_section& e) {
  section s(root.get_as<toml::table>("engine"), "[engine]", engine_keys, fname);
  if (auto v = s.string("plugin_dir")) e.plugin_dir = resolve_path(*s.get("plugin_dir"), *v, base);
  if (auto v = s.string("log_level")) {
    static const std::vector<std::string> levels = {"trace", "debug", "info",
                                                    "warn",  "error", "off"};
    if (std::find(levels.begin(), levels.end(), *v) == levels.end())
      s.fail(*s.get("log_level"), "log_level");
    e.log_level = *v;
  }
  if (auto v = s.string("log_file")) e.log_file = resolve_path(*s.get("log_file"), *v, base);
  if (auto v = s.number("callback_timeout")) {
    if (*v < 0 || *v > 86400) s.fail(*s.get("callback_timeout"), "callback_timeout");
    e.callback_timeout_ms = static_cast<int64_t>(*v * 1000.0 + 0.5);
  }
}

// [data]: its own keys are the first feed (optional when [[data.feed]] tables are given).
void load_data(const toml::table& root, const fs::path& base, const std::string& fname,
               data_section& d) {
  const toml::table* t = root.get_as<toml::table>("data");
  if (t == nullptr) throw config_error(fname + ": missing the [data] section");
  section s(t, "[data]", data_keys, fname);
  if (auto v = s.string("on_error")) {
    if (*v != "stop" && *v != "skip") s.fail(*s.get("on_error"), "on_error");
    d.skip_malformed = *v == "skip";
  }
  if (const toml::node* n = s.get("parse_threads")) {
    const toml::value<int64_t>* i = n->as_integer();
    if (i == nullptr || i->get() < 0 || i->get() > 256) s.fail(*n, "parse_threads");
    d.parse_threads = static_cast<unsigned>(i->get());
  }
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
    d.feeds.push_back(load_feed(s, base, where(t->source(), fname)));
  if (feeds != nullptr) {
    for (const toml::node& n : *feeds) {
      section fs_(n.as_table(), "[[data.feed]]", feed_keys, fname);
      d.feeds.push_back(load_feed(fs_, base, where(n.source(), fname)));
    }
  }
}

// [backtest]: the costs (fees, slippage, leverage) and the buying power they give.
void load_costs(const section& s, backtest_section& b) {
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
}

void load_backtest(const toml::table& root, const std::string& fname, backtest_section& b) {
  section s(root.get_as<toml::table>("backtest"), "[backtest]", backtest_keys, fname);
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
  load_costs(s, b);
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
  if (auto v = s.boolean("bar_spans")) b.bar_spans = *v;
  b.start_ns = s.timestamp("start");
  b.end_ns = s.timestamp("end");
  if (b.start_ns && b.end_ns && *b.end_ns <= *b.start_ns)
    s.fail(*s.get("end"), "end", "must be after start");
}

strategy_section load_strategy(const section& s, const fs::path& base, const std::string& fname,
                               const std::vector<strategy_section>& before) {
  strategy_section st;
  st.where = s.loc();
  auto name = s.string("name");
  if (!name) s.missing("name");
  if (name->empty() || name->find_first_of(". =") != std::string::npos)
    s.fail(*s.get("name"), "name", "a strategy name must be non-empty and have no '.', ' ' or '='");
  for (const strategy_section& other : before)
    if (other.name == *name)
      s.fail(*s.get("name"), "name", "two strategies are named '" + *name + "'");
  st.name = *name;
  auto plugin = s.string("plugin");
  if (!plugin) s.missing("plugin");
  st.plugin = *plugin;
  // A path (not a bare name looked up in plugin_dir) is relative to the config like data.files.
  if (is_plugin_path(*plugin)) st.plugin = resolve_path(*s.get("plugin"), *plugin, base).string();
  if (auto v = s.boolean("enabled")) st.enabled = *v;
  if (auto v = s.string("broker")) {
    if (*v != "paper" && *v != "binance" && *v != "okx") s.fail(*s.get("broker"), "broker");
    st.broker = *v;
  }
  if (const toml::node* p = s.get("params")) {
    if (!p->is_table()) s.fail(*p, "params");
    for (auto&& [k, v] : *p->as_table())
      st.params.emplace_back(std::string(k.str()), to_value(v, fname));
  }
  return st;
}

}  // namespace

run_config load_config(const fs::path& file, const std::vector<std::string>& overrides,
                       config_purpose purpose) {
  run_config cfg;
  cfg.file = file;
  const std::string fname = file.string();
  const toml::table root = parse_root(file, overrides);
  const fs::path base = file.parent_path();
  load_engine(root, base, fname, cfg.engine);
  load_live_sections(root, base, fname, purpose, cfg);
  if (purpose == config_purpose::backtest || root.contains("data"))
    load_data(root, base, fname, cfg.data);
  load_backtest(root, fname, cfg.backtest);
  if (const toml::array* list = root.get_as<toml::array>("strategy")) {
    for (const toml::node& n : *list) {
      section s(n.as_table(), "[[strategy]]", strategy_keys, fname);
      cfg.strategies.push_back(load_strategy(s, base, fname, cfg.strategies));
    }
  }
  if (cfg.strategies.empty() && purpose != config_purpose::record &&
      purpose != config_purpose::collector)
    throw config_error(fname + ": no [[strategy]] configured; add one with name and plugin");
  if (purpose == config_purpose::live)
    for (const strategy_section& st : cfg.strategies) {
      if (st.broker.empty() || st.broker == "paper") continue;
      const std::string venue = st.broker == "okx" ? "OKX" : "BINANCE";
      if (std::none_of(cfg.instruments.begin(), cfg.instruments.end(),
                       [&](const instrument_section& i) { return i.venue == venue; }))
        throw config_error(st.where + ": broker: strategy '" + st.name + "' trades on " +
                           st.broker + ", but no [[instrument]] is on " + venue);
    }
  load_risk(root, fname, cfg);
  return cfg;
}

bus_section load_bus_config(const fs::path& file, const std::vector<std::string>& overrides) {
  const toml::table root = parse_root(file, overrides);
  bus_section b;
  load_bus(root, file.parent_path(), file.string(), b);
  return b;
}

std::string describe_routes(const run_config& cfg) {
  std::string out = "live.broker = " + cfg.live.broker;
  for (const instrument_section& i : cfg.instruments)
    if (!i.broker.empty()) out += "; " + i.symbol + " -> " + i.broker;
  return out;
}

bool is_plugin_path(const std::string& plugin) noexcept {
  return plugin.find('/') != std::string::npos ||
         (plugin.size() > 3 && plugin.compare(plugin.size() - 3, 3, ".so") == 0);
}

}  // namespace cats
