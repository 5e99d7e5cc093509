// --set key=value: an override is parsed as TOML and put into the parsed file before the file is
// read, so that its errors name "--set ..." and the same checks apply.
#include "cats/util/json_writer.hpp"
#include "cats/util/text.hpp"
#include "toml_section.hpp"

namespace cats::config_detail {

namespace {

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

}  // namespace

void apply_override(toml::table& root, const std::string& expr) {
  const std::string source = std::string(set_prefix) + expr;
  const size_t eq = expr.find('=');
  if (eq == std::string::npos)
    throw config_error(source + ": expected key=value, e.g. backtest.fee_bps=10");
  const std::string key = trim(std::string_view(expr).substr(0, eq));
  const std::string value_text = trim(std::string_view(expr).substr(eq + 1));
  const std::vector<std::string_view> parts = split(key, '.');
  const std::vector<std::string> path(parts.begin(), parts.end());
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
      head == "record" || head == "risk" || head == "bus") {
    if (path.size() != 2)
      throw config_error(source + ": expected " + head + ".<key>; keys of [" + head + "]: " +
                         key_list(head == "engine"   ? engine_keys
                                  : head == "data"   ? data_keys
                                  : head == "live"   ? live_keys
                                  : head == "record" ? record_keys
                                  : head == "risk"   ? risk_keys
                                  : head == "bus"    ? bus_keys
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

}  // namespace cats::config_detail
