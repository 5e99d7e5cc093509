#include "toml_section.hpp"

#include "cats/util/json_writer.hpp"

namespace cats::config_detail {

const std::vector<key_info> top_keys = {{"engine", "table"},   {"data", "table"},
                                        {"backtest", "table"}, {"strategy", "array of tables"},
                                        {"live", "table"},     {"record", "table"},
                                        {"venues", "table"},   {"instrument", "array of tables"},
                                        {"risk", "table"},     {"bus", "table"}};
const std::vector<key_info> bus_keys = {
    {"url", "a nats:// or tls:// URL"},
    {"stream", "a stream name (letters, digits, '-' and '_')"},
    {"prefix", "a subject prefix (letters, digits, '-' and '_')"},
    {"max_age", "seconds >= 0 (0 = unlimited)"},
    {"max_bytes", "an integer >= 0 (0 = unlimited)"},
    {"duplicate_window", "seconds > 0"},
    {"storage", "\"file\" or \"memory\""},
    {"durable", "a consumer name (letters, digits, '-' and '_')"},
    {"start", "\"snapshot\", \"new\" or \"all\""},
    {"snapshot_interval", "seconds > 0"},
    {"max_pending", "an integer in [1, 1048576]"},
    {"ack_wait", "seconds > 0"},
    {"connect_timeout", "seconds > 0"},
    {"user", "a user name"},
    {"password_file", "a path (mode 0600)"},
    {"creds_file", "a path (mode 0600)"},
    {"nkey_seed_file", "a path (mode 0600)"},
    {"ca_file", "a PEM file path"}};
const std::vector<key_info> live_keys = {{"source", "\"venues\" or a nats:// URL"},
                                         {"broker", "\"paper\", \"binance\" or \"okx\""},
                                         {"journal", "a path"},
                                         {"journal_fsync", "\"always\", \"intents\" or \"never\""},
                                         {"cancel_on_stop", "a boolean"},
                                         {"reconcile_timeout", "seconds > 0"},
                                         {"book_depth", "an integer in [1, 1000]"},
                                         {"queue_capacity", "an integer in [1024, 16777216]"},
                                         {"overflow", "\"drop_quotes\" or \"block\""},
                                         {"status_interval", "seconds >= 0 (0 = no status line)"},
                                         {"duration", "seconds >= 0 (0 = until SIGINT/SIGTERM)"},
                                         {"busy_poll", "a boolean"},
                                         {"spin_us", "an integer in [0, 100000] (microseconds)"},
                                         {"hot_reload", "a boolean"},
                                         {"on_plugin_removed", "\"stop\" or \"keep\""},
                                         {"metrics", "\"HOST:PORT\" (loopback by default)"}};
const std::vector<key_info> record_keys = {
    {"dir", "a path"}, {"prefix", "a file name prefix"}, {"csv", "a boolean"}};
const std::vector<key_info> venue_keys = {{"ws_url", "a wss:// URL"},
                                          {"rest_url", "an https:// URL"},
                                          {"ca_file", "a PEM file path"},
                                          {"read_timeout", "seconds > 0"},
                                          {"reconnect_max", "seconds, at least 0.1"},
                                          {"permessage_deflate", "a boolean"},
                                          {"api_url", "an https:// URL"},
                                          {"ws_api_url", "a wss:// URL"},
                                          {"api_key_env", "an environment variable name"},
                                          {"secret_env", "an environment variable name"},
                                          {"key_file", "a path (mode 0600)"},
                                          {"key_type", "\"hmac\" or \"ed25519\""},
                                          {"recv_window", "seconds in (0, 60]"},
                                          {"fetch_rules", "a boolean"},
                                          {"passphrase_env", "an environment variable name"},
                                          {"demo", "a boolean (OKX demo trading)"}};
const std::vector<key_info> instrument_keys = {
    {"symbol", "\"BINANCE:BTCUSDT\" or \"OKX:BTC-USDT\""},
    {"channels", "a list of \"trades\", \"agg_trades\", \"quotes\", \"book\", \"bars\""},
    {"bar_interval", "\"1m\", \"5m\", \"1h\" ..."},
    {"tick_size", "a positive decimal"},
    {"lot_size", "a positive decimal"},
    {"min_quantity", "a decimal >= 0"},
    {"min_notional", "a decimal >= 0"},
    {"broker", "\"paper\" or the instrument's venue (\"binance\", \"okx\")"}};
const std::vector<key_info> engine_keys = {
    {"plugin_dir", "a path"},
    {"log_level", "one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", \"off\""},
    {"log_file", "a path"},
    {"callback_timeout", "seconds >= 0 (0 = off)"}};
const std::vector<key_info> risk_limit_keys = {{"max_order_quantity", "a decimal > 0"},
                                               {"max_order_notional", "a decimal > 0"},
                                               {"max_position", "a decimal > 0"},
                                               {"max_open_orders", "an integer > 0"},
                                               {"price_band", "a fraction in (0, 1], e.g. 0.05"},
                                               {"order_rate", "orders per second > 0"},
                                               {"order_burst", "an integer > 0"},
                                               {"cancel_rate", "cancels per second > 0"},
                                               {"cancel_burst", "an integer > 0"}};
const std::vector<key_info> risk_keys = [] {
  std::vector<key_info> k = risk_limit_keys;
  k.insert(k.end(), {{"max_daily_loss", "a decimal > 0 (quote currency)"},
                     {"max_drawdown", "a fraction in (0, 1]"},
                     {"on_breach", "\"halted\" or \"reducing\""},
                     {"flatten_on_kill", "a boolean"},
                     {"max_orders_per_event", "an integer > 0"},
                     {"instrument", "a table of [risk.instrument.\"VENUE:SYMBOL\"] tables"},
                     {"strategy", "a table of [risk.strategy.<name>] tables"}});
  return k;
}();
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
    {"quote", "an asset name"},
    {"venue_rules", "a venue_rules.<venue>.json file written by cats live"}};
const std::vector<key_info> data_keys = [] {
  std::vector<key_info> keys = feed_keys;
  keys.push_back({"on_error", "\"stop\" or \"skip\""});
  keys.push_back({"parse_threads", "an integer from 0 (every core) to 256"});
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
    {"end", "a date or date-time (UTC)"},
    {"bar_spans", "a boolean"}};
const std::vector<key_info> strategy_keys = {{"name", "a string"},
                                             {"plugin", "a plugin name or .so path"},
                                             {"enabled", "a boolean"},
                                             {"broker", "\"paper\", \"binance\" or \"okx\""},
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

}  // namespace cats::config_detail
