// The run configuration: a TOML file plus --set overrides, validated against a schema.
//
// Every error names where the value came from ("config/backtest.toml:12:10" or
// "--set backtest.fee_bps=abc"), what was wrong and what is accepted. toml++ stays inside
// config.cpp; the rest of the engine sees plain structs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cats/config/sim_settings.hpp"

namespace cats {

/// A configuration or usage error; the message is complete and ready to print.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct config_value {
  enum class kind { boolean, integer, floating, string, other };
  kind type = kind::other;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::string type_name;  ///< TOML type for messages ("array", "table", ...)
  std::string where;      ///< "file:line:col" or "--set ..."
};

struct engine_section {
  std::filesystem::path plugin_dir;  ///< empty = default_plugin_dir()
  std::string log_level = "info";
  std::filesystem::path log_file;
  /// A strategy callback running longer is reported by the watchdog and, in live mode, the
  /// strategy is disabled when it returns. -1 = unset (1 s in live mode, off in a backtest); 0 =
  /// off.
  int64_t callback_timeout_ms = -1;
};

/// One set of pre-trade limits (risk/risk_engine.hpp applies them); 0 = no limit.
struct risk_limits {
  int64_t max_order_quantity = 0;  ///< fixed-point base units per order
  int64_t max_order_notional =
      0;                        ///< fixed-point quote units per order (at the limit or last price)
  int64_t max_position = 0;     ///< |net position| once the order and the working orders on its
                                ///< side have filled
  int64_t max_open_orders = 0;  ///< working orders
  int64_t price_band = 0;  ///< fixed-point fraction: limit/stop within +-band of the last price
  int64_t order_rate_milli = 0;   ///< orders per 1000 s refilled into the bucket (rate x 1000)
  int64_t order_burst = 0;        ///< bucket size (default: max(1, rate))
  int64_t cancel_rate_milli = 0;  ///< cancels and amends, the same way
  int64_t cancel_burst = 0;
};

/// [risk]: limits for every order, [risk.instrument."VENUE:SYMBOL"] and [risk.strategy.<name>]
/// for the orders of one instrument or one strategy (an order must pass every set that applies),
/// and account-wide loss limits.
struct risk_section {
  bool present = false;
  risk_limits limits;
  std::vector<std::pair<std::string, risk_limits>> instruments;  ///< by "VENUE:SYMBOL"
  std::vector<std::pair<std::string, risk_limits>> strategies;   ///< by strategy name
  int64_t max_daily_loss = 0;    ///< fixed-point quote units lost since the UTC day began (0 = off)
  int64_t max_drawdown = 0;      ///< fixed-point fraction below the session's peak equity (0 = off)
  bool breach_halts = true;      ///< on_breach = "halted" (default) or "reducing"
  bool flatten_on_kill = false;  ///< the kill switch also closes positions with market orders
  /// Orders one strategy may send while handling one event before it is disabled (an order loop).
  int64_t max_orders_per_event = 1000;
  /// Working orders of the whole account, whatever [risk] says (a runaway strategy cannot exhaust
  /// memory). Lowered by [risk] max_open_orders.
  int64_t hard_max_open_orders = 100000;
  std::string where;
};

/// One feed of historical data: one instrument's files of one format. A recording may hold several
/// instruments; `symbol` is then the one the report is about (the others are registered as they
/// appear, with default tick and lot sizes).
struct feed_section {
  std::string symbol;  ///< "BINANCE:BTCUSDT"
  std::vector<std::filesystem::path> files;
  /// "binance_klines", "binance_trades", "binance_agg_trades" or "cats_record".
  std::string format = "binance_klines";
  int64_t bar_interval_ns = 0;  ///< trades: also build time bars of this interval (0 = none)
  int64_t tick_size = 1;        // fixed; 1 = 10^-8 (no rounding beyond 8 decimals)
  int64_t lot_size = 1;
  int64_t min_quantity = 0;
  int64_t min_notional = 0;
  std::string base, quote;
  std::string where;  ///< "file:line:col" of the table, for messages
  /// Neither tick_size nor lot_size given (in the table or by `venue_rules`): amounts are rounded
  /// to 1e-8 only, which the commands say out loud.
  bool rules_missing = false;
};

/// [data]: the feeds of a backtest. The keys of [data] itself describe the first feed; each
/// [[data.feed]] table adds one more. The first feed's instrument is the one the report is about.
struct data_section {
  std::vector<feed_section> feeds;
  bool skip_malformed = false;
  /// Threads that parse a plain kline CSV file ahead of the replay (at most 4 per file); 0: every
  /// core. The rows, their order and every message are those of one thread.
  unsigned parse_threads = 0;
};

struct backtest_section {
  int64_t initial_cash = 10'000 * fixed_scale;
  sim_exchange_config sim;
  std::optional<int64_t> start_ns, end_ns;
  double fee_bps = 10, maker_fee_bps = 10, slippage_bps = 0, leverage = 1;
  /// Runs of bars go to a strategy in one call when it takes them (session_options::bar_spans).
  bool bar_spans = true;
};

/// One venue's endpoints (live and record modes). Defaults are the real public endpoints.
struct venue_section {
  std::string name;  ///< "binance" or "okx"
  std::string ws_url;
  std::string rest_url;
  std::filesystem::path ca_file;  ///< extra trusted CA certificate (PEM)
  int64_t read_timeout_ms = 20000;
  int64_t reconnect_max_ms = 30000;  ///< the longest wait between market data reconnects
  bool permessage_deflate = false;
  // The private side (live.broker = this venue). Secrets are never in the config: the API key
  // and secret come from the environment variables named here, or from `key_file` (mode 0600).
  std::string api_url;     ///< signed REST; defaults to rest_url
  std::string ws_api_url;  ///< Binance: the WebSocket API (user-data stream)
  std::string api_key_env, secret_env;
  std::string passphrase_env;      ///< OKX: the API key's passphrase
  std::filesystem::path key_file;  ///< line 1: the API key; then the secret (or a PEM key)
  bool ed25519 = false;            ///< key_type = "ed25519" (Binance); default "hmac"
  /// Fetch the instruments' trading rules (tick, lot, minimums) from the venue at start.
  bool fetch_rules = true;
  /// OKX demo trading: every private request carries `x-simulated-trading: 1`.
  bool demo = false;
  int64_t recv_window_ms = 5000;
};

/// An instrument to stream in live/record mode.
struct instrument_section {
  std::string symbol;  ///< "BINANCE:BTCUSDT", "OKX:BTC-USDT"
  std::string venue;   ///< "BINANCE"
  std::string name;    ///< "BTCUSDT"
  bool trades = true, agg_trades = false, quotes = true, book = false, bars = false;
  std::string bar_interval = "1m";
  int64_t tick_size = 1, lot_size = 1, min_quantity = 0, min_notional = 0;
  /// Where its orders go in a live run: "paper" or its venue ("binance"); empty = live.broker.
  std::string broker;
  std::string where;
};

struct live_section {
  bool present = false;
  std::string broker = "paper";
  int64_t book_depth = 20;
  int64_t queue_capacity = 65536;
  bool drop_quotes_when_full = true;  ///< overflow = "drop_quotes" (default) or "block"
  int64_t status_interval_ms = 10000;
  int64_t duration_ms = 0;      ///< 0 = until SIGINT/SIGTERM
  bool busy_poll = false;       ///< the network thread polls instead of sleeping in epoll
  int64_t spin_us = 30;         ///< the engine thread spins this long before it sleeps
  bool hot_reload = true;       ///< watch the plugin folder and swap in new builds
  bool keep_on_remove = false;  ///< on_plugin_removed = "keep": a removed .so keeps running
  /// "127.0.0.1:9464": serve /metrics (Prometheus text) and /status (JSON) there; empty = off.
  std::string metrics;
  /// Live brokers: the order journal (default: orders.journal in the run folder), its fsync
  /// policy ("always", "intents", "never"), whether working orders are cancelled when the run
  /// stops, and how long start-up reconciliation may take.
  std::filesystem::path journal;
  std::string journal_fsync = "intents";
  bool cancel_on_stop = true;
  int64_t reconcile_timeout_ms = 15000;
  /// Where market data comes from: "venues" (their WebSockets) or "nats" (a collector's stream on
  /// the [bus]; `cats live --source nats://HOST:PORT`).
  std::string source = "venues";
};

/// [bus]: NATS JetStream. `cats collector` publishes the normalized stream to it; `cats live
/// --source nats://...` consumes it through a durable consumer of its own.
struct bus_section {
  bool present = false;
  std::string url = "nats://127.0.0.1:4222";
  std::string stream = "CATS";      ///< the JetStream stream; it holds the subjects <prefix>.>
  std::string prefix = "cats";      ///< subjects <prefix>.<venue>.<symbol>.<kind>
  int64_t max_age_ms = 86'400'000;  ///< retention by age; 0 = unlimited
  int64_t max_bytes = 0;            ///< retention by size; 0 = unlimited
  int64_t duplicate_window_ms = 120'000;  ///< the server drops a re-sent message within this
  bool memory_storage = false;            ///< storage = "memory" (default "file")
  std::string durable = "cats-engine";    ///< this engine's consumer (one per engine)
  std::string start = "snapshot";         ///< a new consumer: "snapshot", "new" or "all"
  int64_t snapshot_interval_ms = 5000;    ///< collector: full books this often
  int64_t max_pending = 65536;            ///< collector: publishes awaiting the server's ack
  int64_t ack_wait_ms = 30000;            ///< engine: redelivery after this without an ack
  int64_t connect_timeout_ms = 30000;     ///< how long the first connection may take
  std::string user;                       ///< with password_file
  std::filesystem::path password_file;    ///< mode 0600
  std::filesystem::path creds_file;       ///< a NATS .creds file (JWT + nkey seed), mode 0600
  std::filesystem::path nkey_seed_file;   ///< an nkey seed, mode 0600
  std::filesystem::path ca_file;          ///< TLS: the server's CA (implies TLS)
};

struct record_section {
  bool present = false;
  std::filesystem::path dir;
  std::string prefix = "cats";
  bool csv = false;
};

struct strategy_section {
  std::string name;
  std::string plugin;
  bool enabled = true;
  /// Live runs: "paper", "binance" or "okx" sends every order of this strategy there; empty =
  /// each instrument's own route ([[instrument]] broker, else live.broker).
  std::string broker;
  std::string where;  ///< location of the [[strategy]] table
  std::vector<std::pair<std::string, config_value>> params;
};

struct run_config {
  std::filesystem::path file;
  engine_section engine;
  data_section data;
  backtest_section backtest;
  std::vector<strategy_section> strategies;
  live_section live;
  risk_section risk;
  record_section record;
  bus_section bus;
  std::vector<venue_section> venues;  ///< one per venue the instruments use
  std::vector<instrument_section> instruments;
};

/// What a config is loaded for: the sections it must have differ.
enum class config_purpose { backtest, live, record, collector };

/// Reads and validates a config file with --set overrides ("key=value", value in TOML syntax;
/// a bare word is taken as a string). Throws config_error.
run_config load_config(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                       config_purpose purpose = config_purpose::backtest);

/// Only the [bus] section of a config file (a worker needs no strategies or instruments).
bus_section load_bus_config(const std::filesystem::path& file,
                            const std::vector<std::string>& overrides);

/// True when `plugin` names a file (has a '/' or ends in ".so") rather than a plugin in the folder.
bool is_plugin_path(const std::string& plugin) noexcept;

/// The instruments' order routes of a live run, as one line ("live.broker = binance;
/// OKX:BTC-USDT -> okx"): SIGHUP compares them, since they change only at a restart.
std::string describe_routes(const run_config& cfg);

}  // namespace cats
