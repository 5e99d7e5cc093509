// The C++ SDK layer: exceptions become status codes at the boundary, parameters, fixed values,
// and the state hand-over of the reference strategy.
#include <gtest/gtest.h>
#include <cats/strategy.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/engine.hpp"
#include "cats/plugin/params.hpp"
#include "cats/report/html_report.hpp"
#include "unit/config_values.hpp"

namespace cats {
namespace {

class thrower final : public cats::strategy {
 public:
  thrower(cats::context& c, const cats::params& p) : strategy(c), mode_(p.get_int("mode", 0)) {}
  void on_bar(const cats::bar&) override {
    if (mode_ == 1) throw cats::error("rejected on purpose", CATS_E_REJECTED);
    if (mode_ == 2) throw std::runtime_error("runtime trouble");
    if (mode_ == 3) throw 42;
  }

 private:
  int64_t mode_;
};

struct wrapper_case {
  const cats_strategy_descriptor_t* d = cats::detail::entry<thrower>("thrower", "1.0", "throws");
  cats_strategy_t* s = nullptr;
  param_set ps;
  explicit wrapper_case(int64_t mode) {
    ps.set({"mode", CATS_PARAM_INT, false, mode, 0, ""});
    char err[64];
    EXPECT_EQ(d->create(&host_api(), nullptr, ps.c_params(), &s, err, sizeof err), CATS_OK);
  }
  ~wrapper_case() { d->destroy(s); }
  cats_status_t bar() {
    cats_bar_event_t b{};
    b.header.struct_size = sizeof b;
    b.header.type = CATS_EVENT_BAR;
    return d->on_event(s, &b.header);
  }
  std::string error() const { return std::string(to_string_view(d->last_error(s))); }
};

TEST(StrategyWrapper, ExceptionsBecomeStatusCodesWithMessages) {
  {
    wrapper_case w(0);
    EXPECT_EQ(w.bar(), CATS_OK);
  }
  {
    wrapper_case w(1);
    EXPECT_EQ(w.bar(), CATS_E_REJECTED);
    EXPECT_EQ(w.error(), "rejected on purpose");
  }
  {
    wrapper_case w(2);
    EXPECT_EQ(w.bar(), CATS_E_EXCEPTION);
    EXPECT_EQ(w.error(), "runtime trouble");
  }
  {
    wrapper_case w(3);
    EXPECT_EQ(w.bar(), CATS_E_EXCEPTION);
    EXPECT_EQ(w.error(), "unknown exception");
  }
}

TEST(StrategyWrapper, UnknownEventTypesAreIgnored) {
  wrapper_case w(1);
  cats_event_t e{};
  e.struct_size = sizeof e;
  e.type = 99;
  EXPECT_EQ(w.d->on_event(w.s, &e), CATS_OK);
}

// on_bars (ABI 1.5), written by the SDK for every strategy: the bars of the span in order, each
// index written before its bar, a stop honoured after the bar that set it, and the bar that
// throws counted. A private on_bar override (reached through the base) works as a public one.
class private_bars : public cats::strategy {
 public:
  private_bars(cats::context& c, const cats::params& p)
      : strategy(c), throw_at_(p.get_int("throw_at", 0)) {}
  static std::vector<int64_t> seen;
  static cats_bar_span_t* span;

 private:
  void on_bar(const cats::bar& b) override {
    seen.push_back(b.close().raw());
    EXPECT_EQ(static_cast<int64_t>(span->current) + 1, b.close().raw());  // its index
    if (b.close().raw() == 3) span->stop = 1;  // as the host does on an order
    if (b.close().raw() == throw_at_) throw std::runtime_error("bar " + std::to_string(throw_at_));
  }
  int64_t throw_at_;
};
std::vector<int64_t> private_bars::seen;
cats_bar_span_t* private_bars::span = nullptr;

TEST(StrategyWrapper, OnBarsHandsTheRunToOnBarUntilTheHostAsksForAStop) {
  const auto* d = cats::detail::entry<private_bars>("bars", "1.0", "");
  ASSERT_NE(d->on_bars, nullptr);
  // Bars in a wider record, as the host's events hold them: the stride is honoured.
  struct wide {
    cats_bar_event_t bar;
    char other[32];
  };
  std::vector<wide> bars(6);
  for (size_t i = 0; i < bars.size(); ++i) {
    bars[i].bar.header.struct_size = sizeof(cats_bar_event_t);
    bars[i].bar.header.type = CATS_EVENT_BAR;
    bars[i].bar.close = static_cast<int64_t>(i) + 1;
  }
  for (const int64_t throw_at : {0, 2}) {
    param_set ps;
    ps.set({"throw_at", CATS_PARAM_INT, false, throw_at, 0, ""});
    cats_strategy_t* s = nullptr;
    char err[64];
    ASSERT_EQ(d->create(&host_api(), nullptr, ps.c_params(), &s, err, sizeof err), CATS_OK);
    cats_bar_span_t span{};
    span.struct_size = sizeof span;
    span.count = static_cast<uint32_t>(bars.size());
    span.stride = sizeof(wide);
    span.first = &bars[0].bar;
    private_bars::span = &span;
    private_bars::seen.clear();
    uint32_t handled = 0;
    const cats_status_t st = d->on_bars(s, &span, &handled);
    if (throw_at == 0) {
      EXPECT_EQ(st, CATS_OK);
      EXPECT_EQ(handled, 3u);  // stopped after the third bar
      EXPECT_EQ(private_bars::seen, (std::vector<int64_t>{1, 2, 3}));
    } else {
      EXPECT_EQ(st, CATS_E_EXCEPTION);
      EXPECT_EQ(handled, 2u);  // the bar that threw counts
      EXPECT_EQ(std::string(to_string_view(d->last_error(s))), "bar 2");
    }
    d->destroy(s);
  }
}

class needs_1_1 final : public cats::strategy {
 public:
  static constexpr uint32_t abi_minor = 1;
  needs_1_1(cats::context& c, const cats::params&) : strategy(c) {}
};

TEST(StrategyWrapper, AStrategyStatesTheOldestMinorItNeeds) {
  EXPECT_EQ(cats::detail::entry<needs_1_1>("old", "1.0", "")->abi_minor, 1u);
  EXPECT_EQ(cats::detail::entry<thrower>("thrower", "1.0", "")->abi_minor,
            static_cast<uint32_t>(CATS_ABI_MINOR));
}

// A strategy that states minor 1 runs on a 1.1 host, whose table ends before amend_order: the
// 1.2 calls are refused with a reason instead of calling through a pointer that is not there.
TEST(StrategyWrapper, OnAHostOlderThan12AmendAndStopsAreRefusedWithAReason) {
  cats_host_api_t old = host_api();
  old.struct_size = offsetof(cats_host_api_t, amend_order);  // the 1.1 table
  old.abi_minor = 1;
  old.amend_order = nullptr;
  instrument_registry instruments;
  portfolio account(100 * fixed_scale, "USDT");
  engine eng(instruments, account);
  cats_host_t host;
  host.engine = &eng;
  cats::context ctx(&old, &host);
  EXPECT_FALSE(ctx.amend(1, cats::fixed::from_double(2.0)));
  EXPECT_EQ(ctx.last_error(), "amend_order is not available: this host is older than ABI 1.2");
  try {
    ctx.buy_stop(1, cats::fixed::from_double(1.0), cats::fixed::from_double(10.0));
    ADD_FAILURE() << "a stop order on a 1.1 host must throw";
  } catch (const cats::error& e) {
    EXPECT_EQ(e.status(), CATS_E_UNSUPPORTED);
    EXPECT_NE(std::string(e.what()).find("need a host with ABI 1.2; this host is 1.1"),
              std::string::npos)
        << e.what();
  }
  // The next host call's outcome replaces the SDK's message.
  EXPECT_FALSE(ctx.cancel(77));
  EXPECT_NE(ctx.last_error(), "amend_order is not available: this host is older than ABI 1.2");
}

TEST(StrategyWrapper, DescriptorIsComplete) {
  const auto* d = cats::detail::entry<thrower>("thrower", "1.0", "throws");
  EXPECT_EQ(d->struct_size, sizeof(cats_strategy_descriptor_t));
  EXPECT_EQ(d->abi_major, uint32_t{CATS_ABI_MAJOR});
  EXPECT_EQ(to_string_view(d->name), "thrower");
  EXPECT_EQ(d->param_count, 0u);
  EXPECT_NE(d->save_state, nullptr);
  EXPECT_NE(d->load_state, nullptr);
}

TEST(StrategyWrapper, ParamsAccessors) {
  param_set ps;
  ps.set({"n", CATS_PARAM_INT, false, 7, 0, ""});
  ps.set({"x", CATS_PARAM_FLOAT, false, 0, 2.5, ""});
  ps.set({"b", CATS_PARAM_BOOL, true, 0, 0, ""});
  ps.set({"s", CATS_PARAM_STRING, false, 0, 0, "hello"});
  const cats::params p(ps.c_params());
  EXPECT_EQ(p.get_int("n"), 7);
  EXPECT_DOUBLE_EQ(p.get_float("n"), 7.0);  // ints are numbers too
  EXPECT_DOUBLE_EQ(p.get_float("x"), 2.5);
  EXPECT_TRUE(p.get_bool("b"));
  EXPECT_EQ(p.get_string("s"), "hello");
  EXPECT_EQ(p.get_int("missing", 3), 3);
  EXPECT_THROW(p.get_int("x"), cats::error);
  try {
    p.get_string("nope");
  } catch (const cats::error& e) {
    EXPECT_STREQ(e.what(), "parameter 'nope' is missing");
    EXPECT_EQ(e.status(), CATS_E_INVALID_ARGUMENT);
  }
}

TEST(StrategyWrapper, FixedValues) {
  EXPECT_EQ(cats::fixed::from_double(0.1).raw(), 10'000'000);
  EXPECT_EQ(cats::fixed::from_raw(123'456'789).to_string(), "1.23456789");
  EXPECT_EQ(cats::fixed::from_raw(-150'000'000).to_string(), "-1.5");
  EXPECT_EQ(cats::fixed::from_raw(123'456'789).truncate_to(cats::fixed::from_raw(100'000)).raw(),
            123'400'000);
  EXPECT_EQ(cats::fixed::from_raw(-123'456'789).truncate_to(cats::fixed::from_raw(100'000)).raw(),
            -123'400'000);
  EXPECT_THROW(cats::fixed::from_double(1e300), cats::error);
  EXPECT_LT(cats::fixed::from_int(1), cats::fixed::from_int(2));
}

// ---- the host side of the ABI -------------------------------------------------------------------

class rearm final : public cats::strategy {
 public:
  rearm(cats::context& c, const cats::params&) : strategy(c) {}
  void on_start() override { ctx().set_timer(ctx().now_ns()); }
  // Re-arming for "now" would keep time from ever moving on.
  void on_timer(const cats::timer&) override { ctx().set_timer(ctx().now_ns()); }
};

TEST(HostApi, ATimerLoopStopsTheStrategyInsteadOfHanging) {
  instrument_registry instruments;
  portfolio account(1000 * fixed_scale, "USDT");
  engine eng(instruments, account);
  std::string err;
  ASSERT_TRUE(eng.add_strategy("loop", *cats::detail::entry<rearm>("rearm", "1", ""), {}, err));
  eng.set_time(1000);
  eng.start();
  eng.run_timers_until(2000);
  const strategy_slot& s = *eng.strategies()[0];
  EXPECT_FALSE(s.running);
  ASSERT_TRUE(s.failure);
  EXPECT_EQ(s.failure->where, "on_event(timer)");
}

TEST(HostApi, LargerStructsFromNewerPluginsAreZeroFilledBeyondWhatTheHostKnows) {
  instrument_registry instruments;
  portfolio account(1000 * fixed_scale, "USDT");
  engine eng(instruments, account);
  std::string err;
  ASSERT_TRUE(eng.add_strategy("t", *cats::detail::entry<thrower>("thrower", "1", ""), {}, err));
  cats_host_t* host = eng.strategies()[0]->host.get();
  unsigned char buf[96];
  std::memset(buf, 0xAB, sizeof buf);
  auto* acct = reinterpret_cast<cats_account_t*>(buf);
  acct->struct_size = sizeof buf;  // as if the plugin's cats_account_t had grown to 96 bytes
  ASSERT_EQ(host_api().get_account(host, acct), CATS_OK);
  EXPECT_EQ(acct->struct_size, sizeof(cats_account_t));
  EXPECT_EQ(acct->cash, 1000 * fixed_scale);
  for (size_t i = sizeof(cats_account_t); i < sizeof buf; ++i) ASSERT_EQ(buf[i], 0) << i;
  // A string with no data but a length is refused, not dereferenced.
  cats_instrument_t inst{};
  inst.struct_size = sizeof inst;
  EXPECT_EQ(host_api().find_instrument(host, cats_str_t{nullptr, 5}, &inst),
            CATS_E_INVALID_ARGUMENT);
}

struct plot_log final : plot_listener {
  struct row {
    std::string strategy;
    uint32_t series;
    std::string name, panel;
    int64_t t;
    double v;
  };
  std::vector<row> rows;
  void on_plot(std::string_view strategy, uint32_t series, std::string_view name,
               std::string_view panel, int64_t t, double v) noexcept override {
    rows.push_back({std::string(strategy), series, std::string(name), std::string(panel), t, v});
  }
};

TEST(HostApi, PlotChecksNamesPanelsAndTheSeriesLimit) {
  instrument_registry instruments;
  portfolio account(1000 * fixed_scale, "USDT");
  engine eng(instruments, account);
  std::string err;
  ASSERT_TRUE(eng.add_strategy("t", *cats::detail::entry<thrower>("thrower", "1", ""), {}, err));
  cats::context ctx(&host_api(), eng.strategies()[0]->host.get());
  // Before the engine has a time (a constructor): refused, with the reason.
  EXPECT_FALSE(ctx.plot("sma", 1.5));
  EXPECT_NE(ctx.last_error().find("no time yet"), std::string::npos) << ctx.last_error();
  eng.set_time(7000);
  // No listener (live, sweeps): accepted and dropped.
  EXPECT_TRUE(ctx.plot("sma", 1.5));
  plot_log log;
  eng.set_plot_listener(&log);
  EXPECT_TRUE(ctx.plot("sma", 2.5));
  EXPECT_TRUE(ctx.plot("rsi", 55.0, "RSI"));
  ASSERT_EQ(log.rows.size(), 2u);
  EXPECT_EQ(log.rows[0].strategy, "t");
  EXPECT_EQ(log.rows[0].series, 0u);
  EXPECT_EQ(log.rows[0].t, 7000);
  EXPECT_EQ(log.rows[0].v, 2.5);
  EXPECT_EQ(log.rows[1].series, 1u);
  EXPECT_EQ(log.rows[1].panel, "RSI");
  // A series keeps its panel; names are 1-64 printable characters.
  EXPECT_FALSE(ctx.plot("rsi", 1.0));
  EXPECT_EQ(ctx.last_error(), "plot: series 'rsi' is drawn in panel 'RSI', not ''");
  EXPECT_FALSE(ctx.plot("", 1.0));
  EXPECT_FALSE(ctx.plot(std::string(65, 'x'), 1.0));
  EXPECT_FALSE(ctx.plot("a\nb", 1.0));
  EXPECT_NE(ctx.last_error().find("series 'a\\nb'"), std::string::npos) << ctx.last_error();
  EXPECT_FALSE(ctx.plot("ok", 1.0, std::string(65, 'p')));
  EXPECT_EQ(host_api().plot(eng.strategies()[0]->host.get(), cats_str_t{nullptr, 3}, {}, 1.0),
            CATS_E_INVALID_ARGUMENT);
  // At most 32 series per strategy: the 33rd is refused, the known ones still work.
  for (int i = 2; i < 32; ++i) ASSERT_TRUE(ctx.plot("s" + std::to_string(i), i));
  EXPECT_FALSE(ctx.plot("one_more", 1.0));
  EXPECT_NE(ctx.last_error().find("at most 32 series"), std::string::npos) << ctx.last_error();
  EXPECT_TRUE(ctx.plot("sma", std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(log.rows.size(), 2u + 30u + 1u);
  // A 1.2 host has no plot: refused with a reason, no call through a missing pointer.
  cats_host_api_t old = host_api();
  old.struct_size = offsetof(cats_host_api_t, plot);
  old.plot = nullptr;
  cats::context old_ctx(&old, eng.strategies()[0]->host.get());
  EXPECT_FALSE(old_ctx.plot("sma", 1.0));
  EXPECT_EQ(old_ctx.last_error(), "plot is not available: this host is older than ABI 1.3");
}

TEST(HostApi, ReportCollectorDecimatesPlotsAndReplacesSameTimeValues) {
  report_collector c(nullptr, 8);
  c.plot("s", 0, "x", "", 10, 1.0);
  c.plot("s", 0, "x", "", 10, 2.0);  // same time: replaces
  ASSERT_EQ(c.plots().size(), 1u);
  ASSERT_EQ(c.plots()[0].points.size(), 1u);
  EXPECT_EQ(c.plots()[0].points[0].second, 2.0);
  for (int t = 11; t < 1000; ++t) c.plot("s", 0, "x", "", t, t);
  const plot_series& s = c.plots()[0];
  EXPECT_EQ(s.values, 990u);
  EXPECT_LE(s.points.size(), 8u);
  EXPECT_EQ(s.points.back().first, 999) << "the newest value is always kept";
  for (size_t i = 1; i < s.points.size(); ++i) EXPECT_LT(s.points[i - 1].first, s.points[i].first);
  c.plot("s", 1, "y", "P", 5, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(c.plots()[1].points[0].second)) << "not finite = a gap";
}

// ---- state hand-over of the reference strategy
// ---------------------------------------------------

class order_log final : public order_router {
 public:
  std::vector<std::string> orders;
  cats_status_t submit(uint32_t, const cats_order_request_t& r, uint64_t& id,
                       std::string&) override {
    orders.push_back((r.side == CATS_SIDE_BUY ? "buy " : "sell ") + fixed_to_string(r.quantity));
    id = orders.size();
    return CATS_OK;
  }
  cats_status_t cancel(uint32_t, uint64_t, std::string&) override { return CATS_E_NOT_FOUND; }
  void cancel_all(uint32_t, std::string_view) override {}
};

struct sma_engine {
  instrument_registry instruments;
  portfolio account{10'000 * fixed_scale, "USDT"};
  engine eng{instruments, account};
  order_log router;
  uint32_t inst = 0;
  sma_engine() {
    instrument_info i;
    i.symbol = "BINANCE:BTCUSDT";
    i.venue = "BINANCE";
    i.name = "BTCUSDT";
    i.lot_size = 1000;
    inst = instruments.add(i);
    eng.set_router(&router);
    std::string err;
    auto lib = plugin_library::load(std::string(CATS_PLUGIN_DIR) + "/ma_crossover.so", err);
    EXPECT_TRUE(lib) << err;
    strategy_section s;
    s.name = "sma";
    s.params = {{"fast", test::int_value(2)},
                {"slow", test::int_value(4)},
                {"allow_short", test::bool_value(true)}};
    EXPECT_TRUE(eng.add_strategy("sma", lib, build_params(s, *lib), err)) << err;
    eng.start();
  }
  void bar(int k, double close) {
    cats_bar_event_t b{};
    b.header.struct_size = sizeof b;
    b.header.type = CATS_EVENT_BAR;
    b.header.instrument_id = inst;
    b.header.exchange_ts_ns = int64_t{k} * 60'000'000'000;
    fixed_from_double(close, b.close);
    b.open = b.high = b.low = b.close;
    eng.set_time(b.header.exchange_ts_ns);
    account.mark(inst, b.close);
    eng.dispatch(b.header);
  }
  strategy_slot& slot() { return *eng.strategies()[0]; }
};

cats_status_t collect(void* ctx, const void* data, uint64_t size) {
  auto* blob = static_cast<std::vector<unsigned char>*>(ctx);
  const auto* p = static_cast<const unsigned char*>(data);
  blob->insert(blob->end(), p, p + size);
  return CATS_OK;
}

TEST(StrategyState, ReferenceStrategyContinuesFromHandedOverState) {
  const double closes[] = {100, 101, 102, 103, 104, 103, 101, 99,
                           98,  99,  102, 105, 107, 104, 100, 97};
  sma_engine a, b;
  const int handover = 6;
  for (int k = 0; k < handover; ++k) a.bar(k + 1, closes[k]);
  const size_t before = a.router.orders.size();

  std::vector<unsigned char> blob;
  cats_state_sink_t sink{sizeof(cats_state_sink_t), 0, &blob, collect};
  uint32_t version = 0;
  ASSERT_EQ(a.slot().desc.save_state(a.slot().instance, &sink, &version), CATS_OK);
  EXPECT_EQ(version, 1u);
  ASSERT_EQ(b.slot().desc.load_state(b.slot().instance, version, blob.data(), blob.size()),
            CATS_OK);

  for (int k = handover; k < 16; ++k) {
    a.bar(k + 1, closes[k]);
    b.bar(k + 1, closes[k]);
  }
  const std::vector<std::string> after_a(a.router.orders.begin() + static_cast<long>(before),
                                         a.router.orders.end());
  EXPECT_FALSE(after_a.empty());
  EXPECT_EQ(b.router.orders, after_a);

  // A state it does not understand is refused, not misread.
  sma_engine c;
  EXPECT_EQ(c.slot().desc.load_state(c.slot().instance, 99, blob.data(), blob.size()),
            CATS_E_BAD_STATE);
  EXPECT_EQ(c.slot().desc.load_state(c.slot().instance, 1, blob.data(), blob.size() / 2),
            CATS_E_BAD_STATE);
  EXPECT_EQ(std::string(to_string_view(c.slot().desc.last_error(c.slot().instance))),
            "state blob truncated");
}

// Found by the state fuzz target: a state whose windows hold extreme values (here INT64_MIN)
// overflowed int64 when the next bar replaced one (UB; a trap under UBSan). The sums are int128.
TEST(StrategyState, ReferenceStrategyTradesOnFromAStateWithExtremeValues) {
  cats::state_writer w;
  for (const uint64_t n : {uint64_t{2}, uint64_t{4}}) {
    w.put<uint64_t>(n);
    for (uint64_t i = 0; i < n; ++i) w.put<int64_t>(std::numeric_limits<int64_t>::min());
    w.put<uint64_t>(0);  // next
    w.put<uint64_t>(n);  // count: full
  }
  w.put<int32_t>(0);
  w.put<uint8_t>(0);
  sma_engine e;
  const std::vector<unsigned char>& blob = w.bytes();
  ASSERT_EQ(e.slot().desc.load_state(e.slot().instance, 1, blob.data(), blob.size()), CATS_OK);
  for (int k = 1; k <= 8; ++k) e.bar(k, 60'000 + k);
  EXPECT_TRUE(e.slot().running);
  EXPECT_FALSE(e.slot().failure) << e.slot().failure->message;
}

}  // namespace
}  // namespace cats
