// The risk engine in front of the simulated exchange: each limit refuses exactly the order that
// breaks it, with the reason, and the loss limits move the trading state.
#include "cats/risk/risk_engine.hpp"

#include <gtest/gtest.h>
#include <cats/strategy.hpp>

#include <string>
#include <vector>

#include "cats/sim/sim_exchange.hpp"

namespace cats {
namespace {

constexpr int64_t U = fixed_scale;
constexpr int64_t t0 = 1'704'067'200'000'000'000;  // 2024-01-01T00:00:00Z
constexpr int64_t second = 1'000'000'000;

int64_t px(const char* text) {
  int64_t v = 0;
  EXPECT_EQ(parse_fixed(text, v), parse_error::ok);
  return v;
}

std::vector<std::string>* g_updates = nullptr;

class listener final : public cats::strategy {
 public:
  listener(cats::context& c, const cats::params&) : strategy(c) {}
  void on_order_update(const cats::order_update& u) override {
    if (u.status() == CATS_ORDER_REJECTED || u.status() == CATS_ORDER_CANCELED)
      g_updates->push_back(std::to_string(u.order_id()) + " " +
                           (u.status() == CATS_ORDER_REJECTED ? "rejected: " : "cancelled: ") +
                           std::string(u.reason()));
  }
};

struct harness {
  instrument_registry instruments;
  portfolio account{10'000 * U, "USDT"};
  engine eng{instruments, account};
  sim_exchange exchange;
  risk_engine risk;
  std::vector<std::string> updates;
  uint32_t inst = 0;

  static sim_exchange_config no_costs() {
    sim_exchange_config c;
    c.leverage = 10 * U;
    return c;
  }
  explicit harness(risk_section cfg) : exchange(eng, no_costs()), risk(eng, exchange, cfg) {
    instrument_info i;
    i.symbol = "BINANCE:TEST";
    i.venue = "BINANCE";
    i.name = "TEST";
    i.tick_size = px("0.01");
    i.lot_size = px("0.001");
    inst = instruments.add(i);
    eng.set_router(&risk);
    g_updates = &updates;
    std::string err;
    const auto* d = cats::detail::entry<listener>("listener", "1.0", "");
    EXPECT_TRUE(eng.add_strategy("s", *d, {}, err)) << err;
    eng.set_time(t0);
  }
  void trade(const char* price, int64_t at_ns) {
    eng.set_time(at_ns);
    cats_trade_event_t t{};
    t.header.struct_size = sizeof t;
    t.header.type = CATS_EVENT_TRADE;
    t.header.instrument_id = inst;
    t.price = px(price);
    t.quantity = 100 * U;
    account.mark(inst, t.price);
    risk.on_trade(t);
    eng.flush();
  }
  // Submits and returns the refusal ("" when the order went through).
  // Amends order `id`; returns the refusal ("" when it went through).
  std::string amend(uint64_t id, const char* qty, const char* price) {
    std::string err;
    const cats_status_t st = risk.amend(0, id, px(qty), px(price), err);
    eng.flush();
    return st == CATS_OK ? "" : err;
  }
  uint64_t last_id = 0;
  std::string order(cats_side side, const char* qty, cats_order_type type = CATS_ORDER_MARKET,
                    const char* limit = "0") {
    cats_order_request_t r{};
    r.struct_size = sizeof r;
    r.instrument_id = inst;
    r.side = side;
    r.order_type = type;
    r.time_in_force = CATS_TIF_GTC;
    r.quantity = px(qty);
    r.limit_price = px(limit);
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(risk.submit(0, r, id, err), CATS_OK) << err;
    last_id = id;
    updates.clear();
    eng.flush();
    for (const std::string& u : updates)
      if (u.find("rejected: risk: ") != std::string::npos) return u.substr(u.find("risk: ") + 6);
    return "";
  }
};

TEST(RiskEngine, EachPreTradeLimitRefusesTheOrderThatBreaksIt) {
  risk_section cfg;
  cfg.present = true;
  cfg.limits.max_order_quantity = 2 * U;
  cfg.limits.max_order_notional = 150 * U;
  cfg.limits.max_position = 3 * U;
  cfg.limits.max_open_orders = 2;
  cfg.limits.price_band = px("0.1");
  harness h(cfg);
  // No price yet: the notional cannot be checked.
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1"), "no price known yet for the notional check of [risk]");
  h.trade("50", t0 + second);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "2.5"), "quantity 2.5 is above [risk] max_order_quantity 2");
  // 1.5 x 120 = 180 > 150 (at the limit price, not the last one).
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1.5", CATS_ORDER_LIMIT, "120"),
            "notional 180 is above [risk] max_order_notional 150");
  // 50 +- 10 %: 44 is outside, 46 inside.
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "44"),
            "price 44 is outside [risk] price_band 0.1 around the last price 50");
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "2", CATS_ORDER_LIMIT, "46"), "");
  // Working: buy 2. Another buy 1.5 would make the position 3.5 once both fill.
  EXPECT_EQ(
      h.order(CATS_SIDE_BUY, "1.5", CATS_ORDER_LIMIT, "46"),
      "position would reach 3.5 (now 0, working on this side 2), above [risk] max_position 3");
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "46"), "");
  // Two orders working: a third is refused, whatever its side.
  EXPECT_EQ(h.order(CATS_SIDE_SELL, "0.5", CATS_ORDER_LIMIT, "54"),
            "2 orders are working, [risk] max_open_orders is 2");
  EXPECT_EQ(h.risk.stats().refused_total(), 6u);
  EXPECT_EQ(h.risk.stats().refused[static_cast<size_t>(risk_reason::position)], 1u);
}

TEST(RiskEngine, TheOrderRateIsATokenBucketOnTheEngineClock) {
  risk_section cfg;
  cfg.present = true;
  cfg.limits.order_rate_milli = 2000;  // 2 per second
  cfg.limits.order_burst = 3;
  harness h(cfg);
  h.trade("50", t0);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "0.01"), "");
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "0.01"), "");
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "0.01"), "");
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "0.01"), "over [risk] order_rate 2/s (burst 3)");
  // Half a second gives one token back, exactly.
  h.trade("50", t0 + second / 2 - 1);
  EXPECT_NE(h.order(CATS_SIDE_BUY, "0.01"), "");
  h.trade("50", t0 + second / 2);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "0.01"), "");
  EXPECT_NE(h.order(CATS_SIDE_BUY, "0.01"), "");
}

TEST(RiskEngine, ADrawdownBreachMakesTradingReducingOnly) {
  risk_section cfg;
  cfg.present = true;
  cfg.max_drawdown = px("0.05");
  cfg.breach_halts = false;
  harness h(cfg);
  h.trade("100", t0);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "50"), "");  // 5,000 of 10,000 in the instrument
  h.trade("100", t0 + second);                  // fills at 100: equity 10,000, the peak
  EXPECT_EQ(h.account.position(h.inst).quantity, 50 * U);
  h.trade("91", t0 + 2 * second);  // -450: 4.5 % down, still active
  EXPECT_EQ(h.risk.state(), trading_state::active);
  h.trade("89", t0 + 3 * second);  // -550: 5.5 % down
  EXPECT_EQ(h.risk.state(), trading_state::reducing);
  EXPECT_EQ(h.risk.state_reason(),
            "the drawdown from the peak equity 10000 is 0.055, above max_drawdown 0.05");
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1"), "trading is reducing-only (" + h.risk.state_reason() +
                                             "): a buy of 1 does not shrink the position 50");
  EXPECT_EQ(h.order(CATS_SIDE_SELL, "60").substr(0, 29), "trading is reducing-only (the");
  EXPECT_EQ(h.order(CATS_SIDE_SELL, "20"), "");
  EXPECT_EQ(h.risk.stats().breaches, 1u);
}

TEST(RiskEngine, ADailyLossBreachHaltsAndCancelsTheWorkingOrders) {
  risk_section cfg;
  cfg.present = true;
  cfg.max_daily_loss = 300 * U;
  harness h(cfg);
  h.trade("100", t0);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "50"), "");
  h.trade("100", t0 + second);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "90"), "");  // resting
  h.updates.clear();
  h.trade("93.9", t0 + 2 * second);  // -305 since the day began
  EXPECT_EQ(h.risk.state(), trading_state::halted);
  h.eng.flush();
  ASSERT_EQ(h.updates.size(), 1u);
  EXPECT_EQ(h.updates[0], "2 cancelled: risk: trading halted");
  EXPECT_EQ(h.order(CATS_SIDE_SELL, "1").substr(0, 18), "trading is halted ");
}

TEST(RiskEngine, TheKillSwitchCancelsFlattensAndHalts) {
  risk_section cfg;
  cfg.present = true;
  cfg.flatten_on_kill = true;
  harness h(cfg);
  h.trade("100", t0);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "2"), "");
  h.trade("100", t0 + second);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "95"), "");
  h.updates.clear();
  h.risk.kill("test");
  h.eng.flush();
  EXPECT_EQ(h.updates, std::vector<std::string>{"2 cancelled: risk: kill switch"});
  h.trade("101", t0 + 2 * second);  // the flattening market sell fills here
  EXPECT_EQ(h.account.position(h.inst).quantity, 0);
  EXPECT_EQ(h.risk.state(), trading_state::halted);
  EXPECT_EQ(h.risk.stats().flatten_orders, 1u);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1"), "trading is halted (kill switch: test)");
}

TEST(RiskEngine, AmendsAreCheckedAsTheOrderTheyWouldBecome) {
  risk_section cfg;
  cfg.present = true;
  cfg.limits.max_order_quantity = 2 * U;
  cfg.limits.price_band = px("0.1");
  cfg.limits.cancel_rate_milli = 1000;  // one amend or cancel per second
  cfg.limits.cancel_burst = 2;
  harness h(cfg);
  h.trade("50", t0);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "46"), "");
  const uint64_t id = h.last_id;
  EXPECT_EQ(h.amend(id, "3", "0"),
            "risk: quantity 3 is above [risk] max_order_quantity 2; the order is unchanged");
  EXPECT_EQ(h.amend(id, "0", "40"),
            "risk: price 40 is outside [risk] price_band 0.1 around the last price 50; the order "
            "is unchanged");
  EXPECT_EQ(h.amend(id, "1.5", "47"), "");
  EXPECT_EQ(h.amend(id, "1", "47"), "");
  // Two tokens spent (refused amends spend none): the third within the second is refused.
  EXPECT_EQ(h.amend(id, "1", "48"),
            "risk: over [risk] cancel_rate 1/s (burst 2); the order is unchanged");
}

TEST(RiskEngine, ReducingOnlyCountsTheWorkingOrdersOnTheSameSide) {
  risk_section cfg;
  cfg.present = true;
  cfg.max_drawdown = px("0.01");
  cfg.breach_halts = false;
  harness h(cfg);
  h.trade("100", t0);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "50"), "");
  h.trade("100", t0 + second);
  h.trade("97", t0 + 2 * second);  // 1.5 % down: reducing
  ASSERT_EQ(h.risk.state(), trading_state::reducing);
  EXPECT_EQ(h.order(CATS_SIDE_SELL, "30", CATS_ORDER_LIMIT, "110"), "");  // rests
  EXPECT_EQ(h.order(CATS_SIDE_SELL, "30", CATS_ORDER_LIMIT, "110"),
            "trading is reducing-only (" + h.risk.state_reason() +
                "): a sell of 30 (with 30 working on that side) does not shrink the position 50");
  EXPECT_EQ(h.order(CATS_SIDE_SELL, "20", CATS_ORDER_LIMIT, "110"), "");
}

TEST(RiskEngine, ASecondKillDoesNotFlattenTwice) {
  risk_section cfg;
  cfg.present = true;
  cfg.flatten_on_kill = true;
  harness h(cfg);
  h.trade("100", t0);
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "2"), "");
  h.trade("100", t0 + second);
  ASSERT_EQ(h.account.position(h.inst).quantity, 2 * U);
  h.risk.kill("first");   // a market sell of 2, waiting for the next trade
  h.risk.kill("second");  // cancels that one, sends a sell of what is still held: 2
  h.eng.flush();
  h.trade("99", t0 + 2 * second);
  EXPECT_EQ(h.account.position(h.inst).quantity, 0) << "flat, not short";
  EXPECT_EQ(h.risk.stats().kills, 2u);
}

TEST(RiskEngine, ManyOrdersAtOneInstantAreCountedWithoutRescanning) {
  risk_section cfg;
  cfg.present = true;
  cfg.limits.max_open_orders = 500;
  cfg.max_orders_per_event = 2000;
  harness h(cfg);
  h.trade("100", t0);
  for (int i = 0; i < 500; ++i)
    ASSERT_EQ(h.order(CATS_SIDE_BUY, "0.001", CATS_ORDER_LIMIT, "90"), "") << i;
  EXPECT_EQ(h.order(CATS_SIDE_BUY, "0.001", CATS_ORDER_LIMIT, "90"),
            "500 orders are working, [risk] max_open_orders is 500");
  EXPECT_EQ(h.exchange.working_orders(), 500u);
}

}  // namespace
}  // namespace cats
