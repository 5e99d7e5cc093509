// Fuzz target: any bytes fed to the block-store reader (.catsrec versions 2 and 3, store_reader)
// must give events, then a clean end or an error that names the file, never a crash, a hang or an
// out-of-bounds read (run it under ASan); with skip_damaged the reader must still end. What it
// returns must be stable: the events written again by store_writer and read back are the same.
// Each input is read as it is and once more with its checksums recomputed, so that mutations
// reach the record decoder instead of stopping at the first CRC. Driven like record_fuzz.cpp.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <algorithm>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cats/record/store.hpp"
#include "cats/util/crc32c.hpp"
#include "fuzz_common.hpp"

namespace {

using cats::fuzz::require;

uint64_t load(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
void store_le(std::string& s, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
}

// The file header's and every whole block's CRC-32C recomputed.
std::string with_fixed_checksums(const uint8_t* data, size_t n) {
  std::string s(reinterpret_cast<const char*>(data), n);
  if (n < 64) return s;
  store_le(s, 60, cats::crc32c(s.data(), 60), 4);
  for (size_t at = 64; n - at >= 64 && std::memcmp(s.data() + at, "CBLK", 4) == 0;) {
    const uint64_t len = load(s.data() + at + 16, 8);
    if (len > n - at - 64) break;
    store_le(s, at + 4, cats::crc32c(s.data() + at + 8, 56 + len), 4);
    at += 64 + len;
  }
  return s;
}

struct read_back {
  std::vector<std::string> symbols;
  std::vector<cats::market_event> events;
  std::vector<cats::book_update> books;
  std::string error;
};

// Everything a reader gives, record by record, or with `batch` through next_batch() in batches of
// that many (no symbols then); the book updates copied (the reader reuses its own).
read_back read_all(const std::string& path, bool skip, size_t batch = 0,
                   std::optional<int64_t> start = std::nullopt) {
  read_back out;
  try {
    cats::store_reader r(path, {skip});
    if (start) require(r.skip_before(*start) <= std::filesystem::file_size(path));
    cats::market_event e;
    size_t n = 0;
    if (batch > 0) {
      std::vector<cats::market_event> got(batch);
      while (const size_t k = r.next_batch(got.data(), batch)) {
        require(k <= batch);
        for (size_t i = 0; i < k; ++i) {
          require(got[i].type != cats::market_event::kind::none);
          // A book ends its batch: its levels are the reader's until the next call.
          require(got[i].type != cats::market_event::kind::book || i + 1 == k);
          if (got[i].type == cats::market_event::kind::book) out.books.push_back(*got[i].book);
          out.events.push_back(got[i]);
          require(++n <= (1u << 22));
        }
      }
    }
    while (batch == 0 && r.next(e)) {
      require(e.type != cats::market_event::kind::none && !r.symbol().empty());
      out.symbols.push_back(r.symbol());
      if (e.type == cats::market_event::kind::book) out.books.push_back(*e.book);
      out.events.push_back(e);
      require(++n <= (1u << 22));  // each record is at least 8 bytes of a 64 KiB input
    }
    require(r.records_read() == n);
    out.error = r.error();
    require(out.error.empty() || out.error.rfind(path + ": ", 0) == 0);
    require(!skip || out.error.empty() || out.error.find("file header") != std::string::npos ||
            out.error.find("empty file") != std::string::npos);
  } catch (const std::runtime_error& e) {
    require(std::string(e.what()).find(path) != std::string::npos);
    out.error = e.what();
  }
  size_t b = 0;
  for (auto& e : out.events)
    if (e.type == cats::market_event::kind::book) e.book = &out.books[b++];
  return out;
}

bool same(const cats::market_event& a, const cats::market_event& b) {
  if (a.type != b.type || a.ts != b.ts) return false;
  // The event's own struct (the union's bytes past it are what an earlier event left there),
  // up to a trade's tail padding.
  if (a.type == cats::market_event::kind::trade)
    return std::memcmp(&a.trade, &b.trade,
                       offsetof(cats_trade_event_t, aggressor_side) + sizeof(int32_t)) == 0;
  if (a.type == cats::market_event::kind::quote)
    return std::memcmp(&a.quote, &b.quote, sizeof a.quote) == 0;
  if (a.type != cats::market_event::kind::book)
    return std::memcmp(&a.bar, &b.bar, sizeof a.bar) == 0;
  const cats::book_update &x = *a.book, &y = *b.book;
  auto levels_equal = [](const std::vector<cats::book_level>& p,
                         const std::vector<cats::book_level>& q) {
    if (p.size() != q.size()) return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i].price != q[i].price || p[i].quantity != q[i].quantity) return false;
    return true;
  };
  return a.book_flags == b.book_flags && x.exchange_ts_ns == y.exchange_ts_ns &&
         x.local_ts_ns == y.local_ts_ns && x.snapshot == y.snapshot && x.first_seq == y.first_seq &&
         x.last_seq == y.last_seq && x.prev_seq == y.prev_seq && x.has_checksum == y.has_checksum &&
         x.checksum == y.checksum && levels_equal(x.bids, y.bids) && levels_equal(x.asks, y.asks);
}

const std::filesystem::path& dir() {
  return cats::fuzz::work_dir("cats-store-fuzz", [](const std::filesystem::path&) { return true; });
}

void check_bytes(const std::string& bytes) {
  const int fd = memfd_create("store", 0);
  if (fd < 0) return;
  for (size_t off = 0; off < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  // A header walk: must end, whatever the lengths say.
  const std::optional<uint16_t> kinds = cats::store_record_kinds(path);
  try {
    (void)cats::record_file_version(path);
  } catch (const std::runtime_error&) {
  }
  const std::optional<cats::store_extent> extent = cats::store_extent_of(path);
  const read_back strict = read_all(path, false);
  const read_back skipping = read_all(path, true);
  // The count from the block headers alone (a streamed sweep's): what a clean strict read gives,
  // or more where a block's records of a type this version skips are counted in its header but
  // not listed in its record types.
  if (extent && strict.error.empty()) require(extent->records >= strict.events.size());
  // In batches (runs of bars decoded at once): the same events and the same end.
  for (const bool skip : {false, true}) {
    const read_back& one = skip ? skipping : strict;
    const read_back batched = read_all(path, skip, 1 + bytes.size() % 67);
    require(batched.error == one.error && batched.events.size() == one.events.size());
    for (size_t i = 0; i < one.events.size(); ++i) require(same(batched.events[i], one.events[i]));
  }
  // Passing over the blocks before a start (a later window): what is read from there is the end
  // of a clean strict read (a block that lists a smaller symbol table than the chain had loaded
  // may fail on its own), and never a crash on any file.
  const int64_t start =
      strict.events.empty() ? int64_t{0} : strict.events[strict.events.size() / 2].ts;
  const read_back later = read_all(path, false, 0, start);
  if (strict.error.empty() && later.error.empty()) {
    require(later.events.size() <= strict.events.size());
    const size_t from = strict.events.size() - later.events.size();
    for (size_t i = 0; i < later.events.size(); ++i)
      require(same(later.events[i], strict.events[from + i]));
  }
  close(fd);
  require(skipping.events.size() >= strict.events.size());
  // What the file says it holds is all a strict reader gives (a replay is set up from it). A
  // skipping one may resync to a block off the chain of headers that store_record_kinds walks
  // in a file without a summary.
  if (kinds) {
    for (const cats::market_event& e : strict.events) {
      const auto type = static_cast<unsigned>(e.type);  // a packed bar (5) reads as a bar
      require(((*kinds >> type) & 1) != 0 ||
              (e.type == cats::market_event::kind::bar && (*kinds & cats::store_bar_kinds) != 0));
    }
  }
  if (dir().empty() || strict.events.empty()) return;
  // Written again and read back: the same events.
  const std::filesystem::path again = dir() / "again.catsrec";
  std::filesystem::remove(again);
  {
    cats::store_writer w(again);
    for (size_t i = 0; i < strict.events.size(); ++i) {
      cats::market_event e = strict.events[i];
      if (e.type != cats::market_event::kind::book) e.bar.header.instrument_id = 0;
      w.append(strict.symbols[i], e);
    }
    w.close();
  }
  const read_back twice = read_all(again.string(), false);
  require(twice.error.empty() && twice.events.size() == strict.events.size());
  for (size_t i = 0; i < twice.events.size(); ++i) {
    cats::market_event want = strict.events[i];
    // The reader fills the header's id and size itself; the symbols say which instrument.
    require(twice.symbols[i] == strict.symbols[i]);
    if (want.type != cats::market_event::kind::book) {
      cats::market_event got = twice.events[i];
      got.bar.header.instrument_id = want.bar.header.instrument_id = 0;
      require(same(got, want));
    } else {
      require(same(twice.events[i], want));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_bytes(std::string(reinterpret_cast<const char*>(data), size));
  const std::string fixed = with_fixed_checksums(data, size);
  if (size == 0 || std::memcmp(fixed.data(), data, size) != 0) check_bytes(fixed);
  return 0;
}

// The valid input the mutation driver starts from: a small store of one to three symbols with
// every record type, small blocks, written by store_writer.
extern const char* const fuzz_target_name = "store_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  if (dir().empty()) return {};
  static int serial = 0;
  const std::filesystem::path file = dir() / ("seed-" + std::to_string(++serial) + ".catsrec");
  static const char* const names[] = {"BINANCE:BTCUSDT", "OKX:BTC-USDT", "BINANCE:ETHUSDT"};
  {
    cats::store_writer_options o;
    o.block_bytes = 256 + next(rng) % 1024;
    cats::store_writer w(file, o);
    const uint64_t symbols = 1 + next(rng) % 3;
    const int count = 4 + static_cast<int>(next(rng) % 40);
    int64_t price = 4'206'650'000'000;
    const int64_t t0 = 1'706'745'600'000'000'000;
    cats::book_update u;
    for (int i = 0; i < count; ++i) {
      const int64_t ts = t0 + i * 1'000'000 + static_cast<int64_t>(next(rng) % 1000);
      price += static_cast<int64_t>(next(rng) % 2'001) * 1'000'000 - 1'000'000'000;
      const std::string sym = names[next(rng) % symbols];
      const uint64_t pick = next(rng) % 4;
      if (pick == 0) {
        cats_trade_event_t t{};
        t.header.exchange_ts_ns = ts - 3;
        t.header.local_ts_ns = ts;
        t.price = price;
        t.quantity = static_cast<int64_t>(next(rng) % 100'000'000);
        t.trade_id = next(rng);
        t.aggressor_side = static_cast<int32_t>(next(rng) % 3);
        w.append(sym, cats::market_event::of(t, ts));
      } else if (pick == 1) {
        cats_quote_event_t q{};
        q.header.exchange_ts_ns = ts - 1;
        q.header.local_ts_ns = ts;
        q.bid_price = price - 1'000'000;
        q.bid_quantity = static_cast<int64_t>(next(rng) % 100'000'000);
        q.ask_price = price;
        q.ask_quantity = static_cast<int64_t>(next(rng) % 100'000'000);
        w.append(sym, cats::market_event::of(q, ts));
      } else if (pick == 2) {
        cats_bar_event_t b{};
        b.header.exchange_ts_ns = ts;
        b.header.local_ts_ns = ts + static_cast<int64_t>(next(rng) % 2);  // 1: stored whole
        b.open_time_ns = ts - 60'000'000'000;
        b.interval_ns = 60'000'000'000;
        const bool flat = next(rng) % 2 == 0;  // a run from it starts in the largest units
        b.open = b.close = price;
        b.high = flat ? price : price + 5;
        b.low = flat ? price : price - 5;
        b.volume = flat ? 0 : static_cast<int64_t>(next(rng) % 10'000'000'000);
        w.append(sym, cats::market_event::of(b, ts));
        // Then the next minutes' bars, which the writer puts in a bar run with it where they fit.
        const bool packable = b.header.local_ts_ns == ts;
        for (uint64_t k = next(rng) % 6; k > 0 && packable; --k) {
          b.open_time_ns += b.interval_ns;
          b.header.exchange_ts_ns = b.header.local_ts_ns = b.header.exchange_ts_ns + b.interval_ns;
          b.open = b.close;
          b.close = b.open + static_cast<int64_t>(next(rng) % 3) * 1'000'000 - 1'000'000;
          b.high = std::max(b.open, b.close) + 1'000'000;
          b.low = std::min(b.open, b.close) - 1'000'000;
          b.volume = static_cast<int64_t>(next(rng) % 1'000) * 1'000;
          b.trade_count = static_cast<int64_t>(next(rng) % 100);
          w.append(sym, cats::market_event::of(b, b.header.local_ts_ns));
        }
      } else {
        u = cats::book_update{};
        u.exchange_ts_ns = ts - 2;
        u.local_ts_ns = ts;
        u.snapshot = next(rng) % 4 == 0;
        u.has_checksum = next(rng) % 2 == 0;
        u.checksum = static_cast<int32_t>(next(rng));
        u.first_seq = 100u + static_cast<uint64_t>(i);
        u.last_seq = u.first_seq + 3;
        u.prev_seq = -1;
        for (uint64_t k = next(rng) % 5; k > 0; --k)
          u.bids.push_back({price - static_cast<int64_t>(k), static_cast<int64_t>(k)});
        for (uint64_t k = next(rng) % 5; k > 0; --k)
          u.asks.push_back({price + static_cast<int64_t>(k), 0});
        w.append(sym, cats::market_event::of(u, static_cast<uint32_t>(next(rng) % 3), ts));
      }
    }
    w.close();
  }
  std::string bytes;
  {
    const int fd = ::open(file.c_str(), O_RDONLY);
    char buf[4096];
    for (ssize_t n; fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0;)
      bytes.append(buf, static_cast<size_t>(n));
    if (fd >= 0) ::close(fd);
  }
  std::filesystem::remove(file);
  return bytes;
}
