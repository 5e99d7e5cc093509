// The live and record sections: [live], [record], [[instrument]] and [venues.<name>].
#include <algorithm>

#include "cats/core/instrument.hpp"
#include "toml_section.hpp"

namespace cats::config_detail {

namespace {

int64_t seconds_to_ms(const section& s, std::string_view key, double v, bool allow_zero) {
  if (v < 0 || (!allow_zero && v == 0) || v > 1e9) s.fail(*s.get(key), key);
  return static_cast<int64_t>(v * 1000.0 + 0.5);
}

void load_live(const toml::table& root, const fs::path& base, const std::string& fname,
               live_section& l) {
  section s(root.get_as<toml::table>("live"), "[live]", live_keys, fname);
  l.present = s.table() != nullptr;
  if (auto v = s.string("broker")) {
    if (*v != "paper" && *v != "binance" && *v != "okx") s.fail(*s.get("broker"), "broker");
    l.broker = *v;
  }
  if (auto v = s.string("journal")) l.journal = resolve_path(*s.get("journal"), *v, base);
  if (auto v = s.string("journal_fsync")) {
    if (*v != "always" && *v != "intents" && *v != "never")
      s.fail(*s.get("journal_fsync"), "journal_fsync");
    l.journal_fsync = *v;
  }
  if (auto v = s.boolean("cancel_on_stop")) l.cancel_on_stop = *v;
  if (auto v = s.string("source")) l.source = *v;  // checked once [bus] is read
  if (auto v = s.number("reconcile_timeout"))
    l.reconcile_timeout_ms = seconds_to_ms(s, "reconcile_timeout", *v, false);
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
  if (auto v = s.string("metrics")) {
    const size_t colon = v->rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == v->size() ||
        v->find_first_not_of("0123456789", colon + 1) != std::string::npos)
      s.fail(*s.get("metrics"), "metrics");
    l.metrics = *v;
  }
}

void load_record(const toml::table& root, const fs::path& base, const std::string& fname,
                 config_purpose purpose, record_section& r) {
  section s(root.get_as<toml::table>("record"), "[record]", record_keys, fname);
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

// A NATS name: a stream, a consumer or a subject token.
bool nats_name(const std::string& v) {
  return !v.empty() && v.size() <= 64 &&
         v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
             std::string::npos;
}

bool nats_url(const std::string& v) {
  return (v.rfind("nats://", 0) == 0 || v.rfind("tls://", 0) == 0) && v.size() > 7 &&
         v.find_first_of(" \t\n") == std::string::npos;
}

// channels = ["trades", "quotes", ...]: what to subscribe to.
void load_channels(const section& s, instrument_section& in) {
  const toml::node* c = s.get("channels");
  if (c == nullptr) return;
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

instrument_section load_instrument(const section& s,
                                   const std::vector<instrument_section>& before) {
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
  for (const instrument_section& other : before)
    if (other.symbol == in.symbol)
      s.fail(*s.get("symbol"), "symbol",
             "listed twice: " + in.symbol + " (first at " + other.where +
                 "); for bars of several intervals keep one entry and let each strategy ask "
                 "for the intervals it needs (subscribe_bars, docs/strategies.md)");
  load_channels(s, in);
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
  if (auto v = s.string("broker")) {
    std::string venue = in.venue;
    for (char& c : venue) c = static_cast<char>(c - 'A' + 'a');
    if (*v != "paper" && *v != venue)
      s.fail(*s.get("broker"), "broker",
             "expected \"paper\" or \"" + venue + "\" (the venue " + in.symbol +
                 " trades on), got \"" + *v + "\"");
    in.broker = *v;
  }
  return in;
}

// The private side of [venues.<name>]: endpoints and where the key comes from.
void load_private(const section& s, const fs::path& base, const std::string& upper,
                  venue_section& v) {
  v.api_url = v.rest_url;
  v.ws_api_url = upper == "BINANCE" ? "wss://ws-api.binance.com:443/ws-api/v3"
                                    : "wss://ws.okx.com:8443/ws/v5/private";
  v.api_key_env = upper + "_API_KEY";
  v.secret_env = upper + "_API_SECRET";
  v.passphrase_env = upper + "_API_PASSPHRASE";
  if (auto u = s.string("api_url")) {
    if (u->rfind("https://", 0) != 0) s.fail(*s.get("api_url"), "api_url");
    v.api_url = *u;
  }
  while (!v.api_url.empty() && v.api_url.back() == '/') v.api_url.pop_back();
  if (auto u = s.string("ws_api_url")) {
    if (u->rfind("wss://", 0) != 0) s.fail(*s.get("ws_api_url"), "ws_api_url");
    v.ws_api_url = *u;
  }
  for (auto [key, out] : {std::pair<const char*, std::string*>{"api_key_env", &v.api_key_env},
                          {"secret_env", &v.secret_env},
                          {"passphrase_env", &v.passphrase_env}}) {
    if (auto e = s.string(key)) {
      if (e->empty() ||
          e->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos)
        s.fail(*s.get(key), key);
      *out = *e;
    }
  }
  if (auto b = s.boolean("demo")) v.demo = *b;
  if (auto f = s.string("key_file")) v.key_file = resolve_path(*s.get("key_file"), *f, base);
  if (auto t = s.string("key_type")) {
    if (*t != "hmac" && *t != "ed25519") s.fail(*s.get("key_type"), "key_type");
    v.ed25519 = *t == "ed25519";
  }
  if (auto b = s.boolean("fetch_rules")) v.fetch_rules = *b;
  if (auto t = s.number("recv_window")) {
    if (*t <= 0 || *t > 60) s.fail(*s.get("recv_window"), "recv_window");
    v.recv_window_ms = static_cast<int64_t>(*t * 1000.0 + 0.5);
  }
}

// [venues.<name>] of every venue an instrument uses, with the real endpoints as defaults.
void load_venues(const toml::table& root, const fs::path& base, const std::string& fname,
                 run_config& cfg) {
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
    if (auto t = s.number("reconnect_max")) {
      v.reconnect_max_ms = seconds_to_ms(s, "reconnect_max", *t, false);
      if (v.reconnect_max_ms < 100) s.fail(*s.get("reconnect_max"), "reconnect_max");
    }
    if (auto b = s.boolean("permessage_deflate")) v.permessage_deflate = *b;
    load_private(s, base, upper, v);
    cfg.venues.push_back(std::move(v));
  }
}

}  // namespace

void load_bus(const toml::table& root, const fs::path& base, const std::string& fname,
              bus_section& b) {
  section s(root.get_as<toml::table>("bus"), "[bus]", bus_keys, fname);
  b.present = s.table() != nullptr;
  if (auto v = s.string("url")) {
    if (!nats_url(*v)) s.fail(*s.get("url"), "url");
    b.url = *v;
  }
  auto name = [&](std::string_view key, std::string& out) {
    if (auto v = s.string(key)) {
      if (!nats_name(*v)) s.fail(*s.get(key), key);
      out = *v;
    }
  };
  name("stream", b.stream);
  name("prefix", b.prefix);
  name("durable", b.durable);
  if (auto v = s.number("max_age")) b.max_age_ms = seconds_to_ms(s, "max_age", *v, true);
  if (const toml::node* n = s.get("max_bytes")) {
    if (!n->is_integer() || n->as_integer()->get() < 0) s.fail(*n, "max_bytes");
    b.max_bytes = n->as_integer()->get();
  }
  if (auto v = s.number("duplicate_window"))
    b.duplicate_window_ms = seconds_to_ms(s, "duplicate_window", *v, false);
  if (auto v = s.string("storage")) {
    if (*v != "file" && *v != "memory") s.fail(*s.get("storage"), "storage");
    b.memory_storage = *v == "memory";
  }
  if (auto v = s.string("start")) {
    if (*v != "snapshot" && *v != "new" && *v != "all") s.fail(*s.get("start"), "start");
    b.start = *v;
  }
  if (auto v = s.number("snapshot_interval"))
    b.snapshot_interval_ms = seconds_to_ms(s, "snapshot_interval", *v, false);
  if (const toml::node* n = s.get("max_pending")) {
    if (!n->is_integer() || n->as_integer()->get() < 1 || n->as_integer()->get() > 1048576)
      s.fail(*n, "max_pending");
    b.max_pending = n->as_integer()->get();
  }
  if (auto v = s.number("ack_wait")) b.ack_wait_ms = seconds_to_ms(s, "ack_wait", *v, false);
  if (auto v = s.number("connect_timeout"))
    b.connect_timeout_ms = seconds_to_ms(s, "connect_timeout", *v, false);
  if (auto v = s.string("user")) b.user = *v;
  for (auto [key, out] : {std::pair<std::string_view, fs::path*>{"password_file", &b.password_file},
                          {"creds_file", &b.creds_file},
                          {"nkey_seed_file", &b.nkey_seed_file},
                          {"ca_file", &b.ca_file}})
    if (auto v = s.string(key)) *out = resolve_path(*s.get(key), *v, base);
  if (!b.user.empty() && b.password_file.empty())
    throw config_error(s.loc() +
                       ": bus.user needs bus.password_file (the password is never "
                       "written in the config)");
  if (!b.password_file.empty() && b.user.empty())
    throw config_error(s.loc() + ": bus.password_file needs bus.user");
  if (static_cast<int>(!b.user.empty()) + static_cast<int>(!b.creds_file.empty()) +
          static_cast<int>(!b.nkey_seed_file.empty()) >
      1)
    throw config_error(s.loc() +
                       ": [bus] takes one way to authenticate: user + password_file, "
                       "creds_file or nkey_seed_file");
}

void load_live_sections(const toml::table& root, const fs::path& base, const std::string& fname,
                        config_purpose purpose, run_config& cfg) {
  load_bus(root, base, fname, cfg.bus);             // distributed sweeps use it too
  if (purpose == config_purpose::backtest) return;  // a backtest ignores the other live sections
  load_live(root, base, fname, cfg.live);
  load_record(root, base, fname, purpose, cfg.record);
  if (cfg.live.source != "venues" && cfg.live.source != "nats") {
    if (!nats_url(cfg.live.source))
      throw config_error(fname + ": live.source: expected \"venues\" or a nats:// URL, got \"" +
                         cfg.live.source + "\"");
    cfg.bus.url = cfg.live.source;
    cfg.live.source = "nats";
  }
  if (purpose == config_purpose::collector && cfg.live.source == "nats")
    throw config_error(fname +
                       ": live.source: a collector reads the venues and publishes to "
                       "the bus; it cannot read the bus itself");
  const toml::array* list = root.get_as<toml::array>("instrument");
  if (list == nullptr || list->empty())
    throw config_error(fname +
                       ": no [[instrument]] configured; add one with symbol = "
                       "\"BINANCE:BTCUSDT\" and channels = [\"trades\", \"book\"]");
  for (const toml::node& n : *list) {
    section s(n.as_table(), "[[instrument]]", instrument_keys, fname);
    cfg.instruments.push_back(load_instrument(s, cfg.instruments));
  }
  load_venues(root, base, fname, cfg);
}

}  // namespace cats::config_detail
