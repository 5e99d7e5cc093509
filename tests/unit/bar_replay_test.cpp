#include "cats/replay/bar_replay.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace cats {
namespace {

constexpr int64_t hour_ms = 3'600'000;
constexpr int64_t t0 = 1'640'995'200'000;  // 2022-01-01T00:00:00Z

std::string bar_row(int64_t open_ms, const std::string& close, int64_t interval_ms = hour_ms) {
  return std::to_string(open_ms) + ",1,1000,0.5," + close + ",1," +
         std::to_string(open_ms + interval_ms - 1) + ",1,1,1,1,0\n";
}

struct replay_run {
  std::vector<cats_bar_event_t> bars;
  std::string error;
  replay_stats stats;
};

replay_run run(const std::vector<std::pair<std::string, uint32_t>>& files, bool skip = false) {
  std::vector<bar_file> list;
  for (const auto& [path, inst] : files) list.push_back({path, inst});
  kline_reader_options o;
  o.skip_malformed = skip;
  bar_replay r(list, o);
  replay_run out;
  if (!r.open()) {
    out.error = r.error();
    return out;
  }
  cats_bar_event_t b{};
  for (;;) {
    const auto st = r.next(b);
    if (st == bar_replay::status::bar) {
      out.bars.push_back(b);
      continue;
    }
    if (st == bar_replay::status::error) out.error = r.error();
    break;
  }
  out.stats = r.stats();
  return out;
}

TEST(BarReplay, MergesFilesInTimeOrderWhateverTheirListOrder) {
  test::temp_dir d;
  test::write_file(d / "feb.csv",
                   bar_row(t0 + 2 * hour_ms, "103") + bar_row(t0 + 3 * hour_ms, "104"));
  test::write_file(d / "jan.csv", bar_row(t0, "101") + bar_row(t0 + hour_ms, "102"));
  const auto r = run({{(d / "feb.csv").string(), 1}, {(d / "jan.csv").string(), 1}});
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.bars.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r.bars[i].close, int64_t(101 + i) * 100'000'000);
    EXPECT_EQ(r.bars[i].open_time_ns, (t0 + int64_t(i) * hour_ms) * 1'000'000);
    // The bar is known at the end of its interval.
    EXPECT_EQ(r.bars[i].header.exchange_ts_ns, (t0 + int64_t(i + 1) * hour_ms) * 1'000'000);
    EXPECT_EQ(r.bars[i].interval_ns, hour_ms * 1'000'000);
    EXPECT_EQ(r.bars[i].header.type, CATS_EVENT_BAR);
  }
  EXPECT_EQ(r.stats.gaps, 0u);
}

TEST(BarReplay, TwoInstrumentsInterleaveByTimeWithFileOrderOnTies) {
  test::temp_dir d;
  test::write_file(d / "a.csv", bar_row(t0, "1") + bar_row(t0 + hour_ms, "2"));
  test::write_file(d / "b.csv", bar_row(t0, "3") + bar_row(t0 + hour_ms, "4"));
  const auto r = run({{(d / "a.csv").string(), 1}, {(d / "b.csv").string(), 2}});
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.bars.size(), 4u);
  EXPECT_EQ(r.bars[0].header.instrument_id, 1u);
  EXPECT_EQ(r.bars[1].header.instrument_id, 2u);
  EXPECT_EQ(r.bars[2].header.instrument_id, 1u);
  EXPECT_EQ(r.bars[3].header.instrument_id, 2u);
}

TEST(BarReplay, OverlappingFilesAreADuplicateNamingBothPlaces) {
  test::temp_dir d;
  test::write_file(d / "a.csv", bar_row(t0, "1") + bar_row(t0 + hour_ms, "2"));
  test::write_file(d / "b.csv", bar_row(t0 + hour_ms, "2") + bar_row(t0 + 2 * hour_ms, "3"));
  const auto a = (d / "a.csv").string(), b = (d / "b.csv").string();
  const auto r = run({{a, 1}, {b, 1}});
  EXPECT_EQ(r.error, b + ":1: duplicate bar: open_time 2022-01-01T01:00:00Z was already given at " +
                         a + ":2");
}

TEST(BarReplay, TimeGoingBackwardsStopsTheRun) {
  test::temp_dir d;
  const auto f = (d / "k.csv").string();
  test::write_file(f, bar_row(t0 + hour_ms, "1") + bar_row(t0, "2"));
  const auto r = run({{f, 1}});
  EXPECT_EQ(r.error, f +
                         ":2: time goes backwards: open_time 2022-01-01T00:00:00Z is before "
                         "2022-01-01T01:00:00Z at " +
                         f + ":1");
}

TEST(BarReplay, SkipModeDropsOutOfOrderBarsAndCountsThem) {
  test::temp_dir d;
  const auto f = (d / "k.csv").string();
  test::write_file(f, bar_row(t0, "1") + bar_row(t0, "9") + bar_row(t0 + hour_ms, "2") + "junk\n" +
                          bar_row(t0 + 2 * hour_ms, "3"));
  const auto r = run({{f, 1}}, true);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.bars.size(), 3u);
  EXPECT_EQ(r.bars[1].close, 200'000'000);
  EXPECT_EQ(r.stats.skipped, 2u);  // the duplicate and the junk row
  EXPECT_EQ(r.stats.messages.size(), 2u);
}

TEST(BarReplay, GapsAreCountedNotFilled) {
  test::temp_dir d;
  const auto f = (d / "k.csv").string();
  test::write_file(
      f, bar_row(t0, "1") + bar_row(t0 + 3 * hour_ms, "2") + bar_row(t0 + 4 * hour_ms, "3"));
  const auto r = run({{f, 1}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.bars.size(), 3u);
  EXPECT_EQ(r.stats.gaps, 1u);
  EXPECT_EQ(r.stats.missing_bars, 2u);
  ASSERT_EQ(r.stats.messages.size(), 1u);
  EXPECT_EQ(r.stats.messages[0], f + ":2: gap: 2 bar(s) missing between 2022-01-01T00:00:00Z and "
                                     "2022-01-01T03:00:00Z");
}

// A close_time that does not describe the bars (here open_time + 1 ms on 1-hour bars) used to
// make 2 ms bars with 1 799 999 missing after each; it is an error that says what is wrong.
TEST(BarReplay, CloseTimesThatContradictTheBarSpacingAreAnError) {
  test::temp_dir d;
  const auto f = (d / "k.csv").string();
  test::write_file(
      f, bar_row(t0, "1", 2) + bar_row(t0 + hour_ms, "2", 2) + bar_row(t0 + 2 * hour_ms, "3", 2));
  const auto r = run({{f, 1}});
  EXPECT_EQ(r.error, f + ":1: close_time makes the bars 2ms long, not a whole number of seconds; "
                         "close_time must be the bar's last instant (open_time + interval - 1 "
                         "unit, as the venues write it)");
  // close_time = the next bar's open: 60.001 s bars.
  test::write_file(f, bar_row(t0, "1", hour_ms + 1) + bar_row(t0 + hour_ms, "2", hour_ms + 1));
  EXPECT_NE(run({{f, 1}}).error.find(":1: close_time makes the bars"), std::string::npos);
  // Gaps at the start, even or not, are gaps, not an error.
  test::write_file(
      f, bar_row(t0, "1") + bar_row(t0 + 2 * hour_ms, "2") + bar_row(t0 + 4 * hour_ms, "3"));
  EXPECT_EQ(run({{f, 1}}).error, "");
  // Real gaps at the start (uneven) are gaps, not an error.
  test::write_file(f, bar_row(t0, "1") + bar_row(t0 + 3 * hour_ms, "2") +
                          bar_row(t0 + 5 * hour_ms, "3") + bar_row(t0 + 6 * hour_ms, "4"));
  EXPECT_EQ(run({{f, 1}}).error, "");
}

TEST(BarReplay, ChangingIntervalIsAnError) {
  test::temp_dir d;
  const auto f = (d / "k.csv").string();
  test::write_file(f, bar_row(t0, "1") + bar_row(t0 + hour_ms, "2", 60'000));
  const auto r = run({{f, 1}});
  EXPECT_EQ(r.error, f + ":2: bar interval 1m differs from 1h of the earlier bars");
}

TEST(BarReplay, BarsOffTheGridAreRefused) {
  test::temp_dir d;
  const auto f = (d / "k.csv").string();
  test::write_file(f, bar_row(t0, "1") + bar_row(t0 + hour_ms + 60'000, "2"));
  const auto r = run({{f, 1}});
  EXPECT_EQ(r.error,
            f +
                ":2: open_time 2022-01-01T01:01:00Z is off the 1h grid of the earlier bars "
                "(2022-01-01T00:00:00Z at " +
                f + ":1)");
}

TEST(BarReplay, SkipCountsAreCompleteEvenWhenTheReplayStopsEarly) {
  test::temp_dir d;
  const auto f = (d / "k.csv").string();
  test::write_file(
      f, bar_row(t0, "1") + "junk\n" + bar_row(t0 + hour_ms, "2") + bar_row(t0 + 2 * hour_ms, "3"));
  kline_reader_options o;
  o.skip_malformed = true;
  bar_replay r({{f, 1}}, o);
  ASSERT_TRUE(r.open());
  cats_bar_event_t b{};
  ASSERT_EQ(r.next(b), bar_replay::status::bar);
  ASSERT_EQ(r.next(b), bar_replay::status::bar);  // stop here, as backtest.end would
  EXPECT_EQ(r.stats().skipped, 1u);
  ASSERT_EQ(r.stats().messages.size(), 1u);
  EXPECT_EQ(r.stats().messages[0], f + ":2: column 1 (open_time): not a number: 'junk'");
}

TEST(BarReplay, UnreadableFileFailsOpen) {
  const auto r = run({{"/nonexistent/x.csv", 1}});
  EXPECT_EQ(r.error, "/nonexistent/x.csv: cannot open: No such file or directory");
}

}  // namespace
}  // namespace cats
