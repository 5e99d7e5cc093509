#include "cats/book/order_book.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/venues/okx/book_sync.hpp"

namespace cats {
namespace {

constexpr int64_t px(int64_t whole) {
  return whole * fixed_scale;
}

std::vector<int64_t> prices(const std::vector<book_level>& side) {
  std::vector<int64_t> out;
  for (const auto& l : side) out.push_back(l.price);
  return out;
}

TEST(OrderBook, KeepsBidsDescendingAndAsksAscending) {
  order_book b;
  EXPECT_TRUE(b.empty());
  for (int64_t p : {100, 102, 99, 101}) b.set_bid(px(p), 1);
  for (int64_t p : {105, 103, 106, 104}) b.set_ask(px(p), 2);
  EXPECT_EQ(prices(b.bids()), (std::vector<int64_t>{px(102), px(101), px(100), px(99)}));
  EXPECT_EQ(prices(b.asks()), (std::vector<int64_t>{px(103), px(104), px(105), px(106)}));
  EXPECT_FALSE(b.empty());
}

TEST(OrderBook, SetReplacesQuantityAndZeroRemoves) {
  order_book b;
  b.set_bid(px(100), 5);
  b.set_bid(px(99), 7);
  b.set_bid(px(100), 9);  // same price: new quantity, no new level
  ASSERT_EQ(b.bids().size(), 2u);
  EXPECT_EQ(b.bids()[0], (book_level{px(100), 9}));
  b.set_bid(px(100), 0);
  ASSERT_EQ(b.bids().size(), 1u);
  EXPECT_EQ(b.bids()[0], (book_level{px(99), 7}));
  b.set_bid(px(98), 0);  // removing a level that is not there changes nothing
  EXPECT_EQ(b.bids().size(), 1u);
  b.set_ask(px(101), 3);
  b.set_ask(px(101), 0);
  EXPECT_TRUE(b.asks().empty());
  b.clear();
  EXPECT_TRUE(b.empty());
}

TEST(OrderBook, AssignReplacesEverythingAndSkipsZeros) {
  order_book b;
  b.set_bid(px(50), 1);
  b.set_ask(px(60), 1);
  const std::vector<book_level> bids = {{px(99), 1}, {px(101), 2}, {px(100), 0}, {px(98), 4}};
  const std::vector<book_level> asks = {{px(103), 3}, {px(102), 5}, {px(104), 0}};
  b.assign(bids, asks);
  EXPECT_EQ(b.bids(), (std::vector<book_level>{{px(101), 2}, {px(99), 1}, {px(98), 4}}));
  EXPECT_EQ(b.asks(), (std::vector<book_level>{{px(102), 5}, {px(103), 3}}));

  // apply() changes levels on top of what is there.
  const std::vector<book_level> bid_changes = {{px(99), 0}, {px(100), 6}};
  const std::vector<book_level> ask_changes = {{px(102), 1}};
  b.apply(bid_changes, ask_changes);
  EXPECT_EQ(b.bids(), (std::vector<book_level>{{px(101), 2}, {px(100), 6}, {px(98), 4}}));
  EXPECT_EQ(b.asks(), (std::vector<book_level>{{px(102), 1}, {px(103), 3}}));

  order_book same;
  same.assign(b.bids(), b.asks());
  EXPECT_EQ(same, b);
  same.set_ask(px(103), 4);
  EXPECT_NE(same, b);
}

TEST(OrderBook, TruncateKeepsTheBestLevels) {
  order_book b;
  for (int64_t i = 0; i < 10; ++i) {
    b.set_bid(px(100 - i), 1);
    b.set_ask(px(101 + i), 1);
  }
  b.truncate(3);
  EXPECT_EQ(prices(b.bids()), (std::vector<int64_t>{px(100), px(99), px(98)}));
  EXPECT_EQ(prices(b.asks()), (std::vector<int64_t>{px(101), px(102), px(103)}));
  b.truncate(5);  // deeper than the book: nothing happens
  EXPECT_EQ(b.bids().size(), 3u);
  b.truncate(0);
  EXPECT_TRUE(b.empty());
}

TEST(OrderBook, CrossedWhenBestBidReachesBestAsk) {
  order_book b;
  EXPECT_FALSE(b.crossed());
  b.set_bid(px(100), 1);
  EXPECT_FALSE(b.crossed());  // one side only
  b.set_ask(px(101), 1);
  EXPECT_FALSE(b.crossed());
  b.set_bid(px(101), 1);  // locked: bid == ask
  EXPECT_TRUE(b.crossed());
  b.set_bid(px(101), 0);
  b.set_bid(px(102), 1);
  EXPECT_TRUE(b.crossed());
}

int64_t fx(std::string_view s) {
  int64_t v = 0;
  EXPECT_EQ(parse_fixed(s, v), parse_error::ok) << s;
  return v;
}

// Expected values are CRC32 of the text written out by hand, computed independently with
// Python: zlib.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8") as a signed 32-bit integer.
TEST(OrderBook, OkxChecksumInterleavesBidsAndAsks) {
  order_book b;
  b.set_bid(fx("3366.1"), fx("7"));
  b.set_bid(fx("3366"), fx("6"));
  b.set_ask(fx("3366.8"), fx("9"));
  b.set_ask(fx("3368"), fx("8"));
  EXPECT_EQ(okx_checksum(b), -1881014294);
  // Uneven sides: the longer one continues alone ("3366.1:7:3366.8:9:3366:6:3365.5:1").
  b.set_ask(fx("3368"), 0);
  b.set_bid(fx("3365.5"), fx("1"));
  EXPECT_EQ(okx_checksum(b), -1827790692);
}

TEST(OrderBook, OkxChecksumUsesOnlyTheTop25LevelsOfEachSide) {
  order_book a;
  for (int64_t i = 0; i < 25; ++i) {
    a.set_bid(px(1000 - i), px(1) + i);
    a.set_ask(px(1001 + i), px(2) + i);
  }
  order_book deeper = a;
  deeper.set_bid(px(900), 5);
  deeper.set_ask(px(1100), 5);
  EXPECT_EQ(okx_checksum(a), okx_checksum(deeper));
  deeper.set_bid(px(1000), 123);
  EXPECT_NE(okx_checksum(a), okx_checksum(deeper));
}

// The merge path (many changes in one message) against a plain reference: a std::map per side,
// one change at a time in message order.
TEST(OrderBook, ManyChangesAtOnceGiveTheSameBookAsOneAtATime) {
  uint64_t seed = 42;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  order_book b;
  std::map<int64_t, int64_t, std::greater<>> ref_bids;
  std::map<int64_t, int64_t> ref_asks;
  for (int round = 0; round < 200; ++round) {
    // Sizes on both sides of the merge threshold; prices repeat within a message.
    const size_t n = round % 3 == 0 ? 5 : 40 + next() % 400;
    std::vector<book_level> bids, asks;
    for (size_t i = 0; i < n; ++i) {
      const int64_t q = next() % 4 == 0 ? 0 : px(1 + static_cast<int64_t>(next() % 9));
      bids.push_back({px(900 + static_cast<int64_t>(next() % 200)), q});
      asks.push_back({px(1001 + static_cast<int64_t>(next() % 200)), q});
    }
    if (round % 50 == 0) {
      b.assign(bids, asks);
      ref_bids.clear();
      ref_asks.clear();
    } else {
      b.apply(bids, asks);
    }
    for (const auto& l : bids)
      l.quantity == 0 ? (void)ref_bids.erase(l.price) : (void)(ref_bids[l.price] = l.quantity);
    for (const auto& l : asks)
      l.quantity == 0 ? (void)ref_asks.erase(l.price) : (void)(ref_asks[l.price] = l.quantity);
    std::vector<book_level> want_bids, want_asks;
    for (const auto& [p, q] : ref_bids) want_bids.push_back({p, q});
    for (const auto& [p, q] : ref_asks) want_asks.push_back({p, q});
    ASSERT_EQ(b.bids(), want_bids) << "round " << round;
    ASSERT_EQ(b.asks(), want_asks) << "round " << round;
  }
}

TEST(OrderBook, AHugeSnapshotIsSortedOnceAndCappedAtMaxLevels) {
  // 200,000 levels a side, worst first (each would have gone to the front of the vector).
  std::vector<book_level> bids, asks;
  for (int64_t i = 0; i < 200'000; ++i) {
    bids.push_back({px(1) + i, 1});
    asks.push_back({px(1'000'000) - i, 1});
  }
  order_book b;
  b.assign(bids, asks);
  ASSERT_EQ(b.bids().size(), order_book::max_levels);
  ASSERT_EQ(b.asks().size(), order_book::max_levels);
  EXPECT_EQ(b.bids().front().price, px(1) + 199'999);  // the best kept, the deepest dropped
  EXPECT_EQ(b.asks().front().price, px(1'000'000) - 199'999);
  EXPECT_EQ(b.levels_dropped(), 2 * (200'000 - order_book::max_levels));
  EXPECT_TRUE(
      std::is_sorted(b.bids().begin(), b.bids().end(),
                     [](const book_level& x, const book_level& y) { return x.price > y.price; }));
}

}  // namespace
}  // namespace cats
