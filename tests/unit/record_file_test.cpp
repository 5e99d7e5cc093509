#include "cats/record/record_file.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "cats/core/instrument.hpp"
#include "cats/record/record_tap.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;

// 2024-02-01T00:00:00Z: 1704067200 (2024-01-01) + 31 * 86400.
constexpr int64_t feb1 = 1706745600LL * 1'000'000'000;
constexpr int64_t sec = 1'000'000'000;
constexpr int64_t i64_min = std::numeric_limits<int64_t>::min();
constexpr int64_t i64_max = std::numeric_limits<int64_t>::max();
constexpr uint64_t u64_max = std::numeric_limits<uint64_t>::max();

const std::string btc = "BINANCE:BTCUSDT";  // 15 bytes
const std::string eth = "OKX:ETH-USDT";     // 12 bytes

cats_trade_event_t trade(int64_t local, int64_t exch, int64_t price, int64_t qty, uint64_t id,
                         int32_t side) {
  cats_trade_event_t e{};
  e.header.struct_size = sizeof e;
  e.header.type = CATS_EVENT_TRADE;
  e.header.instrument_id = 77;  // the engine's id; the file has its own
  e.header.exchange_ts_ns = exch;
  e.header.local_ts_ns = local;
  e.price = price;
  e.quantity = qty;
  e.trade_id = id;
  e.aggressor_side = side;
  return e;
}

cats_quote_event_t quote(int64_t local, int64_t exch, int64_t bp, int64_t bq, int64_t ap,
                         int64_t aq) {
  cats_quote_event_t e{};
  e.header.struct_size = sizeof e;
  e.header.type = CATS_EVENT_QUOTE;
  e.header.instrument_id = 78;
  e.header.exchange_ts_ns = exch;
  e.header.local_ts_ns = local;
  e.bid_price = bp;
  e.bid_quantity = bq;
  e.ask_price = ap;
  e.ask_quantity = aq;
  return e;
}

cats_bar_event_t bar(int64_t local) {
  cats_bar_event_t e{};
  e.header.struct_size = sizeof e;
  e.header.type = CATS_EVENT_BAR;
  e.header.instrument_id = 79;
  e.open_time_ns = local - 60 * sec;
  e.interval_ns = 60 * sec;
  e.header.exchange_ts_ns = e.open_time_ns + e.interval_ns;
  e.header.local_ts_ns = local;
  e.open = 4621693000000;
  e.high = 4673139000000;
  e.low = 4620837000000;
  e.close = 4665613000000;
  e.volume = 150333095000;
  e.quote_volume = 6987998639049930;
  e.taker_buy_volume = 80606536000;
  e.taker_buy_quote_volume = i64_max;
  e.trade_count = 38608;
  return e;
}

book_update book(int64_t local, size_t bids, size_t asks) {
  book_update u;
  u.instrument_id = 80;
  u.exchange_ts_ns = local - 3'000'000;
  u.local_ts_ns = local;
  u.snapshot = false;
  u.first_seq = 1001;
  u.last_seq = 1005;
  u.prev_seq = 1000;
  for (size_t i = 0; i < bids; ++i) {
    u.bids.push_back({4200000000000 - static_cast<int64_t>(i) * 1000000,
                      static_cast<int64_t>(i % 7) * 12345678});
  }
  for (size_t i = 0; i < asks; ++i) {
    u.asks.push_back(
        {4200001000000 + static_cast<int64_t>(i) * 1000000, static_cast<int64_t>(i * 31 + 1)});
  }
  return u;
}

// What the reader returned for one record, kept: the reader's book update and symbol are only
// valid until its next call.
struct record_item {
  using kind = market_event::kind;
  kind type = kind::none;
  cats_trade_event_t trade{};
  cats_quote_event_t quote{};
  cats_bar_event_t bar{};
  book_update book;
  uint32_t book_flags = 0;
  std::string symbol;
};

record_item keep(const market_event& e, const std::string& symbol) {
  record_item r;
  r.type = e.type;
  r.symbol = symbol;
  switch (e.type) {
    case market_event::kind::trade:
      r.trade = e.trade;
      break;
    case market_event::kind::quote:
      r.quote = e.quote;
      break;
    case market_event::kind::bar:
      r.bar = e.bar;
      break;
    case market_event::kind::book:
      r.book = *e.book;
      r.book_flags = e.book_flags;
      break;
    case market_event::kind::none:
      break;
  }
  return r;
}

void expect_header(const cats_event_t& want, const cats_event_t& got, size_t size, int32_t type) {
  EXPECT_EQ(got.struct_size, size);
  EXPECT_EQ(got.type, type);
  EXPECT_EQ(got.flags, 0u);
  EXPECT_EQ(got.exchange_ts_ns, want.exchange_ts_ns);
  EXPECT_EQ(got.local_ts_ns, want.local_ts_ns);
}

void expect_same(const cats_trade_event_t& want, const record_item& got) {
  ASSERT_EQ(got.type, record_item::kind::trade);
  expect_header(want.header, got.trade.header, sizeof want, CATS_EVENT_TRADE);
  EXPECT_EQ(got.trade.price, want.price);
  EXPECT_EQ(got.trade.quantity, want.quantity);
  EXPECT_EQ(got.trade.trade_id, want.trade_id);
  EXPECT_EQ(got.trade.aggressor_side, want.aggressor_side);
}

void expect_same(const cats_quote_event_t& want, const record_item& got) {
  ASSERT_EQ(got.type, record_item::kind::quote);
  expect_header(want.header, got.quote.header, sizeof want, CATS_EVENT_QUOTE);
  EXPECT_EQ(got.quote.bid_price, want.bid_price);
  EXPECT_EQ(got.quote.bid_quantity, want.bid_quantity);
  EXPECT_EQ(got.quote.ask_price, want.ask_price);
  EXPECT_EQ(got.quote.ask_quantity, want.ask_quantity);
}

void expect_same(const cats_bar_event_t& want, const record_item& got) {
  ASSERT_EQ(got.type, record_item::kind::bar);
  const cats_bar_event_t& b = got.bar;
  expect_header(want.header, b.header, sizeof want, CATS_EVENT_BAR);
  EXPECT_EQ(b.open_time_ns, want.open_time_ns);
  EXPECT_EQ(b.interval_ns, want.interval_ns);
  EXPECT_EQ(b.open, want.open);
  EXPECT_EQ(b.high, want.high);
  EXPECT_EQ(b.low, want.low);
  EXPECT_EQ(b.close, want.close);
  EXPECT_EQ(b.volume, want.volume);
  EXPECT_EQ(b.quote_volume, want.quote_volume);
  EXPECT_EQ(b.taker_buy_volume, want.taker_buy_volume);
  EXPECT_EQ(b.taker_buy_quote_volume, want.taker_buy_quote_volume);
  EXPECT_EQ(b.trade_count, want.trade_count);
}

void expect_same(const book_update& want, uint32_t flags, const record_item& got) {
  ASSERT_EQ(got.type, record_item::kind::book);
  const book_update& u = got.book;
  EXPECT_EQ(got.book_flags, flags);
  EXPECT_EQ(u.exchange_ts_ns, want.exchange_ts_ns);
  EXPECT_EQ(u.local_ts_ns, want.local_ts_ns);
  EXPECT_EQ(u.snapshot, want.snapshot);
  EXPECT_EQ(u.first_seq, want.first_seq);
  EXPECT_EQ(u.last_seq, want.last_seq);
  EXPECT_EQ(u.prev_seq, want.prev_seq);
  EXPECT_EQ(u.has_checksum, want.has_checksum);
  EXPECT_EQ(u.checksum, want.checksum);
  EXPECT_TRUE(u.bids == want.bids);
  EXPECT_TRUE(u.asks == want.asks);
}

record_writer_options options(const fs::path& dir, bool csv = false) {
  record_writer_options o;
  o.dir = dir;
  o.prefix = "md";
  o.csv = csv;
  o.version = 1;  // these tests are about version 1, byte for byte (store_test.cpp: version 2)
  return o;
}

struct read_result {
  std::vector<record_item> items;
  std::string error;
};

read_result read_all(const fs::path& file) {
  read_result r;
  record_reader reader(file);
  market_event item;
  while (reader.next(item)) r.items.push_back(keep(item, reader.symbol()));
  r.error = reader.error();
  EXPECT_EQ(reader.records_read(), r.items.size());
  // Sticky: a reader that stopped stays stopped.
  EXPECT_FALSE(reader.next(item));
  return r;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

// Little-endian helpers for building records by hand, independently of the writer.
void put(std::string& s, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}
uint32_t crc(const std::string& s) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}
std::string record(uint8_t type, const std::string& payload) {
  std::string r;
  put(r, payload.size(), 4);
  r.push_back(static_cast<char>(type));
  r += payload;
  put(r, crc(r), 4);
  return r;
}

TEST(RecordFile, RoundTripOfEveryKind) {
  test::temp_dir dir;
  const int64_t t = feb1 + 3600 * sec;
  const auto t1 = trade(t, t - 5'000'000, 4206650000000, 12000, 123456789, CATS_SIDE_BUY);
  const auto t2 = trade(t + 1, i64_min, i64_max, i64_min, u64_max, CATS_SIDE_NONE);
  const auto t3 = trade(t + 2, -1, -4206650000000, 1, 0, CATS_SIDE_SELL);
  const auto q1 = quote(t + 3, t, 4206649000000, 150000000, 4206650000000, 25000000);
  const auto b1 = bar(t + 4);
  book_update big = book(t + 5, 1000, 1000);
  big.snapshot = true;
  big.prev_seq = -1;
  big.first_seq = 0;
  big.last_seq = u64_max;
  const uint32_t big_flags = CATS_BOOK_FLAG_SNAPSHOT | CATS_BOOK_FLAG_RESYNC;
  book_update small = book(t + 6, 2, 0);
  small.prev_seq = -123456789;
  small.has_checksum = true;
  small.checksum = std::numeric_limits<int32_t>::min();
  book_update empty = book(t + 7, 0, 0);
  empty.has_checksum = true;
  empty.checksum = -1;
  // Larger than the writer's and the reader's 1 MiB buffers (70000 * 2 * 16 bytes = 2.24 MB).
  const book_update huge = book(t + 8, 70000, 70000);

  fs::path file;
  uint64_t bytes = 0;
  {
    record_writer w(options(dir.path()));
    EXPECT_TRUE(w.current_file().empty());
    w.write_trade(btc, t1);
    w.write_trade(btc, t2);
    w.write_trade(eth, t3);
    w.write_quote(eth, q1);
    w.write_bar(btc, b1);
    w.write_book(eth, big, big_flags);
    w.write_book(btc, small, 0);
    w.write_book(eth, empty, CATS_BOOK_FLAG_RESYNC);
    w.write_book(btc, huge, 0);
    file = w.current_file();
    EXPECT_EQ(w.stats().records, 9u);
    EXPECT_EQ(w.stats().files, 1u);
    bytes = w.stats().bytes;
  }
  EXPECT_EQ(file, dir.path() / "md-2024-02-01.catsrec");
  EXPECT_EQ(fs::file_size(file), bytes);

  const read_result r = read_all(file);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(r.items.size(), 9u);
  expect_same(t1, r.items[0]);
  expect_same(t2, r.items[1]);
  expect_same(t3, r.items[2]);
  expect_same(q1, r.items[3]);
  expect_same(b1, r.items[4]);
  expect_same(big, big_flags, r.items[5]);
  expect_same(small, 0, r.items[6]);
  expect_same(empty, CATS_BOOK_FLAG_RESYNC, r.items[7]);
  expect_same(huge, 0, r.items[8]);
  // File-local ids, numbered by first appearance; `symbol` resolves them.
  const std::vector<std::string> symbols = {btc, btc, eth, eth, btc, eth, btc, eth, btc};
  const std::vector<uint32_t> ids = {1, 1, 2, 2, 1, 2, 1, 2, 1};
  for (size_t i = 0; i < r.items.size(); ++i) {
    EXPECT_EQ(r.items[i].symbol, symbols[i]) << i;
  }
  EXPECT_EQ(r.items[0].trade.header.instrument_id, ids[0]);
  EXPECT_EQ(r.items[2].trade.header.instrument_id, ids[2]);
  EXPECT_EQ(r.items[3].quote.header.instrument_id, ids[3]);
  EXPECT_EQ(r.items[4].bar.header.instrument_id, ids[4]);
  EXPECT_EQ(r.items[5].book.instrument_id, ids[5]);
  EXPECT_EQ(r.items[6].book.instrument_id, ids[6]);
}

// The layout of docs/record_format.md, byte by byte, for a file with one trade.
TEST(RecordFile, ByteLayoutMatchesTheDocument) {
  test::temp_dir dir;
  const auto t =
      trade(feb1 + 1, feb1 - 2, 4206650000000, 12000, 0x0102030405060708ULL, CATS_SIDE_SELL);
  fs::path file;
  {
    record_writer w(options(dir.path()));
    w.write_trade(btc, t);
    file = w.current_file();
  }
  const std::string bytes = test::read_file(file);
  ASSERT_EQ(bytes.size(), 24u + (9 + 6 + 15) + (9 + 48));

  EXPECT_EQ(bytes.substr(0, 8), std::string("CATSREC\0", 8));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x01\x00\x00\x00", 4));  // version 1, reserved
  std::string head = bytes.substr(0, 20);
  std::string crc_bytes;
  put(crc_bytes, crc(head), 4);
  EXPECT_EQ(bytes.substr(20, 4), crc_bytes);

  std::string sym;
  put(sym, 1, 4);
  put(sym, 15, 2);
  sym += btc;
  EXPECT_EQ(bytes.substr(24, 30), record(16, sym));

  std::string tr;
  put(tr, 1, 4);
  put(tr, static_cast<uint64_t>(feb1 - 2), 8);
  put(tr, static_cast<uint64_t>(feb1 + 1), 8);
  put(tr, 4206650000000, 8);
  put(tr, 12000, 8);
  put(tr, 0x0102030405060708ULL, 8);
  put(tr, 2, 4);
  EXPECT_EQ(bytes.substr(54), record(1, tr));
}

// Every record's checksum is zlib's crc32 of its header and payload, whatever its length (the
// writer uses its own code for short records): books of 0 to 40 levels give records of 70 to 710
// bytes, every length modulo 8 included. The file is walked with the documented layout only.
TEST(RecordFile, ChecksumsAreZlibCrc32ForEveryLength) {
  test::temp_dir dir;
  fs::path file;
  {
    record_writer w(options(dir.path()));
    for (size_t n = 0; n <= 40; ++n) {
      w.write_book(eth, book(feb1 + static_cast<int64_t>(n), n / 2, n - n / 2), 0);
      w.write_trade(std::string(n, 'S'), trade(feb1 + 100, feb1, 1, 2, 3, CATS_SIDE_BUY));
    }
    file = w.current_file();
  }
  const std::string bytes = test::read_file(file);
  size_t pos = 24, records = 0;
  while (pos < bytes.size()) {
    ASSERT_LE(pos + 9, bytes.size());
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i)
      len |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[pos + i])) << (8 * i);
    ASSERT_LE(pos + 9 + len, bytes.size());
    std::string stored_crc;
    put(stored_crc, crc(bytes.substr(pos, 5 + len)), 4);
    EXPECT_EQ(bytes.substr(pos + 5 + len, 4), stored_crc) << "record at byte " << pos;
    pos += 9 + len;
    ++records;
  }
  EXPECT_EQ(pos, bytes.size());
  EXPECT_EQ(records, 41u + 41 + 42);  // books, trades, symbols (eth and 41 names of S)
  EXPECT_EQ(read_all(file).items.size(), 82u);
}

TEST(RecordFile, DailyRotationAcrossMidnight) {
  test::temp_dir dir;
  const auto a = trade(feb1 - sec / 2, feb1 - sec, 100, 1, 1, CATS_SIDE_BUY);
  const auto b = quote(feb1 - sec / 4, feb1 - sec, 1, 2, 3, 4);
  const auto c = trade(feb1 + sec / 10, feb1, 200, 2, 2, CATS_SIDE_SELL);
  // The clock steps back 1 ms across midnight: the record stays in the open (newer) file rather
  // than reopening yesterday's.
  const auto late = trade(feb1 - 1'000'000, feb1, 300, 3, 3, CATS_SIDE_BUY);
  const auto d = quote(feb1 + 2 * sec, feb1, 5, 6, 7, 8);
  {
    record_writer w(options(dir.path()));
    w.write_trade(btc, a);
    w.write_quote(eth, b);
    EXPECT_EQ(w.current_file(), dir.path() / "md-2024-01-31.catsrec");
    w.write_trade(eth, c);
    EXPECT_EQ(w.current_file(), dir.path() / "md-2024-02-01.catsrec");
    w.write_trade(eth, late);
    w.write_quote(btc, d);
    EXPECT_EQ(w.current_file(), dir.path() / "md-2024-02-01.catsrec");
    EXPECT_EQ(w.stats().files, 2u);
    EXPECT_EQ(w.stats().records, 5u);
  }
  EXPECT_EQ(files_in(dir.path()),
            (std::vector<fs::path>{"md-2024-01-31.catsrec", "md-2024-02-01.catsrec"}));

  // Each file carries its own symbol table: ids restart at 1 in the second file.
  const read_result day1 = read_all(dir.path() / "md-2024-01-31.catsrec");
  EXPECT_EQ(day1.error, "");
  ASSERT_EQ(day1.items.size(), 2u);
  expect_same(a, day1.items[0]);
  EXPECT_EQ(day1.items[0].symbol, btc);
  EXPECT_EQ(day1.items[0].trade.header.instrument_id, 1u);
  expect_same(b, day1.items[1]);
  EXPECT_EQ(day1.items[1].symbol, eth);
  EXPECT_EQ(day1.items[1].quote.header.instrument_id, 2u);

  const read_result day2 = read_all(dir.path() / "md-2024-02-01.catsrec");
  EXPECT_EQ(day2.error, "");
  ASSERT_EQ(day2.items.size(), 3u);
  expect_same(c, day2.items[0]);
  EXPECT_EQ(day2.items[0].symbol, eth);
  EXPECT_EQ(day2.items[0].trade.header.instrument_id, 1u);
  expect_same(late, day2.items[1]);
  expect_same(d, day2.items[2]);
  EXPECT_EQ(day2.items[2].symbol, btc);
  EXPECT_EQ(day2.items[2].quote.header.instrument_id, 2u);
}

TEST(RecordFile, RestartOnTheSameDayOpensANumberedFile) {
  test::temp_dir dir;
  const fs::path sub = dir.path() / "not" / "yet" / "there";  // created by the writer
  const int64_t t = feb1 + 10 * sec;
  for (int run = 0; run < 3; ++run) {
    record_writer w(options(sub, true));
    w.write_trade(btc, trade(t + run, t, 100 + run, 1, static_cast<uint64_t>(run), 1));
    const std::string suffix = run == 0 ? "" : "." + std::to_string(run);
    EXPECT_EQ(w.current_file(), sub / ("md-2024-02-01" + suffix + ".catsrec"));
  }
  EXPECT_EQ(
      files_in(sub),
      (std::vector<fs::path>{
          "md-2024-02-01-quotes.1.csv", "md-2024-02-01-quotes.2.csv", "md-2024-02-01-quotes.csv",
          "md-2024-02-01-trades.1.csv", "md-2024-02-01-trades.2.csv", "md-2024-02-01-trades.csv",
          "md-2024-02-01.1.catsrec", "md-2024-02-01.2.catsrec", "md-2024-02-01.catsrec"}));
  for (int run = 0; run < 3; ++run) {
    const std::string suffix = run == 0 ? "" : "." + std::to_string(run);
    const read_result r = read_all(sub / ("md-2024-02-01" + suffix + ".catsrec"));
    EXPECT_EQ(r.error, "");
    ASSERT_EQ(r.items.size(), 1u);
    EXPECT_EQ(r.items[0].trade.price, 100 + run);
    EXPECT_EQ(r.items[0].symbol, btc);
  }
}

// A small recording whose record boundaries are worked out by hand from the documented sizes:
// header 24, symbol record 9 + 6 + name, trade 9 + 48, quote 9 + 52, bar 9 + 108,
// book 9 + 61 + 16 per level.
struct small_recording {
  std::string bytes;
  std::vector<record_item> items;
  std::vector<size_t> starts = {24, 54, 111, 138, 199, 316, 434};  // every record
  std::vector<size_t> data_ends = {111, 199, 316, 434, 491};       // trade, quote, bar, book, trade
};

small_recording make_small(const fs::path& dir) {
  small_recording s;
  const int64_t t = feb1 + 5 * sec;
  fs::path file;
  {
    record_writer w(options(dir));
    w.write_trade(btc, trade(t, t - 1, 4206650000000, 12000, 42, CATS_SIDE_BUY));  // sym 24, 54
    w.write_quote(eth, quote(t + 1, t, 10, 20, 30, 40));                           // sym 111, 138
    w.write_bar(btc, bar(t + 2));                                                  // 199
    book_update u = book(t + 3, 2, 1);
    u.prev_seq = -1;
    w.write_book(eth, u, CATS_BOOK_FLAG_SNAPSHOT);                 // 316
    w.write_trade(eth, trade(t + 4, t, 1, 2, 3, CATS_SIDE_SELL));  // 434
    file = w.current_file();
  }
  s.bytes = test::read_file(file);
  const read_result r = read_all(file);
  EXPECT_EQ(r.error, "");
  s.items = r.items;
  return s;
}

void expect_same_item(const record_item& want, const record_item& got) {
  ASSERT_EQ(got.type, want.type);
  EXPECT_EQ(got.symbol, want.symbol);
  switch (want.type) {
    case record_item::kind::trade:
      EXPECT_EQ(std::memcmp(&got.trade, &want.trade, sizeof got.trade), 0);
      break;
    case record_item::kind::quote:
      EXPECT_EQ(std::memcmp(&got.quote, &want.quote, sizeof got.quote), 0);
      break;
    case record_item::kind::bar:
      EXPECT_EQ(std::memcmp(&got.bar, &want.bar, sizeof got.bar), 0);
      break;
    case record_item::kind::book:
      expect_same(want.book, want.book_flags, got);
      break;
    case record_item::kind::none:
      break;
  }
}

TEST(RecordFile, TruncationAtEveryByteIsReportedNeverMisread) {
  test::temp_dir dir;
  const small_recording s = make_small(dir / "src");
  ASSERT_EQ(s.bytes.size(), 491u);
  ASSERT_EQ(s.items.size(), 5u);
  for (size_t n = 0; n <= s.bytes.size(); ++n) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    // A new name each time: rewriting one file with O_TRUNC makes ext4 flush it on close.
    const fs::path cut = dir / ("cut-" + std::to_string(n) + ".catsrec");
    test::write_file(cut, s.bytes.substr(0, n));
    const read_result r = read_all(cut);
    size_t complete = 0;
    while (complete < s.data_ends.size() && s.data_ends[complete] <= n) ++complete;
    ASSERT_EQ(r.items.size(), complete);
    for (size_t i = 0; i < complete; ++i) expect_same_item(s.items[i], r.items[i]);

    const std::string name = cut.string() + ": ";
    if (n == 0) {
      EXPECT_EQ(r.error, name +
                             "empty file (no file header; the writer stopped before its first "
                             "flush)");
    } else if (n < 24) {
      EXPECT_EQ(r.error, name + "truncated file header at byte 0 (needs 24 bytes, " +
                             std::to_string(n) + " left)");
    } else if (std::find(s.starts.begin(), s.starts.end(), n) != s.starts.end() ||
               n == s.bytes.size()) {
      EXPECT_EQ(r.error, "");  // a cut between records is indistinguishable from the end
    } else {
      size_t start = 0, size = 0;
      for (size_t i = 0; i < s.starts.size(); ++i) {
        if (s.starts[i] < n) {
          start = s.starts[i];
          size = (i + 1 < s.starts.size() ? s.starts[i + 1] : s.bytes.size()) - start;
        }
      }
      const size_t left = n - start;
      const std::string needs = left < 5 ? "at least 9" : std::to_string(size);
      EXPECT_EQ(r.error, name + "truncated record at byte " + std::to_string(start) + " (needs " +
                             needs + " bytes, " + std::to_string(left) + " left)");
    }
  }
}

TEST(RecordFile, FlippedByteIsDetected) {
  test::temp_dir dir;
  const small_recording s = make_small(dir / "src");
  for (size_t i = 0; i < s.bytes.size(); ++i) {
    SCOPED_TRACE("byte " + std::to_string(i));
    const fs::path bad = dir / ("bad-" + std::to_string(i) + ".catsrec");
    std::string b = s.bytes;
    b[i] = static_cast<char>(b[i] ^ 0x20);
    test::write_file(bad, b);
    if (i < 24) {
      EXPECT_THROW(record_reader{bad}, std::runtime_error);
      continue;
    }
    const read_result r = read_all(bad);
    size_t start = 0;
    for (size_t st : s.starts) {
      if (st <= i) start = st;
    }
    size_t before = 0;
    while (before < s.data_ends.size() && s.data_ends[before] <= start) ++before;
    ASSERT_EQ(r.items.size(), before);
    for (size_t k = 0; k < before; ++k) expect_same_item(s.items[k], r.items[k]);
    if (i >= start + 4) {  // not the length field
      EXPECT_EQ(r.error.rfind(bad.string() + ": checksum mismatch in record at byte " +
                                  std::to_string(start) + " (stored 0x",
                              0),
                0u)
          << r.error;
    } else {  // a bad length reads as a checksum error, a truncation or a corrupt length
      EXPECT_NE(r.error.find(" at byte " + std::to_string(start) + " ("), std::string::npos)
          << r.error;
    }
  }
}

TEST(RecordFile, HeaderErrorsNameTheFileAndWhatWasFound) {
  test::temp_dir dir;
  const small_recording s = make_small(dir / "src");
  const auto message = [](const fs::path& p) {
    try {
      record_reader r(p);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  const fs::path f = dir / "x.catsrec";
  test::write_file(f, "exchange_ts_ns,local_ts_ns,symbol\n");
  EXPECT_EQ(message(f), f.string() +
                            ": not a CATS recording (starts with 65 78 63 68 61 6e 67 65, expected "
                            "43 41 54 53 52 45 43 00 \"CATSREC\\0\")");
  test::write_file(f, "CATX");
  EXPECT_EQ(message(f), f.string() +
                            ": not a CATS recording (starts with 43 41 54 58, expected 43 41 54 53 "
                            "52 45 43 00 \"CATSREC\\0\")");

  std::string v4 = s.bytes;  // a version after the block store's
  v4[8] = 5;
  std::string head = v4.substr(0, 20);
  std::string c;
  put(c, crc(head), 4);
  v4.replace(20, 4, c);
  test::write_file(f, v4);
  EXPECT_EQ(message(f),
            f.string() + ": unsupported format version 5 (this build reads versions 1 to 4)");

  std::string created = s.bytes;
  created[15] = static_cast<char>(created[15] ^ 1);
  test::write_file(f, created);
  EXPECT_EQ(message(f).rfind(f.string() + ": file header checksum mismatch (stored 0x", 0), 0u);

  EXPECT_EQ(message(dir / "missing.catsrec"),
            "cannot open " + (dir / "missing.catsrec").string() + ": No such file or directory");
}

TEST(RecordFile, EmptyFileIsReportedByNext) {
  test::temp_dir dir;
  const fs::path f = dir / "e.catsrec";
  test::write_file(f, "");
  record_reader r(f);
  market_event item;
  EXPECT_FALSE(r.next(item));
  EXPECT_EQ(r.error(), f.string() +
                           ": empty file (no file header; the writer stopped before its "
                           "first flush)");
  EXPECT_EQ(r.records_read(), 0u);
}

TEST(RecordFile, UnknownRecordTypesAndLongerPayloadsAreSkipped) {
  test::temp_dir dir;
  const small_recording s = make_small(dir / "src");
  // A newer writer's record type, then a trade whose payload has 8 more bytes than version 1's.
  std::string tr;
  put(tr, 2, 4);  // OKX:ETH-USDT
  put(tr, 11, 8);
  put(tr, 12, 8);
  put(tr, 13, 8);
  put(tr, 14, 8);
  put(tr, 15, 8);
  put(tr, 1, 4);
  put(tr, 0xdeadbeef, 8);
  const std::string extended = s.bytes + record(200, "a future record") + record(1, tr);
  const fs::path f = dir / "future.catsrec";
  test::write_file(f, extended);
  const read_result r = read_all(f);
  EXPECT_EQ(r.error, "");
  ASSERT_EQ(r.items.size(), 6u);
  for (size_t i = 0; i < 5; ++i) expect_same_item(s.items[i], r.items[i]);
  expect_same(trade(12, 11, 13, 14, 15, CATS_SIDE_BUY), r.items[5]);
  EXPECT_EQ(r.items[5].symbol, eth);

  // A trade that names a symbol the file never defined is an error, not a guess.
  std::string orphan = tr.substr(0, 48);
  orphan[0] = 9;
  test::write_file(f, s.bytes + record(1, orphan));
  EXPECT_EQ(read_all(f).error, f.string() + ": record at byte 491 refers to undefined symbol id 9");

  // A payload shorter than the type needs is an error too.
  test::write_file(f, s.bytes + record(1, tr.substr(0, 40)));
  EXPECT_EQ(read_all(f).error,
            f.string() + ": malformed trade record at byte 491 (payload 40 bytes, needs 48)");

  // A length no writer produces (more than 64 MiB) is corruption, not a reason to buffer it.
  std::string huge;
  put(huge, 0x7fffffff, 4);
  huge += '\x01';
  test::write_file(f, s.bytes + huge);
  EXPECT_EQ(read_all(f).error, f.string() +
                                   ": corrupt record at byte 491 (length 2147483647 exceeds the "
                                   "format's limit of 67108864)");
}

TEST(RecordFile, CsvContentsAreExactDecimals) {
  test::temp_dir dir;
  const int64_t t = feb1 - 10 * sec;
  {
    record_writer w(options(dir.path(), true));
    w.write_trade(btc, trade(1706745590123456789, 1706745590123000000, 4206650000000, 12000,
                             123456789, CATS_SIDE_BUY));
    w.write_quote(eth, quote(t + 1, t, 4206649000000, 150000000, 4206650000000, 25000000));
    w.write_trade("X:A,B", trade(t + 2, t, 1, 100000000000, 0, CATS_SIDE_NONE));
    w.write_bar(btc, bar(t + 3));             // not in the CSV files
    w.write_book(btc, book(t + 4, 3, 3), 0);  // not in the CSV files
    w.write_trade(eth, trade(t + 5, t, -150000000, 1, 7, CATS_SIDE_SELL));
    w.write_quote(btc, quote(feb1, feb1 - 1, 0, 0, 1, 1));  // next day
  }
  EXPECT_EQ(test::read_file(dir / "md-2024-01-31-trades.csv"),
            "exchange_ts_ns,local_ts_ns,symbol,price,quantity,trade_id,side\n"
            "1706745590123000000,1706745590123456789,BINANCE:BTCUSDT,42066.5,0.00012,123456789,"
            "buy\n"
            "1706745590000000000,1706745590000000002,\"X:A,B\",0.00000001,1000,0,\n"
            "1706745590000000000,1706745590000000005,OKX:ETH-USDT,-1.5,0.00000001,7,sell\n");
  EXPECT_EQ(test::read_file(dir / "md-2024-01-31-quotes.csv"),
            "exchange_ts_ns,local_ts_ns,symbol,bid_price,bid_quantity,ask_price,ask_quantity\n"
            "1706745590000000000,1706745590000000001,OKX:ETH-USDT,42066.49,1.5,42066.5,0.25\n");
  EXPECT_EQ(test::read_file(dir / "md-2024-02-01-trades.csv"),
            "exchange_ts_ns,local_ts_ns,symbol,price,quantity,trade_id,side\n");
  EXPECT_EQ(test::read_file(dir / "md-2024-02-01-quotes.csv"),
            "exchange_ts_ns,local_ts_ns,symbol,bid_price,bid_quantity,ask_price,ask_quantity\n"
            "1706745599999999999,1706745600000000000,BINANCE:BTCUSDT,0,0,0.00000001,0.00000001\n");
}

TEST(RecordFile, MaybeFlushMakesRecordsVisibleWhileTheWriterIsOpen) {
  test::temp_dir dir;
  const int64_t now = 1'000 * sec;  // the caller's clock, unrelated to the records' timestamps
  record_writer_options o = options(dir.path());
  o.flush_interval_ns = sec;
  record_writer w(o);
  w.write_trade(btc, trade(feb1, feb1, 1, 1, 1, CATS_SIDE_BUY));
  const fs::path file = w.current_file();
  const auto visible = [&] {
    const read_result r = read_all(file);
    EXPECT_EQ(r.error, "");  // a flush always ends on a record boundary
    return r.items.size();
  };
  EXPECT_EQ(visible(), 0u);  // the header is on disk at once, the record is buffered
  w.maybe_flush(now);        // the first call flushes
  EXPECT_EQ(visible(), 1u);
  w.write_trade(btc, trade(feb1 + 1, feb1, 2, 1, 2, CATS_SIDE_BUY));
  w.maybe_flush(now + sec / 2);
  EXPECT_EQ(visible(), 1u);
  w.maybe_flush(now + sec);
  EXPECT_EQ(visible(), 2u);
  w.write_trade(btc, trade(feb1 + 2, feb1, 3, 1, 3, CATS_SIDE_BUY));
  w.flush();
  EXPECT_EQ(visible(), 3u);
}

TEST(RecordFile, IoErrorsNameThePath) {
  test::temp_dir dir;
  const fs::path file = dir / "plain";
  test::write_file(file, "x");
  try {
    record_writer w(options(file / "sub"));
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create directory " + (file / "sub").string()),
              std::string::npos)
        << e.what();
  }
}

// The recorder tap: what the engine thread hands over is written by the tap's own thread, in
// order and complete, by the time close() returns.
TEST(RecordTap, WritesEverythingInOrderFromItsOwnThread) {
  test::temp_dir dir;
  instrument_registry instruments;
  instrument_info a;
  a.symbol = btc;
  instruments.add(a);
  instrument_info b;
  b.symbol = eth;
  instruments.add(b);
  const int64_t t = feb1 + 7 * sec;
  book_update u = book(t, 3, 2);
  {
    record_tap tap(options(dir / "rec"), instruments);
    for (uint64_t i = 0; i < 10'000; ++i) {
      cats_trade_event_t e = trade(t + static_cast<int64_t>(i), t, 100 + static_cast<int64_t>(i), 1,
                                   i + 1, CATS_SIDE_BUY);
      e.header.instrument_id = 1 + static_cast<uint32_t>(i % 2);
      tap.on_event(market_event::of(e, e.header.local_ts_ns));
    }
    u.instrument_id = 2;
    tap.on_event(market_event::of(u, CATS_BOOK_FLAG_SNAPSHOT, u.local_ts_ns));
    tap.close();
    EXPECT_EQ(tap.stats().records, 10'001u);
    EXPECT_EQ(tap.waits(), 0u);
  }
  fs::path file;
  for (const auto& e : fs::directory_iterator(dir / "rec")) file = e.path();
  const read_result r = read_all(file);
  ASSERT_EQ(r.error, "");
  ASSERT_EQ(r.items.size(), 10'001u);
  for (uint64_t i = 0; i < 10'000; ++i) {
    ASSERT_EQ(r.items[i].trade.trade_id, i + 1);
    ASSERT_EQ(r.items[i].symbol, i % 2 == 0 ? btc : eth);
  }
  expect_same(u, CATS_BOOK_FLAG_SNAPSHOT, r.items.back());
}

// A write that fails on the tap's thread reaches the engine thread as an exception, once: from the
// next event or from check() when no event comes, and not again from close().
TEST(RecordTap, AWriteErrorIsReportedOnTheEngineThreadOnce) {
  test::temp_dir dir;
  instrument_registry instruments;
  instrument_info bad;
  bad.symbol = std::string(70'000, 'X');  // longer than the format allows
  instruments.add(bad);
  record_tap tap(options(dir / "rec"), instruments);
  cats_trade_event_t e = trade(feb1, feb1, 1, 1, 1, CATS_SIDE_BUY);
  e.header.instrument_id = 1;
  tap.on_event(market_event::of(e, feb1));  // queued: the failure happens on the tap's thread
  std::string error;
  for (int i = 0; i < 500 && error.empty(); ++i) {
    try {
      tap.check();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } catch (const std::runtime_error& ex) {
      error = ex.what();
    }
  }
  EXPECT_EQ(error, "symbol longer than 65535 bytes");
  EXPECT_NO_THROW(tap.check());
  EXPECT_NO_THROW(tap.close());
}

}  // namespace
}  // namespace cats
