// The network -> engine queue: order, no loss across threads, wake-ups; and the latency histogram.
#include "cats/core/event_queue.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "cats/util/histogram.hpp"

namespace cats {
namespace {

TEST(FeedQueue, DeliversEverythingInOrderAcrossThreadsWithATinyCapacity) {
  event_queue q(8);
  EXPECT_EQ(q.capacity(), 8u);
  constexpr uint64_t n = 200000;
  std::thread producer([&] {
    for (uint64_t i = 1; i <= n; ++i) {
      owned_event it;
      it.event.type = i % 100 == 0 ? market_event::kind::book : market_event::kind::trade;
      it.event.trade.trade_id = i;
      if (it.event.type == market_event::kind::book) {
        it.book = std::make_unique<book_update>();
        it.book->last_seq = i;
      }
      while (!q.try_push(it)) std::this_thread::yield();
    }
  });
  uint64_t expect = 1;
  owned_event out;
  while (expect <= n) {
    if (!q.try_pop(out)) {
      q.wait(std::chrono::milliseconds(5));
      continue;
    }
    ASSERT_EQ(out.event.trade.trade_id, expect);
    if (expect % 100 == 0) {
      ASSERT_EQ(out.event.type, market_event::kind::book);
      ASSERT_TRUE(out.book);
      ASSERT_EQ(out.book->last_seq, expect);
    }
    ++expect;
  }
  producer.join();
  EXPECT_EQ(q.size(), 0u);
}

TEST(FeedQueue, RefusesWhenFullAndLeavesTheItemIntact) {
  event_queue q(2);
  owned_event a;
  a.event.type = market_event::kind::book;
  a.book = std::make_unique<book_update>();
  EXPECT_TRUE(q.try_push(a));
  EXPECT_FALSE(a.book);  // moved into the queue
  owned_event b;
  b.event.type = market_event::kind::trade;
  EXPECT_TRUE(q.try_push(b));
  owned_event c;
  c.event.type = market_event::kind::book;
  c.book = std::make_unique<book_update>();
  EXPECT_FALSE(q.try_push(c));
  EXPECT_TRUE(c.book);  // still ours
}

TEST(FeedQueue, ASleepingConsumerIsWokenByAPush) {
  event_queue q(16);
  const auto t0 = std::chrono::steady_clock::now();
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    owned_event it;
    it.event.type = market_event::kind::trade;
    q.try_push(it);
  });
  owned_event out;
  while (!q.try_pop(out)) q.wait(std::chrono::seconds(10));
  producer.join();
  // Woken by the push, not by the 10 s timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(LatencyHistogram, QuantilesAreWithinTheBucketResolution) {
  latency_histogram h;
  EXPECT_EQ(h.quantile(0.5), 0u);
  for (int64_t v = 1; v <= 100000; ++v) h.record(v * 10);  // 10 ns .. 1 ms, uniform
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.max(), 1000000u);
  auto near = [](uint64_t got, double want) {
    return static_cast<double>(got) >= want && static_cast<double>(got) <= want * 1.035;
  };
  EXPECT_TRUE(near(h.quantile(0.5), 500000)) << h.quantile(0.5);
  EXPECT_TRUE(near(h.quantile(0.99), 990000)) << h.quantile(0.99);
  EXPECT_EQ(h.quantile(1.0), 1000000u);
  h.record(-5);  // clock steps backwards count as zero
  EXPECT_EQ(h.quantile(0.0), 0u);
}

}  // namespace
}  // namespace cats
