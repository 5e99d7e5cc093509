// Fill rules of the simulated exchange, each checked against fills worked out by hand.
#include "cats/backtest/sim_exchange.hpp"

#include <gtest/gtest.h>
#include <cats/strategy.hpp>

#include <string>
#include <vector>

namespace cats {
namespace {

constexpr int64_t U = fixed_scale;
constexpr int64_t minute = 60'000'000'000;
constexpr int64_t t0 = 1'704'067'200'000'000'000;  // 2024-01-01

int64_t px(const char* text) {
  int64_t v = 0;
  EXPECT_EQ(parse_fixed(text, v), parse_error::ok);
  return v;
}

// Records the order updates and fills it is sent, as text.
std::vector<std::string>* g_events = nullptr;

class recorder final : public cats::strategy {
 public:
  recorder(cats::context& c, const cats::params&) : strategy(c) {}
  void on_order_update(const cats::order_update& u) override {
    static const char* names[] = {"?", "new", "partial", "filled", "canceled", "rejected"};
    std::string s = "order " + std::to_string(u.order_id()) + " " + names[u.status()] + " filled " +
                    u.filled_quantity().to_string();
    if (!u.reason().empty()) s += " (" + std::string(u.reason()) + ")";
    g_events->push_back(s);
  }
  void on_fill(const cats::fill& f) override {
    g_events->push_back("fill " + std::to_string(f.order_id()) + " " + f.quantity().to_string() +
                        " @ " + f.price().to_string() + " fee " + f.fee().to_string() +
                        (f.raw().liquidity == CATS_LIQUIDITY_MAKER ? " maker" : " taker") +
                        " pos " + f.position_after().to_string());
  }
};

struct harness {
  instrument_registry instruments;
  portfolio account;
  engine eng;
  sim_exchange exchange;
  std::vector<std::string> events;
  int64_t next_open = t0;
  uint32_t inst = 0;

  explicit harness(int64_t cash, fill_model fill = fill_model::next_open, int64_t min_notional = 0,
                   int64_t min_quantity = 0)
      : account(cash, "USDT"), eng(instruments, account), exchange(eng, [&] {
          sim_exchange_config c;
          c.fill = fill;
          c.taker_fee_rate = px("0.001");   // 10 bps
          c.maker_fee_rate = px("0.0002");  // 2 bps
          c.slippage_rate = px("0.0005");   // 5 bps
          c.leverage = U;
          return c;
        }()) {
    instrument_info i;
    i.symbol = "BINANCE:TEST";
    i.venue = "BINANCE";
    i.name = "TEST";
    i.tick_size = px("0.01");
    i.lot_size = px("0.001");
    i.min_notional = min_notional;
    i.min_quantity = min_quantity;
    inst = instruments.add(i);
    eng.set_router(&exchange);
    g_events = &events;
    std::string err;
    const auto* d = cats::detail::entry<recorder>("recorder", "1.0", "");
    EXPECT_TRUE(eng.add_strategy("rec", *d, {}, err)) << err;
    eng.set_time(t0);
  }

  // A bar: orders waiting for it fill, then the clock moves to its close.
  void bar(const char* o, const char* h, const char* l, const char* c) {
    cats_bar_event_t b{};
    b.header.struct_size = sizeof b;
    b.header.type = CATS_EVENT_BAR;
    b.header.instrument_id = inst;
    b.open_time_ns = next_open;
    b.interval_ns = minute;
    b.header.exchange_ts_ns = next_open + minute;
    b.open = px(o);
    b.high = px(h);
    b.low = px(l);
    b.close = px(c);
    eng.set_time(next_open);
    exchange.on_bar_open(b);
    eng.flush();
    next_open += minute;
    eng.set_time(next_open);
    account.mark(inst, b.close);
    exchange.on_bar_close(b);
    eng.flush();
  }

  uint64_t submit(cats_side side, const char* qty, cats_order_type type = CATS_ORDER_MARKET,
                  const char* limit = "0", cats_time_in_force tif = CATS_TIF_GTC) {
    cats_order_request_t r{};
    r.struct_size = sizeof r;
    r.instrument_id = inst;
    r.side = side;
    r.order_type = type;
    r.time_in_force = tif;
    r.quantity = px(qty);
    r.limit_price = px(limit);
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(exchange.submit(0, r, id, err), CATS_OK) << err;
    eng.flush();
    return id;
  }

  // Tick data: the touch moved / a trade printed (paper trading, recorded replays).
  void quote(const char* bid, const char* ask, const char* bid_size = "0",
             const char* ask_size = "0") {
    exchange.on_quote(inst, px(bid), px(bid_size), px(ask), px(ask_size));
    eng.flush();
  }
  void trade(const char* price, const char* qty = "1") {
    cats_trade_event_t t{};
    t.header.struct_size = sizeof t;
    t.header.type = CATS_EVENT_TRADE;
    t.header.instrument_id = inst;
    t.price = px(price);
    t.quantity = px(qty);
    exchange.on_trade(t);
    eng.flush();
  }

  std::vector<std::string> take() {
    std::vector<std::string> out;
    out.swap(events);
    return out;
  }
};

using strings = std::vector<std::string>;

TEST(SimExchange, MarketOrderFillsAtNextOpenWithSlippageAndTakerFee) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100.5");
  h.submit(CATS_SIDE_BUY, "1");
  EXPECT_EQ(h.take(), strings{"order 1 new filled 0"});
  h.bar("100", "102", "99", "101");
  // 100 x 1.0005 = 100.05 (already on the tick); fee 100.05 x 0.001 = 0.10005.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 100.05 fee 0.10005 taker pos 1", "order 1 filled filled 1"}));
  EXPECT_EQ(h.account.cash(), px("9899.84995"));
  EXPECT_EQ(h.account.equity(), px("9899.84995") + 101 * U);
}

TEST(SimExchange, CloseModeFillsAtTheSignalBarsCloseRoundedAgainstTheOrder) {
  harness h(10'000 * U, fill_model::close);
  h.bar("100", "101", "99", "100.5");
  h.submit(CATS_SIDE_BUY, "1");
  // 100.5 x 1.0005 = 100.55025, rounded up to the 0.01 tick: 100.56; fee 0.10056.
  EXPECT_EQ(h.take(), (strings{"order 1 new filled 0", "fill 1 1 @ 100.56 fee 0.10056 taker pos 1",
                               "order 1 filled filled 1"}));
  h.submit(CATS_SIDE_SELL, "1");
  // 100.5 x 0.9995 = 100.44975, rounded down: 100.44; fee 0.10044.
  EXPECT_EQ(h.take(), (strings{"order 2 new filled 0", "fill 2 1 @ 100.44 fee 0.10044 taker pos 0",
                               "order 2 filled filled 1"}));
}

TEST(SimExchange, CloseModeNeverFillsAtAPriceNotYetKnown) {
  harness h(10'000 * U, fill_model::close);
  h.bar("100", "101", "99", "100.5");
  // Submitted inside the next bar (as from a timer at +30 s): its close is not known yet.
  h.eng.set_time(h.next_open + 30'000'000'000);
  h.submit(CATS_SIDE_BUY, "1");
  EXPECT_EQ(h.take(), strings{"order 1 new filled 0"});
  h.bar("100.5", "103", "100", "102");
  // It fills at that bar's close: 102 x 1.0005 = 102.051, up to the tick 102.06; fee 0.10206.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 102.06 fee 0.10206 taker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchange, LimitBuyRestsUntilTheBarTradesThroughIt) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "95");
  h.take();
  h.bar("100", "101", "95", "99");  // touches 95 but does not trade through
  EXPECT_TRUE(h.take().empty());
  h.bar("98", "99", "94.5", "96");
  // Filled at the limit as maker: fee 95 x 0.0002 = 0.019, no slippage.
  EXPECT_EQ(h.take(), (strings{"fill 1 1 @ 95 fee 0.019 maker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchange, LimitBuyGappedThroughFillsAtTheOpenAsTaker) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "95");
  h.take();
  h.bar("90", "93", "89", "92");
  EXPECT_EQ(h.take(), (strings{"fill 1 1 @ 90 fee 0.09 taker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchange, LimitSellMirrorsTheBuyRule) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "2");
  h.bar("100", "101", "99", "100");
  h.take();
  h.submit(CATS_SIDE_SELL, "2", CATS_ORDER_LIMIT, "105");
  h.take();
  h.bar("104", "105", "103", "104");  // high touches 105: no fill
  EXPECT_TRUE(h.take().empty());
  h.bar("104", "105.01", "103", "105");
  EXPECT_EQ(h.take(), (strings{"fill 2 2 @ 105 fee 0.042 maker pos 0", "order 2 filled filled 2"}));
}

TEST(SimExchange, LimitPricesRoundToTheTickInTheOrdersFavour) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "95.009");  // -> 95.00
  h.take();
  h.bar("96", "97", "94", "95");
  EXPECT_EQ(h.take(), (strings{"fill 1 1 @ 95 fee 0.019 maker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchange, QuantitiesRoundDownToTheLot) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1.23456");
  h.take();
  h.bar("100", "101", "99", "100");
  const strings e = h.take();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "fill 1 1.234 @ 100.05 fee 0.1234617 taker pos 1.234");
}

TEST(SimExchange, BelowTheLotIsRejectedWithAReason) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "0.0004");
  EXPECT_EQ(h.take(),
            strings{"order 1 rejected filled 0 (quantity 0.0004 is below the lot size 0.001 "
                    "of BINANCE:TEST)"});
  EXPECT_EQ(h.exchange.stats().rejected, 1u);
}

TEST(SimExchange, NeverBuysBeyondBuyingPower) {
  harness h(1'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "20");
  h.take();
  h.bar("100", "101", "99", "100");
  // Each unit costs 100.05 x (1 + 0.001) = 100.15005, so 1000 buys 9.985 lots of 0.001.
  const strings e = h.take();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "fill 1 9.985 @ 100.05 fee 0.99899925 taker pos 9.985");
  EXPECT_EQ(e[1].rfind("order 1 canceled filled 9.985 (insufficient buying power for buy 20", 0),
            0u)
      << e[1];
  EXPECT_GE(h.account.cash(), 0);
  EXPECT_EQ(h.account.cash(), 1'000 * U - px("998.99925") - px("0.99899925"));
  EXPECT_EQ(h.exchange.stats().capped, 1u);
  EXPECT_EQ(h.exchange.stats().canceled, 0u);
}

TEST(SimExchange, NothingAffordableIsARejection) {
  harness h(px("0.1"));  // one lot of 0.001 costs 0.10015 with the fee
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1");
  h.take();
  h.bar("100", "101", "99", "100");
  const strings e = h.take();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rfind("order 1 rejected filled 0 (insufficient buying power", 0), 0u) << e[0];
}

TEST(SimExchange, ShortsAreLimitedByLeverageTimesEquity) {
  harness h(1'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_SELL, "20");
  h.take();
  h.bar("100", "101", "99", "100");
  // Sell price 100 x 0.9995 = 99.95; each unit needs 99.95 x 1.001 = 100.04995 of equity.
  const strings e = h.take();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "fill 1 9.995 @ 99.95 fee 0.99900025 taker pos -9.995");
}

TEST(SimExchange, ClosingIsAlwaysAllowed) {
  harness h(1'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "9");
  h.bar("100", "101", "99", "50");  // the position loses half its value
  h.take();
  h.submit(CATS_SIDE_SELL, "9");
  h.bar("50", "51", "49", "50");
  const strings e = h.take();
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[2], "order 2 filled filled 9");
}

TEST(SimExchange, IocGetsOnlyTheNextOpen) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99", CATS_TIF_IOC);
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "101", CATS_TIF_IOC);
  h.take();
  h.bar("100", "101", "98", "100");
  EXPECT_EQ(h.take(), (strings{"order 1 canceled filled 0 (IOC: not marketable at the open)",
                               "fill 2 1 @ 100 fee 0.1 taker pos 1", "order 2 filled filled 1"}));
}

TEST(SimExchange, CancelAndEndOfData) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  const uint64_t a = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "50");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "60");
  h.take();
  std::string err;
  EXPECT_EQ(h.exchange.cancel(0, a, err), CATS_OK);
  EXPECT_EQ(h.exchange.cancel(0, a, err), CATS_E_NOT_FOUND);
  EXPECT_EQ(err, "no working order 1 of this strategy");
  h.exchange.finish("end of data");
  h.eng.flush();
  EXPECT_EQ(h.take(), (strings{"order 1 canceled filled 0 (cancelled by the strategy)",
                               "order 2 canceled filled 0 (end of data)"}));
  EXPECT_EQ(h.exchange.working_orders(), 0u);
}

TEST(SimExchange, MinimumNotional) {
  harness h(10'000 * U, fill_model::next_open, 5 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "0.01");
  h.bar("100", "101", "99", "100");
  const strings e = h.take();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1],
            "order 1 rejected filled 0 (notional 1.0005 is below the minimum 5 of BINANCE:TEST)");
}

TEST(SimExchange, MinimumQuantity) {
  harness h(10'000 * U, fill_model::next_open, 0, px("0.01"));
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "0.005");
  h.bar("100", "101", "99", "100");
  const strings e = h.take();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[1],
            "order 1 rejected filled 0 (quantity 0.005 is below the minimum 0.01 of BINANCE:TEST)");
}

TEST(SimExchange, ValidationErrorsAreImmediate) {
  harness h(10'000 * U);
  cats_order_request_t r{};
  r.struct_size = sizeof r;
  r.instrument_id = h.inst;
  r.side = CATS_SIDE_BUY;
  r.order_type = CATS_ORDER_MARKET;
  r.quantity = 0;
  uint64_t id = 0;
  std::string err;
  EXPECT_EQ(h.exchange.submit(0, r, id, err), CATS_E_INVALID_ARGUMENT);
  EXPECT_EQ(err, "quantity must be positive, got 0");
  r.quantity = U;
  r.side = 7;
  EXPECT_EQ(h.exchange.submit(0, r, id, err), CATS_E_INVALID_ARGUMENT);
  r.side = CATS_SIDE_BUY;
  r.order_type = CATS_ORDER_LIMIT;
  EXPECT_EQ(h.exchange.submit(0, r, id, err), CATS_E_INVALID_ARGUMENT);
  EXPECT_EQ(err, "a limit order needs a positive limit_price, got 0");
  r.order_type = CATS_ORDER_MARKET;
  r.quantity = int64_t{2'000'000'000} * U;
  EXPECT_EQ(h.exchange.submit(0, r, id, err), CATS_E_INVALID_ARGUMENT);
  r.instrument_id = 99;
  EXPECT_EQ(h.exchange.submit(0, r, id, err), CATS_E_NOT_FOUND);
  EXPECT_TRUE(h.take().empty());
}

// ---- tick data -----------------------------------------------------------------------------

TEST(SimExchangeTicks, MarketOrderTakesTheTouchWithSlippage) {
  harness h(10'000 * U);
  h.quote("99.99", "100.01");
  h.submit(CATS_SIDE_BUY, "1");
  h.take();
  h.quote("100.00", "100.02");
  // 100.02 x 1.0005 = 100.07001 -> up to the tick: 100.08; fee 0.10008.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 100.08 fee 0.10008 taker pos 1", "order 1 filled filled 1"}));
  h.submit(CATS_SIDE_SELL, "1");
  h.take();
  h.quote("100.10", "100.12");
  // 100.10 x 0.9995 = 100.04995 -> down to the tick: 100.04; fee 0.10004.
  EXPECT_EQ(h.take(),
            (strings{"fill 2 1 @ 100.04 fee 0.10004 taker pos 0", "order 2 filled filled 1"}));
}

TEST(SimExchangeTicks, WithoutAQuoteAMarketOrderFillsAgainstTheNextTrades) {
  harness h(10'000 * U);
  h.submit(CATS_SIDE_BUY, "2");
  h.take();
  h.trade("50", "2");
  // At the trade's own price, no slippage added: notional 100, fee 0.1.
  EXPECT_EQ(h.take(), (strings{"fill 1 2 @ 50 fee 0.1 taker pos 2", "order 1 filled filled 2"}));
}

TEST(SimExchangeTicks, AMarketableLimitTakesTheTouchOnArrival) {
  harness h(10'000 * U);
  h.quote("99.99", "100.01");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "101");
  h.take();
  h.quote("99.99", "100.01");
  // Taker at the ask, no slippage on limits: fee 100.01 x 0.001 = 0.10001.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 100.01 fee 0.10001 taker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchangeTicks, ARestingLimitFillsAsMakerWhenReachedOrTradedThrough) {
  harness h(10'000 * U);
  h.quote("99.99", "100.01");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.50");
  h.take();
  h.quote("99.98", "100.00");  // not reachable: it rests
  h.trade("99.50");            // a print at the limit proves nothing about the queue ahead
  EXPECT_EQ(h.take(), strings{});
  h.trade("99.49");  // through it: filled at the limit, as maker (fee 2 bps = 0.0199)
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 99.5 fee 0.0199 maker pos 1", "order 1 filled filled 1"}));
  // A resting sell is hit when the bid comes up to it: at its own price, as maker.
  h.submit(CATS_SIDE_SELL, "1", CATS_ORDER_LIMIT, "100.50");
  h.take();
  h.quote("99.98", "100.00");
  h.quote("100.50", "100.52");
  EXPECT_EQ(h.take(),
            (strings{"fill 2 1 @ 100.5 fee 0.0201 maker pos 0", "order 2 filled filled 1"}));
}

TEST(SimExchangeTicks, AnIocLimitNotMarketableAtTheTouchIsCancelled) {
  harness h(10'000 * U);
  h.quote("99.99", "100.01");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.00", CATS_TIF_IOC);
  h.take();
  h.quote("99.99", "100.01");
  EXPECT_EQ(h.take(), strings{"order 1 canceled filled 0 (IOC: not marketable at the touch)"});
}

}  // namespace
}  // namespace cats
