// The block store (.catsrec versions 2 and 3): CRC-32C, the byte layout of headers and records, a
// round trip of every record kind, damage found and skipped, and a writer that runs out of room.
#include "cats/record/store.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cats/record/record_file.hpp"
#include "cats/util/crc32c.hpp"
#include "test_util.hpp"

namespace cats {
namespace {

namespace fs = std::filesystem;

constexpr int64_t t0 = 1706745600LL * 1'000'000'000;  // 2024-02-01

TEST(Crc32c, KnownValuesAndTheTableAgreesWithTheInstruction) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the check value of CRC-32C
  EXPECT_EQ(crc32c_portable("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  const std::vector<unsigned char> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);  // RFC 3720, B.4: 32 bytes of zeros
  std::mt19937_64 rng(7);
  std::vector<unsigned char> buf(4096);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t n = 0; n < 300; ++n) {
    const size_t off = rng() % 8;  // unaligned starts too
    ASSERT_EQ(crc32c(buf.data() + off, n), crc32c_portable(buf.data() + off, n)) << n;
  }
  // Long inputs run in three lanes joined by shifts: every lane length and remainder agrees.
  std::vector<unsigned char> big(3 * 8192 * 2 + 3 * 256 * 3 + 100);
  for (auto& b : big) b = static_cast<unsigned char>(rng());
  for (const size_t n : {size_t{767}, size_t{768}, size_t{769}, size_t{3 * 8192 - 1},
                         size_t{3 * 8192}, size_t{3 * 8192 + 777}, big.size() - 8}) {
    const size_t off = rng() % 8;
    ASSERT_EQ(crc32c(big.data() + off, n), crc32c_portable(big.data() + off, n)) << n;
    ASSERT_EQ(crc32c(big.data() + off, n, 0x12345678u),
              crc32c_portable(big.data() + off, n, 0x12345678u))
        << n;
  }
  // Continuing a CRC equals one pass over the whole.
  const uint32_t part = crc32c(buf.data(), 1000);
  EXPECT_EQ(crc32c(buf.data() + 1000, 3000, part), crc32c(buf.data(), 4000));
}

market_event bar_event(uint32_t id, int64_t open, int64_t price) {
  cats_bar_event_t b{};
  b.header.struct_size = sizeof b;
  b.header.type = CATS_EVENT_BAR;
  b.header.instrument_id = id;
  b.header.exchange_ts_ns = open + 60'000'000'000;
  b.header.local_ts_ns = open + 60'000'000'001;
  b.open_time_ns = open;
  b.interval_ns = 60'000'000'000;
  b.open = price;
  b.high = price + 7;
  b.low = price - 3;
  b.close = price + 1;
  b.volume = 123456789;
  b.quote_volume = -5;  // stored as given
  b.taker_buy_volume = 42;
  b.taker_buy_quote_volume = 43;
  b.trade_count = 1000;
  return market_event::of(b, b.header.local_ts_ns);
}

market_event trade_event(int64_t ts, int64_t price, uint64_t id, int32_t side) {
  cats_trade_event_t t{};
  t.header.struct_size = sizeof t;
  t.header.type = CATS_EVENT_TRADE;
  t.header.exchange_ts_ns = ts - 5;
  t.header.local_ts_ns = ts;
  t.price = price;
  t.quantity = 12000;
  t.trade_id = id;
  t.aggressor_side = side;
  return market_event::of(t, ts);
}

market_event quote_event(int64_t ts, int64_t bid) {
  cats_quote_event_t q{};
  q.header.struct_size = sizeof q;
  q.header.type = CATS_EVENT_QUOTE;
  q.header.exchange_ts_ns = ts - 1;
  q.header.local_ts_ns = ts;
  q.bid_price = bid;
  q.bid_quantity = 1;
  q.ask_price = bid + 1;
  q.ask_quantity = INT64_MAX;
  return market_event::of(q, ts);
}

// What a test writes, in order, with the symbol of each event.
struct written {
  std::vector<std::string> symbols;
  std::vector<market_event> events;
  std::vector<book_update> books;  // reserved up front: events point into it
};

written sample(int n) {
  written w;
  w.books.reserve(static_cast<size_t>(n));
  const char* names[] = {"BINANCE:BTCUSDT", "OKX:ETH-USDT", "BINANCE:SOLUSDT"};
  for (int i = 0; i < n; ++i) {
    const int64_t ts = t0 + int64_t{i} * 1'000'000;
    // The third symbol first appears half-way: a second symbol table mid-file.
    const std::string sym = names[i % (i < n / 2 ? 2 : 3)];
    switch (i % 4) {
      case 0:
        w.events.push_back(trade_event(ts, 4'206'650'000'000 + i, 1000u + i, i % 3));
        break;
      case 1:
        w.events.push_back(quote_event(ts, 100 + i));
        break;
      case 2:
        w.events.push_back(bar_event(0, ts, 200 + i));
        break;
      default: {
        book_update& u = w.books.emplace_back();
        u.exchange_ts_ns = ts - 2;
        u.local_ts_ns = ts;
        u.snapshot = i % 8 == 3;
        u.first_seq = 10u + i;
        u.last_seq = 11u + i;
        u.prev_seq = i % 2 == 0 ? -1 : i;
        u.has_checksum = i % 8 == 7;
        u.checksum = -i;
        for (int k = 0; k < i % 5; ++k) u.bids.push_back({1000 - k, k});
        for (int k = 0; k < i % 3; ++k) u.asks.push_back({1001 + k, 2 * k});
        w.events.push_back(market_event::of(u, static_cast<uint32_t>(i % 3), ts));
      }
    }
    w.symbols.push_back(sym);
  }
  return w;
}

void write_store(const fs::path& f, const written& w, size_t block_bytes = 4096) {
  store_writer_options o;
  o.block_bytes = block_bytes;
  store_writer s(f, o);
  for (size_t i = 0; i < w.events.size(); ++i) s.append(w.symbols[i], w.events[i]);
  s.close();
}

void expect_same(const market_event& a, const market_event& b, const std::string& what) {
  ASSERT_EQ(a.type, b.type) << what;
  ASSERT_EQ(a.ts, b.ts) << what;
  if (a.type == market_event::kind::book) {
    const book_update& x = *a.book;
    const book_update& y = *b.book;
    EXPECT_EQ(a.book_flags, b.book_flags) << what;
    EXPECT_EQ(std::tie(x.exchange_ts_ns, x.local_ts_ns, x.snapshot, x.first_seq, x.last_seq,
                       x.prev_seq, x.has_checksum, x.checksum),
              std::tie(y.exchange_ts_ns, y.local_ts_ns, y.snapshot, y.first_seq, y.last_seq,
                       y.prev_seq, y.has_checksum, y.checksum))
        << what;
    ASSERT_EQ(x.bids.size(), y.bids.size()) << what;
    ASSERT_EQ(x.asks.size(), y.asks.size()) << what;
    for (size_t k = 0; k < x.bids.size(); ++k) {
      EXPECT_EQ(x.bids[k].price, y.bids[k].price);
      EXPECT_EQ(x.bids[k].quantity, y.bids[k].quantity);
    }
    for (size_t k = 0; k < x.asks.size(); ++k) {
      EXPECT_EQ(x.asks[k].price, y.asks[k].price);
      EXPECT_EQ(x.asks[k].quantity, y.asks[k].quantity);
    }
    return;
  }
  // Trades, quotes and bars: every byte of the SDK event but the engine's instrument id.
  market_event a2 = a, b2 = b;
  a2.bar.header.instrument_id = b2.bar.header.instrument_id = 0;
  const size_t n = a.type == market_event::kind::trade   ? sizeof(cats_trade_event_t)
                   : a.type == market_event::kind::quote ? sizeof(cats_quote_event_t)
                                                         : sizeof(cats_bar_event_t);
  EXPECT_EQ(std::memcmp(&a2.bar, &b2.bar, n), 0) << what;
}

TEST(Store, EveryKindRoundTripsAcrossBlocksAndSymbolTables) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "s.catsrec";
  const written w = sample(2000);
  write_store(f, w);
  store_reader r(f);
  std::vector<std::string> resolved;
  r.set_resolver([&](const std::string& s) {
    resolved.push_back(s);
    return static_cast<uint32_t>(100 + resolved.size());
  });
  market_event e;
  size_t i = 0;
  for (; r.next(e); ++i) {
    ASSERT_LT(i, w.events.size());
    expect_same(e, w.events[i], "event " + std::to_string(i));
    ASSERT_EQ(r.symbol(), w.symbols[i]) << i;
  }
  EXPECT_EQ(r.error(), "");
  EXPECT_EQ(i, w.events.size());
  EXPECT_EQ(r.records_read(), w.events.size());
  // Each symbol resolved once, in order of first use.
  EXPECT_EQ(resolved,
            (std::vector<std::string>{"BINANCE:BTCUSDT", "OKX:ETH-USDT", "BINANCE:SOLUSDT"}));
  // record_reader reads version 2 the same way.
  record_reader rr(f);
  size_t j = 0;
  while (rr.next(e)) expect_same(e, w.events[j++], "record_reader");
  EXPECT_EQ(rr.error(), "");
  EXPECT_EQ(j, w.events.size());
  EXPECT_EQ(record_file_version(f), 4);
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(0x1e));
}

// Batches give what next() gives, and end early after a book event (its levels live in the
// reader) and before the first event of a symbol new to the resolver (it starts the next batch).
TEST(Store, BatchesGiveWhatNextGivesAndEndAtBooksAndNewSymbols) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "b.catsrec";
  const written w = sample(2000);
  write_store(f, w);
  store_reader r(f);
  std::vector<std::string> resolved;
  size_t handed_out = 0;  // events given so far, when the resolver is asked
  std::vector<size_t> resolved_at;
  r.set_resolver([&](const std::string& s) {
    resolved.push_back(s);
    resolved_at.push_back(handed_out);
    return static_cast<uint32_t>(resolved.size());
  });
  std::vector<market_event> batch(16);
  std::set<std::string> seen;
  size_t i = 0;
  for (size_t k; (k = r.next_batch(batch.data(), batch.size())) != 0;) {
    for (size_t j = 0; j < k; ++j, ++i) {
      ASSERT_LT(i, w.events.size());
      // Only the batch's last event may be a book: its levels are the reader's until it reads on.
      if (batch[j].type == market_event::kind::book) {
        ASSERT_EQ(j, k - 1) << i;
      }
      // A new symbol's event starts its batch.
      if (seen.insert(w.symbols[i]).second) {
        ASSERT_EQ(j, 0u) << i;
      }
      expect_same(batch[j], w.events[i], "batched event " + std::to_string(i));
    }
    handed_out = i;
    if (k < batch.size() && batch[k - 1].type != market_event::kind::book) {
      // Ended early without a book: the next event is a new symbol's, or there is none.
      EXPECT_TRUE(i == w.events.size() || seen.count(w.symbols[i]) == 0) << i;
    }
  }
  EXPECT_EQ(r.error(), "");
  EXPECT_EQ(i, w.events.size());
  // Each symbol was resolved when every event before its first had been handed out.
  EXPECT_EQ(resolved,
            (std::vector<std::string>{"BINANCE:BTCUSDT", "OKX:ETH-USDT", "BINANCE:SOLUSDT"}));
  for (size_t s = 0; s < resolved.size(); ++s) {
    const size_t first = static_cast<size_t>(
        std::find(w.symbols.begin(), w.symbols.end(), resolved[s]) - w.symbols.begin());
    EXPECT_EQ(resolved_at[s], first) << resolved[s];
  }
  EXPECT_EQ(r.next_batch(batch.data(), batch.size()), 0u);  // the end stays the end
  // record_reader passes batches through.
  record_reader rr(f);
  size_t j = 0;
  for (size_t k; (k = rr.next_batch(batch.data(), batch.size())) != 0;)
    for (size_t m = 0; m < k; ++m) expect_same(batch[m], w.events[j++], "record_reader batch");
  EXPECT_EQ(rr.error(), "");
  EXPECT_EQ(j, w.events.size());
  EXPECT_EQ(rr.records_read(), w.events.size());
}

std::vector<size_t> block_offsets(const std::string& b);

// Symbols that first appear together share one symbol table and fill whole data blocks: 3,000
// instruments with three trades each (a recorder starting on a whole venue) make a few tables, not
// one per symbol (whose sizes grew with the square of the symbols).
TEST(Store, ManyNewSymbolsShareTablesAndFillWholeBlocks) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "many.catsrec";
  constexpr int n = 3000;
  auto name = [](int i) { return "BINANCE:SYM" + std::to_string(i) + "USDT"; };
  {
    store_writer s(f);
    // Each new symbol twice in a row: the reader reuses the symbol of the record before, also
    // where a new table comes between the two.
    for (int i = 0; i < 2 * n; ++i)
      s.append(name(i / 2), trade_event(t0 + i, 100 + i, 1000u + i, 1));
    for (int i = 0; i < n; ++i)
      s.append(name(n - 1 - i), trade_event(t0 + 2 * n + i, 20000 + i, 5u, 2));
    s.close();
  }
  const std::string b = test::read_file(f);
  size_t tables = 0, data = 0, table_bytes = 0;
  for (const size_t at : block_offsets(b)) {
    uint16_t kind = 0;
    std::memcpy(&kind, b.data() + at + 8, 2);
    uint64_t len = 0;
    std::memcpy(&len, b.data() + at + 16, 8);
    if (kind == 2) {
      ++tables;
      table_bytes += len;
    } else {
      ++data;
    }
  }
  // 9,000 trades of 48 bytes in 64 KiB blocks: 7 data blocks, each after at most one table.
  EXPECT_EQ(data, (3u * n * 48 + 65535) / 65536);
  EXPECT_LE(tables, data);
  EXPECT_LT(table_bytes, data * n * 32);  // one per symbol was about n * n * 16 bytes
  store_reader r(f);
  std::vector<uint32_t> ids;
  r.set_resolver([&](const std::string&) {
    ids.push_back(static_cast<uint32_t>(ids.size() + 7));
    return ids.back();
  });
  market_event e;
  int i = 0;
  for (; r.next(e); ++i) {
    const int sym = i < 2 * n ? i / 2 : 3 * n - 1 - i;
    ASSERT_EQ(r.symbol(), name(sym)) << i;
    ASSERT_EQ(e.trade.header.instrument_id, static_cast<uint32_t>(sym + 7)) << i;
    ASSERT_EQ(e.trade.price, i < 2 * n ? 100 + i : 20000 + (i - 2 * n)) << i;
  }
  EXPECT_EQ(r.error(), "");
  EXPECT_EQ(i, 3 * n);
  EXPECT_EQ(ids.size(), static_cast<size_t>(n));
}

// Waits up to 10 s for `done()`: the pager works on a thread of its own.
template <class F>
void wait_for(F done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
}

// Resident bytes of this process's mapping of `file` (/proc/self/smaps), 0 when not mapped.
uint64_t mapped_rss_bytes(const fs::path& file) {
  std::ifstream in("/proc/self/smaps");
  std::string line;
  const std::string name = fs::canonical(file).string();
  bool ours = false;
  uint64_t total = 0;
  while (std::getline(in, line)) {
    if (line.find('-') < line.find(' ') && line.find(' ') != std::string::npos) {
      ours = line.size() >= name.size() &&
             line.compare(line.size() - name.size(), name.size(), name) == 0;
    } else if (ours && line.rfind("Rss:", 0) == 0) {
      total += std::stoull(line.substr(4)) * 1024;  // "Rss:   123 kB"
    }
  }
  return total;
}

// A file larger than the pager's window: a thread maps pages ahead of the reader and gives back
// those behind it. The reader gives the same events, damage skipped or stopping at it alike, and a
// reader dropped half-way ends its pager at once.
TEST(Store, PagesMappedAheadOnAnotherThreadChangeNothingRead) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "p.catsrec";
  const written w = sample(40000);
  write_store(f, w);
  store_reader_options paged;
  // The smallest window the pager takes: 16 pages (64 KiB with 4 KiB pages).
  paged.page_window = 16 * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  ASSERT_GT(fs::file_size(f), 8 * paged.page_window) << "a pager for a file of 8 windows and more";
  auto read_all = [&](const store_reader_options& o, size_t stop_after) {
    store_reader r(f, o);
    std::vector<market_event> got;
    std::vector<book_update> books;
    books.reserve(w.events.size());
    market_event e;
    while (got.size() < stop_after && r.next(e)) {
      if (e.type == market_event::kind::book) e.book = &books.emplace_back(*e.book);
      got.push_back(e);
    }
    return std::make_pair(got.size(), r.error());
  };
  {
    store_reader r(f, paged);
    market_event e;
    size_t i = 0;
    for (; r.next(e); ++i) {
      ASSERT_LT(i, w.events.size());
      expect_same(e, w.events[i], "paged event " + std::to_string(i));
    }
    EXPECT_EQ(r.error(), "");
    EXPECT_EQ(i, w.events.size());
  }
  // The pager stays ahead of a reader that takes its time, a quarter window at a time (a kernel
  // without MADV_POPULATE_READ, before 5.14, faults the pages in by reading them: not checked).
  void* probe = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(probe, MAP_FAILED);
  const bool can_populate = ::madvise(probe, 4096, 22 /* MADV_POPULATE_READ */) == 0;
  ::munmap(probe, 4096);
  if (can_populate) {
    store_reader r(f, paged);
    const uint64_t size = fs::file_size(f);
    market_event e;
    for (uint64_t step = 1; r.next(e); ++step) {
      while (r.next(e) && r.bytes_done() < step * paged.page_window / 4) {
      }
      const uint64_t want = std::min(size, r.bytes_done() + paged.page_window / 4);
      wait_for([&] { return r.paged_until() >= want; });
      ASSERT_GE(r.paged_until(), want) << "read up to byte " << r.bytes_done();
    }
    // ... and has given back what the reader passed: about a window and a half stays mapped.
    const uint64_t kept = mapped_rss_bytes(f);
    EXPECT_LE(kept, 4 * paged.page_window) << "of a file of " << size << " bytes";
    // ... and checked the CRCs of the blocks it mapped, up to the last one.
    wait_for([&] { return r.checked_until() >= size; });
    EXPECT_EQ(r.checked_until(), size);
  }
  // Dropped half-way, and at once: the pager thread is joined without waiting for the file.
  EXPECT_EQ(read_all(paged, w.events.size() / 2).first, w.events.size() / 2);
  EXPECT_EQ(read_all(paged, 1).first, 1u);

  // Damage in the middle: stop with the same message, or skip the same block.
  std::string b = test::read_file(f);
  const std::vector<size_t> blocks = block_offsets(b);
  ASSERT_GT(blocks.size(), 40u);
  const size_t bad = blocks[blocks.size() / 2];
  b[bad + 64 + 20] = static_cast<char>(b[bad + 64 + 20] ^ 0x40);
  test::write_file(f, b);
  store_reader_options direct;
  direct.page_window = 0;
  const auto stopped_paged = read_all(paged, SIZE_MAX);
  const auto stopped_direct = read_all(direct, SIZE_MAX);
  EXPECT_NE(stopped_direct.second, "");
  EXPECT_EQ(stopped_paged, stopped_direct);
  // A reader held half a window before the damaged block until the pager stands at it; then read
  // to the end. The pager's checks stop there for good, however far ahead it got, and the reader
  // finds the block itself.
  auto read_past_the_pager_at_bad = [&](const store_reader_options& o) {
    auto r = std::make_unique<store_reader>(f, o);
    market_event e;
    while (r->bytes_done() + o.page_window / 2 < bad && r->next(e)) {
    }
    wait_for([&] { return r->checked_until() >= bad; });
    EXPECT_EQ(r->checked_until(), bad);
    while (r->next(e)) {
    }
    EXPECT_EQ(r->checked_until(), bad);
    return r;
  };
  if (can_populate) {
    EXPECT_EQ(read_past_the_pager_at_bad(paged)->error(), stopped_direct.second);
  }
  paged.skip_damaged = direct.skip_damaged = true;
  if (can_populate) {
    // ... even when the reader skips the block and goes on: past it the reader checks every CRC
    // itself. (A pager that had not got there yet takes up the reader's blocks after the skip:
    // they are the reader's chain from then on.)
    const auto r = read_past_the_pager_at_bad(paged);
    EXPECT_EQ(r->damaged_blocks(), 1u);
    EXPECT_EQ(r->error(), "");
  }
  const auto skipped_paged = read_all(paged, SIZE_MAX);
  EXPECT_EQ(skipped_paged, read_all(direct, SIZE_MAX));
  EXPECT_EQ(skipped_paged.second, "");
  EXPECT_GT(skipped_paged.first, stopped_paged.first);
  EXPECT_LT(skipped_paged.first, w.events.size());
}

// A file cut short while it is read: the pager stops checking CRCs ahead (its pages past the new
// end would raise SIGBUS on the pager's thread) and the reader checks the rest itself.
TEST(Store, ThePagerStopsCheckingAFileThatBecameShorter) {
  void* probe = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(probe, MAP_FAILED);
  const bool can_populate = ::madvise(probe, 4096, 22 /* MADV_POPULATE_READ */) == 0;
  ::munmap(probe, 4096);
  if (!can_populate)
    GTEST_SKIP() << "a kernel without MADV_POPULATE_READ: the pager checks nothing";
  test::temp_dir dir;
  const fs::path f = dir.path() / "s.catsrec";
  write_store(f, sample(40000));
  const uint64_t size = fs::file_size(f);
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  // The cut stays inside the last page: the reader reads zeros there, not past the file's end.
  if (size % page >= 1 && size % page <= 8)
    GTEST_SKIP() << "the file ends 1 to 8 bytes into a page";
  store_reader_options paged;
  paged.page_window = 16 * page;
  store_reader r(f, paged);
  market_event e;
  ASSERT_TRUE(r.next(e));
  wait_for([&] { return r.checked_until() > 0; });
  ASSERT_GT(r.checked_until(), 0u);
  fs::resize_file(f, size - 8);
  size_t read = 1;
  while (r.next(e)) ++read;
  // At the cut the pager was at most a window ahead of the reader's first block.
  EXPECT_LT(r.checked_until(), 4 * paged.page_window) << "read " << read << " events";
  EXPECT_GT(read, 30000u) << r.error();
}

// The documented layout (docs/record_format.md, version 2), byte by byte.
TEST(Store, ByteLayoutMatchesTheDocument) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "one.catsrec";
  {
    store_writer s(f);
    s.append("BINANCE:BTCUSDT", trade_event(t0 + 1, 4'206'650'000'000, 0x0102030405060708, 2));
    s.close();
  }
  const std::string b = test::read_file(f);
  auto u16 = [&](size_t at) { return uint16_t(uint8_t(b[at]) | uint8_t(b[at + 1]) << 8); };
  auto u32 = [&](size_t at) { return uint32_t(u16(at)) | uint32_t(u16(at + 2)) << 16; };
  auto u64 = [&](size_t at) { return uint64_t(u32(at)) | uint64_t(u32(at + 4)) << 32; };
  ASSERT_EQ(b.size(), 64u + (64 + 24) + (64 + 48));
  EXPECT_EQ(b.substr(0, 8), std::string("CATSREC\0", 8));
  EXPECT_EQ(u16(8), 4);
  EXPECT_EQ(u32(12), 64u);
  EXPECT_EQ(u32(24), 65536u);  // the block size the writer aimed at
  // The summary a closed file gets: its record types (trades), "closed", its size.
  EXPECT_EQ(u16(28), 1 << 1);
  EXPECT_EQ(u16(30), 1);
  EXPECT_EQ(u64(32), b.size());
  EXPECT_EQ(b.substr(40, 20), std::string(20, '\0'));
  EXPECT_EQ(u32(60), crc32c(b.data(), 60));
  // The symbol block: kind 2, one symbol, 24 bytes of entries.
  EXPECT_EQ(b.substr(64, 4), "CBLK");
  EXPECT_EQ(u32(68), crc32c(b.data() + 72, 56 + 24));
  EXPECT_EQ(u16(72), 2);
  EXPECT_EQ(u32(76), 1u);
  EXPECT_EQ(u64(80), 24u);
  EXPECT_EQ(u64(112), 0u);  // sequence
  EXPECT_EQ(u16(128), 1);   // id
  EXPECT_EQ(u16(130), 15);  // name length
  EXPECT_EQ(b.substr(132, 15), "BINANCE:BTCUSDT");
  // The data block: kind 1, kinds = bit 1 (trades), one record, its time range, the symbol
  // table's offset and sequence 1.
  const size_t d = 152;
  EXPECT_EQ(b.substr(d, 4), "CBLK");
  EXPECT_EQ(u32(d + 4), crc32c(b.data() + d + 8, 56 + 48));
  EXPECT_EQ(u16(d + 8), 1);
  EXPECT_EQ(u16(d + 10), 2);
  EXPECT_EQ(u32(d + 12), 1u);
  EXPECT_EQ(u64(d + 16), 48u);
  EXPECT_EQ(u64(d + 24), uint64_t(t0 + 1));
  EXPECT_EQ(u64(d + 32), uint64_t(t0 + 1));
  EXPECT_EQ(u64(d + 40), 64u);
  EXPECT_EQ(u64(d + 48), 1u);
  // The trade record: type 1, flags = side 2, symbol 1, size 48, then the fields.
  const size_t r = d + 64;
  EXPECT_EQ(uint8_t(b[r]), 1);
  EXPECT_EQ(uint8_t(b[r + 1]), 2);
  EXPECT_EQ(u16(r + 2), 1);
  EXPECT_EQ(u32(r + 4), 48u);
  EXPECT_EQ(u64(r + 8), uint64_t(t0 + 1 - 5));
  EXPECT_EQ(u64(r + 16), uint64_t(t0 + 1));
  EXPECT_EQ(u64(r + 24), 4'206'650'000'000u);
  EXPECT_EQ(u64(r + 32), 12000u);
  EXPECT_EQ(u64(r + 40), 0x0102030405060708u);
}

// Offsets of the blocks of a store file (walking the headers).
std::vector<size_t> block_offsets(const std::string& b) {
  std::vector<size_t> at;
  for (size_t p = 64; p + 64 <= b.size();) {
    at.push_back(p);
    uint64_t len = 0;
    std::memcpy(&len, b.data() + p + 16, 8);
    p += 64 + len;
  }
  return at;
}

// The record types of a store's data blocks, record by record.
std::vector<int> record_types(const std::string& b) {
  std::vector<int> out;
  for (const size_t at : block_offsets(b)) {
    if (b[at + 8] != 1) continue;  // not a data block
    uint64_t len = 0;
    std::memcpy(&len, b.data() + at + 16, 8);
    for (size_t p = at + 64; p < at + 64 + len;) {
      uint32_t size = 0, bars = 1;
      std::memcpy(&size, b.data() + p + 4, 4);
      if (b[p] == 6) std::memcpy(&bars, b.data() + p + 8 + 24, 4);  // a bar run: one per bar
      out.insert(out.end(), bars, static_cast<uint8_t>(b[p]));
      p += size;
    }
  }
  return out;
}

// A Binance kline as the converter makes it: the close time 1 ms before the next open, prices on
// the 0.01 grid, volumes with 5 decimals.
market_event kline(int64_t open_time, int64_t open) {
  cats_bar_event_t b{};
  b.header.struct_size = sizeof b;
  b.header.type = CATS_EVENT_BAR;
  b.open_time_ns = open_time;
  b.interval_ns = 60'000'000'000;
  b.header.exchange_ts_ns = b.header.local_ts_ns = open_time + 59'999'000'000;
  b.open = open;
  b.high = open + 305'000'000;
  b.low = open - 2'497'000'000;
  b.close = open - 2'210'000'000;
  b.volume = 1'554'795'000;
  b.quote_volume = 65'283'120'858'771;
  b.taker_buy_volume = 456'004'000;
  b.taker_buy_quote_volume = 19'146'809'865'020;
  b.trade_count = 640;
  return market_event::of(b, b.header.local_ts_ns);
}

// A bar whose fields fit is written in 72 bytes (type 5) and read back exactly; any other bar,
// and every bar with pack_bars off, is written whole (type 3). The packed layout byte by byte.
TEST(Store, BarsThatFitArePackedAndEveryBarReadsBackExactly) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "p.catsrec";
  {
    store_writer s(f);
    s.append("BINANCE:BTCUSDT", kline(t0, 4'199'902'000'000));
    s.close();
  }
  const std::string one = test::read_file(f);
  ASSERT_EQ(one.size(), 64u + (64 + 24) + (64 + 72));
  const size_t r = 64 + 88 + 64;
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, one.data() + at, 4);
    return v;
  };
  auto i64 = [&](size_t at) {
    int64_t v = 0;
    std::memcpy(&v, one.data() + at, 8);
    return v;
  };
  EXPECT_EQ(uint8_t(one[r]), 5);
  EXPECT_EQ(uint8_t(one[r + 1]), 6 | 3 << 4);  // prices in 10^6 (0.01), volumes in 10^3
  EXPECT_EQ(u32(r + 4), 72u);
  EXPECT_EQ(i64(r + 8), t0);
  EXPECT_EQ(i64(r + 16), 4'199'902'000'000);
  EXPECT_EQ(i64(r + 24), 65'283'120'858'771);
  EXPECT_EQ(i64(r + 32), 19'146'809'865'020);
  EXPECT_EQ(u32(r + 40), 60'000u);                           // interval, ms
  EXPECT_EQ(static_cast<int32_t>(u32(r + 44)), -1'000'000);  // close - open - interval, ns
  EXPECT_EQ(static_cast<int32_t>(u32(r + 48)), 305);
  EXPECT_EQ(static_cast<int32_t>(u32(r + 52)), -2'497);
  EXPECT_EQ(static_cast<int32_t>(u32(r + 56)), -2'210);
  EXPECT_EQ(u32(r + 60), 1'554'795u);
  EXPECT_EQ(u32(r + 64), 456'004u);
  EXPECT_EQ(u32(r + 68), 640u);
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 5));
  EXPECT_TRUE(store_holds_only_bars(1 << 5));

  // Bars at the edges of what packs, each with the type it must get.
  std::vector<std::pair<market_event, int>> bars;
  auto add = [&](int type, auto change) {
    market_event e =
        kline(t0 + static_cast<int64_t>(bars.size()) * 60'000'000'000, 4'199'902'000'000);
    change(e.bar);
    e.ts = e.bar.header.local_ts_ns;
    bars.emplace_back(e, type);
  };
  add(5, [](cats_bar_event_t&) {});
  add(3, [](cats_bar_event_t& b) { b.header.local_ts_ns += 1; });  // received after the close
  add(3, [](cats_bar_event_t& b) { b.interval_ns += 1; });         // not whole milliseconds
  auto interval = [](cats_bar_event_t& b, int64_t ns) {  // closing 1 ms before the next open
    b.interval_ns = ns;
    b.header.exchange_ts_ns = b.header.local_ts_ns = b.open_time_ns + ns - 1'000'000;
  };
  add(5, [&](cats_bar_event_t& b) { interval(b, int64_t{UINT32_MAX} * 1'000'000); });
  add(3, [&](cats_bar_event_t& b) { interval(b, (int64_t{UINT32_MAX} + 1) * 1'000'000); });
  add(3, [](cats_bar_event_t& b) { b.interval_ns = -60'000'000'000; });
  add(5, [](cats_bar_event_t& b) {
    b.header.exchange_ts_ns = b.header.local_ts_ns = b.open_time_ns + b.interval_ns + INT32_MAX;
  });
  add(3, [](cats_bar_event_t& b) {
    b.header.exchange_ts_ns = b.header.local_ts_ns = b.open_time_ns + b.interval_ns + INT32_MIN - 1;
  });
  add(5, [](cats_bar_event_t& b) {  // in units of 1
    b.high = b.open + INT32_MAX;
    b.low = b.close = b.open + INT32_MIN;
  });
  add(3, [](cats_bar_event_t& b) {
    b.high = b.open + int64_t{INT32_MAX} + 1;
    b.low = b.close = b.open;
  });
  add(5, [](cats_bar_event_t& b) { b.high = b.open + int64_t{INT32_MAX} * 1000; });  // of 10^3
  add(5, [](cats_bar_event_t& b) {  // 10^15 is the largest unit
    b.open = 0;
    b.high = 2'000'000'000'000'000'000;
    b.low = b.close = 0;
  });
  add(3, [](cats_bar_event_t& b) {  // the deltas overflow
    b.open = INT64_MIN;
    b.high = INT64_MAX;
  });
  add(3, [](cats_bar_event_t& b) { b.low = b.open + int64_t{INT32_MIN} * 10 - 10; });
  add(5, [](cats_bar_event_t& b) { b.volume = b.taker_buy_volume = 0; });
  add(5, [](cats_bar_event_t& b) {
    b.volume = int64_t{UINT32_MAX} * 100'000;
    b.taker_buy_volume = 0;
  });
  add(3, [](cats_bar_event_t& b) {
    b.volume = int64_t{UINT32_MAX} * 100'000 + 100;
    b.taker_buy_volume = 0;
  });
  add(3, [](cats_bar_event_t& b) { b.taker_buy_volume = -1'000; });
  add(5, [](cats_bar_event_t& b) { b.quote_volume = INT64_MIN; });  // stored whole either way
  add(5, [](cats_bar_event_t& b) { b.trade_count = UINT32_MAX; });
  add(3, [](cats_bar_event_t& b) { b.trade_count = int64_t{UINT32_MAX} + 1; });
  add(3, [](cats_bar_event_t& b) { b.trade_count = -1; });
  add(5, [](cats_bar_event_t& b) {
    b.open_time_ns = INT64_MIN / 2;
    b.header.exchange_ts_ns = b.header.local_ts_ns = INT64_MIN / 2 + 59'999'000'000;
  });
  // And random ones: near a kline (small steps on decimal grids) or anything at all, field by
  // field, so that some pack and some do not.
  std::mt19937_64 rng(13);
  auto any = [&] { return static_cast<int64_t>(rng()) >> (rng() % 64); };
  auto step = [&] {
    static constexpr int64_t units[] = {1, 10, 1000, 1'000'000, 100'000'000};
    return (static_cast<int64_t>(rng() % 200'001) - 100'000) * units[rng() % 5];
  };
  auto near_open = [&](int64_t open) {  // wraps around, as any int64 may
    return static_cast<int64_t>(static_cast<uint64_t>(open) + static_cast<uint64_t>(step()));
  };
  for (int i = 0; i < 2000; ++i) {
    add(0, [&](cats_bar_event_t& b) {
      const bool near = rng() % 8 != 0;
      b.open = any();
      b.high = near ? near_open(b.open) : any();
      b.low = near ? near_open(b.open) : any();
      b.close = near ? near_open(b.open) : any();
      b.volume = near ? std::abs(step()) : any();
      b.taker_buy_volume = near ? b.volume / 2 : any();
      b.quote_volume = any();
      b.taker_buy_quote_volume = any();
      b.trade_count = near ? static_cast<int64_t>(rng() % 100'000) : any();
      if (!near) b.header.exchange_ts_ns = b.header.local_ts_ns = any();
      if (!near) b.open_time_ns = any();
    });
  }
  for (const bool pack : {true, false}) {
    {
      store_writer s(f,
                     store_writer_options{.block_bytes = 4096, .replace = true, .pack_bars = pack});
      for (const auto& [e, type] : bars) s.append("BINANCE:BTCUSDT", e);
      s.close();
    }
    const std::vector<int> types = record_types(test::read_file(f));
    ASSERT_EQ(types.size(), bars.size());
    size_t packed = 0, in_runs = 0;
    for (size_t i = 0; i < bars.size(); ++i) {
      packed += types[i] == 5 || types[i] == 6 ? 1 : 0;
      in_runs += types[i] == 6 ? 1 : 0;
      if (!pack) {
        EXPECT_EQ(types[i], 3) << i;
      } else if (bars[i].second == 3) {
        EXPECT_EQ(types[i], 3) << i;
      } else if (bars[i].second == 5) {  // packed on its own, or in a run with its neighbours
        EXPECT_TRUE(types[i] == 5 || types[i] == 6) << i << ": " << types[i];
      }
    }
    if (pack) {
      EXPECT_GT(packed, 500u);  // random bars near a kline pack too
      EXPECT_GT(in_runs, 10u) << "consecutive minutes with opens near each other join runs";
    }
    store_reader rd(f);
    market_event e;
    size_t n = 0;
    while (rd.next(e)) {
      ASSERT_LT(n, bars.size());
      expect_same(e, bars[n].first, "bar " + std::to_string(n));
      ++n;
    }
    EXPECT_EQ(rd.error(), "");
    EXPECT_EQ(n, bars.size());
  }
}

// A file's header, with its CRC set again.
void put_header(std::string& b, size_t at, uint64_t v, size_t n) {
  std::memset(b.data() + at, 0, n);  // bytes past the value's 8 are 0
  std::memcpy(b.data() + at, &v, std::min<size_t>(n, 8));
  const uint32_t crc = crc32c(b.data(), 60);
  std::memcpy(b.data() + 60, &crc, 4);
}

// A file closed in good order lists its record types in its header: store_record_kinds reads
// them there (one read, not one per block) as long as the file has the size it was closed with,
// and walks the blocks otherwise (a file still being written, one from a writer without the
// summary, one cut short). A block with record types the header does not list is damage.
TEST(Store, AClosedFileListsItsRecordTypesAndTheReaderHoldsItToThem) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "s.catsrec";
  // Bars, then a block of trades alone at the end.
  store_writer_options o;
  o.block_bytes = 1024;
  std::vector<market_event> bars;
  {
    store_writer s(f, o);
    for (int i = 0; i < 40; ++i) {
      bars.push_back(bar_event(0, t0 + int64_t{i} * 60'000'000'000, 1000 + i));
      s.append("BINANCE:BTCUSDT", bars.back());
    }
    s.flush();
    // Still being written: no summary yet, the blocks say what it holds.
    EXPECT_EQ(test::read_file(f).substr(28, 12), std::string(12, '\0'));
    EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 3));
    s.append("BINANCE:BTCUSDT", trade_event(t0 + 3'000'000'000'000, 5, 1, 1));
    s.close();
  }
  const std::string b = test::read_file(f);
  const std::vector<size_t> blocks = block_offsets(b);
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 1 | 1 << 3));
  // The summary is what store_record_kinds reads: a header that lists bars alone is believed ...
  std::string bars_only = b;
  put_header(bars_only, 28, 1 << 3, 2);
  test::write_file(f, bars_only);
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 3));
  // ... and the reader holds the file to it: the block of trades is damage, named or skipped.
  auto read_all = [&](bool skip) {
    store_reader r(f, {skip});
    market_event e;
    size_t n = 0;
    while (r.next(e)) {
      if (n < bars.size()) expect_same(e, bars[n], "bar " + std::to_string(n));
      ++n;
    }
    return std::make_tuple(n, r.error(), r.damaged_blocks());
  };
  const auto [strict_n, strict_error, strict_damaged] = read_all(false);
  EXPECT_EQ(strict_n, bars.size());
  EXPECT_EQ(strict_error, f.string() + ": at byte " + std::to_string(blocks.back()) +
                              ": block holds record types the file header does not list (0x2, "
                              "listed 0x8)");
  const auto [skip_n, skip_error, skip_damaged] = read_all(true);
  EXPECT_EQ(skip_n, bars.size());
  EXPECT_EQ(skip_error, "");
  EXPECT_EQ(skip_damaged, 1u);
  // A file of another size than it was closed with is walked block by block: cut after the
  // bars, it holds bars alone, whatever its header says.
  test::write_file(f, b.substr(0, blocks.back()));
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 3));
  EXPECT_EQ(std::get<0>(read_all(false)), bars.size());
  // So is a file without the summary (as the first writers of version 2 left it).
  std::string plain = b;
  put_header(plain, 28, 0, 12);
  test::write_file(f, plain);
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 1 | 1 << 3));
  EXPECT_EQ(std::get<0>(read_all(false)), bars.size() + 1);
  // A summary is believed only under the header's CRC.
  std::string bad = bars_only;
  bad[60] ^= 1;
  test::write_file(f, bad);
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 1 | 1 << 3));
  // A block's header is held to its records in turn: one that lists bars alone (its CRC set
  // again) while a trade follows the bars is damage from the trade on.
  {
    store_writer s(f, store_writer_options{.block_bytes = 1 << 16, .replace = true});
    for (const market_event& e : bars) s.append("BINANCE:BTCUSDT", e);
    s.append("BINANCE:BTCUSDT", trade_event(t0 + 3'000'000'000'000, 5, 1, 1));
    s.close();
  }
  std::string lying = test::read_file(f);
  const size_t data = block_offsets(lying).back();
  const uint16_t only_bars = 1 << 3;
  std::memcpy(lying.data() + data + 10, &only_bars, 2);
  uint64_t len = 0;
  std::memcpy(&len, lying.data() + data + 16, 8);
  const uint32_t crc = crc32c(lying.data() + data + 8, 56 + len);
  std::memcpy(lying.data() + data + 4, &crc, 4);
  put_header(lying, 28, 0, 12);  // and no summary: the block headers are all there is
  test::write_file(f, lying);
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 3));
  const auto [n, error, damaged] = read_all(false);
  EXPECT_EQ(n, bars.size());
  EXPECT_EQ(error, f.string() + ": at byte " + std::to_string(data + 64 + bars.size() * 112) +
                       ": record of type 1 that its block header does not list (in the block at "
                       "byte " +
                       std::to_string(data) + ")");
}

TEST(Store, ADamagedBlockIsNamedOrSkippedAndCounted) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "d.catsrec";
  const written w = sample(400);  // two symbols only in the first half
  write_store(f, w, 1024);
  std::string b = test::read_file(f);
  const std::vector<size_t> blocks = block_offsets(b);
  ASSERT_GT(blocks.size(), 6u);
  // Damage one record byte of the fourth block.
  const size_t bad = blocks[3];
  b[bad + 64 + 20] = static_cast<char>(b[bad + 64 + 20] ^ 0x40);
  test::write_file(f, b);
  uint32_t in_block = 0;
  std::memcpy(&in_block, b.data() + bad + 12, 4);

  {
    store_reader r(f);
    market_event e;
    size_t n = 0;
    while (r.next(e)) ++n;
    EXPECT_EQ(
        r.error(), f.string() + ": at byte " + std::to_string(bad) +
                       ": checksum mismatch in block (stored 0x" +
                       [&] {
                         char h[16];
                         uint32_t c = 0;
                         std::memcpy(&c, b.data() + bad + 4, 4);
                         std::snprintf(h, sizeof h, "%08x", c);
                         return std::string(h);
                       }() +
                       ", computed 0x" +
                       [&] {
                         char h[16];
                         uint64_t len = 0;
                         std::memcpy(&len, b.data() + bad + 16, 8);
                         std::snprintf(h, sizeof h, "%08x", crc32c(b.data() + bad + 8, 56 + len));
                         return std::string(h);
                       }() +
                       ")");
    EXPECT_GT(n, 0u);  // the blocks before it were read
  }
  {
    store_reader r(f, {true});
    market_event e;
    size_t n = 0;
    while (r.next(e)) ++n;
    EXPECT_EQ(r.error(), "");
    EXPECT_EQ(r.damaged_blocks(), 1u);
    EXPECT_EQ(n, w.events.size() - in_block);
    ASSERT_EQ(r.messages().size(), 1u);
    EXPECT_NE(r.messages()[0].find("at byte " + std::to_string(bad)), std::string::npos);
  }
  {
    // Batches skip the same block, and stop at the same error without salvage.
    std::vector<market_event> batch(7);
    store_reader skip(f, {true});
    size_t n = 0;
    for (size_t k; (k = skip.next_batch(batch.data(), batch.size())) != 0;) n += k;
    EXPECT_EQ(skip.error(), "");
    EXPECT_EQ(skip.damaged_blocks(), 1u);
    EXPECT_EQ(n, w.events.size() - in_block);
    store_reader one_by_one(f);
    market_event e;
    size_t before = 0;
    while (one_by_one.next(e)) ++before;
    store_reader strict(f);
    n = 0;
    for (size_t k; (k = strict.next_batch(batch.data(), batch.size())) != 0;) n += k;
    EXPECT_EQ(strict.error(), one_by_one.error());
    EXPECT_EQ(n, before);
    EXPECT_GT(n, 0u);
  }
  // A damaged block header (the magic): the reader finds the next block and goes on.
  b = test::read_file(f);
  b[bad + 1] = 'X';
  test::write_file(f, b);
  store_reader r(f, {true});
  market_event e;
  size_t n = 0;
  while (r.next(e)) ++n;
  EXPECT_EQ(r.damaged_blocks(), 1u);
  EXPECT_EQ(n, w.events.size() - in_block);
  EXPECT_EQ(r.damaged_bytes(), blocks[4] - bad);
}

// A replay that starts later passes over the blocks before its start by their headers alone (the
// mapping, or pread for a file with a pager) and reads every event from there exactly; damage
// inside a block it passes over does not matter, a header it cannot pass is reported.
TEST(Store, AReplayThatStartsLaterPassesOverTheBlocksBeforeIt) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "later.catsrec";
  written w = sample(6000);  // the third symbol, and its table, from event 3000 on
  for (size_t i = 0; i < w.events.size(); ++i) {  // in time order: bars received at their slot
    if (w.events[i].type == market_event::kind::bar)
      w.events[i] = bar_event(0, t0 + static_cast<int64_t>(i) * 1'000'000 - 60'000'000'001,
                              200 + static_cast<int64_t>(i));
    ASSERT_TRUE(i == 0 || w.events[i].ts > w.events[i - 1].ts) << i;
  }
  write_store(f, w);
  const size_t first = 4500;  // the first event the replay wants
  const int64_t start = w.events[first].ts;
  ASSERT_LT(w.events[first - 1].ts, start);
  store_reader_options paged;  // the pread path: the smallest window a pager takes
  paged.page_window = 16 * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  ASSERT_GT(fs::file_size(f), paged.page_window);
  for (const store_reader_options& o : {store_reader_options{}, paged}) {
    const std::string how = o.page_window == paged.page_window ? "pager" : "mapping";
    store_reader r(f, o);
    std::vector<std::string> resolved;
    r.set_resolver([&](const std::string& sym) {
      resolved.push_back(sym);
      return static_cast<uint32_t>(resolved.size());
    });
    const uint64_t passed = r.skip_before(start);
    // The symbols passed over are resolved at once, in the order a read from the start finds them.
    EXPECT_EQ(resolved,
              (std::vector<std::string>{"BINANCE:BTCUSDT", "OKX:ETH-USDT", "BINANCE:SOLUSDT"}))
        << how;
    EXPECT_GT(passed, fs::file_size(f) / 2) << how;
    EXPECT_LT(passed, fs::file_size(f) * 9 / 10) << how;
    std::vector<market_event> batch(5);
    std::vector<std::string> symbols;
    std::vector<market_event> got;
    for (size_t k; (k = r.next_batch(batch.data(), batch.size())) != 0;) {
      for (size_t i = 0; i < k; ++i) {
        got.push_back(batch[i]);
        if (batch[i].type == market_event::kind::book) got.back().book = nullptr;
      }
      symbols.push_back(r.symbol());  // the batch's last event's
    }
    EXPECT_EQ(r.error(), "") << how;
    EXPECT_EQ(r.skip_before(start), 0u) << "once reading has begun";
    // A suffix of what was written, from a block boundary at or before the first event wanted.
    ASSERT_GE(got.size(), w.events.size() - first) << how;
    ASSERT_LT(got.size(), w.events.size() - first + 200) << how;  // 4 KiB blocks
    const size_t from = w.events.size() - got.size();
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].type == market_event::kind::book) continue;  // its levels live in the reader
      expect_same(got[i], w.events[from + i], how + " event " + std::to_string(from + i));
    }
    EXPECT_EQ(symbols.back(), w.symbols.back()) << how;
    EXPECT_EQ(resolved.size(), 3u) << "nothing resolved twice";
    // record_reader passes the same blocks over.
    record_reader rr(f);
    rr.skip_before(start);
    market_event e;
    size_t n = 0;
    while (rr.next(e)) ++n;
    EXPECT_EQ(n, got.size()) << how;
  }
  {
    store_reader r(f);
    EXPECT_LT(r.skip_before(INT64_MIN), 4096u);  // the first symbol table at most
    market_event e;
    size_t n = 0;
    while (r.next(e)) ++n;
    EXPECT_EQ(n, w.events.size());
    EXPECT_EQ(r.error(), "");
    store_reader all(f);
    EXPECT_EQ(all.skip_before(INT64_MAX), fs::file_size(f) - 64);
    EXPECT_FALSE(all.next(e));
    EXPECT_EQ(all.error(), "");
  }
  // What the block headers say without the records (a streamed sweep's count and time range).
  const std::optional<store_extent> extent = store_extent_of(f);
  ASSERT_TRUE(extent.has_value());
  EXPECT_EQ(extent->records, w.events.size());
  EXPECT_EQ(extent->first_ts, w.events.front().ts);
  EXPECT_EQ(extent->last_ts, w.events.back().ts);
  std::string b = test::read_file(f);
  const std::vector<size_t> blocks = block_offsets(b);
  ASSERT_GT(blocks.size(), 10u);
  test::write_file(dir.path() / "cut.catsrec", b.substr(0, b.size() - 8));
  EXPECT_FALSE(store_extent_of(dir.path() / "cut.catsrec")) << "the last block runs past the end";
  EXPECT_FALSE(store_extent_of(dir.path() / "none.catsrec"));
  // A record byte of the third block: read from the start, the checksum fails; passed over, the
  // block is not read at all.
  b[blocks[2] + 64 + 20] = static_cast<char>(b[blocks[2] + 64 + 20] ^ 0x40);
  test::write_file(f, b);
  {
    store_reader r(f);
    market_event e;
    while (r.next(e)) {
    }
    EXPECT_NE(r.error().find("checksum mismatch"), std::string::npos) << r.error();
    store_reader later(f);
    later.skip_before(start);
    size_t n = 0;
    while (later.next(e)) ++n;
    EXPECT_EQ(later.error(), "");
    EXPECT_GE(n, w.events.size() - first);
  }
  // A damaged length that lands on a later block (the fifth block's, skipping the sixth): the
  // next header's number gives it away, and the walk goes back to the block whose length led
  // there, which reading then checks (its CRC no longer matches).
  {
    std::string lie = b;
    uint64_t len = 0;
    std::memcpy(&len, lie.data() + blocks[4] + 16, 8);
    len += blocks[6] - blocks[5];
    std::memcpy(lie.data() + blocks[4] + 16, &len, 8);
    test::write_file(f, lie);
    EXPECT_FALSE(store_extent_of(f)) << "a count left out: the records are read instead";
    store_reader r(f);
    EXPECT_EQ(r.skip_before(start), blocks[4] - 64);
    market_event e;
    while (r.next(e)) {
    }
    EXPECT_NE(r.error().find("at byte " + std::to_string(blocks[4]) + ": "), std::string::npos)
        << r.error();
  }
  // Times out of order in a header (the fifth block's first time after its last): the walk goes
  // back to the block before it.
  {
    std::string odd = b;
    int64_t last = 0;
    std::memcpy(&last, odd.data() + blocks[4] + 32, 8);
    const int64_t first = last + 1;
    std::memcpy(odd.data() + blocks[4] + 24, &first, 8);
    test::write_file(f, odd);
    EXPECT_FALSE(store_extent_of(f));
    store_reader r(f);
    EXPECT_EQ(r.skip_before(start), blocks[3] - 64);
  }
  // A header whose damage the chain cannot see, in the block that holds the start: its last time
  // lowered below the start (still after its first), its count zeroed, or its kind made one of a
  // newer writer's. The walk would pass it: as the last block with records passed, its CRC is
  // checked, fails, and reading starts there and reports it rather than lose the window's events.
  auto header_of = [&](size_t i, int64_t& first, int64_t& last) {
    uint16_t kind = 0;
    std::memcpy(&kind, b.data() + blocks[i] + 8, 2);
    std::memcpy(&first, b.data() + blocks[i] + 24, 8);
    std::memcpy(&last, b.data() + blocks[i] + 32, 8);
    return kind;
  };
  auto expect_found = [&](const std::string& file, int64_t from, size_t block, const char* what) {
    test::write_file(f, file);
    store_reader r(f);
    EXPECT_EQ(r.skip_before(from), blocks[block] - 64) << what;
    market_event e;
    while (r.next(e)) {
    }
    EXPECT_NE(r.error().find("at byte " + std::to_string(blocks[block]) + ": checksum mismatch"),
              std::string::npos)
        << what << ": " << r.error();
  };
  {
    size_t holder = 0;
    int64_t first_in = 0, last_in = 0;
    for (size_t i = 1; i < blocks.size() && holder == 0; ++i) {
      if (header_of(i, first_in, last_in) == 1 && last_in >= start) holder = i;  // data
    }
    ASSERT_GT(holder, 4u);
    ASSERT_LT(first_in, start) << "the start inside the block";
    const int64_t lowered = start - 1;
    const uint32_t none = 0;
    const uint16_t newer_kind = 7;
    std::string hidden = b;
    std::memcpy(hidden.data() + blocks[holder] + 32, &lowered, 8);
    expect_found(hidden, start, holder, "last time lowered");
    hidden = b;
    std::memcpy(hidden.data() + blocks[holder] + 12, &none, 4);
    expect_found(hidden, start, holder, "count zeroed");
    hidden = b;
    std::memcpy(hidden.data() + blocks[holder] + 8, &newer_kind, 2);
    expect_found(hidden, start, holder, "kind of a newer writer");
    // Records of a type this version skips, listed in a header: counted there, not in a read.
    hidden = b;
    const uint16_t newer_records = 1u << 9;
    std::memcpy(hidden.data() + blocks[holder] + 10, &newer_records, 2);
    test::write_file(f, hidden);
    EXPECT_FALSE(store_extent_of(f));
  }
  // The same with a symbol table between that block and the next data block (written before the
  // first data block of a new symbol): the table passes its CRC, the block before it does not.
  {
    size_t table = 0;
    for (size_t i = 2; i + 1 < blocks.size() && table == 0; ++i) {
      int64_t first = 0, last = 0;
      if (header_of(i, first, last) == 2 && header_of(i - 1, first, last) == 1) table = i;
    }
    ASSERT_GT(table, 0u) << "a symbol table after a data block";
    int64_t first = 0, last = 0;
    header_of(table - 1, first, last);
    ASSERT_LT(first, last);
    std::string hidden = b;
    const int64_t lowered = last - 1;
    std::memcpy(hidden.data() + blocks[table - 1] + 32, &lowered, 8);
    expect_found(hidden, last, table - 1, "a symbol table after the damaged block");
  }
  // The block after the symbol table that brings the third symbol cannot be passed (its magic):
  // the walk goes back onto the table, and its symbols are still resolved, in id order.
  {
    size_t table = 0;
    for (size_t i = 1; i + 1 < blocks.size() && table == 0; ++i) {
      uint16_t kind = 0;
      std::memcpy(&kind, b.data() + blocks[i] + 8, 2);
      if (kind == 2) table = i;  // a symbol table
    }
    ASSERT_GT(table, 0u) << "a second symbol table mid-file";
    std::string cut = b;
    cut[blocks[table + 1] + 1] = 'X';
    test::write_file(f, cut);
    store_reader r(f);
    std::vector<std::string> resolved;
    r.set_resolver([&](const std::string& sym) {
      resolved.push_back(sym);
      return static_cast<uint32_t>(resolved.size());
    });
    EXPECT_EQ(r.skip_before(start), blocks[table] - 64);
    EXPECT_EQ(resolved,
              (std::vector<std::string>{"BINANCE:BTCUSDT", "OKX:ETH-USDT", "BINANCE:SOLUSDT"}));
    EXPECT_EQ(r.symbol(), "") << "no record read yet";
  }
  // A block header it cannot pass (the fourth block's magic): it stops at the block before (whose
  // length led there), and reading checks that one: here the record byte flipped above.
  b[blocks[3] + 1] = 'X';
  test::write_file(f, b);
  store_reader r(f);
  EXPECT_EQ(r.skip_before(start), blocks[2] - 64);
  market_event e;
  while (r.next(e)) {
  }
  EXPECT_NE(r.error().find("at byte " + std::to_string(blocks[2]) + ": checksum mismatch"),
            std::string::npos)
      << r.error();
  EXPECT_FALSE(store_extent_of(f)) << "a header the walk cannot pass";
}

// Lengths from a hostile file: a header walk that would wrap around ends, and a block that counts
// more records than it holds is named instead of being read past its end.
TEST(Store, LyingLengthsNeitherHangNorReadPastABlock) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "lie.catsrec";
  {
    store_writer s(f);
    s.append("BINANCE:BTCUSDT", trade_event(t0, 1, 1, 1));
    s.close();
  }
  std::string b = test::read_file(f);
  const std::vector<size_t> blocks = block_offsets(b);
  ASSERT_EQ(blocks.size(), 2u);  // the symbol table, the data
  std::string wrap = b;
  const uint64_t huge = ~uint64_t{63};  // 64 + this wraps to 0: the same header forever
  std::memcpy(wrap.data() + blocks[1] + 16, &huge, 8);
  put_header(wrap, 28, 0, 12);  // no summary: the headers are walked
  test::write_file(f, wrap);
  EXPECT_EQ(store_record_kinds(f), std::nullopt);
  // One record more than the block holds, with a valid CRC.
  std::string more = b;
  const uint32_t count = 2;
  std::memcpy(more.data() + blocks[1] + 12, &count, 4);
  uint64_t len = 0;
  std::memcpy(&len, more.data() + blocks[1] + 16, 8);
  const uint32_t crc = crc32c(more.data() + blocks[1] + 8, 56 + len);
  std::memcpy(more.data() + blocks[1] + 4, &crc, 4);
  test::write_file(f, more);
  store_reader r(f);
  market_event e;
  EXPECT_TRUE(r.next(e));
  EXPECT_FALSE(r.next(e));
  EXPECT_NE(r.error().find("the block's count is larger than its records"), std::string::npos)
      << r.error();
}

// The same lie about a block of bars read in batches, where runs of bars are decoded at once: the
// run stops at the block's last record and the count is named as next() names it. The file ends
// on a page boundary right after that block, where a read past it would fault.
TEST(Store, ABlockOfBarsCountingMoreThanItHoldsIsNamedInBatchesToo) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "lie.catsrec";
  {
    store_writer s(f, store_writer_options{.bar_runs = false});  // packed bars, one a record
    for (int i = 0; i < 53; ++i) {
      s.append("BINANCE:BTCUSDT", kline(t0 + int64_t{i} * 60'000'000'000, 4'199'902'000'000));
      if (i == 50) s.flush();  // 51 bars, then 2
    }
    s.close();
  }
  std::string b = test::read_file(f);
  ASSERT_EQ(b.size(), 4096u);
  const size_t last = block_offsets(b).back();
  const uint32_t count = 3;
  std::memcpy(b.data() + last + 12, &count, 4);
  const uint32_t crc = crc32c(b.data() + last + 8, 56 + 2 * 72);
  std::memcpy(b.data() + last + 4, &crc, 4);
  test::write_file(f, b);
  const std::string want = f.string() + ": at byte " + std::to_string(b.size()) +
                           ": malformed record (the block's count is larger than its records) "
                           "(in the block at byte " +
                           std::to_string(last) + ")";
  store_reader one(f);
  market_event e;
  size_t n = 0;
  while (one.next(e)) ++n;
  EXPECT_EQ(n, 53u);
  EXPECT_EQ(one.error(), want);
  store_reader batched(f);
  std::vector<market_event> got(64);
  size_t m = 0;
  while (const size_t k = batched.next_batch(got.data(), got.size())) m += k;
  EXPECT_EQ(m, 53u);
  EXPECT_EQ(batched.records_read(), 53u);
  EXPECT_EQ(batched.error(), want);
}

// Consecutive bars of one symbol that fit are written as bar runs (type 6), 44 bytes a bar, and
// read back exactly, one by one and in batches of any size. A run ends at a gap, another interval,
// another symbol, a price step finer than its bars would fit in, a flush, and a full block.
TEST(Store, ConsecutiveBarsShareRunsOf44BytesABar) {
  test::temp_dir dir;
  std::mt19937_64 rng(5);
  std::vector<std::pair<std::string, market_event>> bars;
  int64_t open_time = t0, price = 4'199'902'000'000;
  auto add = [&](const std::string& symbol, int64_t interval = 60'000'000'000) {
    market_event e = kline(open_time, price);
    cats_bar_event_t& b = e.bar;
    auto ticks = [&](int64_t most) {  // on the 0.01 grid
      return (static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * most + 1)) - most) * 1'000'000;
    };
    b.interval_ns = interval;
    b.header.exchange_ts_ns = b.header.local_ts_ns = open_time + interval - 1'000'000;
    b.high = b.open + std::abs(ticks(20'000));
    b.low = b.open - std::abs(ticks(20'000));
    b.close = b.open + ticks(20'000);
    b.volume = static_cast<int64_t>(rng() % 100'000'000) * 1'000;  // 5 decimals
    b.taker_buy_volume = b.volume / 2'000 * 1'000;
    b.quote_volume = static_cast<int64_t>(rng() >> 4);  // any, stored whole
    b.taker_buy_quote_volume = b.quote_volume / 3;
    b.trade_count = static_cast<int64_t>(rng() % 50'000);
    e.ts = b.header.local_ts_ns;
    price = b.close + ticks(50);
    open_time += interval;
    bars.emplace_back(symbol, e);
    return &bars.back().second.bar;
  };
  auto write = [&](const fs::path& f, size_t flush_at = SIZE_MAX) {
    store_writer s(f, store_writer_options{.replace = true});
    for (size_t i = 0; i < bars.size(); ++i) {
      s.append(bars[i].first, bars[i].second);
      if (i == flush_at) s.flush();
    }
    s.close();
  };
  auto expect_read_back = [&](const fs::path& f) {
    for (const size_t batch : {size_t{0}, size_t{1}, size_t{3}, size_t{64}, size_t{1000}}) {
      const std::string how = "batches of " + std::to_string(batch);
      store_reader r(f);
      std::vector<market_event> got(std::max<size_t>(batch, 1));
      size_t n = 0;
      for (;;) {
        const size_t k = batch == 0 ? (r.next(got[0]) ? 1 : 0) : r.next_batch(got.data(), batch);
        if (k == 0) break;
        for (size_t i = 0; i < k && n + i < bars.size(); ++i)
          expect_same(got[i], bars[n + i].second, how + ", bar " + std::to_string(n + i));
        if (batch == 0 && n < bars.size()) {
          EXPECT_EQ(r.symbol(), bars[n].first) << n;
        }
        n += k;
      }
      EXPECT_EQ(r.error(), "") << how;
      EXPECT_EQ(n, bars.size()) << how;
      EXPECT_EQ(r.records_read(), bars.size()) << how;
    }
  };
  for (int i = 0; i < 6000; ++i) add("BINANCE:BTCUSDT");
  const fs::path f = dir.path() / "runs.catsrec";
  write(f);
  const std::string b = test::read_file(f);
  const std::vector<int> types = record_types(b);
  ASSERT_EQ(types.size(), bars.size());
  EXPECT_EQ(std::count(types.begin(), types.end(), 6), 6000) << "every bar in a run";
  EXPECT_LE(static_cast<double>(b.size()) / 6000.0, 45.0) << b.size() << " bytes";
  EXPECT_EQ(store_record_kinds(f), std::optional<uint16_t>(1 << 6));
  const std::optional<store_extent> extent = store_extent_of(f);
  ASSERT_TRUE(extent.has_value());
  EXPECT_EQ(extent->records, 6000u);
  EXPECT_EQ(extent->last_ts, bars.back().second.ts);
  expect_read_back(f);

  // Where runs end: each bar still reads back exactly.
  open_time += 60'000'000'000;  // a minute missing
  for (int i = 0; i < 10; ++i) add("BINANCE:BTCUSDT");
  add("BINANCE:ETHUSDT");  // another symbol between two bars of a run
  for (int i = 0; i < 10; ++i) add("BINANCE:BTCUSDT");
  add("BINANCE:BTCUSDT", 300'000'000'000);  // five minutes
  add("BINANCE:BTCUSDT", 300'000'000'000);
  for (int i = 0; i < 10; ++i) add("BINANCE:BTCUSDT");
  cats_bar_event_t* odd = add("BINANCE:BTCUSDT");
  odd->close = odd->open + 1;  // a step of 10^-8: the run's bars do not fit units of 1
  for (int i = 0; i < 10; ++i) add("BINANCE:BTCUSDT");
  const fs::path g = dir.path() / "breaks.catsrec";
  write(g, 3000);
  const std::vector<int> broken = record_types(test::read_file(g));
  ASSERT_EQ(broken.size(), bars.size());
  EXPECT_EQ(broken[6010], 5) << "the other symbol's bar, alone";
  EXPECT_GT(std::count(broken.begin(), broken.end(), 6), 6000 - 64);
  expect_read_back(g);

  // Runs with their counts damaged (the block's CRC set again): named alike one by one and in
  // batches.
  const size_t first = block_offsets(b).at(1);  // the first data block, after the symbol table
  ASSERT_EQ(b[first + 8], 1);
  ASSERT_EQ(b[first + 64], 6);
  auto damaged = [&](const char* what, size_t at, uint32_t value, const std::string& want) {
    std::string d = b;
    std::memcpy(d.data() + at, &value, 4);
    uint64_t len = 0;
    std::memcpy(&len, d.data() + first + 16, 8);
    const uint32_t crc = crc32c(d.data() + first + 8, 56 + len);
    std::memcpy(d.data() + first + 4, &crc, 4);
    const fs::path h = dir.path() / "damaged.catsrec";
    test::write_file(h, d);
    store_reader one(h);
    market_event e;
    size_t n = 0;
    while (one.next(e)) ++n;
    EXPECT_NE(one.error().find(want), std::string::npos) << what << ": " << one.error();
    store_reader batched(h);
    std::vector<market_event> got(100);
    size_t m = 0;
    while (const size_t k = batched.next_batch(got.data(), got.size())) m += k;
    EXPECT_EQ(batched.error(), one.error()) << what;
    EXPECT_EQ(m, n) << what;
    return n;
  };
  uint32_t count = 0, run_bars = 0;
  std::memcpy(&count, b.data() + first + 12, 4);
  std::memcpy(&run_bars, b.data() + first + 64 + 32, 4);
  ASSERT_EQ(count, run_bars) << "one run fills the block";
  const std::string at_run = "at byte " + std::to_string(first + 64) + ": malformed bar run";
  EXPECT_EQ(damaged("block count one short", first + 12, count - 1,
                    at_run + " (" + std::to_string(run_bars) + " bars)"),
            0u);
  EXPECT_EQ(damaged("no bar", first + 64 + 32, 0, at_run + " (0 bars)"), 0u);
  EXPECT_EQ(damaged("more bars than the record holds", first + 64 + 32, run_bars + 1, at_run), 0u);
  EXPECT_EQ(damaged("block count one more", first + 12, count + 1,
                    "the block's count is larger than its records"),
            run_bars);

  // The run's layout, byte by byte (docs/record_format.md, "The bar run").
  const char* run = b.data() + first + 64;
  auto i64 = [&](size_t at) {
    int64_t v = 0;
    std::memcpy(&v, run + at, 8);
    return v;
  };
  auto u32 = [&](size_t at) {
    uint32_t v = 0;
    std::memcpy(&v, run + at, 4);
    return v;
  };
  const cats_bar_event_t& b0 = bars[0].second.bar;
  EXPECT_EQ(uint8_t(run[1]), 6 | 3 << 4);  // prices in 10^6 (0.01), volumes in 10^3
  EXPECT_EQ(u32(4), (40 + 44 * run_bars + 7) / 8 * 8);
  EXPECT_EQ(i64(8), t0);
  EXPECT_EQ(i64(16), b0.open);                           // the base open
  EXPECT_EQ(u32(24), 60'000u);                           // interval, ms
  EXPECT_EQ(static_cast<int32_t>(u32(28)), -1'000'000);  // close - open - interval, ns
  EXPECT_EQ(u32(32), run_bars);
  EXPECT_EQ(u32(36), 0u);
  for (size_t k : {size_t{0}, size_t{1}, size_t{run_bars - 1}}) {
    const cats_bar_event_t& x = bars[k].second.bar;
    const size_t at = 40 + 44 * k;
    EXPECT_EQ(i64(at), x.quote_volume) << k;
    EXPECT_EQ(i64(at + 8), x.taker_buy_quote_volume) << k;
    EXPECT_EQ(static_cast<int32_t>(u32(at + 16)), (x.open - b0.open) / 1'000'000) << k;
    EXPECT_EQ(static_cast<int32_t>(u32(at + 20)), (x.high - x.open) / 1'000'000) << k;
    EXPECT_EQ(static_cast<int32_t>(u32(at + 24)), (x.low - x.open) / 1'000'000) << k;
    EXPECT_EQ(static_cast<int32_t>(u32(at + 28)), (x.close - x.open) / 1'000'000) << k;
    EXPECT_EQ(u32(at + 32), x.volume / 1'000) << k;
    EXPECT_EQ(u32(at + 36), x.taker_buy_volume / 1'000) << k;
    EXPECT_EQ(u32(at + 40), x.trade_count) << k;
  }

  // A run that began with flat, empty bars (which allow the largest units) takes a moving bar by
  // writing its bars again in the finer units the moving bar needs: one run for all of them.
  bars.clear();
  open_time = t0;
  for (int i = 0; i < 4; ++i) {
    cats_bar_event_t* flat = add("BINANCE:BTCUSDT");
    flat->high = flat->low = flat->close = flat->open;
    flat->volume = flat->taker_buy_volume = flat->trade_count = 0;
  }
  for (int i = 0; i < 50; ++i) add("BINANCE:BTCUSDT");
  bars[30].second.bar.close = bars[30].second.bar.open + 30'000;  // then units of 10^4
  const fs::path flat = dir.path() / "flat.catsrec";
  write(flat);
  const std::string fb = test::read_file(flat);
  const std::vector<int> ft = record_types(fb);
  EXPECT_EQ(std::count(ft.begin(), ft.end(), 6), 54);
  const size_t data = block_offsets(fb).at(1);
  EXPECT_EQ(fb[data + 64], 6);
  uint32_t in_run = 0;
  std::memcpy(&in_run, fb.data() + data + 64 + 32, 4);
  EXPECT_EQ(in_run, 54u) << "one run";
  EXPECT_EQ(uint8_t(fb[data + 64 + 1]), 4 | 3 << 4);
  expect_read_back(flat);
  // A bar that needs finer units but would not join the run anyway (it closes 1 ms later) leaves
  // the run as it was, in the units of its empty bars, and is packed on its own.
  bars.resize(4);
  open_time = t0 + 4 * int64_t{60'000'000'000};
  cats_bar_event_t* late = add("BINANCE:BTCUSDT");
  late->header.exchange_ts_ns = late->header.local_ts_ns = late->header.local_ts_ns + 1'000'000;
  bars.back().second.ts = late->header.local_ts_ns;
  write(flat);
  const std::string lb = test::read_file(flat);
  EXPECT_EQ(record_types(lb), (std::vector<int>{6, 6, 6, 6, 5}));
  EXPECT_EQ(uint8_t(lb[data + 64 + 1]) >> 4, 15) << "volumes still in units of 10^15";
  expect_read_back(flat);
}

TEST(Store, ACutFileEndsInATruncatedBlockAndEmptyFilesAreNamed) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "c.catsrec";
  const written w = sample(300);
  write_store(f, w, 1024);
  const std::string b = test::read_file(f);
  const std::vector<size_t> blocks = block_offsets(b);
  test::write_file(f, b.substr(0, b.size() - 9));
  {
    store_reader r(f);
    market_event e;
    while (r.next(e)) {
    }
    EXPECT_NE(
        r.error().find(": at byte " + std::to_string(blocks.back()) + ": truncated block (needs "),
        std::string::npos)
        << r.error();
  }
  test::write_file(f, "");
  store_reader empty(f);
  market_event e;
  EXPECT_FALSE(empty.next(e));
  EXPECT_NE(empty.error().find("empty file"), std::string::npos);
  test::write_file(f, b.substr(0, 40));
  record_reader shortr(f);
  EXPECT_FALSE(shortr.next(e));
  EXPECT_EQ(shortr.error(), f.string() +
                                ": truncated file header at byte 0 (needs 64 bytes, 40 "
                                "left)");
  std::string bad_head = b;
  bad_head[20] ^= 1;
  test::write_file(f, bad_head);
  try {
    store_reader r(f);
    ADD_FAILURE() << "a damaged file header must throw";
  } catch (const std::runtime_error& x) {
    EXPECT_NE(std::string(x.what()).find("file header checksum mismatch"), std::string::npos);
  }
}

// A disk that fills up (here: the file size limit) leaves a file that ends on a block boundary;
// everything up to it reads back without an error.
TEST(Store, AWriterOutOfRoomLeavesWholeBlocks) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "full.catsrec";
  const written w = sample(3000);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit lim = old;
  lim.rlim_cur = 20000;  // bytes
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::string failure;
  size_t appended = 0;
  {
    store_writer_options o;
    o.block_bytes = 3000;
    store_writer s(f, o);
    try {
      for (; appended < w.events.size(); ++appended)
        s.append(w.symbols[appended], w.events[appended]);
      s.close();
    } catch (const std::runtime_error& x) {
      failure = x.what();
    }
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_NE(failure.find("cannot write " + f.string()), std::string::npos) << failure;
  EXPECT_LT(appended, w.events.size());
  const std::string b = test::read_file(f);
  EXPECT_LE(b.size(), 20000u);
  std::vector<size_t> blocks = block_offsets(b);
  ASSERT_FALSE(blocks.empty());
  uint64_t last_len = 0;
  std::memcpy(&last_len, b.data() + blocks.back() + 16, 8);
  EXPECT_EQ(blocks.back() + 64 + last_len, b.size()) << "the file ends on a block boundary";
  store_reader r(f);
  market_event e;
  size_t n = 0;
  while (r.next(e)) expect_same(e, w.events[n++], "after the disk filled");
  EXPECT_EQ(r.error(), "");
  EXPECT_GT(n, 0u);
}

TEST(Store, AnExistingFileIsNeverOverwrittenUnlessReplaced) {
  test::temp_dir dir;
  const fs::path f = dir.path() / "x.catsrec";
  test::write_file(f, "keep me");
  try {
    store_writer s(f);
    ADD_FAILURE() << "must not overwrite";
  } catch (const std::runtime_error& x) {
    EXPECT_NE(std::string(x.what()).find("will not overwrite " + f.string()), std::string::npos);
  }
  EXPECT_EQ(test::read_file(f), "keep me");
  {
    store_writer_options o;
    o.replace = true;
    store_writer s(f, o);
    s.append("BINANCE:BTCUSDT", trade_event(t0, 1, 1, 1));
    // Destroyed without close(): nothing is replaced.
  }
  EXPECT_EQ(test::read_file(f), "keep me");
  EXPECT_FALSE(fs::exists(f.string() + ".part"));
  {
    store_writer_options o;
    o.replace = true;
    store_writer s(f, o);
    s.append("BINANCE:BTCUSDT", trade_event(t0, 1, 1, 1));
    s.close();
  }
  EXPECT_EQ(record_file_version(f), 4);
}

// The recorder writes the block store by default; each flush ends a block.
TEST(Store, TheRecorderWritesBlocksAndEachFlushEndsOne) {
  test::temp_dir dir;
  record_writer_options o;
  o.dir = dir.path();
  o.prefix = "md";
  fs::path file;
  {
    record_writer w(o);
    const written s = sample(40);
    for (size_t i = 0; i < s.events.size(); ++i) {
      w.write(s.symbols[i], s.events[i]);
      if (i % 10 == 9) w.flush();
    }
    file = w.current_file();
    // Flushed blocks can be read while the writer is open.
    store_reader r(file);
    market_event e;
    size_t n = 0;
    while (r.next(e)) ++n;
    EXPECT_EQ(n, 40u);
    EXPECT_EQ(r.error(), "");
  }
  EXPECT_EQ(record_file_version(file), 4);
  EXPECT_EQ(file.filename(), "md-2024-02-01.catsrec");
}

}  // namespace
}  // namespace cats
