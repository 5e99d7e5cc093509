#include "cats/config/config.hpp"
#include "cats/plugin/params.hpp"
#include "cats/util/time.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"
#include "unit/config_values.hpp"

namespace cats {
namespace {

const char* const good = R"([engine]
log_level = "warn"

[data]
symbol = "BINANCE:BTCUSDT"
files = ["a.csv", "sub/b.csv"]
tick_size = "0.01"
lot_size = 0.00001

[backtest]
initial_cash = 5000
fee_bps = 7.5
fill = "close"
start = 2024-01-02

[[strategy]]
name = "sma"
plugin = "ma_crossover"
[strategy.params]
fast = 5
slow = 20
)";

// Loads `text` as <dir>/cfg.toml; returns the error message with the folder removed ("" if ok).
struct loaded {
  run_config cfg;
  std::string error;
};
loaded load(const std::string& text, const std::vector<std::string>& sets = {},
            config_purpose purpose = config_purpose::backtest) {
  test::temp_dir d;
  const auto file = d / "cfg.toml";
  test::write_file(file, text);
  loaded out;
  try {
    out.cfg = load_config(file, sets, purpose);
  } catch (const config_error& e) {
    out.error = e.what();
    const std::string prefix = file.string();
    for (size_t at; (at = out.error.find(prefix)) != std::string::npos;)
      out.error.replace(at, prefix.size(), "cfg.toml");
  }
  return out;
}

TEST(Config, ReadsEverySection) {
  const auto r = load(good);
  ASSERT_EQ(r.error, "");
  const run_config& c = r.cfg;
  EXPECT_EQ(c.engine.log_level, "warn");
  EXPECT_EQ(c.data.feeds.at(0).symbol, "BINANCE:BTCUSDT");
  ASSERT_EQ(c.data.feeds.at(0).files.size(), 2u);
  // Paths in the file are relative to the file's folder.
  EXPECT_EQ(c.data.feeds.at(0).files[1].filename(), "b.csv");
  EXPECT_EQ(c.data.feeds.at(0).files[1].parent_path().filename(), "sub");
  EXPECT_TRUE(c.data.feeds.at(0).files[0].is_absolute());
  EXPECT_EQ(c.data.feeds.at(0).tick_size, 1'000'000);
  EXPECT_EQ(c.data.feeds.at(0).lot_size, 1'000);
  EXPECT_EQ(c.data.feeds.at(0).base, "BTC");
  EXPECT_EQ(c.data.feeds.at(0).quote, "USDT");
  EXPECT_EQ(c.backtest.initial_cash, 5000 * fixed_scale);
  EXPECT_EQ(c.backtest.sim.taker_fee_rate, 75'000);  // 7.5 bps = 0.00075
  EXPECT_EQ(c.backtest.sim.maker_fee_rate, 75'000);  // defaults to the taker fee
  EXPECT_EQ(c.backtest.sim.fill, fill_model::close);
  EXPECT_EQ(c.backtest.start_ns, int64_t{1'704'153'600} * 1'000'000'000);
  ASSERT_EQ(c.strategies.size(), 1u);
  EXPECT_EQ(c.strategies[0].name, "sma");
  ASSERT_EQ(c.strategies[0].params.size(), 2u);
  EXPECT_EQ(c.strategies[0].params[0].first, "fast");
  EXPECT_EQ(c.strategies[0].params[0].second.i, 5);
  const std::string& where = c.strategies[0].params[0].second.where;
  EXPECT_EQ(where.substr(where.size() - 14), "/cfg.toml:20:8");
}

TEST(Config, UnknownKeysListTheValidOnes) {
  std::string text = good;
  text.replace(text.find("fee_bps = 7.5"), 13, "fe_bps = 7.5");
  EXPECT_EQ(load(text).error,
            "cfg.toml:12:1: unknown key 'fe_bps' in [backtest]; valid keys: initial_cash, fill, "
            "fee_bps, maker_fee_bps, slippage_bps, leverage, latency, seed, participation, start, "
            "end, bar_spans");
  EXPECT_EQ(load(std::string(good) + "\n[extra]\n").error,
            "cfg.toml:23:2: unknown top-level key 'extra'; valid keys: engine, data, backtest, "
            "strategy, live, record, venues, instrument, risk, bus");
}

TEST(Config, ReadsTheRiskSection) {
  const auto r = load(std::string(good) + R"(
[risk]
max_order_quantity = "0.5"
max_position = 2
price_band = 0.05
order_rate = 2.5
max_daily_loss = 1000
max_drawdown = 0.2
on_breach = "reducing"
flatten_on_kill = true
[risk.instrument."BINANCE:BTCUSDT"]
max_order_notional = 25000
[risk.strategy.sma]
max_open_orders = 3
cancel_rate = 10
)");
  ASSERT_EQ(r.error, "");
  const risk_section& k = r.cfg.risk;
  EXPECT_TRUE(k.present);
  EXPECT_EQ(k.limits.max_order_quantity, 50'000'000);
  EXPECT_EQ(k.limits.max_position, 200'000'000);
  EXPECT_EQ(k.limits.price_band, 5'000'000);
  EXPECT_EQ(k.limits.order_rate_milli, 2500);
  EXPECT_EQ(k.limits.order_burst, 2);  // one second of the rate, rounded down
  EXPECT_EQ(k.max_daily_loss, 1000 * fixed_scale);
  EXPECT_EQ(k.max_drawdown, 20'000'000);
  EXPECT_FALSE(k.breach_halts);
  EXPECT_TRUE(k.flatten_on_kill);
  ASSERT_EQ(k.instruments.size(), 1u);
  EXPECT_EQ(k.instruments[0].first, "BINANCE:BTCUSDT");
  EXPECT_EQ(k.instruments[0].second.max_order_notional, 25000 * fixed_scale);
  ASSERT_EQ(k.strategies.size(), 1u);
  EXPECT_EQ(k.strategies[0].second.max_open_orders, 3);
  EXPECT_EQ(k.strategies[0].second.cancel_burst, 10);

  EXPECT_EQ(load(std::string(good) + "\n[risk.strategy.nope]\nmax_open_orders = 1\n").error,
            "cfg.toml:23:1: [risk.strategy.nope] names no [[strategy]] of this config");
  EXPECT_EQ(load(std::string(good) + "\n[risk]\norder_burst = 3\n").error,
            "cfg.toml:24:15: risk.order_burst: needs order_rate");
  EXPECT_EQ(load(std::string(good) + "\n[risk.strategy.sma]\nmax_open_orders = 0\n").error,
            "cfg.toml:24:19: risk.strategy.\"sma\".max_open_orders: expected an integer > 0, got "
            "integer 0");
}

TEST(Config, WrongTypesSayWhatWasExpected) {
  std::string text = good;
  text.replace(text.find("fee_bps = 7.5"), 13, "fee_bps = \"abc\"");
  EXPECT_EQ(load(text).error,
            "cfg.toml:12:11: backtest.fee_bps: expected a number >= 0 (taker fee in basis points), "
            "got string \"abc\"");
  text = good;
  text.replace(text.find("fill = \"close\""), 14, "fill = \"nxt\"");
  EXPECT_EQ(
      load(text).error,
      "cfg.toml:13:8: backtest.fill: expected \"next_open\" or \"close\", got string \"nxt\"");
  text = good;
  text.replace(text.find("tick_size = \"0.01\""), 18, "tick_size = \"0.001x\"");
  EXPECT_EQ(load(text).error,
            "cfg.toml:7:13: data.tick_size: not a decimal number: string \"0.001x\"");
}

TEST(Config, ParseThreadsIsACountOfThreadsOrEveryCore) {
  EXPECT_EQ(load(good).cfg.data.parse_threads, 0u);  // every core
  const auto at = [](const char* value) {
    const std::string text = good;
    const size_t cut = text.find("tick_size");
    std::string edited = text.substr(0, cut);
    edited += "parse_threads = ";
    edited += value;
    edited += '\n';
    edited += text.substr(cut);
    return load(edited);
  };
  EXPECT_EQ(at("3").cfg.data.parse_threads, 3u);
  EXPECT_EQ(at("256").cfg.data.parse_threads, 256u);
  for (const char* bad : {"-1", "257", "2.5", "\"two\""}) {
    const std::string e = at(bad).error;
    EXPECT_EQ(e.rfind("cfg.toml:7:17: data.parse_threads: expected an integer from 0 (every core) "
                      "to 256, got ",
                      0),
              0u)
        << e;
  }
  EXPECT_EQ(load(good, {"data.parse_threads=2"}).cfg.data.parse_threads, 2u);
}

TEST(Config, MissingRequiredKeys) {
  std::string text = good;
  text.erase(text.find("files = "), std::string("files = [\"a.csv\", \"sub/b.csv\"]\n").size());
  EXPECT_EQ(load(text).error,
            "cfg.toml:4:1: [data] is missing the required key 'files' (a list of data file paths "
            "(.csv, .zip or .catsrec))");
  EXPECT_EQ(load("[engine]\n").error, "cfg.toml: missing the [data] section");
  text = good;
  text.erase(text.find("[[strategy]]"));
  EXPECT_EQ(load(text).error, "cfg.toml: no [[strategy]] configured; add one with name and plugin");
}

TEST(Config, InvalidTomlPointsAtTheProblem) {
  const auto r = load("[data\nsymbol = 1\n");
  EXPECT_EQ(r.error.rfind("cfg.toml:1:", 0), 0u) << r.error;
  EXPECT_NE(r.error.find("invalid TOML"), std::string::npos) << r.error;
  test::temp_dir d;
  try {
    load_config(d / "nope.toml", {});
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()), (d / "nope.toml").string() + ": config file not found");
  }
}

TEST(Config, VenueRulesFromALiveRunFillTheFeedUnlessGivenThere) {
  test::temp_dir d;
  test::write_file(
      d / "venue_rules.binance.json",
      R"({"venue":"binance","fetched_ns":1,"symbols":{"BTCUSDT":{"tick_size":"0.01",)"
      R"("lot_size":"0.00001","min_quantity":"0.00001","min_notional":"5","status":"TRADING"}}})");
  const std::string rules = (d / "venue_rules.binance.json").string();
  const std::string base_cfg = "[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"a.csv\"]\n";
  const std::string strategy = "[[strategy]]\nname = \"s\"\nplugin = \"ma_crossover\"\n";
  auto r = load(base_cfg + "venue_rules = \"" + rules + "\"\n" + strategy);
  ASSERT_EQ(r.error, "");
  const feed_section& f = r.cfg.data.feeds.at(0);
  EXPECT_EQ(f.tick_size, 1'000'000);
  EXPECT_EQ(f.lot_size, 1'000);
  EXPECT_EQ(f.min_notional, 500'000'000);
  EXPECT_FALSE(f.rules_missing);
  // A key in the table wins over the file.
  r = load(base_cfg + "venue_rules = \"" + rules + "\"\ntick_size = \"0.1\"\n" + strategy);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.data.feeds.at(0).tick_size, 10'000'000);
  EXPECT_TRUE(load(base_cfg + strategy).cfg.data.feeds.at(0).rules_missing);
  r = load("[data]\nsymbol = \"BINANCE:ETHUSDT\"\nfiles = [\"a.csv\"]\nvenue_rules = \"" + rules +
           "\"\n" + strategy);
  EXPECT_EQ(r.error, rules + ": no trading rules for BINANCE:ETHUSDT (the file is for binance)");
}

TEST(Config, SetOverridesAnyKey) {
  const auto r = load(
      good, {"backtest.fee_bps=10", "data.files=[\"x.csv\",\"y.csv\"]", "strategy.sma.fast=20",
             "strategy.sma.params.slow=50", "backtest.fill=next_open", "engine.log_level=debug",
             "backtest.end=2024-03-01", "strategy.sma.enabled=false"});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.backtest.sim.taker_fee_rate, 100'000);
  ASSERT_EQ(r.cfg.data.feeds.at(0).files.size(), 2u);
  EXPECT_EQ(r.cfg.data.feeds.at(0).files[0],
            "x.csv");  // --set paths are relative to the current folder
  EXPECT_EQ(r.cfg.backtest.sim.fill, fill_model::next_open);  // bare word taken as a string
  EXPECT_EQ(r.cfg.engine.log_level, "debug");
  EXPECT_TRUE(r.cfg.backtest.end_ns.has_value());
  EXPECT_FALSE(r.cfg.strategies[0].enabled);
  const auto& p = r.cfg.strategies[0].params;
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].second.i, 20);
  EXPECT_EQ(p[0].second.where, "--set strategy.sma.fast=20");
  EXPECT_EQ(p[1].second.i, 50);
}

TEST(Config, DatesOutsideTheNanosecondRangeAreRefused) {
  std::string text = good;
  const std::string at = "start = 2024-01-02\n";
  text.replace(text.find(at), at.size(), "start = 3000-01-01\n");
  EXPECT_NE(load(text).error.find("backtest.start: expected a date or date-time (UTC)"),
            std::string::npos)
      << load(text).error;
}

TEST(Config, LatencySeedAndParticipation) {
  auto with = [](const std::string& lines) {
    std::string text = good;
    const std::string at = "start = 2024-01-02\n";
    text.replace(text.find(at), at.size(), at + lines);
    return load(text);
  };
  auto r = with("latency = \"1.5ms\"\nseed = 7\nparticipation = 0.25\n");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.backtest.sim.latency.type, latency_model::kind::fixed);
  EXPECT_EQ(r.cfg.backtest.sim.latency.a_ns, 1'500'000);
  EXPECT_EQ(r.cfg.backtest.sim.seed, 7u);
  EXPECT_EQ(r.cfg.backtest.sim.participation, 25'000'000);
  r = with("latency = \"uniform:2ms:8ms\"\n");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.backtest.sim.latency.type, latency_model::kind::uniform);
  EXPECT_EQ(r.cfg.backtest.sim.latency.a_ns, 2'000'000);
  EXPECT_EQ(r.cfg.backtest.sim.latency.b_ns, 8'000'000);
  r = with("latency = \"lognormal:5ms:0.5\"\n");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.backtest.sim.latency.type, latency_model::kind::lognormal);
  EXPECT_EQ(r.cfg.backtest.sim.latency.sigma, 0.5);
  // Defaults: no latency, seed 1, the whole trade.
  r = load(good);
  EXPECT_TRUE(r.cfg.backtest.sim.latency.is_zero());
  EXPECT_EQ(r.cfg.backtest.sim.seed, 1u);
  EXPECT_EQ(r.cfg.backtest.sim.participation, fixed_scale);

  EXPECT_EQ(with("latency = \"5 ms\"\n").error,
            "cfg.toml:15:11: backtest.latency: expected a duration such as \"5ms\", or "
            "\"uniform:<low>:<high>\", \"normal:<mean>:<stddev>\", \"lognormal:<median>:<sigma>\" "
            "(units ns, us, ms, s), got \"5 ms\"");
  EXPECT_EQ(with("latency = \"uniform:8ms:2ms\"\n").error,
            "cfg.toml:15:11: backtest.latency: uniform latency: high is below low in "
            "\"uniform:8ms:2ms\"");
  EXPECT_EQ(with("latency = 5\n")
                .error.rfind("cfg.toml:15:11: backtest.latency: expected a "
                             "duration such as \"5ms\"",
                             0),
            0u);
  EXPECT_EQ(with("participation = 1.5\n").error,
            "cfg.toml:15:17: backtest.participation: must be in (0, 1], got 1.5");
  EXPECT_EQ(with("seed = -1\n").error,
            "cfg.toml:15:8: backtest.seed: expected an integer >= 0, got integer -1");
}

TEST(Config, SetErrorsNameTheOverride) {
  EXPECT_EQ(load(good, {"backtest.fee_bps=abc"}).error,
            "--set backtest.fee_bps=abc: backtest.fee_bps: expected a number >= 0 (taker fee in "
            "basis points), got string \"abc\"");
  EXPECT_EQ(load(good, {"backtest.fe_bps=1"}).error,
            "--set backtest.fe_bps=1: unknown key 'fe_bps' in [backtest]; valid keys: "
            "initial_cash, fill, fee_bps, maker_fee_bps, slippage_bps, leverage, latency, seed, "
            "participation, start, end, bar_spans");
  EXPECT_EQ(load(good, {"strategy.nope.fast=1"}).error,
            "--set strategy.nope.fast=1: no [[strategy]] named 'nope' (strategies: sma)");
  EXPECT_EQ(load(good, {"fee_bps"}).error,
            "--set fee_bps: expected key=value, e.g. backtest.fee_bps=10");
  EXPECT_EQ(load(good, {"risky.max=1"}).error,
            "--set risky.max=1: unknown section 'risky'; valid: engine, data, backtest, strategy, "
            "live, record, venues, instrument, risk, bus");
  EXPECT_EQ(load(good, {"risk.max=1"}).error,
            "--set risk.max=1: unknown key 'max' in [risk]; valid keys: max_order_quantity, "
            "max_order_notional, max_position, max_open_orders, price_band, order_rate, "
            "order_burst, cancel_rate, cancel_burst, max_daily_loss, max_drawdown, on_breach, "
            "flatten_on_kill, max_orders_per_event, instrument, strategy");
  EXPECT_EQ(load(good, {"risk.price_band=2"}).error,
            "--set risk.price_band=2: risk.price_band: expected a fraction in (0, 1], e.g. 0.05, "
            "got integer 2");
  EXPECT_EQ(load(good, {"risk.on_breach=\"stop\""}).error,
            "--set risk.on_breach=\"stop\": risk.on_breach: expected \"halted\" or "
            "\"reducing\", got string \"stop\"");
  EXPECT_EQ(load(good, {"backtest.fee_bps="}).error,
            "--set backtest.fee_bps=: missing value after '='");
}

TEST(Config, AbsurdCostsAndLeverageAreRefused) {
  EXPECT_EQ(load(good, {"backtest.fee_bps=2000"}).error,
            "--set backtest.fee_bps=2000: backtest.fee_bps: at most 1000 bps (10 %), got 2000");
  EXPECT_EQ(load(good, {"backtest.leverage=1000"}).error,
            "--set backtest.leverage=1000: backtest.leverage: must be in (0, 100], got 1000");
  EXPECT_EQ(load(good, {"backtest.initial_cash=20000000000"}).error,
            "--set backtest.initial_cash=20000000000: backtest.initial_cash: initial_cash x "
            "leverage must stay at or below 10,000,000,000, got 20000000000");
}

TEST(Config, PluginPathsAreRelativeToTheConfigButNamesAreNot) {
  std::string text = good;
  text.replace(text.find("plugin = \"ma_crossover\""), 23, "plugin = \"plug/ma.so\"");
  const auto r = load(text);
  ASSERT_EQ(r.error, "");
  const std::filesystem::path p = r.cfg.strategies[0].plugin;
  EXPECT_TRUE(p.is_absolute()) << p;
  EXPECT_EQ(p.filename(), "ma.so");
  EXPECT_EQ(p.parent_path().filename(), "plug");
  EXPECT_EQ(load(good).cfg.strategies[0].plugin, "ma_crossover");  // looked up in plugin_dir
  EXPECT_EQ(load(good, {"strategy.sma.plugin=plug/ma.so"}).cfg.strategies[0].plugin, "plug/ma.so");
}

TEST(Config, StrategyNamesMustBeUnique) {
  std::string text = std::string(good) + "\n[[strategy]]\nname = \"sma\"\nplugin = \"x\"\n";
  EXPECT_EQ(load(text).error, "cfg.toml:24:8: strategy.name: two strategies are named 'sma'");
}

// ---- parameters against a plugin's declaration --------------------------------------------------

std::shared_ptr<plugin_library> probe() {
  std::string err;
  auto lib = plugin_library::load(std::string(CATS_TEST_PLUGIN_DIR) + "/probe_strategy.so", err);
  EXPECT_TRUE(lib) << err;
  return lib;
}

strategy_section with_params(std::vector<std::pair<std::string, config_value>> params) {
  strategy_section s;
  s.name = "p";
  s.plugin = "probe_strategy";
  s.where = "cfg.toml:10:1";
  s.params = std::move(params);
  return s;
}

config_value integer(int64_t v) {
  return test::int_value(v, "cfg.toml:12:5");
}
config_value text(const std::string& s) {
  return test::str_value(s, "cfg.toml:13:5");
}

TEST(Params, DefaultsAreFilledInDeclaredOrder) {
  auto lib = probe();
  const param_set p =
      build_params(with_params({{"throw_at_bar", integer(3)}, {"quantity", integer(2)}}), *lib);
  ASSERT_EQ(p.entries().size(), 10u);
  EXPECT_EQ(p.entries()[0].name, "log");
  EXPECT_EQ(p.entries()[0].s, "");
  EXPECT_EQ(p.find("throw_at_bar")->i, 3);
  EXPECT_EQ(p.find("quantity")->type, CATS_PARAM_FLOAT);  // an integer is a fine float
  EXPECT_DOUBLE_EQ(p.find("quantity")->f, 2.0);
  EXPECT_EQ(p.find("buy_at_bar")->i, 0);
}

TEST(Params, UnknownAndMistypedParametersAreConfigErrors) {
  auto lib = probe();
  try {
    build_params(with_params({{"throw_at", integer(3)}}), *lib);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cfg.toml:12:5: strategy 'p' (probe 2.3.4) has no parameter 'throw_at'; valid: log, "
              "fail_create, throw_at_bar, buy_at_bar, sell_at_bar, quantity, timer_at_bar, "
              "buy_at_trade, log_books, query_every");
  }
  try {
    build_params(with_params({{"throw_at_bar", text("3")}}), *lib);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cfg.toml:13:5: strategy.p.throw_at_bar: expected int, got string \"3\"");
  }
}

// ---- live and record -----------------------------------------------------------------------

const char* const live_good = R"([live]
book_depth = 10
overflow = "block"
status_interval = 2.5
duration = 60

[venues.binance]
ws_url = "wss://127.0.0.1:9443/"
rest_url = "https://127.0.0.1:9443/"
read_timeout = 3

[[instrument]]
symbol = "BINANCE:BTCUSDT"
channels = ["trades", "book", "bars"]
bar_interval = "5m"
tick_size = "0.01"

[[instrument]]
symbol = "OKX:BTC-USDT"

[[strategy]]
name = "sma"
plugin = "ma_crossover"
)";

TEST(LiveConfig, ReadsTheLiveSectionsWithDefaultsForTheRest) {
  const auto r = load(live_good, {}, config_purpose::live);
  ASSERT_EQ(r.error, "");
  const run_config& c = r.cfg;
  EXPECT_EQ(c.live.book_depth, 10);
  EXPECT_FALSE(c.live.drop_quotes_when_full);
  EXPECT_EQ(c.live.status_interval_ms, 2500);
  EXPECT_EQ(c.live.duration_ms, 60000);
  ASSERT_EQ(c.instruments.size(), 2u);
  EXPECT_EQ(c.instruments[0].symbol, "BINANCE:BTCUSDT");
  EXPECT_EQ(c.instruments[0].name, "BTCUSDT");
  EXPECT_TRUE(c.instruments[0].trades);
  EXPECT_TRUE(c.instruments[0].book);
  EXPECT_TRUE(c.instruments[0].bars);
  EXPECT_FALSE(c.instruments[0].quotes);
  EXPECT_EQ(c.instruments[0].bar_interval, "5m");
  EXPECT_EQ(c.instruments[0].tick_size, 1000000);
  EXPECT_TRUE(c.instruments[1].trades);  // default channels: trades and quotes
  EXPECT_TRUE(c.instruments[1].quotes);
  ASSERT_EQ(c.venues.size(), 2u);
  EXPECT_EQ(c.venues[0].name, "binance");
  EXPECT_EQ(c.venues[0].ws_url, "wss://127.0.0.1:9443");  // trailing slash dropped
  EXPECT_EQ(c.venues[0].rest_url, "https://127.0.0.1:9443");
  EXPECT_EQ(c.venues[0].read_timeout_ms, 3000);
  EXPECT_EQ(c.venues[1].name, "okx");
  EXPECT_EQ(c.venues[1].ws_url, "wss://ws.okx.com:8443/ws/v5/public");  // the real default
}

TEST(LiveConfig, ABacktestDoesNotNeedTheLiveSectionsNorDoesLiveNeedData) {
  EXPECT_EQ(load(std::string(good) + "[live]\nduration = 5\n").error, "");
  EXPECT_EQ(load(live_good, {}, config_purpose::live).error, "");
  EXPECT_EQ(load(live_good).error, "cfg.toml: missing the [data] section");
}

TEST(LiveConfig, ErrorsNameTheKeyAndWhatIsAccepted) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string t = live_good;
    t.replace(t.find(from), from.size(), to);
    return load(t, {}, config_purpose::live).error;
  };
  EXPECT_EQ(with("overflow = \"block\"", "overflow = \"drop\""),
            "cfg.toml:3:12: live.overflow: expected \"drop_quotes\" or \"block\", got string "
            "\"drop\"");
  EXPECT_EQ(with("\"trades\", \"book\"", "\"trades\", \"depth\""),
            "cfg.toml:14:23: instrument.channels: expected a list of \"trades\", \"agg_trades\", "
            "\"quotes\", \"book\", \"bars\", got string \"depth\"");
  EXPECT_EQ(with("ws_url = \"wss://127.0.0.1:9443/\"", "ws_url = \"ws://127.0.0.1:9443\""),
            "cfg.toml:8:10: venues.binance.ws_url: expected a wss:// URL, got string "
            "\"ws://127.0.0.1:9443\"");
  EXPECT_EQ(with("OKX:BTC-USDT", "BTC-USDT"),
            "cfg.toml:19:10: instrument.symbol: expected VENUE:SYMBOL, got \"BTC-USDT\"");
  // One symbol twice (for a second bar interval, say): the error says what to do instead.
  EXPECT_EQ(load(std::string(live_good) + "\n[[instrument]]\nsymbol = \"BINANCE:BTCUSDT\"\n", {},
                 config_purpose::live)
                .error,
            "cfg.toml:26:10: instrument.symbol: listed twice: BINANCE:BTCUSDT (first at "
            "cfg.toml:12:1); for bars of several intervals keep one entry and let each strategy "
            "ask for the intervals it needs (subscribe_bars, docs/strategies.md)");
  EXPECT_EQ(with("[venues.binance]", "[venues.kraken]"),
            "cfg.toml:7:1: unknown venue [venues.kraken]; valid: binance, okx");
  EXPECT_EQ(with("read_timeout = 3", "read_timeout = 0"),
            "cfg.toml:10:16: venues.binance.read_timeout: expected seconds > 0, got integer 0");
  EXPECT_EQ(with("read_timeout = 3", "read_timeout = 3\nreconnect_max = 0.05"),
            "cfg.toml:11:17: venues.binance.reconnect_max: expected seconds, at least 0.1, got "
            "float 0.05");
  EXPECT_EQ(with("book_depth = 10", "book_depth = 0"),
            "cfg.toml:2:14: live.book_depth: expected an integer in [1, 1000], got integer 0");
  EXPECT_EQ(load("[live]\n", {}, config_purpose::live).error,
            "cfg.toml: no [[instrument]] configured; add one with symbol = \"BINANCE:BTCUSDT\" and "
            "channels = [\"trades\", \"book\"]");
  EXPECT_EQ(load("[[instrument]]\nsymbol = \"OKX:BTC-USDT\"\n", {}, config_purpose::record).error,
            "cfg.toml: [record] needs 'dir' (where the daily files go)");
}

TEST(LiveConfig, BrokersPerInstrumentAndPerStrategy) {
  std::string t = live_good;
  t.replace(t.find("symbol = \"OKX:BTC-USDT\"\n"), 23,
            "symbol = \"OKX:BTC-USDT\"\nbroker = \"okx\"\n");
  t.replace(t.find("plugin = \"ma_crossover\"\n"), 24,
            "plugin = \"ma_crossover\"\nbroker = \"paper\"\n");
  const auto r = load(t, {}, config_purpose::live);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.instruments[0].broker, "");  // live.broker
  EXPECT_EQ(r.cfg.instruments[1].broker, "okx");
  EXPECT_EQ(r.cfg.strategies[0].broker, "paper");
  // An instrument's orders go to paper or its own venue; a strategy's to a venue it can trade.
  std::string other = live_good;
  other.replace(other.find("symbol = \"OKX:BTC-USDT\"\n"), 23,
                "symbol = \"OKX:BTC-USDT\"\nbroker = \"binance\"\n");
  EXPECT_EQ(load(other, {}, config_purpose::live).error,
            "cfg.toml:20:10: instrument.broker: expected \"paper\" or \"okx\" (the venue "
            "OKX:BTC-USDT trades on), got \"binance\"");
  std::string nowhere = live_good;
  nowhere.replace(nowhere.find("symbol = \"OKX:BTC-USDT\"\n"), 23,
                  "symbol = \"BINANCE:ETHUSDT\"\n");
  nowhere.replace(nowhere.find("plugin = \"ma_crossover\"\n"), 24,
                  "plugin = \"ma_crossover\"\nbroker = \"okx\"\n");
  EXPECT_EQ(load(nowhere, {}, config_purpose::live).error,
            "cfg.toml:22:1: broker: strategy 'sma' trades on okx, but no [[instrument]] is on OKX");
  std::string kraken = t;
  kraken.replace(kraken.find("broker = \"paper\""), 16, "broker = \"kraken\"");
  EXPECT_EQ(load(kraken, {}, config_purpose::live).error,
            "cfg.toml:26:10: strategy.broker: expected \"paper\", \"binance\" or \"okx\", got "
            "string \"kraken\"");
}

TEST(LiveConfig, SetReachesTheLiveSections) {
  const auto r =
      load(live_good, {"live.duration=5", "venues.okx.ws_url=\"wss://127.0.0.1:1/ws/v5/public\""},
           config_purpose::live);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.live.duration_ms, 5000);
  EXPECT_EQ(r.cfg.venues[1].ws_url, "wss://127.0.0.1:1/ws/v5/public");
  EXPECT_EQ(load(live_good, {"venues.okx=1"}, config_purpose::live).error,
            "--set venues.okx=1: expected venues.<binance|okx>.<key>; keys: ws_url, rest_url, "
            "ca_file, read_timeout, reconnect_max, permessage_deflate, api_url, ws_api_url, "
            "api_key_env, secret_env, key_file, key_type, recv_window, fetch_rules, "
            "passphrase_env, demo");
}

}  // namespace
}  // namespace cats

namespace cats {
namespace {

TEST(Config, DataFeedsOfSeveralKinds) {
  const std::string base =
      "[data]\nsymbol = \"BINANCE:BTCUSDT\"\nfiles = [\"btc.csv\"]\n"
      "[[data.feed]]\nsymbol = \"ETHUSDT\"\nformat = \"binance_trades\"\n"
      "files = [\"eth-2024-01.zip\", \"eth-2024-02.zip\"]\nbars = \"15m\"\ntick_size = \"0.01\"\n"
      "[[data.feed]]\nsymbol = \"OKX:BTC-USDT\"\nformat = \"binance_agg_trades\"\n"
      "files = \"okx.csv\"\n"
      "[[strategy]]\nname = \"s\"\nplugin = \"x\"\n";
  auto r = load(base);
  ASSERT_EQ(r.error, "");
  const data_section& d = r.cfg.data;
  ASSERT_EQ(d.feeds.size(), 3u);
  EXPECT_EQ(d.feeds[0].format, "binance_klines");
  EXPECT_EQ(d.feeds[1].symbol, "BINANCE:ETHUSDT");
  EXPECT_EQ(d.feeds[1].format, "binance_trades");
  EXPECT_EQ(d.feeds[1].files.size(), 2u);
  EXPECT_EQ(d.feeds[1].bar_interval_ns, 15 * 60 * ns_per_s);
  EXPECT_EQ(d.feeds[1].tick_size, 1'000'000);
  EXPECT_EQ(d.feeds[1].quote, "USDT");
  EXPECT_EQ(d.feeds[2].symbol, "OKX:BTC-USDT");
  EXPECT_EQ(d.feeds[2].base, "BTC");

  // Only [[data.feed]] tables, no first feed in [data].
  r = load(
      "[data]\n[[data.feed]]\nsymbol = \"BTCUSDT\"\nfiles = \"a.csv\"\n"
      "[[strategy]]\nname = \"s\"\nplugin = \"x\"\n");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.data.feeds.size(), 1u);

  r = load(
      "[data]\nsymbol = \"BTCUSDT\"\nfiles = \"a.csv\"\nbars = \"1m\"\n"
      "[[strategy]]\nname = \"s\"\nplugin = \"x\"\n");
  EXPECT_NE(r.error.find("cfg.toml:4:8: data.bars: bars are built from trades"), std::string::npos)
      << r.error;
  r = load(
      "[data]\nsymbol = \"BTCUSDT\"\nfiles = \"a.csv\"\nformat = \"binance_trades\"\n"
      "bars = \"1x\"\n[[strategy]]\nname = \"s\"\nplugin = \"x\"\n");
  EXPECT_NE(r.error.find("cfg.toml:5:8: data.bars: expected a bar interval"), std::string::npos)
      << r.error;
  r = load(
      "[data]\nsymbol = \"BTCUSDT\"\nfiles = \"a.csv\"\nfeed = 3\n"
      "[[strategy]]\nname = \"s\"\nplugin = \"x\"\n");
  EXPECT_NE(r.error.find("data.feed must be [[data.feed]] tables"), std::string::npos) << r.error;
  r = load(
      "[data]\nsymbol = \"BTCUSDT\"\nfiles = \"a.csv\"\n[[data.feed]]\nsymbol = \"X\"\n"
      "[[strategy]]\nname = \"s\"\nplugin = \"x\"\n");
  EXPECT_NE(r.error.find("[[data.feed]] is missing the required key 'files'"), std::string::npos)
      << r.error;
}

}  // namespace
}  // namespace cats

namespace cats {
namespace {

TEST(Config, BusSectionIsReadAndCheckedKeyByKey) {
  const std::string bus =
      std::string(good) +
      "[bus]\nurl = \"nats://10.0.0.5:4222\"\nstream = \"MD\"\nprefix = \"md\"\n"
      "max_age = 3600\nstorage = \"memory\"\ndurable = \"engine-2\"\n"
      "start = \"new\"\nsnapshot_interval = 2.5\nack_wait = 10\n";
  const auto r = load(bus);
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.cfg.bus.present);
  EXPECT_EQ(r.cfg.bus.url, "nats://10.0.0.5:4222");
  EXPECT_EQ(r.cfg.bus.stream, "MD");
  EXPECT_EQ(r.cfg.bus.prefix, "md");
  EXPECT_EQ(r.cfg.bus.max_age_ms, 3'600'000);
  EXPECT_TRUE(r.cfg.bus.memory_storage);
  EXPECT_EQ(r.cfg.bus.durable, "engine-2");
  EXPECT_EQ(r.cfg.bus.start, "new");
  EXPECT_EQ(r.cfg.bus.snapshot_interval_ms, 2500);
  EXPECT_EQ(r.cfg.bus.ack_wait_ms, 10'000);
  EXPECT_EQ(load(good, {"bus.durable=\"a.b\""}).error,
            "--set bus.durable=\"a.b\": bus.durable: expected a consumer name (letters, digits, "
            "'-' and '_'), got string \"a.b\"");
  EXPECT_EQ(load(good, {"bus.url=\"http://x\""}).error,
            "--set bus.url=\"http://x\": bus.url: expected a nats:// or tls:// URL, got string "
            "\"http://x\"");
  EXPECT_EQ(load(good, {"bus.start=\"later\""}).error,
            "--set bus.start=\"later\": bus.start: expected \"snapshot\", \"new\" or \"all\", got "
            "string \"later\"");
  EXPECT_NE(load(good, {"bus.user=\"u\""}).error.find("bus.user needs bus.password_file"),
            std::string::npos);
  EXPECT_NE(load(good, {"bus.user=\"u\"", "bus.password_file=\"p\"", "bus.creds_file=\"c\""})
                .error.find("one way to authenticate"),
            std::string::npos);
  EXPECT_NE(load(good, {"bus.stamp=1"}).error.find("unknown key 'stamp' in [bus]"),
            std::string::npos);
}

TEST(Config, LiveSourceIsVenuesOrANatsUrl) {
  const auto r = load(live_good, {"live.source=\"nats://127.0.0.1:4333\""}, config_purpose::live);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cfg.live.source, "nats");
  EXPECT_EQ(r.cfg.bus.url, "nats://127.0.0.1:4333");
  EXPECT_NE(load(live_good, {"live.source=\"kafka://x\""}, config_purpose::live)
                .error.find("live.source: expected \"venues\" or a nats:// URL"),
            std::string::npos);
  EXPECT_NE(load(live_good, {"live.source=\"nats://h:1\""}, config_purpose::collector)
                .error.find("a collector reads the venues"),
            std::string::npos);
}

}  // namespace
}  // namespace cats
