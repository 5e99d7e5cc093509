// The venue book synchronisers: every documented path, and that a desync is never silent.
#include "cats/venues/binance/book_sync.hpp"
#include "cats/venues/okx/book_sync.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "cats/book/book_builder.hpp"

namespace cats {
namespace {

constexpr int64_t S = 100000000;  // 1.0 in fixed point

book_update diff(uint64_t first, uint64_t last, std::vector<book_level> bids = {},
                 std::vector<book_level> asks = {}) {
  book_update u;
  u.instrument_id = 1;
  u.first_seq = first;
  u.last_seq = last;
  u.bids = std::move(bids);
  u.asks = std::move(asks);
  return u;
}

book_update snapshot(uint64_t last_update_id) {
  book_update u = diff(0, last_update_id, {{100 * S, 1 * S}, {99 * S, 2 * S}},
                       {{101 * S, 1 * S}, {102 * S, 3 * S}});
  u.snapshot = true;
  return u;
}

struct harness {
  book_sync_stats stats;
  std::vector<std::pair<book_update, uint32_t>> out;
  int requests = 0;
  std::vector<std::string> problems;
  book_emit_fn emit() {
    return [this](book_update&& u, uint32_t f) { out.emplace_back(std::move(u), f); };
  }
  book_request_fn request() {
    return [this] { ++requests; };
  }
  book_problem_fn problem() {
    return [this](const std::string& p) { problems.push_back(p); };
  }
};

TEST(BinanceBookSync, BuffersUntilTheSnapshotThenAppliesWhatStraddlesIt) {
  harness h;
  binance_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  sync.on_update(diff(95, 100));   // older than the snapshot: dropped
  sync.on_update(diff(101, 104));  // straddles 103 + 1
  sync.on_update(diff(105, 107));
  EXPECT_EQ(h.requests, 1);  // one request however many updates arrive
  EXPECT_TRUE(h.out.empty());
  sync.on_snapshot(snapshot(103));
  ASSERT_EQ(h.out.size(), 3u);
  EXPECT_TRUE(h.out[0].first.snapshot);
  EXPECT_EQ(h.out[0].second, CATS_BOOK_FLAG_SNAPSHOT);  // the first build is not a resync
  EXPECT_EQ(h.out[1].first.last_seq, 104u);
  EXPECT_EQ(h.out[2].first.last_seq, 107u);
  EXPECT_EQ(h.stats.stale_dropped.load(), 1u);
  EXPECT_EQ(h.stats.gaps.load(), 0u);
  EXPECT_TRUE(sync.synced());
  EXPECT_EQ(sync.last_update_id(), 107u);
  // Continuity from here on.
  sync.on_update(diff(108, 110));
  EXPECT_EQ(h.out.size(), 4u);
  sync.on_update(diff(109, 110));  // already applied
  EXPECT_EQ(h.out.size(), 4u);
  EXPECT_EQ(h.stats.stale_dropped.load(), 2u);
}

TEST(BinanceBookSync, AGapTriggersANewSnapshotAndTheRebuildIsFlaggedAsAResync) {
  harness h;
  binance_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  sync.on_update(diff(11, 12));
  sync.on_snapshot(snapshot(10));
  ASSERT_EQ(h.out.size(), 2u);
  sync.on_update(diff(14, 15));  // 13 is missing
  EXPECT_EQ(h.stats.gaps.load(), 1u);
  EXPECT_EQ(h.requests, 2);
  EXPECT_EQ(h.stats.resyncs.load(), 1u);
  EXPECT_FALSE(sync.synced());
  ASSERT_EQ(h.problems.size(), 1u);
  EXPECT_NE(h.problems[0].find("expected update 13, got 14..15"), std::string::npos)
      << h.problems[0];
  sync.on_update(diff(16, 16));  // buffered while waiting
  EXPECT_EQ(h.out.size(), 2u);
  sync.on_snapshot(snapshot(15));
  ASSERT_EQ(h.out.size(), 4u);
  EXPECT_EQ(h.out[2].second, CATS_BOOK_FLAG_SNAPSHOT | CATS_BOOK_FLAG_RESYNC);
  EXPECT_EQ(h.out[3].first.last_seq, 16u);
}

TEST(BinanceBookSync, AStaleSnapshotIsRefusedAndAnotherRequested) {
  harness h;
  binance_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  sync.on_update(diff(200, 205));
  sync.on_snapshot(snapshot(150));  // the stream starts at 200: 151..199 would be missing
  EXPECT_EQ(h.stats.stale_snapshots.load(), 1u);
  EXPECT_EQ(h.requests, 2);
  EXPECT_TRUE(h.out.empty());
  EXPECT_FALSE(sync.synced());
  sync.on_snapshot(snapshot(202));
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.out[1].first.last_seq, 205u);
}

TEST(BinanceBookSync, TheFirstUpdateAfterTheSnapshotMustStraddleIt) {
  harness h;
  binance_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  sync.on_update(diff(1, 1));
  sync.on_snapshot(snapshot(50));  // buffer all stale, now synced at 50
  ASSERT_EQ(h.out.size(), 1u);
  sync.on_update(diff(52, 53));  // 51 missing
  EXPECT_EQ(h.stats.gaps.load(), 1u);
  EXPECT_FALSE(sync.synced());
}

TEST(BinanceBookSync, AResetStartsOverWithANewSnapshot) {
  harness h;
  binance_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  sync.on_update(diff(1, 2));
  sync.on_snapshot(snapshot(1));
  sync.reset();
  EXPECT_FALSE(sync.synced());
  sync.on_update(diff(30, 31));
  EXPECT_EQ(h.requests, 2);
}

book_update okx_msg(bool snap, int64_t prev, uint64_t seq, std::vector<book_level> bids,
                    std::vector<book_level> asks, const order_book& expected_after) {
  book_update u;
  u.instrument_id = 1;
  u.snapshot = snap;
  u.prev_seq = prev;
  u.last_seq = seq;
  u.bids = std::move(bids);
  u.asks = std::move(asks);
  u.has_checksum = true;
  u.checksum = okx_checksum(expected_after);
  return u;
}

TEST(OkxBookSync, VerifiesEveryUpdateAndResubscribesOnAChecksumMismatch) {
  harness h;
  okx_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  order_book truth;
  truth.assign(std::vector<book_level>{{100 * S, S}}, std::vector<book_level>{{101 * S, S}});
  sync.on_message(okx_msg(true, -1, 10, truth.bids(), truth.asks(), truth));
  ASSERT_EQ(h.out.size(), 1u);
  EXPECT_EQ(h.out[0].second, CATS_BOOK_FLAG_SNAPSHOT);

  truth.set_bid(100 * S, 5 * S);
  sync.on_message(okx_msg(false, 10, 11, {{100 * S, 5 * S}}, {}, truth));
  ASSERT_EQ(h.out.size(), 2u);
  EXPECT_EQ(sync.book(), truth);

  // A corrupted checksum: counted, resubscribed, nothing passed on until the next snapshot.
  truth.set_ask(101 * S, 2 * S);
  book_update bad = okx_msg(false, 11, 12, {}, {{101 * S, 2 * S}}, truth);
  bad.checksum ^= 1;
  sync.on_message(std::move(bad));
  EXPECT_EQ(h.stats.checksum_failures.load(), 1u);
  EXPECT_EQ(h.requests, 1);
  EXPECT_FALSE(sync.synced());
  sync.on_message(okx_msg(false, 12, 13, {{99 * S, S}}, {}, truth));
  EXPECT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.stats.stale_dropped.load(), 1u);
  sync.on_message(okx_msg(true, -1, 20, truth.bids(), truth.asks(), truth));
  ASSERT_EQ(h.out.size(), 3u);
  EXPECT_EQ(h.out[2].second, CATS_BOOK_FLAG_SNAPSHOT | CATS_BOOK_FLAG_RESYNC);
}

TEST(OkxBookSync, ASequenceGapTriggersAResync) {
  harness h;
  okx_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  order_book truth;
  truth.assign(std::vector<book_level>{{100 * S, S}}, std::vector<book_level>{{101 * S, S}});
  sync.on_message(okx_msg(true, -1, 10, truth.bids(), truth.asks(), truth));
  truth.set_bid(99 * S, S);
  sync.on_message(okx_msg(false, 11, 12, {{99 * S, S}}, {}, truth));  // 10 -> 11 missing
  EXPECT_EQ(h.stats.gaps.load(), 1u);
  EXPECT_EQ(h.requests, 1);
  ASSERT_EQ(h.problems.size(), 1u);
  EXPECT_NE(h.problems[0].find("prevSeqId 11 but the last seqId was 10"), std::string::npos);
}

TEST(OkxBookSync, MessagesWithoutSequenceNumbersAreCheckedByChecksumAlone) {
  harness h;
  okx_book_sync sync(h.emit(), h.request(), h.problem(), h.stats);
  order_book truth;
  truth.assign(std::vector<book_level>{{100 * S, S}}, std::vector<book_level>{{101 * S, S}});
  sync.on_message(okx_msg(true, -1, 0, truth.bids(), truth.asks(), truth));
  truth.set_bid(100 * S, 0);
  sync.on_message(okx_msg(false, -1, 0, {{100 * S, 0}}, {}, truth));
  EXPECT_EQ(h.out.size(), 2u);
  EXPECT_EQ(h.stats.gaps.load(), 0u);
  EXPECT_EQ(sync.book(), truth);
}

TEST(BookBuilder, EventsCarryTheTopLevelsAndTheChanges) {
  book_builder b(2);
  book_update s = snapshot(1);
  s.bids.push_back({98 * S, S});
  const cats_book_event_t& e1 = b.apply(s, 0);
  EXPECT_EQ(e1.header.type, CATS_EVENT_BOOK);
  EXPECT_EQ(e1.book_flags, CATS_BOOK_FLAG_SNAPSHOT);
  ASSERT_EQ(e1.bid_count, 2u);  // depth 2 of 3
  EXPECT_EQ(e1.bids[0].price, 100 * S);
  EXPECT_EQ(e1.bids[1].price, 99 * S);
  EXPECT_EQ(e1.bid_change_count, 3u);
  const cats_book_event_t& e2 = b.apply(diff(2, 2, {{100 * S, 0}}, {{100 * S + 1, S}}), 0);
  EXPECT_EQ(e2.book_flags, 0u);
  EXPECT_EQ(e2.bids[0].price, 99 * S);
  EXPECT_EQ(e2.asks[0].price, 100 * S + 1);
  EXPECT_EQ(e2.bid_change_count, 1u);
  EXPECT_EQ(e2.bid_changes[0].quantity, 0);
  EXPECT_EQ(e2.sequence, 2u);
  ASSERT_NE(b.find(1), nullptr);
  EXPECT_EQ(b.find(1)->bids().size(), 2u);
}

}  // namespace
}  // namespace cats
