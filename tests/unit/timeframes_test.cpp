// Bars of longer intervals built by the engine (subscribe_bars): checked against an aggregation
// written out here, delivered only to the strategies that asked, in time order, and the same in a
// replay and in a live (wall clock) run of the same events.
#include <gtest/gtest.h>
#include <cats/strategy.hpp>

#include <algorithm>
#include <map>
#include <random>

#include "cats/core/engine.hpp"
#include "cats/session/session.hpp"
#include "cats/sim/sim_exchange.hpp"

namespace cats {
namespace {

constexpr int64_t minute = 60'000'000'000;
constexpr int64_t t0 = 1'704'067'200'000'000'000;  // 2024-01-01 00:00 UTC

struct seen_bar {
  std::string who;
  int64_t interval, open_time, close_ts, now;
  int64_t open, high, low, close, volume, quote_volume, taker_buy, trades;
};
std::vector<seen_bar>* g_seen = nullptr;

// Subscribes to `minutes` bars (0: none) in its constructor, or in its `late_at`-th bar.
class tf_strategy final : public cats::strategy {
 public:
  tf_strategy(cats::context& c, const cats::params& p)
      : strategy(c),
        who_(p.get_string("who", "s")),
        minutes_(p.get_int("minutes", 0)),
        late_at_(p.get_int("late_at", 0)) {
    const uint32_t id = ctx().find_instrument("BINANCE:TEST").id;
    if (minutes_ > 0 && late_at_ == 0) ctx().subscribe_bars(id, cats::minutes(minutes_));
    if (p.get_int("also", 0) > 0) ctx().subscribe_bars(id, cats::minutes(p.get_int("also", 0)));
    if (p.get_int("refuse", 0) != 0) throw cats::error("refused after subscribing");
  }
  void on_bar(const cats::bar& b) override {
    const cats_bar_event_t& r = b.raw();
    g_seen->push_back({who_, r.interval_ns, r.open_time_ns, r.header.exchange_ts_ns, ctx().now_ns(),
                       r.open, r.high, r.low, r.close, r.volume, r.quote_volume, r.taker_buy_volume,
                       r.trade_count});
    if (late_at_ > 0 && ++bars_ == late_at_)
      ctx().subscribe_bars(b.instrument_id(), cats::minutes(minutes_));
  }

 private:
  std::string who_;
  int64_t minutes_, late_at_, bars_ = 0;
};

struct rig {
  instrument_registry instruments;
  portfolio account{10'000 * fixed_scale, "USDT"};
  engine eng{instruments, account};
  sim_exchange exchange{eng, sim_exchange_config{}};
  std::optional<session> market;
  std::vector<seen_bar> seen;
  uint32_t id = 0;

  bool receive_time = false;
  rig() {
    instrument_info i;
    i.symbol = "BINANCE:TEST";
    i.venue = "BINANCE";
    i.name = "TEST";
    id = instruments.add(i);
    g_seen = &seen;
  }
  ~rig() { g_seen = nullptr; }
  bool add(const std::string& who, int64_t minutes, int64_t late_at = 0, int64_t also = 0,
           bool refuse = false) {
    param_set ps;
    ps.set({"refuse", CATS_PARAM_INT, false, refuse ? 1 : 0, 0, ""});
    ps.set({"who", CATS_PARAM_STRING, false, 0, 0, who});
    ps.set({"minutes", CATS_PARAM_INT, false, minutes, 0, ""});
    ps.set({"late_at", CATS_PARAM_INT, false, late_at, 0, ""});
    ps.set({"also", CATS_PARAM_INT, false, also, 0, ""});
    std::string err;
    const bool ok =
        eng.add_strategy(who, *cats::detail::entry<tf_strategy>("tf", "1", ""), std::move(ps), err);
    EXPECT_TRUE(ok || refuse) << err;
    return ok;
  }
  void start_session(bool live, bool bars_only) {
    session_options o;
    o.wall_clock = live;
    o.event_flags = live ? 0 : CATS_EVENT_FLAG_REPLAY;
    o.bars_only = bars_only;
    o.bar_matched.assign(id + 1, bars_only ? 1 : 0);
    o.sample_ns = minute;
    o.receive_time_clock = receive_time;
    market.emplace(eng, account, exchange, o);
  }
  std::vector<seen_bar> of(const std::string& who, int64_t interval) const {
    std::vector<seen_bar> out;
    for (const seen_bar& b : seen)
      if (b.who == who && b.interval == interval) out.push_back(b);
    return out;
  }
};

cats_bar_event_t minute_bar(uint32_t id, int64_t open_time, int64_t o, int64_t h, int64_t l,
                            int64_t c, int64_t v) {
  cats_bar_event_t b{};
  b.header.struct_size = sizeof b;
  b.header.type = CATS_EVENT_BAR;
  b.header.instrument_id = id;
  b.header.exchange_ts_ns = b.header.local_ts_ns = open_time + minute;
  b.open_time_ns = open_time;
  b.interval_ns = minute;
  b.open = o;
  b.high = h;
  b.low = l;
  b.close = c;
  b.volume = v;
  b.quote_volume = v * 3;
  b.taker_buy_volume = v / 2;
  b.trade_count = 7;
  return b;
}

// The expected bars of `interval`, written out plainly: group the input bars by window; a window
// with bars is their aggregate, an empty one between two windows with bars is flat at the last
// close; the first window is dropped when the data begins inside it, the last one when no bar
// ends at its end.
std::vector<seen_bar> aggregate(const std::vector<cats_bar_event_t>& in, int64_t interval) {
  std::map<int64_t, std::vector<cats_bar_event_t>> groups;
  for (const auto& b : in) groups[b.open_time_ns - b.open_time_ns % interval].push_back(b);
  std::vector<seen_bar> out;
  const int64_t first = groups.begin()->first, last = groups.rbegin()->first;
  int64_t prev_close = 0;
  for (int64_t w = first; w <= last; w += interval) {
    seen_bar s{"", interval, w, w + interval, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    auto it = groups.find(w);
    if (it == groups.end()) {
      s.open = s.high = s.low = s.close = prev_close;
    } else {
      const auto& g = it->second;
      s.open = g.front().open;
      s.high = g.front().high;
      s.low = g.front().low;
      for (const auto& b : g) {
        s.high = std::max(s.high, b.high);
        s.low = std::min(s.low, b.low);
        s.close = b.close;
        s.volume += b.volume;
        s.quote_volume += b.quote_volume;
        s.taker_buy += b.taker_buy_volume;
        s.trades += b.trade_count;
      }
      prev_close = s.close;
      if (w == first && g.front().open_time_ns != w) continue;
      if (w == last && g.back().open_time_ns + minute != w + interval) continue;
    }
    out.push_back(s);
  }
  return out;
}

void expect_same(const std::vector<seen_bar>& got, const std::vector<seen_bar>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("bar " + std::to_string(i));
    EXPECT_EQ(got[i].open_time, want[i].open_time);
    EXPECT_EQ(got[i].close_ts, want[i].close_ts);
    EXPECT_EQ(got[i].open, want[i].open);
    EXPECT_EQ(got[i].high, want[i].high);
    EXPECT_EQ(got[i].low, want[i].low);
    EXPECT_EQ(got[i].close, want[i].close);
    EXPECT_EQ(got[i].volume, want[i].volume);
    EXPECT_EQ(got[i].quote_volume, want[i].quote_volume);
    EXPECT_EQ(got[i].taker_buy, want[i].taker_buy);
    EXPECT_EQ(got[i].trades, want[i].trades);
  }
}

// 1-minute bars of a random walk from 00:02 (so the first 5m and 1h windows are partial), with a
// hole of 3 minutes inside a 5m window and one of 12 minutes that leaves a 5m window empty.
std::vector<cats_bar_event_t> walk(uint32_t id, int minutes) {
  std::mt19937_64 rng(7);
  std::vector<cats_bar_event_t> bars;
  int64_t price = 4'200'000'000'000;
  for (int m = 2; m < minutes; ++m) {
    if ((m >= 61 && m < 64) || (m >= 88 && m < 100)) continue;
    const int64_t o = price;
    price += static_cast<int64_t>(rng() % 2'000'000'001) - 1'000'000'000;
    const int64_t hi = std::max(o, price) + static_cast<int64_t>(rng() % 500'000'000);
    const int64_t lo = std::min(o, price) - static_cast<int64_t>(rng() % 500'000'000);
    bars.push_back(minute_bar(id, t0 + m * minute, o, hi, lo, price,
                              static_cast<int64_t>(rng() % 100'000'000'000)));
  }
  return bars;
}

TEST(Timeframes, BarsBuiltFromTheFeedsBarsMatchAPlainAggregationAndGoOnlyToSubscribers) {
  rig r;
  ASSERT_TRUE(r.add("five", 5));
  ASSERT_TRUE(r.add("hour", 60, 0, 5));  // 1h, and 5m as well
  ASSERT_TRUE(r.add("plain", 0));
  r.start_session(false, true);
  const std::vector<cats_bar_event_t> in = walk(r.id, 183);
  for (const auto& b : in) r.market->on_event(market_event::of(b, b.header.exchange_ts_ns));
  r.market->finish("end");

  expect_same(r.of("five", 5 * minute), aggregate(in, 5 * minute));
  expect_same(r.of("hour", 5 * minute), aggregate(in, 5 * minute));
  expect_same(r.of("hour", 60 * minute), aggregate(in, 60 * minute));
  EXPECT_EQ(r.of("hour", 60 * minute).size(), 2u);  // 01:00 and 02:00; 00:00 began at 00:02
  // Everybody gets the feed's bars; only subscribers get built ones.
  EXPECT_EQ(r.of("plain", minute).size(), in.size());
  EXPECT_EQ(r.of("five", minute).size(), in.size());
  EXPECT_TRUE(r.of("plain", 5 * minute).empty());
  EXPECT_TRUE(r.of("five", 60 * minute).empty());

  // Each built bar arrives right after the event that completed it, with the clock at its end:
  // after the minute bar that ends it, or (a window cut short by a hole) before the first bar
  // after its end. A 5m bar comes before the 1h bar that ends at the same time.
  int64_t last_ts = 0;
  for (size_t i = 0; i < r.seen.size(); ++i) {
    const seen_bar& b = r.seen[i];
    if (b.who != "hour") continue;
    EXPECT_GE(b.close_ts, last_ts);
    last_ts = b.close_ts;
    if (b.interval == minute) continue;
    EXPECT_EQ(b.now, b.close_ts) << "bar at " << b.open_time;
    ASSERT_GT(i, 0u);
    const seen_bar& before = r.seen[i - 1];
    EXPECT_TRUE(before.close_ts <= b.close_ts) << b.open_time;
    if (b.interval == 60 * minute) {
      EXPECT_EQ(before.interval, 5 * minute);
    }
  }
  // The 5m window 00:60-00:65 lost 3 minutes: it still comes, with the two minutes it had.
  const auto five = r.of("five", 5 * minute);
  const auto cut = std::find_if(five.begin(), five.end(),
                                [](const seen_bar& b) { return b.open_time == t0 + 60 * minute; });
  ASSERT_NE(cut, five.end());
  // The window 00:90-00:95 had no bar: a flat one at the last close.
  const auto flat = std::find_if(five.begin(), five.end(),
                                 [](const seen_bar& b) { return b.open_time == t0 + 90 * minute; });
  ASSERT_NE(flat, five.end());
  EXPECT_EQ(flat->volume, 0);
  EXPECT_EQ(flat->open, flat->close);
  EXPECT_EQ(flat->high, flat->low);
}

TEST(Timeframes, AnIntervalTheFeedsBarsCannotMakeDisablesTheSubscriberWithAReason) {
  rig r;
  ASSERT_TRUE(r.add("odd", 0));
  ASSERT_TRUE(r.add("plain", 0));
  // Bad intervals are refused when asked for.
  cats::context ctx(&host_api(), r.eng.strategies()[0]->host.get());
  EXPECT_THROW(ctx.subscribe_bars(r.id, 1'500'000'000), cats::error);  // 1.5 s
  EXPECT_NE(ctx.last_error().find("whole number of seconds"), std::string::npos);
  EXPECT_THROW(ctx.subscribe_bars(r.id, cats::days(2)), cats::error);
  EXPECT_THROW(ctx.subscribe_bars(99, cats::minutes(5)), cats::error);
  EXPECT_NE(ctx.last_error().find("no instrument with id 99"), std::string::npos);
  // 90 s from 1m bars cannot be built: found at the first bar.
  ctx.subscribe_bars(r.id, cats::seconds(90));
  r.start_session(false, true);
  for (const auto& b : walk(r.id, 10))
    r.market->on_event(market_event::of(b, b.header.exchange_ts_ns));
  const strategy_slot& odd = *r.eng.strategies()[0];
  EXPECT_FALSE(odd.running);
  ASSERT_TRUE(odd.failure);
  EXPECT_NE(odd.failure->message.find("BINANCE:TEST: cannot build 90s bars from the feed's 1m "
                                      "bars"),
            std::string::npos)
      << odd.failure->message;
  EXPECT_TRUE(r.eng.strategies()[1]->running);
  EXPECT_EQ(r.of("plain", minute).size(), 8u);
  // Asking for those bars now is refused at once, with the same reason.
  cats::context plain(&host_api(), r.eng.strategies()[1]->host.get());
  EXPECT_THROW(plain.subscribe_bars(r.id, cats::seconds(90)), cats::error);
  EXPECT_NE(plain.last_error().find("cannot build 90s bars"), std::string::npos)
      << plain.last_error();
}

cats_trade_event_t trade(uint32_t id, int64_t ts, int64_t price, int64_t qty, bool buy) {
  cats_trade_event_t t{};
  t.header.struct_size = sizeof t;
  t.header.type = CATS_EVENT_TRADE;
  t.header.instrument_id = id;
  t.header.exchange_ts_ns = t.header.local_ts_ns = ts;
  t.price = price;
  t.quantity = qty;
  t.aggressor_side = buy ? CATS_SIDE_BUY : CATS_SIDE_SELL;
  return t;
}

// The same trades through a replay and through a live run (wall clock, events arriving 20 ms
// after they happened): the same 1m and 5m bars, except the live run's first, partial, window.
TEST(Timeframes, TradesBuildTheSameBarsInAReplayAndInALiveRun) {
  std::vector<cats_trade_event_t> trades;
  std::mt19937_64 rng(11);
  rig probe;
  int64_t ts = t0 + 20'000'000'000;  // 00:00:20
  int64_t price = 100 * fixed_scale;
  while (ts < t0 + 23 * minute) {
    price += static_cast<int64_t>(rng() % 2'000'001) - 1'000'000;
    trades.push_back(
        trade(probe.id, ts, price, static_cast<int64_t>(rng() % 50'000'000) + 1, rng() % 2 == 0));
    // Mostly seconds apart; once, a 3-minute silence (flat 1m bars).
    ts += trades.size() == 300 ? 3 * minute : static_cast<int64_t>(rng() % 4'000'000'000) + 1;
  }
  // Plain aggregation of the trades into `interval` windows.
  auto expected = [&](int64_t interval) {
    std::map<int64_t, seen_bar> w;
    for (const auto& t : trades) {
      const int64_t s = t.header.exchange_ts_ns - t.header.exchange_ts_ns % interval;
      auto [it, added] = w.try_emplace(s, seen_bar{"", interval, s, s + interval, 0, t.price,
                                                   t.price, t.price, t.price, 0, 0, 0, 0});
      seen_bar& b = it->second;
      b.high = std::max(b.high, t.price);
      b.low = std::min(b.low, t.price);
      b.close = t.price;
      b.volume += t.quantity;
      b.quote_volume += fixed_mul(t.price, t.quantity, rounding::nearest);
      if (t.aggressor_side == CATS_SIDE_BUY) b.taker_buy += t.quantity;
      ++b.trades;
    }
    std::vector<seen_bar> out;
    for (int64_t s = w.begin()->first; s < w.rbegin()->first; s += interval) {
      auto it = w.find(s);
      if (it != w.end()) {
        out.push_back(it->second);
      } else {
        seen_bar f = out.back();
        f.open_time = s;
        f.close_ts = s + interval;
        f.open = f.high = f.low = f.close;
        f.volume = f.quote_volume = f.taker_buy = f.trades = 0;
        out.push_back(f);
      }
    }
    return out;  // the last window never closes: no event after its end
  };

  rig replay;
  ASSERT_TRUE(replay.add("s", 1, 0, 5));
  replay.start_session(false, false);
  for (const auto& t : trades)
    replay.market->on_event(market_event::of(t, t.header.exchange_ts_ns));
  replay.market->finish("end");
  expect_same(replay.of("s", minute), expected(minute));
  expect_same(replay.of("s", 5 * minute), expected(5 * minute));
  for (const seen_bar& b : replay.seen) EXPECT_EQ(b.now, b.close_ts);

  rig live;
  ASSERT_TRUE(live.add("s", 1, 0, 5));
  live.start_session(true, false);
  live.market->start(trades.front().header.exchange_ts_ns);
  for (auto t : trades) {
    const int64_t arrive = t.header.exchange_ts_ns + 20'000'000;
    t.header.local_ts_ns = arrive;
    live.market->on_event(market_event::of(t, arrive), arrive);
  }
  // Time passes with no trade: the last windows close 2 s (the grace) after their end.
  const int64_t end = trades.back().header.exchange_ts_ns;
  const int64_t last_min = end - end % minute + minute;
  live.market->on_clock(last_min + 1'999'000'000);
  // Not yet closed (and the first, partial, minute was never sent).
  EXPECT_EQ(live.of("s", minute).size(), expected(minute).size() - 1);
  live.market->on_clock(last_min + 2'000'000'000);
  std::vector<seen_bar> want1 = expected(minute), want5 = expected(5 * minute);
  want1.erase(want1.begin());  // 00:00 began at 00:00:20: partial in a live run
  want5.erase(want5.begin());
  const auto got1 = live.of("s", minute);
  ASSERT_EQ(got1.size(), want1.size() + 1);  // + the last minute, closed by the clock
  expect_same(std::vector<seen_bar>(got1.begin(), got1.end() - 1), want1);
  expect_same(live.of("s", 5 * minute), want5);
}

TEST(Timeframes, ASubscriptionDuringTheRunSkipsThePartWindowItMissed) {
  rig r;
  ASSERT_TRUE(r.add("late", 5, 3));  // asks for 5m bars at its 3rd minute bar (00:05 close)
  r.start_session(false, true);
  const std::vector<cats_bar_event_t> in = walk(r.id, 40);
  for (const auto& b : in) r.market->on_event(market_event::of(b, b.header.exchange_ts_ns));
  const auto five = r.of("late", 5 * minute);
  ASSERT_FALSE(five.empty());
  // The subscription came at 00:05 (the 00:04 bar's close): the first whole window is 00:05.
  EXPECT_EQ(five.front().open_time, t0 + 5 * minute);
  std::vector<cats_bar_event_t> rest;
  for (const auto& b : in)
    if (b.open_time_ns >= t0 + 5 * minute) rest.push_back(b);
  expect_same(five, aggregate(rest, 5 * minute));
}

// A recording's clock is the receive time: a kline arrives a little after its minute ends, after
// trades of the next minute. The built 5m bar waits (2 s) for it instead of closing without it.
TEST(Timeframes, InARecordingTheBuiltBarWaitsForTheFeedsLateBar) {
  rig r;
  r.receive_time = true;
  ASSERT_TRUE(r.add("s", 5));
  r.start_session(false, false);
  std::vector<cats_bar_event_t> klines;
  for (int m = 0; m < 15; ++m) {
    const int64_t open = t0 + m * minute;
    for (int k = 0; k < 6; ++k) {  // trades every 10 s, received 5 ms after they happen
      cats_trade_event_t t =
          trade(r.id, open + k * 10'000'000'000, (100 + m) * fixed_scale, fixed_scale, true);
      t.header.local_ts_ns += 5'000'000;
      r.market->on_event(market_event::of(t, t.header.local_ts_ns));
      if (k == 0 && m > 0) {  // the previous minute's kline, received 300 ms after it ended
        cats_bar_event_t b = klines.back();
        b.header.local_ts_ns = open + 300'000'000;
        r.market->on_event(market_event::of(b, b.header.local_ts_ns));
      }
    }
    klines.push_back(minute_bar(r.id, open, (100 + m) * fixed_scale, (101 + m) * fixed_scale,
                                (99 + m) * fixed_scale, (100 + m) * fixed_scale, fixed_scale));
  }
  const auto five = r.of("s", 5 * minute);
  std::vector<cats_bar_event_t> seen(klines.begin(), klines.end() - 1);  // the last never came
  expect_same(five, aggregate(seen, 5 * minute));
  ASSERT_EQ(five.size(), 2u);
  EXPECT_EQ(five[0].close, 104 * fixed_scale);  // the 00:04 kline, 300 ms late, is in it
}

// A first subscription made while handling a bar counts that bar; a subscription to the feed's
// own interval adds nothing (its bars are those bars); a strategy whose create() failed after
// subscribing leaves nothing behind for the next strategy in its place.
TEST(Timeframes, SubscriptionEdgeCases) {
  rig r;
  ASSERT_TRUE(r.add("first", 5, 1));  // subscribes in its first on_bar (00:00)
  ASSERT_TRUE(r.add("same", 1));      // 1m bars from a 1m feed
  ASSERT_FALSE(r.add("gone", 15, 0, 0, true));
  ASSERT_TRUE(r.add("next", 0));  // takes the place of "gone"
  r.start_session(false, true);
  std::vector<cats_bar_event_t> in;
  for (int m = 0; m < 15; ++m)
    in.push_back(minute_bar(r.id, t0 + m * minute, 100 * fixed_scale, 101 * fixed_scale,
                            99 * fixed_scale, 100 * fixed_scale, fixed_scale));
  for (const auto& b : in) r.market->on_event(market_event::of(b, b.header.exchange_ts_ns));
  expect_same(r.of("first", 5 * minute), aggregate(in, 5 * minute));
  EXPECT_EQ(r.of("first", 5 * minute).size(), 3u);
  EXPECT_EQ(r.of("same", minute).size(), in.size());
  for (const seen_bar& b : r.seen) EXPECT_EQ(b.who == "next" ? b.interval : minute, minute);
}

void feed_with_minute_bars(bool replay_built);

// A trade feed whose replay builds 1m bars, or trades with 1m klines: a 1m subscription adds
// nothing (everybody gets those bars already); a 30 s one keeps building from the trades.
TEST(Timeframes, BuiltFeedBarsAndTradesWithKlines) {
  for (const bool replay_built : {true, false}) {
    SCOPED_TRACE(replay_built ? "bars built by the replay" : "klines with the trades");
    feed_with_minute_bars(replay_built);
  }
}

void feed_with_minute_bars(bool replay_built) {
  rig r;
  ASSERT_TRUE(r.add("one", 1));
  ASSERT_TRUE(r.add("half", 0));
  cats::context half(&host_api(), r.eng.strategies()[1]->host.get());
  half.subscribe_bars(r.id, cats::seconds(30));
  r.start_session(false, false);
  int64_t built = 0;
  for (int m = 0; m < 5; ++m) {
    const int64_t open = t0 + m * minute;
    for (int k = 0; k < 4; ++k) {
      const cats_trade_event_t t =
          trade(r.id, open + k * 15'000'000'000, (100 + k) * fixed_scale, fixed_scale, k % 2 == 0);
      r.market->on_event(market_event::of(t, t.header.exchange_ts_ns));
    }
    // The minute's bar, as the replay builds it from the trades (and, as a kline, would send).
    cats_bar_event_t b = minute_bar(r.id, open, 100 * fixed_scale, 103 * fixed_scale,
                                    100 * fixed_scale, 103 * fixed_scale, 4 * fixed_scale);
    r.market->on_event(market_event::of(b, b.header.exchange_ts_ns, replay_built));
    ++built;
  }
  EXPECT_EQ(static_cast<int64_t>(r.of("one", minute).size()), built);  // once, not twice
  EXPECT_TRUE(r.eng.strategies()[1]->running);
  const auto halves = r.of("half", cats::seconds(30));
  ASSERT_EQ(halves.size(), 9u);  // 00:00:00 ... 00:04:00; the last half minute is still open
  EXPECT_EQ(halves[0].open, 100 * fixed_scale);
  EXPECT_EQ(halves[0].close, 101 * fixed_scale);
  EXPECT_EQ(halves[1].open, 102 * fixed_scale);
}

// A strategy compiled into the test, as the engine sees a plugin library.
class builtin_module final : public strategy_module {
 public:
  const cats_strategy_descriptor_t& descriptor() const noexcept override {
    return *cats::detail::entry<tf_strategy>("tf", "1", "");
  }
  std::string name() const override { return "tf"; }
  std::string version() const override { return "1"; }
  const std::filesystem::path& source() const noexcept override { return path_; }

 private:
  std::filesystem::path path_;
};

param_set tf_params(const std::string& who, int64_t minutes, int64_t also) {
  param_set ps;
  ps.set({"who", CATS_PARAM_STRING, false, 0, 0, who});
  ps.set({"minutes", CATS_PARAM_INT, false, minutes, 0, ""});
  ps.set({"also", CATS_PARAM_INT, false, also, 0, ""});
  return ps;
}

// A hot reload loses no built bar: the old version's 5m subscription carries over with its
// half-built bar, and the new version's own 15m subscription (asked for in create(), off the
// engine thread) starts with the first whole quarter hour.
TEST(Timeframes, SubscriptionsAndHalfBuiltBarsSurviveAHotReload) {
  rig r;
  auto lib = std::make_shared<builtin_module>();
  std::string err;
  ASSERT_TRUE(r.eng.add_strategy("s", lib, tf_params("old", 5, 0), err)) << err;
  r.start_session(false, true);
  const std::vector<cats_bar_event_t> in = walk(r.id, 40);
  size_t i = 0;
  for (; in[i].open_time_ns < t0 + 12 * minute; ++i)
    r.market->on_event(market_event::of(in[i], in[i].header.exchange_ts_ns));
  strategy_candidate c;
  ASSERT_TRUE(r.eng.prepare_candidate(0, "s", lib, tf_params("new", 0, 15), c, err)) << err;
  std::shared_ptr<strategy_module> retired;
  swap_timing timing;
  ASSERT_TRUE(r.eng.swap_in(c, retired, timing, err)) << err;
  for (; i < in.size(); ++i)
    r.market->on_event(market_event::of(in[i], in[i].header.exchange_ts_ns));

  std::vector<int64_t> five;  // minutes after t0 of the 5m bars, whichever version got them
  for (const seen_bar& b : r.seen)
    if (b.interval == 5 * minute) five.push_back((b.open_time - t0) / minute);
  EXPECT_EQ(five, (std::vector<int64_t>{5, 10, 15, 20, 25, 30, 35}));
  EXPECT_EQ(r.of("old", 5 * minute).size(), 1u);  // 00:05; 00:10 was half built at the swap
  EXPECT_EQ(r.of("new", 5 * minute).size(), 6u);
  const auto quarter = r.of("new", 15 * minute);
  ASSERT_EQ(quarter.size(), 1u);  // 00:00 was half seen; 00:30 is not over at 00:40
  EXPECT_EQ(quarter[0].open_time, t0 + 15 * minute);
  std::vector<cats_bar_event_t> q;
  for (const auto& b : in)
    if (b.open_time_ns >= t0 + 15 * minute && b.open_time_ns < t0 + 30 * minute) q.push_back(b);
  expect_same(quarter, aggregate(q, 15 * minute));
}

}  // namespace
}  // namespace cats
