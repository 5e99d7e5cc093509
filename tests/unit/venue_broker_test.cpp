// The live order state machine (exec/venue_broker) against a scripted gateway: what it sends,
// how each venue answer moves an order, and what strategies and the account see.
#include "cats/exec/venue_broker.hpp"

#include <gtest/gtest.h>
#include <cats/strategy.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"

namespace cats {
namespace {

constexpr int64_t U = fixed_scale;

int64_t px(const char* text) {
  int64_t v = 0;
  EXPECT_EQ(parse_fixed(text, v), parse_error::ok);
  return v;
}

std::vector<std::string>* g_seen = nullptr;

class listener final : public cats::strategy {
 public:
  listener(cats::context& c, const cats::params&) : strategy(c) {}
  void on_order_update(const cats::order_update& u) override {
    static const char* names[] = {"?", "new", "partial", "filled", "cancelled", "rejected"};
    g_seen->push_back("order " + std::to_string(u.order_id()) + " " + names[u.status()] + " " +
                      fixed_to_string(u.filled_quantity().raw()) +
                      (u.reason().empty() ? "" : " (" + std::string(u.reason()) + ")"));
  }
  void on_fill(const cats::fill& f) override {
    g_seen->push_back("fill " + std::to_string(f.order_id()) + " " +
                      fixed_to_string(f.quantity().raw()) + " @ " +
                      fixed_to_string(f.price().raw()));
  }
};

// Records every request; answers queries and listings from `orders_at_venue`.
class scripted_gateway final : public order_gateway {
 public:
  std::vector<std::string> calls;
  std::vector<venue_order> placed;
  std::map<std::string, order_report> at_venue;  // client id -> its state at the venue
  report_sink sink;
  gateway_stats st;
  bool in_place = false;  ///< amends in place, as OKX does

  void start(report_sink s) override {
    sink = std::move(s);
    st.stream_up = true;
  }
  void stop() override {}
  void place(const venue_order& o, uint64_t) override {
    calls.push_back("place " + o.client_id);
    placed.push_back(o);
  }
  void cancel(const std::string&, const std::string& cid, uint64_t) override {
    calls.push_back("cancel " + cid);
  }
  void replace(const std::string& old, const venue_order& o, uint64_t) override {
    calls.push_back("replace " + old + " -> " + o.client_id + " " + fixed_to_string(o.quantity) +
                    " @ " + fixed_to_string(o.price));
  }
  bool amends_in_place() const noexcept override { return in_place; }
  void amend(const std::string&, const std::string& cid, int64_t qty, int64_t price,
             uint64_t) override {
    calls.push_back("amend " + cid + " " + fixed_to_string(qty) + " @ " + fixed_to_string(price));
  }
  void query(const std::string& sym, const std::string& cid, uint64_t tag) override {
    calls.push_back("query " + cid);
    auto it = at_venue.find(cid);
    order_report r;
    if (it == at_venue.end()) {
      r.what = order_report::kind::not_found;
      r.client_id = cid;
      r.symbol = sym;
    } else {
      r = it->second;
    }
    r.request_tag = tag;
    sink(std::move(r));
  }
  void fetch_fills(const std::string&, const std::string& cid, const std::string&,
                   uint64_t) override {
    calls.push_back("fetch " + cid);
  }
  void open_orders(const std::string& sym, uint64_t tag) override {
    calls.push_back("open_orders " + sym);
    order_report end;
    end.listing = true;
    end.symbol = sym;
    end.request_tag = tag;
    sink(std::move(end));
  }
  std::vector<venue_balance> balances(std::string&) override { return {}; }
  const gateway_stats& stats() const noexcept override { return st; }
  const char* name() const noexcept override { return "scripted"; }

  void say(order_report r) { sink(std::move(r)); }
};

order_report state(const std::string& cid, int32_t status, const char* cum = "0") {
  order_report r;
  r.what = order_report::kind::state;
  r.client_id = cid;
  r.status = status;
  r.venue_order_id = "77";
  r.cum_quantity = px(cum);
  return r;
}

order_report fill(const std::string& cid, const char* trade, const char* qty, const char* price) {
  order_report r;
  r.what = order_report::kind::fill;
  r.client_id = cid;
  r.trade_id = trade;
  r.quantity = px(qty);
  r.price = px(price);
  return r;
}

struct harness {
  instrument_registry instruments;
  portfolio account{10'000 * U, "USDT"};
  engine eng{instruments, account};
  scripted_gateway gw;
  std::unique_ptr<venue_broker> broker;
  std::vector<std::string> seen;
  uint32_t inst = 0;

  explicit harness(const std::filesystem::path& journal = {}, int64_t recv_window_ms = 5000,
                   const std::function<void(scripted_gateway&)>& prepare = {}) {
    if (prepare) prepare(gw);
    instrument_info i;
    i.symbol = "BINANCE:BTCUSDT";
    i.venue = "BINANCE";
    i.name = "BTCUSDT";
    i.tick_size = px("0.01");
    i.lot_size = px("0.00001");
    inst = instruments.add(i);
    venue_broker_options o;
    o.journal_path = journal;
    o.recv_window_ms = recv_window_ms;
    broker = std::make_unique<venue_broker>(eng, gw, o);
    broker->map_instrument(inst, "BTCUSDT");
    eng.set_router(broker.get());
    g_seen = &seen;
    std::string err;
    const auto* d = cats::detail::entry<listener>("listener", "1.0", "");
    EXPECT_TRUE(eng.add_strategy("s", *d, {}, err)) << err;
    EXPECT_TRUE(broker->start(2000, err)) << err;
    eng.set_time(wall_clock_ns());
    eng.start();
  }
  uint64_t submit(int32_t type, int32_t side, const char* qty, const char* price = "0") {
    cats_order_request_t r{};
    r.struct_size = sizeof r;
    r.instrument_id = inst;
    r.side = side;
    r.order_type = type;
    r.quantity = px(qty);
    r.limit_price = px(price);
    uint64_t id = 0;
    std::string err;
    EXPECT_EQ(broker->submit(0, r, id, err), CATS_OK) << err;
    return id;
  }
  void step(int64_t at = 0) {
    broker->poll(at == 0 ? wall_clock_ns() + 10 * ns_per_ms : at);
    eng.flush();
  }
};

TEST(VenueBroker, OrderGoesOutRoundedThenAcknowledgedFilledInParts) {
  harness h;
  h.submit(CATS_ORDER_LIMIT, CATS_SIDE_BUY, "0.01234567", "60000.019");
  ASSERT_EQ(h.gw.placed.size(), 1u);
  const venue_order& o = h.gw.placed[0];
  EXPECT_EQ(fixed_to_string(o.quantity), "0.01234");  // down to the lot
  EXPECT_EQ(fixed_to_string(o.price), "60000.01");    // a buy rounds down to the tick
  EXPECT_TRUE(o.client_id.starts_with("cats"));
  EXPECT_LE(o.client_id.size(), 32u);
  const std::string cid = o.client_id;
  h.gw.say(state(cid, CATS_ORDER_NEW));
  h.gw.say(fill(cid, "1", "0.004", "60000"));
  h.gw.say(fill(cid, "1", "0.004", "60000"));  // the same execution twice
  h.gw.say(fill(cid, "2", "0.00834", "60000.01"));
  h.step();
  EXPECT_EQ(h.seen, (std::vector<std::string>{"order 1 new 0", "fill 1 0.004 @ 60000",
                                              "order 1 partial 0.004", "fill 1 0.00834 @ 60000.01",
                                              "order 1 filled 0.01234"}));
  EXPECT_EQ(h.broker->stats().duplicate_fills, 1u);
  EXPECT_EQ(fixed_to_string(h.account.position(h.inst).quantity), "0.01234");
  EXPECT_EQ(h.broker->open_order_count(), 0u);
}

TEST(VenueBroker, LostResponseIsResolvedByQueryBeforeAnythingElseIsSent) {
  harness h;
  h.submit(CATS_ORDER_LIMIT, CATS_SIDE_BUY, "0.01", "50000");
  const std::string first = h.gw.placed[0].client_id;
  order_report lost;
  lost.what = order_report::kind::unknown;
  lost.client_id = first;
  lost.request_tag = 1;
  h.gw.say(lost);
  h.gw.at_venue[first] = state(first, CATS_ORDER_NEW);  // the venue did take it
  h.step();  // the order is unknown now: the query goes out
  h.submit(CATS_ORDER_LIMIT, CATS_SIDE_BUY, "0.01", "49000");
  EXPECT_EQ(h.gw.placed.size(), 1u) << "held while the first order's fate is unknown";
  h.step();  // the answer: acknowledged; then the held order goes out
  ASSERT_EQ(h.gw.placed.size(), 2u);
  EXPECT_EQ(h.gw.calls[0], "open_orders BTCUSDT");
  EXPECT_EQ(h.gw.calls[1], "place " + first);
  EXPECT_EQ(h.gw.calls[2], "query " + first);
  EXPECT_EQ(h.gw.calls[3], "place " + h.gw.placed[1].client_id);
  EXPECT_EQ(h.broker->stats().unknown, 1u);
  EXPECT_EQ(h.broker->stats().unknown_resolved, 1u);
  EXPECT_EQ(h.seen, (std::vector<std::string>{"order 1 new 0"}));
}

TEST(VenueBroker, AnOrderTheVenueNeverSawIsRejectedOnlyAfterTheRecvWindow) {
  harness h({}, 100);
  h.submit(CATS_ORDER_MARKET, CATS_SIDE_SELL, "0.01");
  const std::string cid = h.gw.placed[0].client_id;
  order_report lost;
  lost.what = order_report::kind::unknown;
  lost.client_id = cid;
  h.gw.say(lost);
  const int64_t now = wall_clock_ns();
  h.step(now);      // query -> not found, but the request may still arrive
  h.step(now + 1);  // its answer
  EXPECT_TRUE(h.seen.empty());
  h.step(now + 2'000 * ns_per_ms);  // past recvWindow + 1 s: asked again
  h.step(now + 2'001 * ns_per_ms);
  ASSERT_EQ(h.seen.size(), 1u);
  EXPECT_TRUE(h.seen[0].starts_with("order 1 rejected 0 (lost: the venue has no order"))
      << h.seen[0];
}

TEST(VenueBroker, AmendReplacesTheVenueOrderAndKeepsTheStrategysId) {
  harness h;
  const uint64_t id = h.submit(CATS_ORDER_LIMIT, CATS_SIDE_BUY, "0.02", "50000");
  const std::string cid = h.gw.placed[0].client_id;
  h.gw.say(state(cid, CATS_ORDER_NEW));
  h.gw.say(fill(cid, "5", "0.005", "50000"));
  h.step();
  std::string err;
  ASSERT_EQ(h.broker->amend(0, id, px("0.03"), px("50100"), err), CATS_OK) << err;
  ASSERT_EQ(h.gw.calls.size(), 3u);
  EXPECT_TRUE(h.gw.calls[2].ends_with(" 0.025 @ 50100")) << h.gw.calls[2];  // 0.03 - 0.005
  const std::string fresh = h.gw.calls[2].substr(h.gw.calls[2].find("-> ") + 3, cid.size() + 1);
  const std::string new_cid = fresh.substr(0, fresh.find(' '));
  h.gw.say(state(cid, CATS_ORDER_CANCELED, "0.005"));  // the old one, replaced: not a cancel
  h.gw.say(state(new_cid, CATS_ORDER_NEW));
  h.gw.say(fill(new_cid, "6", "0.025", "50100"));
  h.step();
  EXPECT_EQ(h.seen,
            (std::vector<std::string>{"order 1 new 0", "fill 1 0.005 @ 50000",
                                      "order 1 partial 0.005", "order 1 partial 0.005 (amended)",
                                      "fill 1 0.025 @ 50100", "order 1 filled 0.03"}));
}

TEST(VenueBroker, ACancelAskedForDuringAnAmendGoesOutWhenTheAmendEnds) {
  harness h;
  const uint64_t id = h.submit(CATS_ORDER_LIMIT, CATS_SIDE_BUY, "0.02", "50000");
  const std::string cid = h.gw.placed[0].client_id;
  h.gw.say(state(cid, CATS_ORDER_NEW));
  h.step();
  std::string err;
  ASSERT_EQ(h.broker->amend(0, id, 0, px("50100"), err), CATS_OK) << err;
  ASSERT_EQ(h.broker->cancel(0, id, err), CATS_OK) << err;
  EXPECT_EQ(h.gw.calls.size(), 3u) << "the cancel waits for the amend";
  const std::string new_cid = h.gw.calls[2].substr(
      h.gw.calls[2].find("-> ") + 3,
      h.gw.calls[2].find(' ', h.gw.calls[2].find("-> ") + 3) - h.gw.calls[2].find("-> ") - 3);
  h.gw.say(state(cid, CATS_ORDER_CANCELED));
  h.gw.say(state(new_cid, CATS_ORDER_NEW));
  h.step();
  ASSERT_EQ(h.gw.calls.size(), 4u);
  EXPECT_EQ(h.gw.calls[3], "cancel " + new_cid);
}

TEST(VenueBroker, AnInPlaceAmendWithNoOutcomeIsResolvedByAQuery) {
  harness h({}, 5000, [](scripted_gateway& g) { g.in_place = true; });
  const uint64_t id = h.submit(CATS_ORDER_LIMIT, CATS_SIDE_BUY, "0.02", "50000");
  const std::string cid = h.gw.placed[0].client_id;
  h.gw.say(state(cid, CATS_ORDER_NEW));
  h.step();
  std::string err;
  ASSERT_EQ(h.broker->amend(0, id, 0, px("50100"), err), CATS_OK) << err;
  EXPECT_EQ(h.gw.calls.back(), "amend " + cid + " 0.02 @ 50100");
  ASSERT_EQ(h.broker->cancel(0, id, err), CATS_OK) << err;  // waits for the amend's outcome
  // No push ever says how the amend went; after 5 s the venue is asked.
  order_report now = state(cid, CATS_ORDER_NEW);
  now.quantity_ordered = px("0.02");
  now.limit_price = px("50100");
  h.gw.at_venue[cid] = now;
  const int64_t t = wall_clock_ns();
  h.step(t + 6'000 * ns_per_ms);  // the query goes out, its answer waits in the inbox
  h.step(t + 6'001 * ns_per_ms);
  EXPECT_EQ(h.seen.back(), "order 1 new 0 (amended)");
  EXPECT_EQ(h.gw.calls.back(), "cancel " + cid) << "the waiting cancel went out";
}

TEST(VenueBroker, ARefusedCancelWaitsForTheVenuesWordBeforeItIsSentAgain) {
  harness h;
  const uint64_t id = h.submit(CATS_ORDER_LIMIT, CATS_SIDE_BUY, "0.02", "50000");
  const std::string cid = h.gw.placed[0].client_id;
  h.gw.say(state(cid, CATS_ORDER_NEW));
  h.step();
  std::string err;
  ASSERT_EQ(h.broker->cancel(0, id, err), CATS_OK) << err;
  order_report refused;
  refused.what = order_report::kind::cancel_rejected;
  refused.client_id = cid;
  refused.reason = "rate limited (429)";
  h.gw.say(refused);
  const int64_t t = wall_clock_ns();
  h.step(t + 10 * ns_per_ms);
  h.step(t + 20 * ns_per_ms);
  EXPECT_EQ(std::count(h.gw.calls.begin(), h.gw.calls.end(), "cancel " + cid), 1)
      << "not resent in a loop";
  h.gw.at_venue[cid] = state(cid, CATS_ORDER_NEW);  // still working, says the query
  h.step(t + 2'000 * ns_per_ms);
  h.step(t + 2'010 * ns_per_ms);
  EXPECT_EQ(std::count(h.gw.calls.begin(), h.gw.calls.end(), "cancel " + cid), 2);
}

TEST(VenueBroker, AFeePaidInTheBaseAssetComesOffThePosition) {
  harness h;
  h.submit(CATS_ORDER_MARKET, CATS_SIDE_BUY, "1");
  const std::string cid = h.gw.placed[0].client_id;
  order_report f = fill(cid, "1", "1", "100");
  set_fill_fee(f, px("0.001"), "BTC", "BTC", "USDT");  // 0.1 % in BTC
  h.gw.say(f);
  h.step();
  EXPECT_EQ(fixed_to_string(h.account.position(h.inst).quantity), "0.999");
  EXPECT_EQ(fixed_to_string(h.account.fees_paid()), "0.1");  // 0.001 BTC at 100
  EXPECT_EQ(fixed_to_string(h.account.cash()), "9900");      // paid 1 x 100, no more
}

TEST(VenueBroker, JournalRestoresPositionsAndWorkingOrdersAfterARestart) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("cats_vb_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "orders.journal";
  std::filesystem::remove(path);
  std::string working_cid;
  {
    harness h(path);
    h.submit(CATS_ORDER_MARKET, CATS_SIDE_BUY, "0.5");
    const std::string a = h.gw.placed[0].client_id;
    h.gw.say(state(a, CATS_ORDER_NEW));
    h.gw.say(fill(a, "10", "0.49999", "100"));
    h.gw.say(fill(a, "11", "0.00001", "100"));  // a JSON number would read back as 1e-05
    h.submit(CATS_ORDER_LIMIT, CATS_SIDE_SELL, "0.2", "120");
    working_cid = h.gw.placed[1].client_id;
    h.gw.say(state(working_cid, CATS_ORDER_NEW));
    h.step();
  }  // killed here: nothing more is written
  harness h2(path, 5000, [&](scripted_gateway& g) {
    g.at_venue[working_cid] = state(working_cid, CATS_ORDER_NEW);
  });
  EXPECT_EQ(fixed_to_string(h2.account.position(h2.inst).quantity), "0.5");
  EXPECT_EQ(h2.broker->open_order_count(), 1u);
  EXPECT_EQ(h2.gw.calls, (std::vector<std::string>{"open_orders BTCUSDT", "query " + working_cid}));
  EXPECT_TRUE(h2.gw.placed.empty()) << "nothing is sent again";
  h2.broker->announce_restored();
  h2.eng.flush();
  EXPECT_EQ(h2.seen,
            (std::vector<std::string>{
                "order 2 new 0 (restored: working at the venue since before this start)"}));
  EXPECT_EQ(h2.submit(CATS_ORDER_MARKET, CATS_SIDE_SELL, "0.1"), 3u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cats
