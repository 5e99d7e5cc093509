// Fill rules of the simulated exchange, each checked against fills worked out by hand.
#include "cats/sim/sim_exchange.hpp"
#include "cats/core/events.hpp"

#include <gtest/gtest.h>
#include <cats/strategy.hpp>

#include <cstddef>
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

  static sim_exchange_config costs(fill_model fill = fill_model::next_open) {
    sim_exchange_config c;
    c.fill = fill;
    c.taker_fee_rate = px("0.001");   // 10 bps
    c.maker_fee_rate = px("0.0002");  // 2 bps
    c.slippage_rate = px("0.0005");   // 5 bps
    c.leverage = U;
    return c;
  }

  explicit harness(int64_t cash, fill_model fill = fill_model::next_open, int64_t min_notional = 0,
                   int64_t min_quantity = 0)
      : harness(cash, costs(fill), min_notional, min_quantity) {}
  harness(int64_t cash, const sim_exchange_config& config, int64_t min_notional = 0,
          int64_t min_quantity = 0)
      : account(cash, "USDT"), eng(instruments, account), exchange(eng, config) {
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

  uint64_t submit_stop(cats_side side, const char* qty, const char* stop) {
    cats_order_request_t r{};
    r.struct_size = sizeof r;
    r.instrument_id = inst;
    r.side = side;
    r.order_type = CATS_ORDER_STOP_MARKET;
    r.quantity = px(qty);
    r.stop_price = px(stop);
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(exchange.submit(0, r, id, err), CATS_OK) << err;
    eng.flush();
    return id;
  }
  cats_status_t amend(uint64_t id, const char* qty, const char* price,
                      std::string* error = nullptr) {
    std::string err;
    const cats_status_t st = exchange.amend(0, id, px(qty), px(price), err);
    if (error != nullptr) *error = err;
    eng.flush();
    return st;
  }
  // Tick data: the engine clock at t0 + `ms` milliseconds.
  void at_ms(double ms) { eng.set_time(t0 + static_cast<int64_t>(ms * 1e6)); }

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

// ---- ABI 1.2 order types and the intrabar path (bars) -------------------------------------------

TEST(SimExchangeStops, BuyStopTriggersWhenTheHighReachesItAndFillsAtTheStopPlusSlippage) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit_stop(CATS_SIDE_BUY, "1", "105");
  EXPECT_EQ(h.take(), strings{"order 1 new filled 0"});
  h.bar("100", "104", "99", "103");  // below the stop
  EXPECT_TRUE(h.take().empty());
  h.bar("103", "105", "102", "104");  // the high reaches 105 exactly: triggered
  // 105 x 1.0005 = 105.0525, up to the tick: 105.06; fee 0.10506.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 105.06 fee 0.10506 taker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchangeStops, AGapThroughTheStopFillsAtTheOpen) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit_stop(CATS_SIDE_BUY, "1", "105");
  h.submit_stop(CATS_SIDE_SELL, "1", "90");
  h.take();
  h.bar("107", "108", "106", "107");
  // 107 x 1.0005 = 107.0535 -> 107.06, fee 0.10706. The sell stop at 90 is untouched.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 107.06 fee 0.10706 taker pos 1", "order 1 filled filled 1"}));
  h.bar("85", "86", "84", "85");
  // Sell stop gapped through: 85 x 0.9995 = 84.9575 -> down to 84.95, fee 0.08495.
  EXPECT_EQ(h.take(),
            (strings{"fill 2 1 @ 84.95 fee 0.08495 taker pos 0", "order 2 filled filled 1"}));
}

TEST(SimExchangeStops, PostOnlyOnBarsIsRejectedWhenMarketableAtTheOpenElseRestsAsMaker) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "100", CATS_TIF_POST_ONLY);
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.5", CATS_TIF_POST_ONLY);
  h.take();
  h.bar("100", "101", "99", "100");
  // 99.5 x 0.0002 = 0.0199.
  EXPECT_EQ(h.take(),
            (strings{"order 1 rejected filled 0 (post-only would take: buy limit 100 >= open 100)",
                     "fill 2 1 @ 99.5 fee 0.0199 maker pos 1", "order 2 filled filled 1"}));
}

TEST(SimExchangeStops, LongPositionMeetsTheLowFirstSoTheStopFillsBeforeTheTakeProfit) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_BUY, "1");
  h.bar("100", "101", "99", "100");                        // long 1 at 100.05
  h.submit(CATS_SIDE_SELL, "1", CATS_ORDER_LIMIT, "103");  // take-profit, submitted first
  h.submit_stop(CATS_SIDE_SELL, "1", "97");                // stop-loss
  h.take();
  h.bar("100", "104", "96", "101");
  // Path 100 -> 96 -> 104 -> 101: the stop at 97 first (97 x 0.9995 = 96.9515 -> 96.95, fee
  // 0.09695), then the limit at 103 (maker, 0.0206), which now opens a short.
  EXPECT_EQ(h.take(),
            (strings{"fill 3 1 @ 96.95 fee 0.09695 taker pos 0", "order 3 filled filled 1",
                     "fill 2 1 @ 103 fee 0.0206 maker pos -1", "order 2 filled filled 1"}));
}

TEST(SimExchangeStops, ShortPositionMeetsTheHighFirst) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  h.submit(CATS_SIDE_SELL, "1");
  h.bar("100", "101", "99", "100");                      // short 1 at 99.95
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "97");  // take-profit
  h.submit_stop(CATS_SIDE_BUY, "1", "103");              // stop-loss
  h.take();
  h.bar("100", "104", "96", "101");
  // Path 100 -> 104 -> 96 -> 101: 103 x 1.0005 = 103.0515 -> 103.06 (fee 0.10306), then 97
  // as maker (fee 0.0194).
  EXPECT_EQ(h.take(),
            (strings{"fill 3 1 @ 103.06 fee 0.10306 taker pos 0", "order 3 filled filled 1",
                     "fill 2 1 @ 97 fee 0.0194 maker pos 1", "order 2 filled filled 1"}));
}

TEST(SimExchangeStops, AmendOnBarsTakesEffectAtOnce) {
  harness h(10'000 * U);
  h.bar("100", "101", "99", "100");
  const uint64_t id = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "95");
  h.take();
  EXPECT_EQ(h.amend(id, "0", "96"), CATS_OK);
  EXPECT_EQ(h.take(), strings{"order 1 new filled 0 (amended)"});
  h.bar("98", "99", "95.5", "97");  // would not reach 95, reaches 96
  EXPECT_EQ(h.take(), (strings{"fill 1 1 @ 96 fee 0.0192 maker pos 1", "order 1 filled filled 1"}));
}

// ---- tick data: volume, latency, queue position ----------------------------------------------

sim_exchange_config tick_config(const char* latency = "0", const char* participation = "1") {
  sim_exchange_config c = harness::costs();
  std::string err;
  EXPECT_TRUE(parse_latency(latency, c.latency, err)) << err;
  c.participation = px(participation);
  return c;
}

TEST(SimExchangeFills, MarketOrderWalksThreeTradesWithParticipationHalf) {
  harness h(10'000 * U, tick_config("0", "0.5"));
  h.submit(CATS_SIDE_BUY, "2");
  h.take();
  h.trade("50", "1");    // 0.5 of it
  h.trade("50.1", "2");  // 1
  h.trade("50.2", "3");  // 1.5 on offer, 0.5 left to fill
  // At the traded prices, no slippage: fees 25 x 0.001, 50.1 x 0.001, 25.1 x 0.001.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 0.5 @ 50 fee 0.025 taker pos 0.5", "order 1 partial filled 0.5",
                     "fill 1 1 @ 50.1 fee 0.0501 taker pos 1.5", "order 1 partial filled 1.5",
                     "fill 1 0.5 @ 50.2 fee 0.0251 taker pos 2", "order 1 filled filled 2"}));
}

TEST(SimExchangeFills, MarketOrderTakesTheDisplayedSizeThenTrades) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "5", "0.4");
  h.submit(CATS_SIDE_BUY, "1");
  h.take();
  h.quote("99.99", "100.01", "5", "0.4");
  // 0.4 at the ask plus slippage: 100.01 x 1.0005 = 100.060005 -> 100.07; fee 40.028 x 0.001.
  EXPECT_EQ(h.take(), (strings{"fill 1 0.4 @ 100.07 fee 0.040028 taker pos 0.4",
                               "order 1 partial filled 0.4"}));
  h.trade("100.02", "1");
  // The remaining 0.6 at the trade's price: fee 60.012 x 0.001.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 0.6 @ 100.02 fee 0.060012 taker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchangeFills, IocMarketRemainderIsCancelledAfterTheFirstMatch) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "5", "0.4");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_MARKET, "0", CATS_TIF_IOC);
  h.take();
  h.quote("99.99", "100.01", "5", "0.4");
  EXPECT_EQ(h.take(),
            (strings{"fill 1 0.4 @ 100.07 fee 0.040028 taker pos 0.4", "order 1 partial filled 0.4",
                     "order 1 canceled filled 0.4 (IOC: remainder cancelled after the first "
                     "match, filled 0.4 of 1)"}));
}

TEST(SimExchangeFills, PostOnlyOnTicksIsRejectedWhenItWouldTake) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "100.01", CATS_TIF_POST_ONLY);
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "100", CATS_TIF_POST_ONLY);
  h.take();
  h.quote("99.99", "100.01");
  EXPECT_EQ(h.take(), strings{"order 1 rejected filled 0 (post-only would take: buy limit 100.01 "
                              "against ask 100.01)"});
  h.trade("99.9", "1");  // through the resting 100: maker, fee 0.02
  EXPECT_EQ(h.take(), (strings{"fill 2 1 @ 100 fee 0.02 maker pos 1", "order 2 filled filled 1"}));
}

TEST(SimExchangeFills, StopOnTicksTriggersOnATradeThenTakesTheFollowingTrades) {
  harness h(10'000 * U, tick_config());
  h.submit_stop(CATS_SIDE_SELL, "1", "49");
  h.take();
  h.trade("49.5");
  h.trade("49");  // triggers; no quote, so it waits for the next trade
  EXPECT_TRUE(h.take().empty());
  h.trade("48.9");
  EXPECT_EQ(h.take(),
            (strings{"fill 1 1 @ 48.9 fee 0.0489 taker pos -1", "order 1 filled filled 1"}));
  // With a quote known, the triggered stop takes the touch at once.
  h.quote("50.4", "50.6");
  h.submit_stop(CATS_SIDE_BUY, "1", "50.5");
  h.take();
  h.trade("50.5");
  // 50.6 x 1.0005 = 50.6253 -> 50.63; fee 0.05063.
  EXPECT_EQ(h.take(),
            (strings{"fill 2 1 @ 50.63 fee 0.05063 taker pos 0", "order 2 filled filled 1"}));
}

TEST(SimExchangeFills, FixedLatencyFillsOnTheFirstTradeAfterArrival) {
  harness h(10'000 * U, tick_config("5ms"));
  h.at_ms(0);
  h.submit(CATS_SIDE_BUY, "1");
  h.take();
  h.at_ms(4.999);
  h.trade("50", "5");  // printed before the order reached the exchange
  EXPECT_TRUE(h.take().empty());
  h.at_ms(5);
  h.trade("51", "5");
  EXPECT_EQ(h.take(), (strings{"fill 1 1 @ 51 fee 0.051 taker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchangeFills, ACancelUnderLatencyCanLoseTheRace) {
  harness h(10'000 * U, tick_config("5ms"));
  h.at_ms(0);
  const uint64_t a = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "50");
  h.at_ms(6);
  h.trade("51");  // arrives, rests (no quote: queue unknown)
  h.at_ms(10);
  std::string err;
  EXPECT_EQ(h.exchange.cancel(0, a, err), CATS_OK);  // reaches the exchange at 15 ms
  h.at_ms(12);
  h.trade("49.9", "2");  // through the limit before the cancel arrives
  h.at_ms(15);
  h.trade("49.9", "2");
  EXPECT_EQ(h.take(), (strings{"order 1 new filled 0", "fill 1 1 @ 50 fee 0.01 maker pos 1",
                               "order 1 filled filled 1"}));
  // One that wins: cancelled when it arrives, not before.
  h.at_ms(20);
  const uint64_t b = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "40");
  h.at_ms(25);
  h.trade("45");
  h.at_ms(30);
  EXPECT_EQ(h.exchange.cancel(0, b, err), CATS_OK);
  h.at_ms(34);
  h.trade("45");
  EXPECT_EQ(h.take(), strings{"order 2 new filled 0"});
  h.at_ms(35);
  h.trade("45");
  EXPECT_EQ(h.take(), strings{"order 2 canceled filled 0 (cancelled by the strategy)"});
}

TEST(SimExchangeFills, LatencyDistributionsAreDeterministicAndBounded) {
  latency_model m;
  std::string err;
  ASSERT_TRUE(parse_latency("uniform:2ms:8ms", m, err)) << err;
  sim_rng a(42), b(42), c(43);
  std::vector<int64_t> da, db, dc;
  int64_t sum = 0;
  for (int i = 0; i < 10'000; ++i) {
    da.push_back(draw_latency(m, a));
    db.push_back(draw_latency(m, b));
    dc.push_back(draw_latency(m, c));
    ASSERT_GE(da.back(), 2'000'000);
    ASSERT_LE(da.back(), 8'000'000);
    sum += da.back();
  }
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
  EXPECT_NEAR(static_cast<double>(sum) / 10'000, 5e6, 0.05e6);  // mean of U(2, 8) ms
  // A normal draw below zero is truncated at zero.
  ASSERT_TRUE(parse_latency("normal:1ms:5ms", m, err)) << err;
  int zeros = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = draw_latency(m, a);
    ASSERT_GE(v, 0);
    zeros += v == 0;
  }
  EXPECT_GT(zeros, 300);  // P(N(1, 5) < 0) = 0.42
  // The median of a lognormal is its first parameter.
  ASSERT_TRUE(parse_latency("lognormal:5ms:0.5", m, err)) << err;
  int below = 0;
  for (int i = 0; i < 10'000; ++i) below += draw_latency(m, a) < 5'000'000;
  EXPECT_NEAR(below, 5'000, 200);
}

TEST(SimExchangeFills, LatencySyntax) {
  latency_model m;
  std::string err;
  ASSERT_TRUE(parse_latency("1.5ms", m, err));
  EXPECT_EQ(m.a_ns, 1'500'000);
  ASSERT_TRUE(parse_latency("250us", m, err));
  EXPECT_EQ(m.a_ns, 250'000);
  ASSERT_TRUE(parse_latency("2s", m, err));
  EXPECT_EQ(m.a_ns, 2'000'000'000);
  ASSERT_TRUE(parse_latency("0", m, err));
  EXPECT_TRUE(m.is_zero());
  ASSERT_TRUE(parse_latency("normal:5ms:1ms", m, err));
  EXPECT_EQ(format_latency(m), "normal:5ms:1ms");
  for (const char* bad : {"5", "-1ms", "5 ms", "uniform:2ms", "lognormal:5ms:x", "1.ms",
                          "0.0000000001s", "gamma:1ms:2ms"})
    EXPECT_FALSE(parse_latency(bad, m, err)) << bad;
  // At most an hour, and nothing that overflows on its way there (the count, the fraction).
  ASSERT_TRUE(parse_latency("3600s", m, err));
  EXPECT_EQ(m.a_ns, 3'600'000'000'000);
  for (const char* bad : {"3600.000000001s", "3601s", "18446744073709551617ns",
                          "9223372036854775808ns", "9223372036.9s", "9223372036854775.9us"})
    EXPECT_FALSE(parse_latency(bad, m, err)) << bad;
}

TEST(SimExchangeFills, TradesAtTheLimitConsumeTheQueueAheadThenFill) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "3", "2");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.99");
  h.take();
  h.quote("99.99", "100.01", "3", "2");  // joins the bid: 3 ahead
  h.trade("99.99", "2");                 // 1 ahead
  EXPECT_TRUE(h.take().empty());
  h.trade("99.99", "1.5");  // 0.5 beyond the queue: fee 49.995 x 0.0002 = 0.009999
  EXPECT_EQ(h.take(), (strings{"fill 1 0.5 @ 99.99 fee 0.009999 maker pos 0.5",
                               "order 1 partial filled 0.5"}));
  h.trade("99.99", "2");
  EXPECT_EQ(h.take(),
            (strings{"fill 1 0.5 @ 99.99 fee 0.009999 maker pos 1", "order 1 filled filled 1"}));
}

TEST(SimExchangeFills, TradeThroughFillsUpToTheTradeSize) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "3", "2");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.5");
  h.take();
  h.quote("99.99", "100.01", "3", "2");  // deeper than the bid: queue unknown
  h.trade("99.5", "10");                 // at its price: unknown queue, no fill
  EXPECT_TRUE(h.take().empty());
  h.trade("99.49", "0.3");  // through it: 0.3, fee 29.85 x 0.0002 = 0.00597
  EXPECT_EQ(h.take(),
            (strings{"fill 1 0.3 @ 99.5 fee 0.00597 maker pos 0.3", "order 1 partial filled 0.3"}));
}

TEST(SimExchangeFills, AShrinkingLevelCapsTheQueue) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "5", "2");
  h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.99");
  h.take();
  h.quote("99.99", "100.01", "5", "2");  // 5 ahead
  h.quote("99.99", "100.01", "1", "2");  // the level holds 1 now: at most 1 ahead
  h.trade("99.99", "1.5");
  EXPECT_EQ(h.take(), (strings{"fill 1 0.5 @ 99.99 fee 0.009999 maker pos 0.5",
                               "order 1 partial filled 0.5"}));
}

TEST(SimExchangeFills, AmendingTheQuantityDownKeepsTheQueuePlace) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "3", "2");
  const uint64_t id = h.submit(CATS_SIDE_BUY, "2", CATS_ORDER_LIMIT, "99.99");
  h.quote("99.99", "100.01", "3", "2");  // 3 ahead
  h.trade("99.99", "2");                 // 1 ahead
  h.take();
  EXPECT_EQ(h.amend(id, "1", "0"), CATS_OK);
  EXPECT_EQ(h.take(), strings{"order 1 new filled 0 (amended)"});
  h.trade("99.99", "1.5");  // 0.5 beyond the 1 still ahead
  EXPECT_EQ(h.take(), (strings{"fill 1 0.5 @ 99.99 fee 0.009999 maker pos 0.5",
                               "order 1 partial filled 0.5"}));
}

TEST(SimExchangeFills, AmendingTheQuantityUpGoesToTheBackOfTheQueue) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "3", "2");
  const uint64_t id = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.99");
  h.quote("99.99", "100.01", "3", "2");
  h.trade("99.99", "2");  // 1 ahead
  h.take();
  EXPECT_EQ(h.amend(id, "2", "0"), CATS_OK);  // back of the level: 3 ahead again
  h.trade("99.99", "1.5");
  EXPECT_EQ(h.take(), strings{"order 1 new filled 0 (amended)"});
  h.trade("99.99", "2");  // 1.5 + 2 - 3 = 0.5 beyond
  EXPECT_EQ(h.take(), (strings{"fill 1 0.5 @ 99.99 fee 0.009999 maker pos 0.5",
                               "order 1 partial filled 0.5"}));
}

TEST(SimExchangeFills, AmendingThePriceResetsTheQueue) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "3", "2");
  const uint64_t id = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.99");
  h.quote("99.99", "100.01", "3", "2");
  h.trade("99.99", "2.5");  // 0.5 ahead
  h.take();
  EXPECT_EQ(h.amend(id, "0", "99.98"), CATS_OK);
  EXPECT_EQ(h.take(), strings{"order 1 new filled 0 (amended)"});
  h.quote("99.98", "100.01", "4", "2");  // the new price joins a bid of 4
  h.trade("99.98", "4");
  EXPECT_TRUE(h.take().empty());
  h.trade("99.98", "0.5");  // fee 49.99 x 0.0002 = 0.009998
  EXPECT_EQ(h.take(), (strings{"fill 1 0.5 @ 99.98 fee 0.009998 maker pos 0.5",
                               "order 1 partial filled 0.5"}));
}

TEST(SimExchangeFills, APostOnlyAmendThatWouldTakeIsCancelled) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01");
  const uint64_t id = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.5", CATS_TIF_POST_ONLY);
  h.quote("99.99", "100.01");
  h.take();
  EXPECT_EQ(h.amend(id, "0", "100.02"), CATS_OK);
  h.quote("99.99", "100.01");
  EXPECT_EQ(h.take(), (strings{"order 1 new filled 0 (amended)",
                               "order 1 canceled filled 0 (post-only would take: buy limit 100.02 "
                               "against ask 100.01)"}));
}

TEST(SimExchangeFills, AmendErrorsLeaveTheOrderUnchanged) {
  harness h(10'000 * U, tick_config());
  std::string err;
  EXPECT_EQ(h.amend(9, "1", "0", &err), CATS_E_NOT_FOUND);
  EXPECT_EQ(err, "no working order 9 of this strategy");
  h.quote("99.99", "100.01");
  const uint64_t id = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "99.5");
  h.quote("99.99", "100.01");
  h.trade("99.4", "0.5");  // half filled
  h.take();
  EXPECT_EQ(h.amend(id, "0.5", "0", &err), CATS_E_INVALID_ARGUMENT);
  EXPECT_EQ(err, "amend: the new quantity 0.5 must be above the filled 0.5 of order 1");
  EXPECT_TRUE(h.take().empty());
  // Through the host API: the same refusal, explained by last_error.
  cats_host_t* host = h.eng.strategies()[0]->host.get();
  EXPECT_EQ(host_api().amend_order(host, id, px("0.4"), 0), CATS_E_INVALID_ARGUMENT);
  const cats_str_t e = host_api().last_error(host);
  EXPECT_EQ(std::string(e.data, e.size),
            "amend: the new quantity 0.4 must be above the filled 0.5 of order 1");
  EXPECT_EQ(host_api().amend_order(host, 77, px("1"), 0), CATS_E_NOT_FOUND);
  h.trade("99.4", "1");  // the order still works for its original 1
  EXPECT_EQ(h.take(),
            (strings{"fill 1 0.5 @ 99.5 fee 0.00995 maker pos 1", "order 1 filled filled 1"}));
  // A finished order cannot be amended.
  EXPECT_EQ(h.amend(id, "2", "0", &err), CATS_E_NOT_FOUND);
}

TEST(SimExchangeFills, AnOlderRequestCannotAskForAStop) {
  harness h(10'000 * U, tick_config());
  cats_host_t* host = h.eng.strategies()[0]->host.get();
  cats_order_request_t r{};
  r.struct_size = offsetof(cats_order_request_t, stop_price);  // as a 1.1 plugin writes it
  r.instrument_id = h.inst;
  r.side = CATS_SIDE_SELL;
  r.order_type = CATS_ORDER_STOP_MARKET;
  r.quantity = U;
  r.stop_price = px("90");  // beyond the plugin's struct: must not be read
  uint64_t id = 0;
  EXPECT_EQ(host_api().submit_order(host, &r, &id), CATS_E_INVALID_ARGUMENT);
  const cats_str_t e = host_api().last_error(host);
  EXPECT_EQ(std::string(e.data, e.size),
            "a stop-market order needs ABI 1.2's stop_price, but the request's struct_size is 48 "
            "(1.2 needs 56)");
  // The same size with a limit order is fine.
  r.order_type = CATS_ORDER_LIMIT;
  r.limit_price = px("90");
  EXPECT_EQ(host_api().submit_order(host, &r, &id), CATS_OK);
  EXPECT_EQ(id, 1u);
}

TEST(SimExchangeFills, DescribeFillRulesNamesTheAssumptions) {
  sim_exchange_config c = tick_config("uniform:2ms:8ms", "0.5");
  c.seed = 9;
  const std::string ticks = describe_fill_rules(c, true);
  EXPECT_NE(ticks.find("latency of uniform:2ms:8ms (seed 9)"), std::string::npos) << ticks;
  EXPECT_NE(ticks.find("at most 50 % of its quantity"), std::string::npos) << ticks;
  const std::string bars = describe_fill_rules(c, false);
  EXPECT_NE(bars.find("open -> low -> high -> close when the position is long or flat"),
            std::string::npos)
      << bars;
  EXPECT_NE(bars.find("fees: taker 10 bps, maker 2 bps"), std::string::npos) << bars;
}

// Through the C++ wrapper and the host API table, as a plugin would do it.
class stop_trader final : public cats::strategy {
 public:
  stop_trader(cats::context& c, const cats::params&) : strategy(c) {}
  void on_bar(const cats::bar& b) override {
    if (++bars_ != 1) return;
    const auto i = b.instrument_id();
    ctx().buy_stop(i, cats::fixed::from_int(1), cats::fixed::from_int(105));
    const uint64_t p = ctx().buy_post_only(i, cats::fixed::from_int(1), cats::fixed::from_int(95));
    amend_ok_ = ctx().amend(p, cats::fixed::from_int(2), cats::fixed::from_int(96));
    amend_unknown_ = ctx().amend(999, cats::fixed::from_int(1));
    error_ = std::string(ctx().last_error());
  }
  void on_order_update(const cats::order_update& u) override {
    g_events->push_back("t order " + std::to_string(u.order_id()) + " type " +
                        std::to_string(u.order_type()) + " qty " + u.quantity().to_string() +
                        " limit " + u.limit_price().to_string() + " stop " +
                        u.stop_price().to_string() + " " + std::string(u.reason()));
  }
  void on_fill(const cats::fill& f) override {
    g_events->push_back("t fill " + std::to_string(f.order_id()) + " " + f.quantity().to_string() +
                        " @ " + f.price().to_string());
  }
  static inline bool amend_ok_ = false, amend_unknown_ = true;
  static inline std::string error_;

 private:
  int bars_ = 0;
};

TEST(SimExchangeStops, AStrategyPlacesStopsAndPostOnlyOrdersAndAmendsThroughTheWrapper) {
  harness h(10'000 * U);
  std::string err;
  ASSERT_TRUE(h.eng.add_strategy("t", *cats::detail::entry<stop_trader>("t", "1", ""), {}, err))
      << err;
  h.eng.start();
  auto bar = [&](const char* o, const char* hi, const char* lo, const char* c) {
    h.bar(o, hi, lo, c);
    cats_bar_event_t b{};
    b.header.struct_size = sizeof b;
    b.header.type = CATS_EVENT_BAR;
    b.header.instrument_id = h.inst;
    b.header.exchange_ts_ns = h.next_open;
    b.close = px(c);
    h.eng.dispatch(b.header);
  };
  bar("100", "101", "99", "100");
  EXPECT_TRUE(stop_trader::amend_ok_);
  EXPECT_FALSE(stop_trader::amend_unknown_);
  EXPECT_EQ(stop_trader::error_, "no working order 999 of this strategy");
  EXPECT_EQ(h.take(), (strings{"t order 1 type 3 qty 1 limit 0 stop 105 ",
                               "t order 2 type 2 qty 1 limit 95 stop 0 ",
                               "t order 2 type 2 qty 2 limit 96 stop 0 amended"}));
  // Long-or-flat path 98 -> 95.5 -> 106: the post-only buy at 96 first (maker), then the stop.
  bar("98", "106", "95.5", "104");
  EXPECT_EQ(h.take(), (strings{"t fill 2 2 @ 96", "t order 2 type 2 qty 2 limit 96 stop 0 ",
                               "t fill 1 1 @ 105.06", "t order 1 type 3 qty 1 limit 0 stop 105 "}));
}

}  // namespace
}  // namespace cats

namespace cats {
namespace {

// A bar of another, bar-matched instrument applies the actions on bar-matched instruments at once
// but leaves a tick instrument's cancel on its way until it arrives.
TEST(SimExchangeFills, ABarElsewhereDoesNotHurryATickCancel) {
  harness h(10'000 * U, tick_config("5ms"));
  instrument_info other;
  other.symbol = "BINANCE:BARS";
  other.venue = "BINANCE";
  other.name = "BARS";
  const uint32_t bars_id = h.instruments.add(other);
  h.at_ms(0);
  const uint64_t a = h.submit(CATS_SIDE_BUY, "1", CATS_ORDER_LIMIT, "50");
  h.at_ms(6);
  h.trade("51");  // arrives and rests
  h.at_ms(10);
  std::string err;
  EXPECT_EQ(h.exchange.cancel(0, a, err), CATS_OK);  // reaches the exchange at 15 ms
  h.at_ms(11);
  cats_bar_event_t b{};
  b.header.struct_size = sizeof b;
  b.header.type = CATS_EVENT_BAR;
  b.header.instrument_id = bars_id;
  b.open = b.high = b.low = b.close = px("7");
  h.exchange.on_bar_open(b);
  h.eng.flush();
  h.at_ms(12);
  h.trade("49.9", "2");  // through the limit: the cancel has not arrived yet
  EXPECT_EQ(h.take(), (strings{"order 1 new filled 0", "fill 1 1 @ 50 fee 0.01 maker pos 1",
                               "order 1 filled filled 1"}));
}

// The displayed size at the touch is offered once: quotes repeating the same ask do not refill it.
TEST(SimExchangeFills, TheTouchSizeIsTakenOncePerPrice) {
  harness h(10'000 * U, tick_config());
  h.quote("99.99", "100.01", "5", "0.4");
  h.submit(CATS_SIDE_BUY, "1");
  h.quote("99.99", "100.01", "5", "0.4");
  EXPECT_EQ(h.take(),
            (strings{"order 1 new filled 0", "fill 1 0.4 @ 100.07 fee 0.040028 taker pos 0.4",
                     "order 1 partial filled 0.4"}));
  h.quote("99.98", "100.01", "5", "0.4");  // the bid moved, the ask did not: nothing new on offer
  h.quote("99.99", "100.01", "5", "0.5");  // 0.1 more shown at the ask
  // 0.1 x 100.07 = 10.007, fee 0.010007.
  EXPECT_EQ(h.take(), (strings{"fill 1 0.1 @ 100.07 fee 0.010007 taker pos 0.5",
                               "order 1 partial filled 0.5"}));
  h.quote("99.99", "100.02", "5", "0.5");  // a new price: its size is on offer
  // 100.02 x 1.0005 = 100.07001 -> 100.08; 0.5 x 100.08 = 50.04, fee 0.05004.
  EXPECT_EQ(h.take(),
            (strings{"fill 1 0.5 @ 100.08 fee 0.05004 taker pos 1", "order 1 filled filled 1"}));
}

}  // namespace
}  // namespace cats

namespace cats {
namespace {

struct trip_log final : fill_listener {
  std::vector<round_trip> trips;
  void on_fill(const strategy_slot&, const instrument_info&, const cats_fill_event_t&,
               int64_t) override {}
  void on_round_trip(const strategy_slot&, const instrument_info&, const round_trip& t) override {
    trips.push_back(t);
  }
};

// ABI 1.4: the order request's reason, checked by the host, becomes the entry reason of the trade
// the order opens and the exit reason of the trade it closes, also when the fill happens inside
// submit (a market order at the bar's close).
TEST(SimExchange, OrderReasonsBecomeTheTradesEntryAndExitReasons) {
  harness h(100'000 * U, fill_model::close);
  trip_log log;
  h.exchange.set_listener(&log);
  h.bar("100", "101", "99", "100");
  cats_host_t* host = h.eng.strategies()[0]->host.get();
  auto send = [&](cats_side side, std::string_view why,
                  uint32_t size = sizeof(cats_order_request_t)) {
    cats_order_request_t r{};
    r.struct_size = size;
    r.instrument_id = h.inst;
    r.side = side;
    r.order_type = CATS_ORDER_MARKET;
    r.quantity = px("1");
    r.reason = {why.data(), why.size()};
    uint64_t id = 0;
    const cats_status_t st = host_api().submit_order(host, &r, &id);
    h.eng.flush();
    return std::pair{st, id};
  };
  const auto [st1, entry] = send(CATS_SIDE_BUY, "breakout");
  ASSERT_EQ(st1, CATS_OK);
  EXPECT_EQ(h.eng.order_reason(entry), "breakout");
  EXPECT_EQ(h.account.position(h.inst).quantity, px("1"));  // filled inside submit
  // Too long, or a control character: refused before anything is sent.
  EXPECT_EQ(send(CATS_SIDE_SELL, std::string(65, 'x')).first, CATS_E_INVALID_ARGUMENT);
  EXPECT_NE(to_string(host_api().last_error(host)).find("at most 64 bytes"), std::string::npos);
  EXPECT_EQ(send(CATS_SIDE_SELL, "a\nb").first, CATS_E_INVALID_ARGUMENT);
  EXPECT_NE(to_string(host_api().last_error(host)).find("control character"), std::string::npos);
  EXPECT_EQ(h.account.position(h.inst).quantity, px("1"));
  // The refused requests left no reason behind on the next order's id.
  h.bar("100", "102", "99", "101");
  const auto [st2, exit] = send(CATS_SIDE_SELL, "take profit");
  ASSERT_EQ(st2, CATS_OK);
  EXPECT_EQ(exit, entry + 1);
  ASSERT_EQ(log.trips.size(), 1u);
  EXPECT_EQ(log.trips[0].entry_reason, "breakout");
  EXPECT_EQ(log.trips[0].exit_reason, "take profit");
  EXPECT_EQ(log.trips[0].entry_order_id, entry);
  EXPECT_EQ(log.trips[0].exit_order_id, exit);
  // A plugin built for 1.2 has a smaller request: whatever lies beyond it is never read.
  const auto [st3, old] = send(CATS_SIDE_BUY, "a\nb", offsetof(cats_order_request_t, reason));
  ASSERT_EQ(st3, CATS_OK);
  EXPECT_EQ(h.eng.order_reason(old), "");
}

// Each distinct reason is kept once, up to engine::max_order_reasons; beyond that a new text reads
// as one marker, while the reasons already kept still name their orders.
TEST(SimExchange, OrderReasonsAreKeptOnceAndBounded) {
  harness h(100'000 * U, fill_model::close);
  const uint64_t cap = engine::max_order_reasons;
  for (uint64_t id = 1; id <= cap; ++id) h.eng.set_order_reason(id, "reason " + std::to_string(id));
  h.eng.set_order_reason(cap + 1, "one more");
  h.eng.set_order_reason(cap + 2, "reason 7");
  h.eng.set_order_reason(cap + 3, "and another");
  EXPECT_EQ(h.eng.order_reason(1), "reason 1");
  EXPECT_EQ(h.eng.order_reason(cap), "reason " + std::to_string(cap));
  EXPECT_EQ(h.eng.order_reason(cap + 1), "(more distinct order reasons than kept)");
  EXPECT_EQ(h.eng.order_reason(cap + 2), "reason 7");
  EXPECT_EQ(h.eng.order_reason(cap + 3), "(more distinct order reasons than kept)");
  h.eng.set_order_reason(cap + 2, "");  // cleared
  EXPECT_EQ(h.eng.order_reason(cap + 2), "");
}

}  // namespace
}  // namespace cats
