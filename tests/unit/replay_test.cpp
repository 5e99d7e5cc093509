// The merged replay stream: bars built from trades, the k-way merge of several feeds and kinds,
// the tie-break for equal times, and the decoded copy a sweep shares.
#include "cats/replay/replay.hpp"

#include <gtest/gtest.h>

#include "cats/core/events.hpp"
#include "cats/record/store.hpp"
#include "cats/replay/sample_data.hpp"
#include "cats/session/session.hpp"
#include "cats/util/time.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;

constexpr int64_t S = ns_per_s;
constexpr int64_t P = fixed_scale;

cats_trade_event_t trade(int64_t ts, int64_t price, int64_t qty, int32_t aggressor) {
  cats_trade_event_t t{};
  t.header = event_header<cats_trade_event_t>(CATS_EVENT_TRADE, 1, ts, CATS_EVENT_FLAG_REPLAY);
  t.price = price;
  t.quantity = qty;
  t.aggressor_side = aggressor;
  return t;
}

TEST(BarBuilder, BuildsTimeBarsFromTradesWithFlatBarsForQuietIntervals) {
  const int64_t t0 = 1'700'000'040 * S;  // 2023-11-14T22:14:00Z, on a minute boundary
  ASSERT_EQ(t0 % (60 * S), 0);
  bar_builder b(1, 60 * S);
  cats_bar_event_t bar{};
  b.add(trade(t0 + 10 * S, 100 * P, 1 * P, CATS_SIDE_BUY), 0);
  b.add(trade(t0 + 50 * S, 102 * P, 2 * P, CATS_SIDE_SELL), 0);
  EXPECT_FALSE(b.pop(bar));
  b.add(trade(t0 + 65 * S, 101 * P, P / 2, CATS_SIDE_BUY), 0);
  ASSERT_TRUE(b.pop(bar));
  EXPECT_EQ(bar.open_time_ns, t0);
  EXPECT_EQ(bar.header.exchange_ts_ns, t0 + 60 * S);
  EXPECT_EQ(bar.interval_ns, 60 * S);
  EXPECT_EQ(bar.open, 100 * P);
  EXPECT_EQ(bar.high, 102 * P);
  EXPECT_EQ(bar.low, 100 * P);
  EXPECT_EQ(bar.close, 102 * P);
  EXPECT_EQ(bar.volume, 3 * P);
  EXPECT_EQ(bar.quote_volume, 304 * P);  // 100 x 1 + 102 x 2
  EXPECT_EQ(bar.taker_buy_volume, 1 * P);
  EXPECT_EQ(bar.taker_buy_quote_volume, 100 * P);
  EXPECT_EQ(bar.trade_count, 2);
  EXPECT_FALSE(b.pop(bar));
  // Two quiet minutes, then a trade at 00:03:01 closes the 00:01 bar and the two empty ones.
  b.add(trade(t0 + 4 * 60 * S + 1 * S, 99 * P, 1 * P, CATS_SIDE_SELL), 7 * P);
  ASSERT_TRUE(b.pop(bar));
  EXPECT_EQ(bar.open_time_ns, t0 + 60 * S);
  EXPECT_EQ(bar.open, 101 * P);
  EXPECT_EQ(bar.close, 101 * P);
  EXPECT_EQ(bar.volume, P / 2);
  EXPECT_EQ(bar.trade_count, 1);
  for (int i = 2; i <= 3; ++i) {
    ASSERT_TRUE(b.pop(bar)) << i;
    EXPECT_EQ(bar.open_time_ns, t0 + i * 60 * S);
    EXPECT_EQ(bar.open, 101 * P);
    EXPECT_EQ(bar.high, 101 * P);
    EXPECT_EQ(bar.low, 101 * P);
    EXPECT_EQ(bar.close, 101 * P);
    EXPECT_EQ(bar.volume, 0);
    EXPECT_EQ(bar.trade_count, 0);
  }
  EXPECT_FALSE(b.pop(bar)) << "the unfinished 00:04 bar is not emitted";
}

class Replay : public ::testing::Test {
 protected:
  test::temp_dir dir_;
  std::string file(const std::string& name, const std::string& text) {
    const auto p = dir_.path() / name;
    test::write_file(p, text);
    return p.string();
  }
};

// 1-minute klines of A at 00:00 and 00:01 (close 00:01, 00:02); trades of B at 00:00:30,
// 00:01:00 (equal to A's first close) and 00:01:30; klines of C at 00:00 (close 00:01, equal
// again). Feed order: A, B, C.
TEST_F(Replay, MergesFeedsInTimeOrderWithTheConfigOrderBreakingTies) {
  const int64_t t0 = 1'704'067'200'000;  // 2024-01-01T00:00:00Z in ms
  auto kl = [&](int64_t open_ms, const char* px) {
    return std::to_string(open_ms) + "," + px + "," + px + "," + px + "," + px + ",1," +
           std::to_string(open_ms + 59'999) + ",1,1,0,0,0\n";
  };
  data_section data;
  feed_section a;
  a.symbol = "BINANCE:AAAUSDT";
  a.files = {file("a.csv", kl(t0, "10") + kl(t0 + 60'000, "11"))};
  feed_section b;
  b.symbol = "BINANCE:BBBUSDT";
  b.format = "binance_trades";
  b.files = {file("b.csv", "1,5.0,1.0,5.0," + std::to_string(t0 + 30'000) + ",True,True\n" +
                               "2,5.1,1.0,5.1," + std::to_string(t0 + 60'000) + ",False,True\n" +
                               "3,5.2,1.0,5.2," + std::to_string(t0 + 90'000) + ",False,True\n")};
  feed_section c;
  c.symbol = "BINANCE:CCCUSDT";
  c.files = {file("c.csv", kl(t0, "7"))};
  data.feeds = {a, b, c};

  instrument_registry instruments;
  replay_stream stream(data, instruments);
  ASSERT_TRUE(stream.open()) << stream.error();
  ASSERT_EQ(stream.feeds().size(), 3u);
  EXPECT_FALSE(stream.feeds()[0].ticks);
  EXPECT_TRUE(stream.feeds()[1].ticks);
  const uint32_t ia = stream.feeds()[0].instrument_id, ib = stream.feeds()[1].instrument_id,
                 ic = stream.feeds()[2].instrument_id;
  std::vector<std::string> seen;
  while (const market_event* ev = stream.next()) {
    const uint32_t id = ev->header().instrument_id;
    const char* name = id == ia ? "A" : id == ib ? "B" : id == ic ? "C" : "?";
    seen.push_back(std::string(name) + (ev->type == market_event::kind::bar ? "bar" : "trade") +
                   "@" + std::to_string((ev->ts / ns_per_ms - t0) / 1000));
  }
  EXPECT_TRUE(stream.error().empty()) << stream.error();
  const std::vector<std::string> expected = {"Btrade@30", "Abar@60",   "Btrade@60",
                                             "Cbar@60",   "Btrade@90", "Abar@120"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(stream.stats().rows, 6u);

  // The decoded copy holds the same stream.
  const auto md = market_data::load(data, nullptr);
  ASSERT_EQ(md->events().size(), expected.size());
  EXPECT_EQ(md->events()[2].trade.trade_id, 2u);
  EXPECT_EQ(md->events()[2].trade.aggressor_side, CATS_SIDE_BUY);  // buyer was not the maker
  EXPECT_EQ(md->events()[0].trade.aggressor_side, CATS_SIDE_SELL);
  memory_cursor cur(*md);
  cur.seek((t0 + 60'000) * ns_per_ms);
  const market_event* ev = cur.next();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->ts, (t0 + 60'000) * ns_per_ms);
  EXPECT_EQ(ev->header().instrument_id, ia);
}

// Files parsed ahead on several threads give the decoded copy of one thread, event for event: two
// monthly files of one feed with a gap between them, merged with a second feed.
TEST_F(Replay, TheDecodedCopyIsTheSameOnSeveralThreads) {
  const int64_t minute = 60 * S;
  sample_options o;
  o.bars = 40'000;  // about 5.6 MB a file: read ahead in windows of 2 MiB
  const fs::path a1 = dir_.path() / "a-1.csv", a2 = dir_.path() / "a-2.csv",
                 b = dir_.path() / "b.csv";
  write_sample_klines(a1, o);
  o.start_ns += (40'000 + 17) * minute;  // 17 bars missing between the files
  o.seed = 7;
  write_sample_klines(a2, o);
  o.start_ns -= 3 * minute;
  o.bars = 50'000;
  o.header = true;
  o.microseconds = true;
  write_sample_klines(b, o);
  data_section data;
  feed_section fa, fb;
  fa.symbol = "BINANCE:AAAUSDT";
  fa.files = {a1, a2};
  fb.symbol = "BINANCE:BBBUSDT";
  fb.files = {b};
  data.feeds = {fa, fb};
  const auto one = market_data::load(data, nullptr, nullptr, 1);
  const auto three = market_data::load(data, nullptr, nullptr, 3);
  ASSERT_EQ(one->events().size(), 130'000u);
  ASSERT_EQ(three->events().size(), one->events().size());
  for (size_t i = 0; i < one->events().size(); ++i) {
    const market_event &x = one->events()[i], &y = three->events()[i];
    ASSERT_TRUE(x.ts == y.ts && std::memcmp(&x.bar, &y.bar, sizeof x.bar) == 0) << "event " << i;
  }
  EXPECT_EQ(one->stats().gaps, 1u);
  EXPECT_EQ(one->stats().missing_bars, 17u);
  EXPECT_EQ(three->stats().gaps, one->stats().gaps);
  EXPECT_EQ(three->stats().missing_bars, one->stats().missing_bars);
  EXPECT_EQ(three->stats().rows, one->stats().rows);
  EXPECT_EQ(three->stats().messages, one->stats().messages);
}

// A run of uniform bars (one instrument, flags and interval, read as they are, open times that
// never go back, closes that always move on) ends at the first bar that breaks any of it: the
// sweep finds it once for every run, and the runs then skip their own checks.
TEST(UniformBars, EndAtTheFirstBarThatDiffers) {
  const int64_t t0 = 1'704'067'200'000'000'000;
  auto bars = [&] {
    std::vector<market_event> v;
    for (int64_t i = 0; i < 8; ++i) {
      cats_bar_event_t b{};
      b.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, 3, t0 + (i + 1) * 60 * S, 0);
      b.header.flags = CATS_EVENT_FLAG_REPLAY;
      b.open_time_ns = t0 + i * 60 * S;
      b.interval_ns = 60 * S;
      b.open = b.high = b.low = b.close = 100 + i;
      v.push_back(market_event::of(b, b.header.exchange_ts_ns));
    }
    return v;
  };
  std::vector<market_event> v = bars();
  EXPECT_EQ(session::uniform_bars(v.data(), v.size()), 8u);
  EXPECT_EQ(session::uniform_bars(v.data(), 5), 5u);
  EXPECT_EQ(session::uniform_bars(v.data(), 1), 1u);
  EXPECT_EQ(session::uniform_bars(v.data(), 0), 0u);
  v[4].bar.open_time_ns = v[3].bar.open_time_ns;  // an open time may repeat
  EXPECT_EQ(session::uniform_bars(v.data(), v.size()), 8u);
  // What breaks the run at bar 5, and how long the run from bar 5 on then is (0: not a bar the
  // run takes; 1: its neighbours differ from it; 3: it only differs from the bar before).
  struct broken {
    const char* what;
    void (*apply)(market_event& e, const market_event& before);
    size_t from_it;
  };
  const std::vector<broken> breaks = {
      {"a trade", [](market_event& e, const market_event&) { e.type = market_event::kind::trade; },
       0},
      {"built", [](market_event& e, const market_event&) { e.built = true; }, 0},
      {"another instrument",
       [](market_event& e, const market_event&) { e.bar.header.instrument_id = 4; }, 1},
      {"other flags", [](market_event& e, const market_event&) { e.bar.header.flags = 0; }, 1},
      {"another interval",
       [](market_event& e, const market_event&) { e.bar.interval_ns = 120 * S; }, 1},
      {"an open time back",
       [](market_event& e, const market_event& before) {
         e.bar.open_time_ns = before.bar.open_time_ns - 1;
       },
       3},
      {"the same close",
       [](market_event& e, const market_event& before) {
         e.bar.header.exchange_ts_ns = before.bar.header.exchange_ts_ns;
       },
       3},
  };
  for (const broken& b : breaks) {
    SCOPED_TRACE(b.what);
    v = bars();
    b.apply(v[5], v[4]);
    EXPECT_EQ(session::uniform_bars(v.data(), v.size()), 5u);
    EXPECT_EQ(session::uniform_bars(v.data() + 5, 3), b.from_it);
  }
}

// One feed of block-store files comes in batches: in order across files, the rows counted are the
// events handed out (not the ones read ahead), a new symbol registers when its first event is
// asked for, and a damaged later file ends the stream with its name after the earlier events.
TEST_F(Replay, OneStoreFeedAcrossFilesInBatches) {
  const int64_t t0 = 1'704'067'200'000'000'000;
  auto bar = [&](int64_t i, int64_t close) {
    cats_bar_event_t b{};
    b.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, 0, t0 + (i + 1) * 60 * S, 0);
    b.header.local_ts_ns = b.header.exchange_ts_ns;
    b.open_time_ns = t0 + i * 60 * S;
    b.interval_ns = 60 * S;
    b.open = b.high = b.low = b.close = close;
    return market_event::of(b, b.header.local_ts_ns);
  };
  const fs::path one = dir_.path() / "one.catsrec", two = dir_.path() / "two.catsrec";
  {
    store_writer w(one);
    for (int64_t i = 0; i < 300; ++i) w.append("BINANCE:AAAUSDT", bar(i, 100 + i));
    w.close();
    store_writer v(two);
    for (int64_t i = 300; i < 400; ++i) v.append("BINANCE:AAAUSDT", bar(i, 100 + i));
    for (int64_t i = 400; i < 500; ++i) v.append("BINANCE:BBBUSDT", bar(i, 100 + i));
    v.close();
  }
  data_section data;
  feed_section f;
  f.symbol = "BINANCE:AAAUSDT";
  f.format = "cats_record";
  f.files = {one, two};
  data.feeds = {f};
  {
    instrument_registry instruments;
    replay_stream stream(data, instruments);
    ASSERT_TRUE(stream.open()) << stream.error();
    const size_t known = instruments.size();
    int64_t i = 0;
    while (const market_event* ev = stream.next()) {
      ASSERT_EQ(ev->bar.close, 100 + i) << i;
      // BBB registers when its first bar is asked for, not a batch earlier.
      EXPECT_EQ(instruments.size(), i < 400 ? known : known + 1) << i;
      if (++i == 250) {
        EXPECT_EQ(stream.stats().rows, 250u);
      }
    }
    EXPECT_EQ(stream.error(), "");
    EXPECT_EQ(i, 500);
    EXPECT_EQ(stream.stats().rows, 500u);
  }
  // The second file damaged: the first one's events, then its name.
  std::string b = test::read_file(two);
  b[b.size() - 10] = static_cast<char>(b[b.size() - 10] ^ 0x20);
  test::write_file(two, b);
  instrument_registry instruments;
  replay_stream stream(data, instruments);
  ASSERT_TRUE(stream.open()) << stream.error();
  int64_t i = 0;
  while (const market_event* ev = stream.next()) ASSERT_EQ(ev->bar.close, 100 + i++);
  EXPECT_GE(i, 300);
  EXPECT_LT(i, 500);
  EXPECT_NE(stream.error().find("two.catsrec"), std::string::npos) << stream.error();
  EXPECT_NE(stream.error().find("checksum mismatch"), std::string::npos) << stream.error();
}

TEST_F(Replay, TradesWithBarsAndFileErrors) {
  const int64_t t0 = 1'704'067'200'000;
  data_section data;
  feed_section f;
  f.symbol = "BINANCE:BTCUSDT";
  f.format = "binance_trades";
  f.bar_interval_ns = 60 * S;
  // Two files: the second goes back in time at its first row.
  f.files = {file("t1.csv", "1,10,1,10," + std::to_string(t0 + 1000) + ",True,True\n2,11,1,11," +
                                std::to_string(t0 + 61'000) + ",False,True\n"),
             file("t2.csv", "3,12,1,12," + std::to_string(t0 + 2000) + ",False,True\n")};
  data.feeds = {f};
  instrument_registry instruments;
  replay_stream stream(data, instruments);
  ASSERT_TRUE(stream.open()) << stream.error();
  const market_event* ev = stream.next();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->type, market_event::kind::trade);
  ev = stream.next();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->type, market_event::kind::bar) << "the bar closes before the trade that ends it";
  EXPECT_TRUE(ev->built);
  EXPECT_EQ(ev->bar.open, 10 * P);
  ev = stream.next();
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->trade.trade_id, 2u);
  EXPECT_EQ(stream.next(), nullptr);
  EXPECT_NE(stream.error().find("t2.csv:1: time goes backwards"), std::string::npos)
      << stream.error();

  // Trade ids that jump (trades missing from the data) are counted, within a file and between
  // two, and the first places named.
  feed_section g = f;
  g.bar_interval_ns = 0;
  g.files = {file("g1.csv", "10,10,1,10," + std::to_string(t0 + 1000) + ",True,True\n11,10,1,10," +
                                std::to_string(t0 + 2000) + ",True,True\n15,10,1,10," +
                                std::to_string(t0 + 3000) + ",True,True\n"),
             file("g2.csv", "16,10,1,10," + std::to_string(t0 + 4000) + ",True,True\n20,10,1,10," +
                                std::to_string(t0 + 5000) + ",True,True\n")};
  data_section gaps;
  gaps.feeds = {g};
  instrument_registry gi;
  replay_stream gs(gaps, gi);
  ASSERT_TRUE(gs.open()) << gs.error();
  size_t n = 0;
  while (gs.next() != nullptr) ++n;
  EXPECT_EQ(n, 5u);
  EXPECT_EQ(gs.stats().trade_id_gaps, 2u);
  EXPECT_EQ(gs.stats().missing_trades, 6u);  // 12-14 and 17-19
  ASSERT_EQ(gs.stats().messages.size(), 2u);
  EXPECT_NE(gs.stats().messages[0].find("g1.csv:3: trade id jumps from 11 to 15: 3 trade(s) "
                                        "missing"),
            std::string::npos)
      << gs.stats().messages[0];
  EXPECT_NE(gs.stats().messages[1].find("g2.csv:2: trade id jumps from 16 to 20"),
            std::string::npos)
      << gs.stats().messages[1];

  data.feeds[0].files.push_back(dir_.path() / "missing.csv");
  instrument_registry again;
  replay_stream missing(data, again);
  EXPECT_FALSE(missing.open());
  EXPECT_TRUE(missing.unreadable());
  EXPECT_NE(missing.error().find("missing.csv"), std::string::npos) << missing.error();
}

}  // namespace
}  // namespace cats

#include <unistd.h>

#include "cats/util/progress.hpp"

namespace cats {
namespace {

TEST(ProgressBar, RendersBarRateAndEta) {
  EXPECT_EQ(progress_bar::render(0.25, 2'500'000, 2.0, "events", 8),
            "[##......]  25.0%  1.25 M events/s  ETA 0:06");
  EXPECT_EQ(progress_bar::render(0.5, 1500, 1.0, "runs", 4),
            "[##..]  50.0%  1.5 k runs/s  ETA 0:01");
  EXPECT_EQ(progress_bar::render(0.002, 10, 10.0, "runs", 2),
            "[..]   0.2%  1.0 runs/s  ETA 1:23:10");
  // Unknown fraction: the rate only.
  EXPECT_EQ(progress_bar::render(-1, 42, 2.0, "events", 8), "  21.0 events/s");
  // Drawn only when asked for and stderr is a terminal (under ctest it is a pipe).
  EXPECT_EQ(progress_bar(true, "events").active(), isatty(STDERR_FILENO) == 1);
  EXPECT_FALSE(progress_bar(false, "events").active());
}

}  // namespace
}  // namespace cats
