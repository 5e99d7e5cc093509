// Fuzz target: any bytes fed to the .catsrec reader (record_reader) must give exactly the events
// that an independent decoder of docs/record_format.md finds in them, then a clean end or an error
// that names the file, never a crash, a hang, a wrong value or an out-of-bounds read (run it under
// ASan). Each input is read as it is and once more with its checksums recomputed, so that
// mutations reach the record decoder instead of stopping at the first CRC (the first read without
// a symbol resolver, the second with one). Driven like kline_csv_fuzz.cpp: libFuzzer with clang,
// the seeded mutation driver in the test suite.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cats/core/market_event.hpp"
#include "cats/record/record_file.hpp"

namespace {

constexpr char magic[8] = {'C', 'A', 'T', 'S', 'R', 'E', 'C', '\0'};
constexpr size_t header_size = 24;
constexpr uint64_t max_payload = 64u << 20;

// zlib's CRC-32 (reflected polynomial 0xEDB88320), written again here so that the reader's own
// slicing-by-8 tables are checked against an independent one.
constexpr std::array<uint32_t, 256> crc_table = [] {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}();

uint32_t crc32_of(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

// Little-endian loads and stores of `n` bytes.
uint64_t load(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}
int64_t load_i64(const uint8_t* p) {
  return static_cast<int64_t>(load(p, 8));
}
int64_t load_i32(const uint8_t* p) {
  return static_cast<int32_t>(static_cast<uint32_t>(load(p, 4)));
}
void store(std::string& s, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
}
void append(std::string& s, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s += static_cast<char>(v >> (8 * i));
}

// ---- the reference: docs/record_format.md, "Byte layout" and "Reading rules" ------------------

struct expected_event {
  cats::market_event::kind type = cats::market_event::kind::none;
  uint32_t file_id = 0;
  std::string symbol;
  std::vector<int64_t> values;  // the payload's fields after `sym`, in file order
};

struct expected_file {
  bool refused = false;  // the constructor throws
  std::vector<expected_event> events;
  bool clean_end = false;  // false: next() ends with an error
};

// The fields of one data record after `sym` (types 1-4), or false when its payload is too short.
bool decode_fields(uint8_t type, const uint8_t* p, uint64_t len, expected_event& e) {
  using kind = cats::market_event::kind;
  static constexpr uint64_t minimum[] = {0, 48, 52, 108, 61};
  if (len < minimum[type]) return false;
  const uint8_t* f = p + 4;
  switch (type) {
    case 1:  // trade: five 8-byte fields and the i32 side
      e.type = kind::trade;
      for (int i = 0; i < 5; ++i) e.values.push_back(load_i64(f + 8 * i));
      e.values.push_back(load_i32(f + 40));
      return true;
    case 2:  // quote
      e.type = kind::quote;
      for (int i = 0; i < 6; ++i) e.values.push_back(load_i64(f + 8 * i));
      return true;
    case 3:  // bar
      e.type = kind::bar;
      for (int i = 0; i < 13; ++i) e.values.push_back(load_i64(f + 8 * i));
      return true;
    default: {  // book: the fixed part, then 16 bytes per level
      e.type = kind::book;
      const uint64_t bids = load(f + 49, 4), asks = load(f + 53, 4);
      if (len < 61 + 16 * (bids + asks)) return false;
      e.values = {load_i64(f),
                  load_i64(f + 8),
                  static_cast<int64_t>(load(f + 16, 4)),
                  (f[20] & 1) != 0,
                  (f[20] & 2) != 0,
                  load_i64(f + 21),
                  load_i64(f + 29),
                  load_i64(f + 37),
                  load_i32(f + 45),
                  static_cast<int64_t>(bids),
                  static_cast<int64_t>(asks)};
      for (uint64_t i = 0; i < 2 * (bids + asks); ++i) e.values.push_back(load_i64(f + 57 + 8 * i));
      return true;
    }
  }
}

expected_file decode_reference(const uint8_t* d, size_t n) {
  expected_file out;
  if (n > 0 && std::memcmp(d, magic, std::min(n, sizeof magic)) != 0) {
    out.refused = true;
    return out;
  }
  if (n < header_size) return out;  // empty or cut inside the header: next() reports it
  if (load(d + 8, 2) != 1 || load(d + 20, 4) != crc32_of(d, 20)) {
    out.refused = true;
    return out;
  }
  std::map<uint32_t, std::string> symbols;
  for (size_t pos = header_size;;) {
    if (pos == n) {
      out.clean_end = true;
      return out;
    }
    if (n - pos < 5) return out;
    const uint64_t len = load(d + pos, 4);
    const uint8_t type = d[pos + 4];
    if (len > max_payload || n - pos < 9 + len) return out;
    if (load(d + pos + 5 + len, 4) != crc32_of(d + pos, 5 + len)) return out;
    const uint8_t* p = d + pos + 5;
    pos += 9 + len;
    if (type == 16) {  // symbol definition
      if (len < 6 || len < 6 + load(p + 4, 2)) return out;
      const std::string name(reinterpret_cast<const char*>(p + 6), load(p + 4, 2));
      const auto [it, added] = symbols.emplace(static_cast<uint32_t>(load(p, 4)), name);
      if (!added && it->second != name) return out;  // an id redefined with another name
      continue;
    }
    if (type < 1 || type > 4) continue;  // unknown types are skipped
    expected_event e;
    if (len < 4) return out;
    e.file_id = static_cast<uint32_t>(load(p, 4));
    const auto sym = symbols.find(e.file_id);
    if (!decode_fields(type, p, len, e) || sym == symbols.end()) return out;
    e.symbol = sym->second;
    out.events.push_back(std::move(e));
  }
}

// ---- the reader under test ---------------------------------------------------------------------

std::vector<int64_t> values_of(const cats::market_event& m) {
  using kind = cats::market_event::kind;
  switch (m.type) {
    case kind::trade: {
      const cats_trade_event_t& t = m.trade;
      return {t.header.exchange_ts_ns,          t.header.local_ts_ns, t.price, t.quantity,
              static_cast<int64_t>(t.trade_id), t.aggressor_side};
    }
    case kind::quote: {
      const cats_quote_event_t& q = m.quote;
      return {q.header.exchange_ts_ns, q.header.local_ts_ns, q.bid_price,
              q.bid_quantity,          q.ask_price,          q.ask_quantity};
    }
    case kind::bar: {
      const cats_bar_event_t& b = m.bar;
      return {b.header.exchange_ts_ns,
              b.header.local_ts_ns,
              b.open_time_ns,
              b.interval_ns,
              b.open,
              b.high,
              b.low,
              b.close,
              b.volume,
              b.quote_volume,
              b.taker_buy_volume,
              b.taker_buy_quote_volume,
              b.trade_count};
    }
    case kind::book: {
      const cats::book_update& u = *m.book;
      std::vector<int64_t> v = {u.exchange_ts_ns,
                                u.local_ts_ns,
                                m.book_flags,
                                u.snapshot,
                                u.has_checksum,
                                static_cast<int64_t>(u.first_seq),
                                static_cast<int64_t>(u.last_seq),
                                u.prev_seq,
                                u.checksum,
                                static_cast<int64_t>(u.bids.size()),
                                static_cast<int64_t>(u.asks.size())};
      for (const auto* side : {&u.bids, &u.asks}) {
        for (const cats::book_level& l : *side) {
          v.push_back(l.price);
          v.push_back(l.quantity);
        }
      }
      return v;
    }
    default:
      return {};
  }
}

// What record_file.hpp promises of the event struct: type and struct_size set, flags 0, `ts` the
// receive time.
bool header_ok(const cats::market_event& m) {
  using kind = cats::market_event::kind;
  if (m.built) return false;
  if (m.type == kind::book) return m.book != nullptr && m.ts == m.book->local_ts_ns;
  const cats_event_t& h = m.header();
  const auto [size, type] =
      m.type == kind::trade   ? std::pair{sizeof(cats_trade_event_t), CATS_EVENT_TRADE}
      : m.type == kind::quote ? std::pair{sizeof(cats_quote_event_t), CATS_EVENT_QUOTE}
                              : std::pair{sizeof(cats_bar_event_t), CATS_EVENT_BAR};
  return h.struct_size == size && h.type == static_cast<int32_t>(type) && h.flags == 0 &&
         m.ts == h.local_ts_ns;
}

uint32_t resolver(const std::string& symbol) {
  return 1000u + 7u * static_cast<uint32_t>(symbol.size()) +
         (symbol.empty() ? 0u : static_cast<uint8_t>(symbol[0]));
}

// Reads `path` with a record_reader and compares every step with the reference's decoding.
void check_reader(const std::string& path, const expected_file& want, bool resolve) {
  std::unique_ptr<cats::record_reader> r;
  try {
    r = std::make_unique<cats::record_reader>(path);
  } catch (const std::runtime_error& e) {
    // Documented: the constructor throws std::runtime_error naming the file for a file that is
    // not a recording (wrong magic, version or header checksum).
    if (!want.refused || std::string(e.what()).find(path) == std::string::npos) __builtin_trap();
    return;
  }
  if (want.refused) __builtin_trap();
  if (resolve) r->set_resolver(resolver);
  cats::market_event m;
  size_t i = 0;
  while (r->next(m)) {
    if (i == want.events.size()) __builtin_trap();  // an event the file does not hold
    const expected_event& e = want.events[i++];
    const uint32_t id = resolve ? resolver(e.symbol) : e.file_id;
    if (m.type != e.type || !header_ok(m) || m.instrument_id() != id || r->symbol() != e.symbol ||
        values_of(m) != e.values)
      __builtin_trap();  // a misread value
  }
  if (i != want.events.size() || r->records_read() != i) __builtin_trap();  // stopped early
  // A clean end has no error; any other end says what is wrong and names the file.
  if (want.clean_end != r->error().empty()) __builtin_trap();
  if (!want.clean_end && r->error().find(path) == std::string::npos) __builtin_trap();
  const std::string error = r->error();
  if (r->next(m) || r->error() != error) __builtin_trap();  // the end and errors are sticky
}

// The same bytes with the magic, the version and every checksum the framing reaches made right.
std::string with_fixed_checksums(const uint8_t* d, size_t n) {
  std::string s(reinterpret_cast<const char*>(d), n);
  if (n < header_size) return s;
  std::memcpy(s.data(), magic, sizeof magic);
  store(s, 8, 1, 2);
  store(s, 20, crc32_of(s.data(), 20), 4);
  const auto* u = reinterpret_cast<const uint8_t*>(s.data());
  for (size_t pos = header_size; n - pos >= 5;) {
    const uint64_t len = load(u + pos, 4);
    if (len > max_payload || n - pos < 9 + len) break;
    store(s, pos + 5 + len, crc32_of(u + pos, 5 + len), 4);
    pos += 9 + len;
  }
  return s;
}

// Reads the bytes as a file, with each of the two readers asked for (a record_reader allocates
// 1 MiB, so a mutated input is read once without and its checksum-fixed copy once with one).
void check_bytes(const uint8_t* data, size_t size, bool plain, bool resolved) {
  const int fd = memfd_create("catsrec", 0);
  if (fd < 0) return;
  for (size_t off = 0; off < size;) {
    const ssize_t n = write(fd, data + off, size - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const expected_file want = decode_reference(data, size);
  if (plain) check_reader(path, want, false);
  if (resolved) check_reader(path, want, true);
  close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string fixed = with_fixed_checksums(data, size);
  const bool same = size == 0 || std::memcmp(fixed.data(), data, size) == 0;
  check_bytes(data, size, true, same);
  if (!same) check_bytes(reinterpret_cast<const uint8_t*>(fixed.data()), fixed.size(), false, true);
  return 0;
}

// The valid input the mutation driver starts from (tests/fuzz/mutation_driver.cpp): a small
// recording of one to three symbols with every record type, as record_writer lays it out.
extern const char* const fuzz_target_name = "record_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  std::string out(magic, sizeof magic);
  append(out, 1, 2);  // version
  append(out, 0, 2);
  const int64_t t0 =  // 2024-02-01, a random second of the day
      1'706'745'600'000'000'000 + static_cast<int64_t>(next(rng) % 86'400) * 1'000'000'000;
  append(out, static_cast<uint64_t>(t0 + 12'345), 8);  // created_ns
  append(out, crc32_of(out.data(), 20), 4);
  auto record = [&out](uint8_t type, const std::string& payload) {
    const size_t at = out.size();
    append(out, payload.size(), 4);
    out += static_cast<char>(type);
    out += payload;
    append(out, crc32_of(out.data() + at, 5 + payload.size()), 4);
  };
  static const char* const names[] = {"BINANCE:BTCUSDT", "OKX:BTC-USDT", "BINANCE:ETHUSDT"};
  const uint64_t symbols = 1 + next(rng) % 3;
  bool defined[3] = {false, false, false};
  const int count = 4 + static_cast<int>(next(rng) % 24);
  int64_t price = 4'206'650'000'000;  // 42066.5
  for (int i = 0; i < count; ++i) {
    const uint64_t s = next(rng) % symbols;
    if (!defined[s] || next(rng) % 16 == 0) {  // defined before first use; now and then again
      std::string p;
      append(p, s + 1, 4);
      append(p, std::strlen(names[s]), 2);
      p += names[s];
      record(16, p);
      defined[s] = true;
    }
    const int64_t local = t0 + i * 1'000'000 + static_cast<int64_t>(next(rng) % 1'000);
    const int64_t exch = local - static_cast<int64_t>(next(rng) % 5'000'000);
    price += static_cast<int64_t>(next(rng) % 2'001) * 1'000'000 - 1'000'000'000;
    std::string p;
    append(p, s + 1, 4);
    append(p, static_cast<uint64_t>(exch), 8);
    append(p, static_cast<uint64_t>(local), 8);
    const uint64_t pick = next(rng) % 10;
    uint8_t type = 1;
    if (pick < 4) {  // trade
      append(p, static_cast<uint64_t>(price), 8);
      append(p, 12'000 + next(rng) % 100'000'000, 8);
      append(p, 3'000'000'000 + static_cast<uint64_t>(i), 8);
      append(p, next(rng) % 3, 4);
      if (next(rng) % 8 == 0) append(p, 0xABCD, 4);  // a newer writer's extra field
    } else if (pick < 7) {                           // quote
      type = 2;
      append(p, static_cast<uint64_t>(price - 1'000'000), 8);
      append(p, 50'000'000 + next(rng) % 100'000'000, 8);
      append(p, static_cast<uint64_t>(price), 8);
      append(p, 30'000'000 + next(rng) % 100'000'000, 8);
    } else if (pick < 8) {  // bar
      type = 3;
      append(p, static_cast<uint64_t>(exch - 60'000'000'000), 8);
      append(p, 60'000'000'000, 8);
      for (const int64_t v : {price, price + 500'000'000, price - 700'000'000, price + 100'000'000})
        append(p, static_cast<uint64_t>(v), 8);
      for (int k = 0; k < 5; ++k) append(p, next(rng) % 10'000'000'000, 8);
    } else {  // book
      type = 4;
      const bool snapshot = next(rng) % 4 == 0;
      const bool has_checksum = next(rng) % 2 == 0;
      append(p, snapshot ? 1 : 0, 4);  // book_flags
      p += static_cast<char>((snapshot ? 1 : 0) | (has_checksum ? 2 : 0));
      const uint64_t seq = 40'000'000'000 + static_cast<uint64_t>(i) * 10;
      append(p, seq, 8);
      append(p, seq + 9, 8);
      append(p, has_checksum ? seq - 1 : static_cast<uint64_t>(-1), 8);  // prev_seq
      append(p, next(rng) & 0xFFFFFFFF, 4);                              // checksum
      const uint64_t bids = next(rng) % 5, asks = next(rng) % 5;
      append(p, bids, 4);
      append(p, asks, 4);
      for (uint64_t k = 0; k < bids + asks; ++k) {
        const int64_t step = static_cast<int64_t>(k < bids ? k + 1 : k - bids + 1) * 1'000'000;
        append(p, static_cast<uint64_t>(k < bids ? price - step : price + step), 8);
        append(p, next(rng) % 4 == 0 ? 0 : next(rng) % 500'000'000, 8);
      }
    }
    record(type, p);
    if (next(rng) % 12 == 0) record(7, std::string(next(rng) % 9, 'x'));  // an unknown type
  }
  return out;
}
