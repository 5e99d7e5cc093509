// The merged replay stream: bars built from trades, the k-way merge of several feeds and kinds,
// the tie-break for equal times, and the copies a sweep shares (decoded events, an in-memory
// store).
#include "cats/replay/replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "cats/core/events.hpp"
#include "cats/record/record_file.hpp"
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
  // The store copy of `data` holds its decoded copy (`events` of them) event for event, from the
  // start and from `later`, merged in batches or not.
  static void check_store_copy(const data_section& data, size_t events, int64_t later,
                               bool batched);
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

// The same event, field by field (a union member's bytes, a book's levels).
::testing::AssertionResult same_event(const market_event& x, const market_event& y) {
  if (x.type != y.type || x.built != y.built || x.ts != y.ts || x.book_flags != y.book_flags)
    return ::testing::AssertionFailure() << "kind, time or flags differ";
  bool same = true;
  switch (x.type) {
    case market_event::kind::trade:
      same = std::memcmp(&x.trade, &y.trade, sizeof x.trade) == 0;
      break;
    case market_event::kind::quote:
      same = std::memcmp(&x.quote, &y.quote, sizeof x.quote) == 0;
      break;
    case market_event::kind::bar:
      same = std::memcmp(&x.bar, &y.bar, sizeof x.bar) == 0;
      break;
    case market_event::kind::book: {
      const book_update &a = *x.book, &b = *y.book;
      auto levels = [](const std::vector<book_level>& u, const std::vector<book_level>& v) {
        return u.size() == v.size() &&
               std::equal(u.begin(), u.end(), v.begin(), [](book_level l, book_level m) {
                 return l.price == m.price && l.quantity == m.quantity;
               });
      };
      same = a.instrument_id == b.instrument_id && a.exchange_ts_ns == b.exchange_ts_ns &&
             a.local_ts_ns == b.local_ts_ns && a.snapshot == b.snapshot &&
             a.first_seq == b.first_seq && a.last_seq == b.last_seq && a.prev_seq == b.prev_seq &&
             a.has_checksum == b.has_checksum && a.checksum == b.checksum &&
             levels(a.bids, b.bids) && levels(a.asks, b.asks);
      break;
    }
    default:
      break;
  }
  if (!same) return ::testing::AssertionFailure() << "the payloads differ";
  return ::testing::AssertionSuccess();
}

// The in-memory store a sweep shares holds the decoded copy event for event: klines across two
// files with a gap, Binance trades, and a version 1 recording of quotes, books and trades (one of
// them of a symbol the config does not name), merged; from the start and from a later one.
TEST_F(Replay, TheStoreCopyHoldsTheDecodedCopyEventForEvent) {
  const int64_t minute = 60 * S;
  sample_options o;
  o.bars = 3'000;
  const fs::path a1 = dir_.path() / "a-1.csv", a2 = dir_.path() / "a-2.csv";
  write_sample_klines(a1, o);
  o.start_ns += (3'000 + 17) * minute;  // 17 bars missing between the files
  o.seed = 7;
  write_sample_klines(a2, o);
  sample_trades_options t;
  t.trades = 20'000;
  t.span_ns = 4'000 * minute;
  write_sample_trades(dir_.path() / "b.csv", t);
  fs::path recording;
  {
    record_writer_options ro;
    ro.dir = dir_.path() / "rec";
    ro.version = 1;
    record_writer w(ro);
    const int64_t t0 = o.start_ns - 1'000 * minute;
    for (int64_t i = 0; i < 600; ++i) {
      const int64_t at = t0 + i * 7 * S;
      cats_quote_event_t q{};
      q.header = event_header<cats_quote_event_t>(CATS_EVENT_QUOTE, 0, at - 3, 0);
      q.header.local_ts_ns = at;
      q.bid_price = (100 + i) * P;
      q.bid_quantity = 3 * P + i;
      q.ask_price = (101 + i) * P;
      q.ask_quantity = 5 * P - i;
      w.write_quote("BINANCE:CCCUSDT", q);
      book_update u;
      u.exchange_ts_ns = at - 2;
      u.local_ts_ns = at + 1;
      u.snapshot = i % 50 == 0;
      u.first_seq = static_cast<uint64_t>(10 * i + 1);
      u.last_seq = static_cast<uint64_t>(10 * i + 9);
      u.prev_seq = i % 3 == 0 ? -1 : 10 * i;
      u.has_checksum = i % 2 == 0;
      u.checksum = static_cast<int32_t>(-7 * i);
      for (int64_t k = 0; k < i % 5; ++k) u.bids.push_back({(100 - k) * P, (k + i) * P / 3});
      for (int64_t k = 0; k < i % 4; ++k) u.asks.push_back({(101 + k) * P, k * P});
      w.write_book("BINANCE:CCCUSDT", u, i % 7 == 0 ? CATS_BOOK_FLAG_RESYNC : 0);
      cats_trade_event_t tr{};
      tr.header = event_header<cats_trade_event_t>(CATS_EVENT_TRADE, 0, at, 0);
      tr.header.local_ts_ns = at + 2;
      tr.price = (99 + i) * P + i;
      tr.quantity = P / 7 + i;
      tr.trade_id = static_cast<uint64_t>(1'000'000 + i);
      tr.aggressor_side = i % 3 == 0 ? CATS_SIDE_BUY : i % 3 == 1 ? CATS_SIDE_SELL : CATS_SIDE_NONE;
      w.write_trade("OKX:ZZZ-USDT", tr);
    }
    recording = w.current_file();
  }
  data_section data;
  feed_section fa, fb, fc;
  fa.symbol = "BINANCE:AAAUSDT";
  fa.files = {a1, a2};
  fa.tick_size = P / 100;
  fa.lot_size = P / 100'000;
  fb.symbol = "BINANCE:BBBUSDT";
  fb.format = "binance_trades";
  fb.files = {dir_.path() / "b.csv"};
  fc.symbol = "BINANCE:CCCUSDT";
  fc.format = "cats_record";
  fc.files = {recording};
  data.feeds = {fa, fb, fc};
  // With the recording (books: merged event by event), and without it (merged in batches).
  check_store_copy(data, 6'000u + 20'000u + 3 * 600u, o.start_ns - 200 * minute, false);
  data.feeds.pop_back();
  feed_section fd = fa;  // A's bars again: every one of them ties with A's, which go first
  fd.symbol = "BINANCE:DDDUSDT";
  data.feeds.push_back(fd);
  check_store_copy(data, 6'000u + 20'000u + 6'000u, o.start_ns - 200 * minute, true);

  // Bars built from trades are the replay's, not the data's: no store copy.
  data.feeds[1].bar_interval_ns = minute;
  EXPECT_EQ(store_copy::load(data, nullptr), nullptr);
}

void Replay::check_store_copy(const data_section& data, size_t events, int64_t later,
                              bool batched) {
  const auto md = market_data::load(data, nullptr, nullptr, 2);
  const auto sc = store_copy::load(data, nullptr, nullptr, 2);
  ASSERT_NE(sc, nullptr);
  ASSERT_EQ(sc->events(), md->events().size());
  ASSERT_EQ(md->events().size(), events);
  EXPECT_EQ(sc->stats().rows, md->stats().rows);
  EXPECT_EQ(sc->stats().missing_bars, md->stats().missing_bars);
  EXPECT_GE(sc->stats().missing_bars, 17u);
  EXPECT_EQ(sc->last_ts(), md->last_ts());
  EXPECT_EQ(sc->first_event().ts, md->events().front().ts);  // unstamped: for the time range
  EXPECT_EQ(sc->first_event().type, md->events().front().type);
  ASSERT_EQ(sc->feeds().size(), data.feeds.size());
  for (size_t i = 0; i < data.feeds.size(); ++i) {
    const feed_info &x = sc->feeds()[i], &y = md->feeds()[i];
    EXPECT_EQ(x.instrument_id, y.instrument_id) << i;
    EXPECT_EQ(x.ticks, y.ticks) << i;
    EXPECT_EQ(x.recorded, y.recorded) << i;
    EXPECT_EQ(x.bar_interval_ns, y.bar_interval_ns) << i;
  }
  ASSERT_EQ(sc->data().feeds.size(), data.feeds.size());
  for (const feed_section& f : sc->data().feeds) EXPECT_EQ(f.format, "cats_record");

  for (const int64_t start : {int64_t{0}, later}) {
    instrument_registry registry = sc->instruments();
    replay_stream stream(sc->data(), registry);
    if (start != 0) stream.start_at(start);
    ASSERT_TRUE(stream.open()) << stream.error();
    stream.stamp_events(CATS_EVENT_FLAG_REPLAY);  // as market_data's are, and as a sweep does
    memory_cursor cursor(*md);
    if (start != 0) cursor.seek(start);
    size_t n = 0, seen_ahead = 0;
    while (const market_event* x = stream.next()) {
      const market_event* ahead = nullptr;
      seen_ahead += stream.peek_run(ahead) != 0 ? 1 : 0;
      if (x->ts < start) continue;  // start_at passes whole blocks only
      const market_event* y = cursor.next();
      ASSERT_NE(y, nullptr) << n;
      ASSERT_TRUE(same_event(*x, *y)) << "event " << n << " from " << start;
      ++n;
    }
    EXPECT_EQ(stream.error(), "");
    EXPECT_EQ(cursor.next(), nullptr) << "the copy ended early, after " << n;
    EXPECT_EQ(seen_ahead != 0, batched) << seen_ahead;
    // Every symbol under the id the files gave it, with the config's rules.
    ASSERT_EQ(registry.size(), md->instruments().size());
    for (const instrument_info& i : md->instruments().all()) {
      const instrument_info* j = registry.find(i.symbol);
      ASSERT_NE(j, nullptr) << i.symbol;
      EXPECT_EQ(j->id, i.id) << i.symbol;
      EXPECT_EQ(j->tick_size, i.tick_size) << i.symbol;
      EXPECT_EQ(j->lot_size, i.lot_size) << i.symbol;
    }
  }
}

// Klines take 44 bytes a bar in the store copy (runs), against 144 decoded, also where two
// symbols' bars alternate (a store per feed).
TEST_F(Replay, TheStoreCopyOfKlinesTakes44BytesABar) {
  sample_options o;
  o.bars = 50'000;
  const fs::path a = dir_.path() / "a.csv", b = dir_.path() / "b.csv";
  write_sample_klines(a, o);
  o.seed = 3;
  write_sample_klines(b, o);
  data_section data;
  feed_section f;
  f.symbol = "BINANCE:AAAUSDT";
  f.files = {a};
  data.feeds = {f};
  f.symbol = "BINANCE:BBBUSDT";
  f.files = {b};
  data.feeds.push_back(f);
  const auto sc = store_copy::load(data, nullptr);
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(sc->events(), 100'000u);
  EXPECT_LE(sc->bytes(), 45u * 100'000u);
  data.feeds.pop_back();
  // A bad row: the same message as the decoded copy's, naming the file and line.
  test::write_file(a, test::read_file(a) + "1,2,3\n");
  std::string decoded, stored;
  try {
    market_data::load(data, nullptr);
  } catch (const std::runtime_error& e) {
    decoded = e.what();
  }
  try {
    store_copy::load(data, nullptr);
  } catch (const std::runtime_error& e) {
    stored = e.what();
  }
  EXPECT_NE(decoded.find("a.csv:50001"), std::string::npos) << decoded;
  EXPECT_EQ(stored, decoded);
}

// The in-memory store's writer writes into an empty file that exists, and no other.
TEST_F(Replay, AStoreWrittenInPlaceMustBeEmpty) {
  const fs::path f = dir_.path() / "x.catsrec";
  store_writer_options wo;
  wo.in_place = true;
  EXPECT_THROW(store_writer(f, wo), std::runtime_error);  // not there
  test::write_file(f, "x");
  try {
    store_writer w(f, wo);
    ADD_FAILURE() << "wrote into a file that was not empty";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not empty"), std::string::npos) << e.what();
  }
  EXPECT_EQ(test::read_file(f), "x");
  test::write_file(f, "");
  {
    store_writer w(f, wo);
    cats_bar_event_t b{};
    b.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, 0, 120 * S, 0);
    b.open_time_ns = 60 * S;
    b.interval_ns = 60 * S;
    b.open = b.high = b.low = b.close = 5 * P;
    w.append("BINANCE:AAAUSDT", market_event::of(b, 120 * S));
    w.close();
  }
  EXPECT_EQ(store_record_kinds(f).value_or(0) != 0, true);
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
