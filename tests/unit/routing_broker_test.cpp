// Several brokers in one run (exec/routing_broker): each order goes where its strategy's or its
// instrument's route says, cancels and amends follow the order, and one instrument never holds
// positions at two brokers. Two simulated exchanges stand in for paper trading and a venue.
#include "cats/exec/routing_broker.hpp"

#include <gtest/gtest.h>
#include <cats/strategy.hpp>

#include <string>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/sim/sim_exchange.hpp"

namespace cats {
namespace {

constexpr int64_t U = fixed_scale;

std::vector<std::string>* g_updates = nullptr;

class recorder final : public cats::strategy {
 public:
  recorder(cats::context& c, const cats::params&) : strategy(c) {}
  void on_order_update(const cats::order_update& u) override {
    static const char* names[] = {"?", "new", "partial", "filled", "cancelled", "rejected"};
    g_updates->push_back(std::to_string(u.order_id()) + " " + names[u.status()] +
                         (u.reason().empty() ? "" : " (" + std::string(u.reason()) + ")"));
  }
};

struct harness {
  instrument_registry instruments;
  portfolio account{1'000'000 * U, "USDT"};
  engine eng{instruments, account};
  sim_exchange paper{eng, sim_exchange_config{}};
  sim_exchange venue{eng, sim_exchange_config{}};  // stands in for a live broker
  routing_broker router{eng, paper};
  std::vector<std::string> updates;
  uint32_t btc = 0, eth = 0;

  harness() {
    g_updates = &updates;
    auto add = [&](const char* symbol, const char* name) {
      instrument_info i;
      i.symbol = symbol;
      i.venue = "BINANCE";
      i.name = name;
      return instruments.add(i);
    };
    btc = add("BINANCE:BTCUSDT", "BTCUSDT");
    eth = add("BINANCE:ETHUSDT", "ETHUSDT");
    router.add("binance", venue);
    router.route_instrument(btc, "binance");
    router.route_instrument(eth, "paper");
    eng.set_router(&router);
    std::string err;
    const auto* d = cats::detail::entry<recorder>("recorder", "1.0", "");
    EXPECT_TRUE(eng.add_strategy("s", *d, {}, err)) << err;
    EXPECT_TRUE(eng.add_strategy("p", *d, {}, err)) << err;
    eng.strategies()[1]->broker = "paper";  // [[strategy]] broker = "paper"
    eng.start();
    for (broker* b : {static_cast<broker*>(&paper), static_cast<broker*>(&venue)}) {
      b->on_quote(btc, 50'000 * U, U, 50'001 * U, U);
      b->on_quote(eth, 3'000 * U, U, 3'001 * U, U);
    }
  }
  // A limit buy far below the market: it rests at whichever broker took it.
  uint64_t rest(uint32_t owner, uint32_t instrument) {
    cats_order_request_t r{};
    r.struct_size = sizeof r;
    r.instrument_id = instrument;
    r.side = CATS_SIDE_BUY;
    r.order_type = CATS_ORDER_LIMIT;
    r.quantity = U / 100;
    r.limit_price = 1'000 * U;
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(router.submit(owner, r, id, err), CATS_OK) << err;
    eng.flush();
    return id;
  }
};

TEST(RoutingBroker, OrdersGoWhereTheirInstrumentOrStrategyIsRouted) {
  harness h;
  const uint64_t a = h.rest(0, h.btc);  // BTCUSDT -> binance
  const uint64_t b = h.rest(0, h.eth);  // ETHUSDT -> paper
  const uint64_t c = h.rest(1, h.eth);  // strategy p -> paper
  EXPECT_EQ(h.venue.open_order_count(), 1u);
  EXPECT_EQ(h.paper.open_order_count(), 2u);
  EXPECT_EQ(h.router.open_order_count(), 3u);
  // Ids are the run's, unique across brokers.
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
  std::vector<broker::open_order> open;
  h.venue.open_orders(open);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].id, a);
}

TEST(RoutingBroker, CancelsAndAmendsReachTheBrokerHoldingTheOrder) {
  harness h;
  const uint64_t a = h.rest(0, h.btc);
  const uint64_t b = h.rest(0, h.eth);
  std::string err;
  EXPECT_EQ(h.router.amend(0, a, 2 * U / 100, 0, err), CATS_OK) << err;
  EXPECT_EQ(h.router.cancel(0, b, err), CATS_OK) << err;
  h.eng.flush();
  EXPECT_EQ(h.paper.open_order_count(), 0u);
  std::vector<broker::open_order> open;
  h.venue.open_orders(open);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].quantity, 2 * U / 100);
  EXPECT_EQ(h.router.cancel(0, 999, err), CATS_E_NOT_FOUND);
  EXPECT_NE(err.find("no working order 999"), std::string::npos) << err;
}

TEST(RoutingBroker, AnInstrumentTradesThroughOneBrokerOnly) {
  harness h;
  h.rest(0, h.btc);                      // BTCUSDT is now binance's
  const uint64_t id = h.rest(1, h.btc);  // strategy p (paper) on BTCUSDT: refused
  EXPECT_EQ(h.router.refused_conflicts(), 1u);
  EXPECT_EQ(h.paper.open_order_count(), 0u);
  ASSERT_FALSE(h.updates.empty());
  const std::string last = h.updates.back();
  EXPECT_EQ(last.rfind(std::to_string(id) + " rejected (BINANCE:BTCUSDT trades through binance", 0),
            0u)
      << last;
  EXPECT_NE(last.find("one account cannot hold both"), std::string::npos) << last;
  EXPECT_EQ(h.eng.strategies()[1]->rejected, 1u);
}

TEST(RoutingBroker, APositionHeldAtStartKeepsItsInstrumentAtItsBroker) {
  harness h;
  // ETHUSDT is routed to paper, but the venue's journal restored a position in it.
  h.account.apply_fill(h.eth, 1, U / 10, 3'000 * U, 0, 0);
  h.router.bind(h.eth, "binance");
  h.rest(0, h.eth);  // strategy s follows the instrument's route (paper): refused
  h.rest(1, h.eth);  // strategy p (paper): refused
  EXPECT_EQ(h.router.refused_conflicts(), 2u);
  EXPECT_EQ(h.paper.open_order_count(), 0u);
  // The host's own orders (the kill switch's flattening) go where the position is.
  const uint64_t id = h.rest(0xFFFFFFF0u, h.eth);
  EXPECT_EQ(h.venue.open_order_count(), 1u);
  std::vector<broker::open_order> open;
  h.venue.open_orders(open);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].id, id);
}

TEST(RoutingBroker, AnOrderRefusedAtOnceLeavesTheInstrumentFree) {
  harness h;
  cats_order_request_t r{};
  r.struct_size = sizeof r;
  r.instrument_id = h.btc;
  r.side = CATS_SIDE_BUY;
  r.order_type = CATS_ORDER_LIMIT;
  r.quantity = U / 100;
  r.limit_price = -5;  // refused by the broker it went to
  uint64_t id = 0;
  std::string err;
  h.router.submit(0, r, id, err);
  h.eng.flush();
  EXPECT_EQ(h.venue.open_order_count(), 0u);
  h.rest(1, h.btc);  // strategy p may still take BTCUSDT to paper
  EXPECT_EQ(h.paper.open_order_count(), 1u);
  EXPECT_EQ(h.router.refused_conflicts(), 0u);
}

}  // namespace
}  // namespace cats
