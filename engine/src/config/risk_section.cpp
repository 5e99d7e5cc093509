// [risk]: pre-trade limits for every order, per instrument and per strategy, and the account's
// loss limits (risk/risk_engine.hpp applies them).
#include "toml_section.hpp"

namespace cats::config_detail {

namespace {

// A fraction in (0, 1] as a fixed-point value.
void fraction(const section& s, std::string_view key, int64_t& out) {
  if (auto v = s.decimal(key)) {
    if (*v <= 0 || *v > fixed_scale) s.fail(*s.get(key), key);
    out = *v;
  }
}

void positive_int(const section& s, std::string_view key, int64_t& out) {
  const toml::node* n = s.get(key);
  if (n == nullptr) return;
  if (!n->is_integer() || n->as_integer()->get() <= 0) s.fail(*n, key);
  out = n->as_integer()->get();
}

// A rate per second, kept as a rate per 1000 s so that the token bucket stays in integers.
void rate(const section& s, std::string_view key, int64_t& out) {
  if (auto v = s.number(key)) {
    if (*v <= 0 || *v > 1e9) s.fail(*s.get(key), key);
    out = static_cast<int64_t>(*v * 1000.0 + 0.5);
    if (out == 0) s.fail(*s.get(key), key, "below 0.001 per second");
  }
}

risk_limits load_limits(const section& s) {
  risk_limits l;
  s.amount("max_order_quantity", l.max_order_quantity, false);
  s.amount("max_order_notional", l.max_order_notional, false);
  s.amount("max_position", l.max_position, false);
  positive_int(s, "max_open_orders", l.max_open_orders);
  fraction(s, "price_band", l.price_band);
  rate(s, "order_rate", l.order_rate_milli);
  positive_int(s, "order_burst", l.order_burst);
  rate(s, "cancel_rate", l.cancel_rate_milli);
  positive_int(s, "cancel_burst", l.cancel_burst);
  // A bucket holds at least one second of its rate, and never less than one action.
  if (l.order_rate_milli > 0 && l.order_burst == 0)
    l.order_burst = std::max<int64_t>(1, l.order_rate_milli / 1000);
  if (l.cancel_rate_milli > 0 && l.cancel_burst == 0)
    l.cancel_burst = std::max<int64_t>(1, l.cancel_rate_milli / 1000);
  if (l.order_burst > 0 && l.order_rate_milli == 0)
    s.fail(*s.get("order_burst"), "order_burst", "needs order_rate");
  if (l.cancel_burst > 0 && l.cancel_rate_milli == 0)
    s.fail(*s.get("cancel_burst"), "cancel_burst", "needs cancel_rate");
  return l;
}

// [risk.instrument."X"] or [risk.strategy.X]: a table of limit tables.
void load_named(const section& risk, std::string_view key, const std::string& fname,
                std::vector<std::pair<std::string, risk_limits>>& out) {
  const toml::node* n = risk.get(key);
  if (n == nullptr) return;
  if (!n->is_table()) risk.fail(*n, key);
  for (auto&& [name, v] : *n->as_table()) {
    const std::string title = "[risk." + std::string(key) + ".\"" + std::string(name.str()) + "\"]";
    if (!v.is_table())
      throw config_error(where(v.source(), fname) + ": " + title + " must be a table of limits");
    section s(v.as_table(), title, risk_limit_keys, fname);
    out.emplace_back(std::string(name.str()), load_limits(s));
  }
}

}  // namespace

void load_risk(const toml::table& root, const std::string& fname, run_config& cfg) {
  section s(root.get_as<toml::table>("risk"), "[risk]", risk_keys, fname);
  risk_section& r = cfg.risk;
  r.present = s.table() != nullptr;
  if (!r.present) return;
  r.where = s.loc();
  r.limits = load_limits(s);
  s.amount("max_daily_loss", r.max_daily_loss, false);
  fraction(s, "max_drawdown", r.max_drawdown);
  if (auto v = s.string("on_breach")) {
    if (*v != "halted" && *v != "reducing") s.fail(*s.get("on_breach"), "on_breach");
    r.breach_halts = *v == "halted";
  }
  if (auto v = s.boolean("flatten_on_kill")) r.flatten_on_kill = *v;
  positive_int(s, "max_orders_per_event", r.max_orders_per_event);
  load_named(s, "instrument", fname, r.instruments);
  load_named(s, "strategy", fname, r.strategies);
  // Strategy names are checked here; instrument symbols where the run's instruments are known.
  for (const auto& [name, limits] : r.strategies) {
    bool known = false;
    for (const strategy_section& st : cfg.strategies) known = known || st.name == name;
    (void)limits;
    if (!known && !cfg.strategies.empty())
      throw config_error(r.where + ": [risk.strategy." + name +
                         "] names no [[strategy]] of this config");
  }
}

}  // namespace cats::config_detail
