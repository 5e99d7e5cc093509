// The block store (.catsrec versions 2 to 4); the layout is documented in
// docs/record_format.md.
#include "cats/record/store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "cats/util/crc32c.hpp"
#include "codec.hpp"

namespace cats {

using namespace record_codec;  // NOLINT(google-build-using-namespace): this area's own codec

namespace {

constexpr size_t store_header_size = 64;
constexpr size_t block_header_size = 64;
constexpr char block_magic[4] = {'C', 'B', 'L', 'K'};
constexpr uint16_t block_data = 1;
constexpr uint16_t block_symbols = 2;
// A block's records can only exceed this through corruption (a book record of 4 M levels).
constexpr uint64_t max_block_payload = 64u << 20;
constexpr size_t record_head = 8;  // u8 type, u8 flags, u16 symbol id, u32 size
constexpr size_t trade_size = record_head + 5 * 8;
constexpr size_t quote_size = record_head + 6 * 8;
constexpr size_t bar_size = record_head + 13 * 8;
constexpr size_t packed_bar_size = record_head + 4 * 8 + 8 * 4;
// A bar run: the head, 32 bytes for the run, then 44 bytes a bar; 8-byte aligned like every record.
constexpr size_t run_head = record_head + 32;
constexpr size_t run_entry = 44;
constexpr size_t run_size(uint64_t bars) noexcept {
  return static_cast<size_t>((run_head + run_entry * bars + 7) & ~uint64_t{7});
}
constexpr size_t book_fixed_size = record_head + 5 * 8 + 4 * 4;

// What a run shares, as the writer keeps it for the run that ends its open block (see put_run_bar).
struct run_shape {
  uint8_t flags = 0;
  int64_t open_time = 0, base_open = 0, interval_ns = 0;
  int32_t close_offset = 0;
  int64_t price_unit = 1, volume_unit = 1;
};

constexpr size_t kept_messages = 20;

struct block_header {
  uint32_t crc = 0;
  uint16_t kind = 0;
  uint16_t kinds = 0;  // data blocks: bit t set when the block holds a record of type t
  uint32_t count = 0;
  uint64_t payload = 0;
  int64_t first_ts = 0, last_ts = 0;
  uint64_t symtab = 0;
  uint64_t sequence = 0;
};

void put_block_header(char* p, const block_header& h) {
  encoder enc(p);
  enc.bytes(block_magic, 4);
  enc.u32(0);  // the CRC, set once the payload is in place
  enc.u16(h.kind);
  enc.u16(h.kinds);
  enc.u32(h.count);
  enc.u64(h.payload);
  enc.i64(h.first_ts);
  enc.i64(h.last_ts);
  enc.u64(h.symtab);
  enc.u64(h.sequence);
  enc.u64(0);
}

block_header get_block_header(const char* p) {
  decoder dec(p + 4);
  block_header h;
  h.crc = dec.u32();
  h.kind = dec.u16();
  h.kinds = dec.u16();
  h.count = dec.u32();
  h.payload = dec.u64();
  h.first_ts = dec.i64();
  h.last_ts = dec.i64();
  h.symtab = dec.u64();
  h.sequence = dec.u64();
  return h;
}

// The CRC covers everything after the CRC field: the rest of the header and the records.
uint32_t block_crc(const char* block, uint64_t payload) {
  return crc32c(block + 8, block_header_size - 8 + payload);
}

// The file header (64 bytes, CRC last). A writer that closes a file in good order writes it again
// with the summary: the union of its data blocks' record types and its size then, so that a
// reader learns what the file holds from its first 64 bytes instead of a read per block.
struct file_summary {
  uint16_t kinds = 0;
  uint64_t size = 0;
};
constexpr uint16_t summary_closed = 1;  // bit of the header's summary flags: the summary is set

void put_file_header(char* p, int64_t created_ns, uint32_t block_bytes,
                     const file_summary* summary) {
  std::memset(p, 0, store_header_size);
  encoder enc(p);
  enc.bytes(file_magic, sizeof file_magic);
  enc.u16(block_store_version);
  enc.u16(0);
  enc.u32(static_cast<uint32_t>(store_header_size));
  enc.i64(created_ns);
  enc.u32(block_bytes);
  if (summary != nullptr) {
    enc.u16(summary->kinds);
    enc.u16(summary_closed);
    enc.u64(summary->size);
  }
  encoder(p + store_header_size - 4).u32(crc32c(p, store_header_size - 4));
}

// The summary of a sound file header `p` (its CRC checked) when the file still has the size it
// had when it was closed; nullopt for a file still being written, one whose writer was killed,
// and one cut short or grown since.
std::optional<file_summary> closed_summary(const char* p, uint64_t file_size) {
  decoder dec(p + 28);
  file_summary s;
  s.kinds = dec.u16();
  const uint16_t flags = dec.u16();
  s.size = dec.u64();
  if ((flags & summary_closed) == 0 || s.size != file_size) return std::nullopt;
  return s;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- writer -------------------------------------------------------------------------------------

struct store_writer::impl {
  std::filesystem::path path;     // the file as named
  std::filesystem::path writing;  // where the bytes go (path, or path.part with `replace`)
  store_writer_options opt;
  store_writer_stats stats;
  int fd = -1;
  std::vector<char> block;  // header room + records of the open data block
  block_header open;        // its header fields so far
  std::unordered_map<std::string, uint16_t> ids;
  std::vector<std::string> names;  // by id - 1
  uint64_t symtab = 0;             // offset of the symbol block in force
  size_t table_bytes = 0;          // entries of a table of every symbol so far
  bool table_due = false;          // symbols defined since the last table on file
  uint64_t sequence = 0;
  int64_t created_ns = 0;  // the file header's
  uint16_t kinds = 0;      // the union of the data blocks' record types so far
  // The record the open block ends with when a bar may join it: a packed bar (`bars` 1, the bar
  // kept in `first`), which the next bar turns into a run of two, or a run.
  struct {
    size_t at = 0;  // its offset in `block` (0: none)
    uint16_t id = 0;
    uint32_t bars = 0;
    cats_bar_event_t first{};
    run_shape shape;
  } tail;
  uint32_t packed_in_block = 0;  // packed bars in the open block (its header lists them while any)

  void write_all(const char* data, size_t n) {
    size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(fd, data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const int e = w < 0 ? errno : ENOSPC;
        // The file ends on the last whole block: a partial block is cut off again.
        if (done > 0 && ::ftruncate(fd, static_cast<off_t>(stats.bytes)) != 0) {
          spdlog::error("store: cannot cut {} back to {} bytes: {}", writing.string(), stats.bytes,
                        errno_text(errno));
        }
        if (done > 0) ::lseek(fd, static_cast<off_t>(stats.bytes), SEEK_SET);
        throw_io("cannot write", writing, e);
      }
      done += static_cast<size_t>(w);
    }
    stats.bytes += n;
  }

  // Seals a block held in `buf` (header room first) and writes it.
  void write_block(std::vector<char>& buf, block_header& h) {
    h.payload = buf.size() - block_header_size;
    h.sequence = sequence;
    put_block_header(buf.data(), h);
    encoder(buf.data() + 4).u32(block_crc(buf.data(), h.payload));
    write_all(buf.data(), buf.size());
    ++sequence;
    ++stats.blocks;
  }

  void start_block() {
    tail.at = 0;
    packed_in_block = 0;
    block.assign(block_header_size, 0);
    open = block_header{};
    open.kind = block_data;
    open.symtab = symtab;
    open.first_ts = std::numeric_limits<int64_t>::max();
    open.last_ts = std::numeric_limits<int64_t>::min();
  }

  // The open data block is written after the symbol table its new symbols need (if any).
  void flush() {
    if (fd < 0 || open.count == 0) return;
    if (table_due) write_table();
    open.symtab = symtab;
    write_block(block, open);
    kinds = static_cast<uint16_t>(kinds | open.kinds);
    start_block();
  }

  static size_t entry_size(const std::string& name) { return (4 + name.size() + 7) & ~size_t{7}; }

  // A new symbol gets the next id at once; the symbol table that names it (every symbol so far)
  // is written just before the first data block that uses it. Many symbols that first appear
  // together (a recorder starting on hundreds of instruments) share one table and fill whole
  // data blocks: a table per symbol, each flushing a data block of a few records, made the
  // tables grow with the square of the symbols.
  uint16_t define(const std::string& symbol) {
    if (names.size() >= std::numeric_limits<uint16_t>::max()) {
      throw std::length_error(path.string() + ": more than 65535 symbols in one store file");
    }
    if (symbol.empty() || symbol.size() > std::numeric_limits<uint16_t>::max()) {
      throw std::length_error("a symbol of 1 to 65535 bytes, not " + std::to_string(symbol.size()));
    }
    if (table_bytes + entry_size(symbol) > max_block_payload) {
      throw std::length_error(path.string() + ": the symbol table exceeds a block");
    }
    names.push_back(symbol);
    table_bytes += entry_size(symbol);
    table_due = true;
    const auto id = static_cast<uint16_t>(names.size());
    ids.emplace(symbol, id);
    return id;
  }

  void write_table() {
    std::vector<char> buf(block_header_size, 0);
    buf.reserve(block_header_size + table_bytes);
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& name = names[i];
      const size_t at = buf.size();
      buf.resize(at + entry_size(name), 0);
      encoder enc(buf.data() + at);
      enc.u16(static_cast<uint16_t>(i + 1));
      enc.u16(static_cast<uint16_t>(name.size()));
      enc.bytes(name.data(), name.size());
    }
    block_header h;
    h.kind = block_symbols;
    h.count = static_cast<uint32_t>(names.size());
    const uint64_t at = stats.bytes;
    write_block(buf, h);  // a symbol's records reach the file only after its table
    symtab = at;
    table_due = false;
  }

  char* begin_record(uint8_t type, uint8_t flags, uint16_t id, size_t size, int64_t local_ts) {
    if (size > max_block_payload) {
      throw std::length_error("record of " + std::to_string(size) + " bytes exceeds the " +
                              std::to_string(max_block_payload) + "-byte block limit");
    }
    if (open.count > 0 && block.size() - block_header_size + size > opt.block_bytes) flush();
    const size_t at = block.size();
    block.resize(at + size);
    encoder enc(block.data() + at);
    enc.u8(type);
    enc.u8(flags);
    enc.u16(id);
    enc.u32(static_cast<uint32_t>(size));
    open.kinds = static_cast<uint16_t>(open.kinds | (1u << type));
    counted(local_ts);
    return block.data() + at + record_head;
  }

  // One more event in the open block.
  void counted(int64_t local_ts) {
    ++open.count;
    open.first_ts = std::min(open.first_ts, local_ts);
    open.last_ts = std::max(open.last_ts, local_ts);
    ++stats.records;
  }

  // Bar `b` of symbol `id` added to the run (or packed bar) the open block ends with, when it is
  // the next bar of that run and reads back exactly from it; false otherwise (nothing written).
  bool join_run(uint16_t id, const cats_bar_event_t& b);
  bool start_run(const cats_bar_event_t& b);
  bool refine_run(const cats_bar_event_t& b);

  // The 64-byte file header at offset 0, whole.
  bool write_header(const char* head) const {
    size_t done = 0;
    while (done < store_header_size) {
      const ssize_t w =
          ::pwrite(fd, head + done, store_header_size - done, static_cast<off_t>(done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      done += static_cast<size_t>(w);
    }
    return true;
  }

  void close() {
    if (fd < 0) return;
    try {
      flush();
    } catch (...) {  // the descriptor goes either way; the file ends on its last whole block
      ::close(fd);
      fd = -1;
      throw;
    }
    // Every block is on file: the header gets the summary. Where that write fails, the header
    // written at the start (no summary) goes back, so that readers walk the blocks.
    char head[store_header_size];
    const file_summary summary{kinds, stats.bytes};
    put_file_header(head, created_ns, static_cast<uint32_t>(opt.block_bytes), &summary);
    if (!write_header(head)) {
      const int e = errno;
      spdlog::warn("store: cannot write the summary into the header of {}: {}", writing.string(),
                   errno_text(e));
      put_file_header(head, created_ns, static_cast<uint32_t>(opt.block_bytes), nullptr);
      if (!write_header(head)) {
        ::close(fd);
        fd = -1;
        throw_io("cannot write the header of", writing, errno);
      }
    }
    const int f = fd;
    fd = -1;
    sync_and_close(f, writing);
    if (writing != path) {
      std::error_code ec;
      std::filesystem::rename(writing, path, ec);
      if (ec) throw std::runtime_error("cannot rename " + writing.string() + ": " + ec.message());
    }
  }
};

store_writer::store_writer(const std::filesystem::path& file, store_writer_options options)
    : impl_(std::make_unique<impl>()) {
  impl& w = *impl_;
  w.path = file;
  w.opt = options;
  w.opt.block_bytes = std::clamp<size_t>(w.opt.block_bytes, 256, max_block_payload);
  if (options.replace && options.in_place)
    throw std::invalid_argument("store_writer: replace and in_place together");
  w.writing = options.replace ? std::filesystem::path(file.string() + ".part") : file;
  const int flags = O_WRONLY | O_CLOEXEC |
                    (options.in_place  ? 0
                     : options.replace ? O_CREAT | O_TRUNC
                                       : O_CREAT | O_EXCL);
  w.fd = ::open(w.writing.c_str(), flags, 0644);
  if (w.fd < 0) {
    throw_io(errno == EEXIST ? "will not overwrite" : "cannot create", w.writing, errno);
  }
  struct stat st {};
  if (options.in_place && (::fstat(w.fd, &st) != 0 || st.st_size != 0)) {
    ::close(w.fd);
    w.fd = -1;
    throw std::runtime_error(w.writing.string() + ": will not write into a file that is not empty");
  }
  std::vector<char> head(store_header_size, 0);
  w.created_ns = now_ns();
  put_file_header(head.data(), w.created_ns, static_cast<uint32_t>(w.opt.block_bytes), nullptr);
  try {
    w.write_all(head.data(), head.size());
  } catch (...) {  // no file without a header: not even an empty one
    ::close(w.fd);
    w.fd = -1;
    std::error_code ec;
    if (!options.in_place) std::filesystem::remove(w.writing, ec);
    throw;
  }
  w.start_block();
}

store_writer::~store_writer() {
  impl& w = *impl_;
  if (w.writing != w.path && w.fd >= 0) {  // `replace` without close(): nothing is replaced
    ::close(w.fd);
    w.fd = -1;
    std::error_code ec;
    std::filesystem::remove(w.writing, ec);
    return;
  }
  try {
    w.close();
  } catch (const std::exception& e) {
    spdlog::error("store: {}", e.what());
  }
}

namespace {

// ---- packed bars ----
// A bar whose fields fit (see docs/record_format.md, "type 5"): the open time, the open and the
// two quote volumes whole; the interval in milliseconds; the close time as an offset from the
// open time plus the interval; high, low and close as offsets from the open in units of 10^p
// (p, 0..15, in the flags' low nibble); volume and taker-buy volume in units of 10^q (the high
// nibble); the trade count. A one-minute Binance kline fits: its prices are on a tick grid, its
// volumes have a few decimals, and its close time is the open time plus the interval less 1 ms.

// 10^0 .. 10^15: the units of a packed bar's prices and volumes.
constexpr std::array<int64_t, 16> pow10_table = [] {
  std::array<int64_t, 16> t{};
  int64_t v = 1;
  for (int64_t& x : t) {
    x = v;
    v *= 10;
  }
  return t;
}();

struct packed_bar {
  uint8_t flags = 0;
  uint32_t interval_ms = 0;
  int32_t close_offset = 0;
  int32_t high = 0, low = 0, close = 0;
  uint32_t volume = 0, taker_buy_volume = 0, trade_count = 0;
};

// The largest p (at most 15) such that 10^p divides every value (0 divides by any).
int common_decimal_zeros(std::initializer_list<int64_t> values) noexcept {
  int p = 15;
  for (const int64_t v : values) {
    int z = 0;
    while (z < p && v % pow10_table[z + 1] == 0) ++z;
    p = std::min(p, z);
  }
  return p;
}

// The bar's fields after the head, unpacked from `p` (a record of packed_bar_size bytes). Every
// sum wraps (a hostile record gives some values, never undefined behaviour); a record the writer
// packed gives the bar exactly.
[[gnu::always_inline]] inline void unpack_bar(const char* p, uint8_t flags, cats_bar_event_t& b) {
  decoder dec(p + record_head);
  const auto open_time = static_cast<uint64_t>(dec.i64());
  const auto open = static_cast<uint64_t>(dec.i64());
  b.quote_volume = dec.i64();
  b.taker_buy_quote_volume = dec.i64();
  const uint64_t interval = uint64_t{dec.u32()} * 1'000'000u;
  const auto close_offset = static_cast<uint64_t>(int64_t{dec.i32()});
  const auto price_unit = static_cast<uint64_t>(pow10_table[flags & 15]);
  const auto volume_unit = static_cast<uint64_t>(pow10_table[flags >> 4]);
  const auto high = static_cast<uint64_t>(int64_t{dec.i32()});
  const auto low = static_cast<uint64_t>(int64_t{dec.i32()});
  const auto close = static_cast<uint64_t>(int64_t{dec.i32()});
  b.open_time_ns = static_cast<int64_t>(open_time);
  b.interval_ns = static_cast<int64_t>(interval);
  b.header.exchange_ts_ns = static_cast<int64_t>(open_time + interval + close_offset);
  b.header.local_ts_ns = b.header.exchange_ts_ns;
  b.open = static_cast<int64_t>(open);
  b.high = static_cast<int64_t>(open + high * price_unit);
  b.low = static_cast<int64_t>(open + low * price_unit);
  b.close = static_cast<int64_t>(open + close * price_unit);
  b.volume = static_cast<int64_t>(uint64_t{dec.u32()} * volume_unit);
  b.taker_buy_volume = static_cast<int64_t>(uint64_t{dec.u32()} * volume_unit);
  b.trade_count = int64_t{dec.u32()};
}

void put_packed_bar(char* body, const cats_bar_event_t& b, const packed_bar& k) {
  encoder enc(body);
  enc.i64(b.open_time_ns);
  enc.i64(b.open);
  enc.i64(b.quote_volume);
  enc.i64(b.taker_buy_quote_volume);
  enc.u32(k.interval_ms);
  enc.i32(k.close_offset);
  enc.i32(k.high);
  enc.i32(k.low);
  enc.i32(k.close);
  enc.u32(k.volume);
  enc.u32(k.taker_buy_volume);
  enc.u32(k.trade_count);
}

bool same_bar(const cats_bar_event_t& a, const cats_bar_event_t& b) noexcept {
  return a.header.exchange_ts_ns == b.header.exchange_ts_ns &&
         a.header.local_ts_ns == b.header.local_ts_ns && a.open_time_ns == b.open_time_ns &&
         a.interval_ns == b.interval_ns && a.open == b.open && a.high == b.high && a.low == b.low &&
         a.close == b.close && a.volume == b.volume && a.quote_volume == b.quote_volume &&
         a.taker_buy_volume == b.taker_buy_volume &&
         a.taker_buy_quote_volume == b.taker_buy_quote_volume && a.trade_count == b.trade_count;
}

// The packed form of `b` when it gives `b` back exactly.
std::optional<packed_bar> pack_bar(const cats_bar_event_t& b) {
  const cats_event_t& h = b.header;
  packed_bar k;
  int64_t close_offset = 0, dh = 0, dl = 0, dc = 0;
  if (h.local_ts_ns != h.exchange_ts_ns || b.interval_ns < 0 || b.interval_ns % 1'000'000 != 0 ||
      b.interval_ns / 1'000'000 > UINT32_MAX ||
      __builtin_sub_overflow(h.exchange_ts_ns, b.open_time_ns, &close_offset) ||
      __builtin_sub_overflow(close_offset, b.interval_ns, &close_offset) ||
      close_offset < INT32_MIN || close_offset > INT32_MAX ||
      __builtin_sub_overflow(b.high, b.open, &dh) || __builtin_sub_overflow(b.low, b.open, &dl) ||
      __builtin_sub_overflow(b.close, b.open, &dc) || b.volume < 0 || b.taker_buy_volume < 0 ||
      b.trade_count < 0 || b.trade_count > UINT32_MAX) {
    return std::nullopt;
  }
  const int p = common_decimal_zeros({dh, dl, dc});
  const int q = common_decimal_zeros({b.volume, b.taker_buy_volume});
  const int64_t pu = pow10_table[p], qu = pow10_table[q];
  auto fits_i32 = [](int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; };
  if (!fits_i32(dh / pu) || !fits_i32(dl / pu) || !fits_i32(dc / pu) ||
      b.volume / qu > UINT32_MAX || b.taker_buy_volume / qu > UINT32_MAX) {
    return std::nullopt;
  }
  k.flags = static_cast<uint8_t>(p | q << 4);
  k.interval_ms = static_cast<uint32_t>(b.interval_ns / 1'000'000);
  k.close_offset = static_cast<int32_t>(close_offset);
  k.high = static_cast<int32_t>(dh / pu);
  k.low = static_cast<int32_t>(dl / pu);
  k.close = static_cast<int32_t>(dc / pu);
  k.volume = static_cast<uint32_t>(b.volume / qu);
  k.taker_buy_volume = static_cast<uint32_t>(b.taker_buy_volume / qu);
  k.trade_count = static_cast<uint32_t>(b.trade_count);
  // What the reader will make of it, compared field by field: the bar comes back exactly or
  // is stored whole.
  char rec[packed_bar_size];
  put_packed_bar(rec + record_head, b, k);
  cats_bar_event_t back{};
  unpack_bar(rec, k.flags, back);
  if (!same_bar(back, b)) return std::nullopt;
  return k;
}

// ---- Bar runs (type 6) ---------------------------------------------------------------------
// After the head (flags: bits 0-3 p, bits 4-7 q, as a packed bar's): i64 open_time_ns of the first
// bar, i64 base open, u32 interval_ms, i32 close_offset, u32 bars, u32 reserved (0); then per bar
// i64 quote_volume, i64 taker_buy_quote_volume, i32 open (from the base), i32 high, i32 low,
// i32 close (from the bar's open), in units of 10^p, u32 volume, u32 taker_buy_volume (units of
// 10^q), u32 trade_count. Bar k opens at open_time_ns + k x interval.

// A run being read: the next bar's entry and time, and what every bar of it shares.
struct run_cursor {
  const char* next = nullptr;
  uint32_t left = 0;  // bars not read yet
  uint32_t id = 0;    // the instrument
  uint64_t open_time = 0, interval = 0, close_offset = 0, base_open = 0;
  uint64_t price_unit = 1, volume_unit = 1;
};

// The cursor at the first bar of the run record `p` of `size` bytes (its head checked); false when
// it holds no bar or fewer entries than it counts. Every sum wraps, as a packed bar's.
bool open_run(const char* p, uint8_t flags, uint32_t size, uint32_t id, run_cursor& c) noexcept {
  decoder dec(p + record_head);
  c.open_time = static_cast<uint64_t>(dec.i64());
  c.base_open = static_cast<uint64_t>(dec.i64());
  c.interval = uint64_t{dec.u32()} * 1'000'000u;
  c.close_offset = static_cast<uint64_t>(int64_t{dec.i32()});
  const uint32_t bars = dec.u32();
  c.price_unit = static_cast<uint64_t>(pow10_table[flags & 15]);
  c.volume_unit = static_cast<uint64_t>(pow10_table[flags >> 4]);
  c.id = id;
  c.next = p + run_head;
  c.left = bars;
  return bars != 0 && run_size(bars) <= size;
}

// The cursor's bar as an event; the cursor moves to the next one.
[[gnu::always_inline]] inline void read_run_bar(run_cursor& c, market_event& out) noexcept {
  decoder dec(c.next);
  out.type = market_event::kind::bar;
  out.built = false;
  out.book = nullptr;
  out.book_flags = 0;
  cats_bar_event_t& b = out.bar;
  b.header.struct_size = sizeof b;
  b.header.type = CATS_EVENT_BAR;
  b.header.instrument_id = c.id;
  b.header.flags = 0;
  b.quote_volume = dec.i64();
  b.taker_buy_quote_volume = dec.i64();
  const uint64_t open = c.base_open + static_cast<uint64_t>(int64_t{dec.i32()}) * c.price_unit;
  const auto high = static_cast<uint64_t>(int64_t{dec.i32()});
  const auto low = static_cast<uint64_t>(int64_t{dec.i32()});
  const auto close = static_cast<uint64_t>(int64_t{dec.i32()});
  b.open = static_cast<int64_t>(open);
  b.high = static_cast<int64_t>(open + high * c.price_unit);
  b.low = static_cast<int64_t>(open + low * c.price_unit);
  b.close = static_cast<int64_t>(open + close * c.price_unit);
  b.volume = static_cast<int64_t>(uint64_t{dec.u32()} * c.volume_unit);
  b.taker_buy_volume = static_cast<int64_t>(uint64_t{dec.u32()} * c.volume_unit);
  b.trade_count = int64_t{dec.u32()};
  b.open_time_ns = static_cast<int64_t>(c.open_time);
  b.interval_ns = static_cast<int64_t>(c.interval);
  b.header.exchange_ts_ns = static_cast<int64_t>(c.open_time + c.interval + c.close_offset);
  b.header.local_ts_ns = b.header.exchange_ts_ns;
  out.ts = b.header.local_ts_ns;
  c.open_time += c.interval;
  c.next += run_entry;
  --c.left;
}

// The 32 bytes after the head of the run record at `p`: what its bars share, the first one's open
// time and how many there are.
void put_run_header(char* p, const run_shape& r, int64_t open_time, uint32_t bars) {
  encoder enc(p + record_head);
  enc.i64(open_time);
  enc.i64(r.base_open);
  enc.u32(static_cast<uint32_t>(r.interval_ns / 1'000'000));
  enc.i32(r.close_offset);
  enc.u32(bars);
  enc.u32(0);
}

// Bar `b` as the entry at `out` of a run of shape `r` whose bar `index` it is: false unless it
// reads back exactly (its time, interval and close offset the run's, its prices and volumes whole
// units that fit).
bool put_run_bar(char* out, const run_shape& r, uint64_t index, const cats_bar_event_t& b) {
  int64_t open_time = 0, close_offset = 0, d[4] = {};
  if (b.interval_ns != r.interval_ns || b.header.local_ts_ns != b.header.exchange_ts_ns ||
      __builtin_mul_overflow(static_cast<int64_t>(index), r.interval_ns, &open_time) ||
      __builtin_add_overflow(open_time, r.open_time, &open_time) || b.open_time_ns != open_time ||
      __builtin_sub_overflow(b.header.exchange_ts_ns, b.open_time_ns, &close_offset) ||
      __builtin_sub_overflow(close_offset, b.interval_ns, &close_offset) ||
      close_offset != r.close_offset || __builtin_sub_overflow(b.open, r.base_open, &d[0]) ||
      __builtin_sub_overflow(b.high, b.open, &d[1]) ||
      __builtin_sub_overflow(b.low, b.open, &d[2]) ||
      __builtin_sub_overflow(b.close, b.open, &d[3]) || b.volume < 0 || b.taker_buy_volume < 0 ||
      b.trade_count < 0 || b.trade_count > UINT32_MAX) {
    return false;
  }
  encoder enc(out);
  enc.i64(b.quote_volume);
  enc.i64(b.taker_buy_quote_volume);
  for (const int64_t v : d) {
    if (v % r.price_unit != 0 || v / r.price_unit < INT32_MIN || v / r.price_unit > INT32_MAX)
      return false;
    enc.i32(static_cast<int32_t>(v / r.price_unit));
  }
  for (const int64_t v : {b.volume, b.taker_buy_volume}) {
    if (v % r.volume_unit != 0 || v / r.volume_unit > UINT32_MAX) return false;
    enc.u32(static_cast<uint32_t>(v / r.volume_unit));
  }
  enc.u32(static_cast<uint32_t>(b.trade_count));
  // What a reader makes of it, compared field by field.
  char rec[run_size(1)] = {};
  put_run_header(rec, r, open_time, 1);
  std::memcpy(rec + run_head, out, run_entry);
  run_cursor c;
  market_event back;
  if (!open_run(rec, r.flags, sizeof rec, b.header.instrument_id, c)) return false;
  read_run_bar(c, back);
  return same_bar(back.bar, b);
}

// What a record of `e` looks like: its type, flag bits, size and time (and a packed bar's
// fields).
struct record_shape {
  uint8_t type = 0, flags = 0;
  size_t size = 0;
  int64_t ts = 0;
  packed_bar packed;
};

// With `pack`, a bar that packs exactly is a packed bar.
record_shape shape_of(const market_event& e, bool pack) {
  switch (e.type) {
    case market_event::kind::trade: {
      const cats_trade_event_t& t = e.trade;
      const bool known_side =
          t.aggressor_side >= CATS_SIDE_NONE && t.aggressor_side <= CATS_SIDE_SELL;
      return {type_trade,
              known_side ? static_cast<uint8_t>(t.aggressor_side) : uint8_t{0},
              trade_size,
              t.header.local_ts_ns,
              {}};
    }
    case market_event::kind::quote:
      return {type_quote, 0, quote_size, e.quote.header.local_ts_ns, {}};
    case market_event::kind::bar:
      if (pack) {
        if (const std::optional<packed_bar> k = pack_bar(e.bar))
          return {type_packed_bar, k->flags, packed_bar_size, e.bar.header.local_ts_ns, *k};
      }
      return {type_bar, 0, bar_size, e.bar.header.local_ts_ns, {}};
    case market_event::kind::book: {
      const book_update& u = *e.book;
      const uint64_t levels = u.bids.size() + u.asks.size();
      if (levels > max_block_payload / book_level_size) {
        throw std::length_error("book update with too many levels to store");
      }
      const auto bits = static_cast<uint8_t>((u.snapshot ? book_bit_snapshot : 0) |
                                             (u.has_checksum ? book_bit_has_checksum : 0));
      return {type_book, bits, book_fixed_size + book_level_size * levels, u.local_ts_ns, {}};
    }
    case market_event::kind::none:
      break;
  }
  return {};
}

// The record's fields after its 8-byte head.
void encode_body(const market_event& e, const record_shape& shape, char* body) {
  encoder enc(body);
  if (shape.type == type_packed_bar) {
    put_packed_bar(body, e.bar, shape.packed);
    return;
  }
  switch (e.type) {
    case market_event::kind::trade: {
      const cats_trade_event_t& t = e.trade;
      enc.i64(t.header.exchange_ts_ns);
      enc.i64(t.header.local_ts_ns);
      enc.i64(t.price);
      enc.i64(t.quantity);
      enc.u64(t.trade_id);
      break;
    }
    case market_event::kind::quote: {
      const cats_quote_event_t& q = e.quote;
      for (int64_t v : {q.header.exchange_ts_ns, q.header.local_ts_ns, q.bid_price, q.bid_quantity,
                        q.ask_price, q.ask_quantity})
        enc.i64(v);
      break;
    }
    case market_event::kind::bar: {
      const cats_bar_event_t& b = e.bar;
      for (int64_t v : {b.header.exchange_ts_ns, b.header.local_ts_ns, b.open_time_ns,
                        b.interval_ns, b.open, b.high, b.low, b.close, b.volume, b.quote_volume,
                        b.taker_buy_volume, b.taker_buy_quote_volume, b.trade_count})
        enc.i64(v);
      break;
    }
    case market_event::kind::book: {
      const book_update& u = *e.book;
      enc.i64(u.exchange_ts_ns);
      enc.i64(u.local_ts_ns);
      enc.u64(u.first_seq);
      enc.u64(u.last_seq);
      enc.i64(u.prev_seq);
      enc.u32(e.book_flags);
      enc.i32(u.checksum);
      enc.u32(static_cast<uint32_t>(u.bids.size()));
      enc.u32(static_cast<uint32_t>(u.asks.size()));
      write_levels(enc, u);
      break;
    }
    case market_event::kind::none:
      break;
  }
}

}  // namespace

bool store_writer::impl::join_run(uint16_t id, const cats_bar_event_t& b) {
  if (tail.at == 0 || tail.id != id) return false;
  if (tail.bars == 1) return start_run(b);
  const size_t grown = run_size(uint64_t{tail.bars} + 1);
  if (tail.at - block_header_size + grown > opt.block_bytes || tail.bars == UINT32_MAX)
    return false;
  char entry[run_entry];
  if (!put_run_bar(entry, tail.shape, tail.bars, b) &&
      (!refine_run(b) || !put_run_bar(entry, tail.shape, tail.bars, b))) {
    return false;
  }
  block.resize(tail.at + grown);
  std::memcpy(block.data() + tail.at + run_head + run_entry * tail.bars, entry, run_entry);
  ++tail.bars;
  encoder(block.data() + tail.at + 4).u32(static_cast<uint32_t>(grown));
  encoder(block.data() + tail.at + record_head + 24).u32(tail.bars);
  counted(b.header.local_ts_ns);
  return true;
}

namespace {
// A step from y to x, or 1 (no decimal zero) where it overflows.
int64_t price_step(int64_t x, int64_t y) noexcept {
  int64_t d = 0;
  return __builtin_sub_overflow(x, y, &d) ? int64_t{1} : d;
}
}  // namespace

// The run's units made as fine as bar `b`, the run's next bar, needs (a run that began with flat or
// empty bars took the largest units they allowed): each bar in it is written again in the finer
// units. False, the run unchanged, when `b` needs no finer unit, would not join the run in the
// finer units either (another interval, a gap, a value that does not fit), or a bar already in the
// run would not fit them.
bool store_writer::impl::refine_run(const cats_bar_event_t& b) {
  run_shape& r = tail.shape;
  const int p0 = r.flags & 15, q0 = r.flags >> 4;
  const int p = std::min(
      p0, common_decimal_zeros({price_step(b.high, b.open), price_step(b.low, b.open),
                                price_step(b.close, b.open), price_step(b.open, r.base_open)}));
  const int q = std::min(q0, common_decimal_zeros({b.volume, b.taker_buy_volume}));
  if (p == p0 && q == q0) return false;
  run_shape finer = r;
  finer.flags = static_cast<uint8_t>(p | q << 4);
  finer.price_unit = pow10_table[p];
  finer.volume_unit = pow10_table[q];
  char entry[run_entry];
  if (!put_run_bar(entry, finer, tail.bars, b)) return false;  // the units are not all it lacks
  const int64_t pf = pow10_table[p0 - p], qf = pow10_table[q0 - q];
  char* const bars = block.data() + tail.at + run_head;
  for (int pass = 0; pass < 2; ++pass) {  // every bar checked before any is written
    for (uint32_t k = 0; k < tail.bars; ++k) {
      char* const at = bars + run_entry * k + 16;  // i32 open, high, low, close; u32 volumes
      decoder dec(at);
      encoder enc(at);
      for (int i = 0; i < 4; ++i) {
        int64_t v = 0;
        if (__builtin_mul_overflow(int64_t{dec.i32()}, pf, &v) || v < INT32_MIN || v > INT32_MAX)
          return false;
        if (pass == 1) enc.i32(static_cast<int32_t>(v));
      }
      for (int i = 0; i < 2; ++i) {
        int64_t v = 0;
        if (__builtin_mul_overflow(int64_t{dec.u32()}, qf, &v) || v > UINT32_MAX) return false;
        if (pass == 1) enc.u32(static_cast<uint32_t>(v));
      }
    }
  }
  r = finer;
  block[tail.at + 1] = static_cast<char>(r.flags);
  return true;
}

// The packed bar the block ends with and `b` as a run of two, sharing the most decimal zeros of
// both bars' price steps (and of the step between their opens) and of their volumes.
bool store_writer::impl::start_run(const cats_bar_event_t& b) {
  const cats_bar_event_t& a = tail.first;
  const int p = common_decimal_zeros({price_step(a.high, a.open), price_step(a.low, a.open),
                                      price_step(a.close, a.open), price_step(b.high, b.open),
                                      price_step(b.low, b.open), price_step(b.close, b.open),
                                      price_step(b.open, a.open)});
  const int q = common_decimal_zeros({a.volume, a.taker_buy_volume, b.volume, b.taker_buy_volume});
  run_shape r;
  r.flags = static_cast<uint8_t>(p | q << 4);
  r.open_time = a.open_time_ns;
  r.base_open = a.open;
  r.interval_ns = a.interval_ns;  // whole milliseconds that fit 32 bits: `a` packed
  r.close_offset = static_cast<int32_t>(a.header.exchange_ts_ns - a.open_time_ns - a.interval_ns);
  r.price_unit = pow10_table[p];
  r.volume_unit = pow10_table[q];
  const size_t size = run_size(2);
  char entries[2 * run_entry];
  if (tail.at - block_header_size + size > opt.block_bytes || !put_run_bar(entries, r, 0, a) ||
      !put_run_bar(entries + run_entry, r, 1, b)) {
    return false;
  }
  block.resize(tail.at + size);
  encoder enc(block.data() + tail.at);
  enc.u8(type_bar_run);
  enc.u8(r.flags);
  enc.u16(tail.id);
  enc.u32(static_cast<uint32_t>(size));
  put_run_header(block.data() + tail.at, r, r.open_time, 2);
  std::memcpy(block.data() + tail.at + run_head, entries, sizeof entries);
  if (--packed_in_block == 0)
    open.kinds = static_cast<uint16_t>(open.kinds & ~(1u << type_packed_bar));
  open.kinds = static_cast<uint16_t>(open.kinds | (1u << type_bar_run));
  tail.bars = 2;
  tail.shape = r;
  counted(b.header.local_ts_ns);
  return true;
}

void store_writer::append(const std::string& symbol, const market_event& e) {
  impl& w = *impl_;
  if (e.type == market_event::kind::none) return;
  const auto found = w.ids.find(symbol);
  const uint16_t id = found != w.ids.end() ? found->second : w.define(symbol);
  if (e.type == market_event::kind::bar && w.opt.pack_bars && w.opt.bar_runs &&
      w.join_run(id, e.bar))
    return;
  const record_shape s = shape_of(e, w.opt.pack_bars);
  encode_body(e, s, w.begin_record(s.type, s.flags, id, s.size, s.ts));
  w.tail.at = 0;
  if (s.type == type_packed_bar) {  // the next bar of the symbol may make it a run
    w.tail.at = w.block.size() - s.size;
    w.tail.id = id;
    w.tail.bars = 1;
    w.tail.first = e.bar;
    ++w.packed_in_block;
  }
  // A full block is written by the next append (before its record) or by flush(): a failed
  // write then never leaves the caller unsure whether its record was kept.
}

void store_writer::flush() {
  impl_->flush();
}

void store_writer::close() {
  impl_->close();
}

const store_writer_stats& store_writer::stats() const noexcept {
  return impl_->stats;
}

const std::filesystem::path& store_writer::path() const noexcept {
  return impl_->path;
}

// ---- reader -------------------------------------------------------------------------------------

namespace {

// What is wrong with the block at `at` of a mapping of `size` bytes (its header read into `h`);
// with `crc_known`, its checksum was found good before and is not computed again.
enum class block_fault { none, short_header, no_magic, bad_payload, truncated, checksum };

// The header part of it: `p` holds the block's first bytes (all 64 when `left`, the bytes from
// there to the end of the file, allows), `h` gets the header.
block_fault header_fault(const char* p, uint64_t left, block_header& h) {
  if (left < block_header_size) return block_fault::short_header;
  if (std::memcmp(p, block_magic, 4) != 0) return block_fault::no_magic;
  h = get_block_header(p);
  if (h.payload > max_block_payload || h.payload % 8 != 0) return block_fault::bad_payload;
  if (left - block_header_size < h.payload) return block_fault::truncated;
  return block_fault::none;
}

block_fault find_block_fault(const char* base, uint64_t size, uint64_t at, block_header& h,
                             bool crc_known) {
  const block_fault f = header_fault(base + at, size - at, h);
  if (f != block_fault::none) return f;
  if (!crc_known && block_crc(base + at, h.payload) != h.crc) return block_fault::checksum;
  return block_fault::none;
}

// The block header at `at`: through the mapping `base`, or with a descriptor (fd >= 0) read with
// pread, so that walking the headers of gigabytes maps none of their pages (a touch maps the pages
// around it). What header_fault says of it; short_header when the read comes up short.
block_fault header_at(int fd, const char* base, uint64_t size, uint64_t at, block_header& h) {
  if (fd < 0) return header_fault(base + at, size - at, h);
  char head[block_header_size];
  if (size - at < block_header_size ||
      ::pread(fd, head, block_header_size, static_cast<off_t>(at)) !=
          static_cast<ssize_t>(block_header_size))
    return block_fault::short_header;
  return header_fault(head, size - at, h);
}

// A data block with records (its times mean something).
bool holds_records(const block_header& h) noexcept {
  return h.kind == block_data && h.count != 0;
}

// Whether a header read without its block's CRC fits the chain after the block numbered
// `number` (none: the first block): the numbers follow one another, and a data block's times are
// in order. A length that lands on a later block, or a damaged number or time, does not.
bool fits_chain(const block_header& h, const std::optional<uint64_t>& number) noexcept {
  return (!number || h.sequence == *number + 1) && !(holds_records(h) && h.first_ts > h.last_ts);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older C libraries lack the name
#endif

// Maps a file's pages ahead of its reader and gives back those behind it, on a thread of its
// own: the page faults (one maps 16 pages, and a bar is 112 bytes) and the unmapping cost the
// reading thread nothing. It maps a window ahead in chunks and sleeps until the reader has used
// half of it; what it gives back goes in steps of half a window. Without MADV_POPULATE_READ (a
// kernel before 5.14) it only gives pages back, and the reader faults them in itself: touching
// them here instead could fault on a file cut short under the mapping before the reader would.
// In the pages it mapped, it also checks the blocks' CRCs a little ahead of the reader, walking
// the chain of blocks from the first one and stopping for good at the first fault or once the file
// is shorter than its mapping: the reader skips the CRC of a block before `verified()` and finds
// its data in the shared cache.
class pager {
 public:
  // `start`: where the reader begins (past what skip_before passed over, which is not mapped).
  pager(const char* base, int fd, uint64_t size, uint64_t window, uint64_t page, uint64_t start)
      : base_(base),
        fd_(fd),
        size_(size),
        page_(page),
        window_(std::max(window, 16 * page) / page * page),
        chunk_(std::max(window_ / 16 / page * page, page)),
        step_(std::max(window_ / 2 / page * page, page)) {
    reading_.store(start, std::memory_order_relaxed);
    thread_ = std::thread([this] { run(); });
  }
  ~pager() {
    quit_.store(true);
    bell_.fetch_add(1);
    bell_.notify_all();
    thread_.join();
  }
  pager(const pager&) = delete;
  pager& operator=(const pager&) = delete;

  // The end of the last range MADV_POPULATE_READ mapped: for tests.
  uint64_t populated() const noexcept { return populated_.load(std::memory_order_relaxed); }

  // Every block of the reader's chain that starts before this offset is whole and its CRC
  // matches (0: none checked yet).
  uint64_t verified() const noexcept { return verified_.load(std::memory_order_acquire); }

  // The reader is at `at`: wakes the pager when less than half its window is left ahead.
  void reading(uint64_t at) noexcept {
    reading_.store(at, std::memory_order_relaxed);
    const bool due = at + window_ / 2 >= ready_.load(std::memory_order_relaxed) ||
                     (chain_ok_.load(std::memory_order_relaxed) &&
                      at + verify_lead / 2 >= verified_.load(std::memory_order_relaxed));
    if (due && at >= woken_at_) {
      woken_at_ = at + std::min(chunk_, verify_lead / 4);
      bell_.fetch_add(1);
      bell_.notify_one();
    }
  }

 private:
  void run() {
    uint64_t mapped = 0, released = 0;
    for (;;) {
      // The bell before the flag: a stop rung after this load changes the bell, and one rung
      // before it is seen by the flag; either way the wait below does not sleep through it.
      const uint32_t rung = bell_.load();
      if (quit_.load()) return;
      const uint64_t at = reading_.load(std::memory_order_relaxed);
      const uint64_t behind = at / step_ * step_;
      if (behind > released) {
        ::madvise(const_cast<char*>(base_) + released, behind - released, MADV_DONTNEED);
        released = behind;
      }
      if (mapped < at) mapped = at / page_ * page_;
      // The CRCs near the reader first, then the pages further ahead.
      if (!given_up_ && at > 0) verify(at, std::min(mapped, at + verify_lead));
      // Ranges start on page boundaries (madvise refuses others): a target is one, or the end.
      const uint64_t target = std::min(size_, (at + window_) / page_ * page_);
      if (!given_up_ && mapped < target) {
        const uint64_t n = std::min(chunk_, target - mapped);
        populate(mapped, n);
        mapped += n;
        ready_.store(mapped, std::memory_order_relaxed);
        continue;
      }
      bell_.wait(rung);
    }
  }
  // Checks the CRCs of the chain's blocks that lie whole before `upto` (pages this thread mapped),
  // from the block the reader is at (`at`, one it found whole) when the chain is behind. A file
  // that became shorter than its mapping ends the checks for good: its pages past the new end
  // would raise SIGBUS here, where the reader might never have gone. (Reading them with pread()
  // instead was measured: the copy loses most of what the checks ahead gain.)
  void verify(uint64_t at, uint64_t upto) noexcept {
    if (chain_ < at) chain_ = at;
    if (!chain_ok_.load(std::memory_order_relaxed) || chain_ + block_header_size > upto) return;
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < size_) {
      chain_ok_.store(false, std::memory_order_relaxed);
      return;
    }
    block_header h;
    while (chain_ + block_header_size <= upto) {
      const bool sound = find_block_fault(base_, size_, chain_, h, true) == block_fault::none;
      const uint64_t end = chain_ + block_header_size + h.payload;
      if (sound && end > upto) return;  // checked once it is mapped whole
      if (!sound || block_crc(base_ + chain_, h.payload) != h.crc) {
        chain_ok_.store(false, std::memory_order_relaxed);  // the reader finds it and says why
        return;
      }
      chain_ = end;
      verified_.store(end, std::memory_order_release);
    }
  }
  void populate(uint64_t at, uint64_t n) noexcept {
    for (int tries = 0; tries < 3; ++tries) {
      if (::madvise(const_cast<char*>(base_) + at, n, MADV_POPULATE_READ) == 0) {
        populated_.store(at + n, std::memory_order_relaxed);
        return;
      }
      if (errno != EINTR && errno != EAGAIN) break;
    }
    // EINVAL: a kernel without it; EFAULT: the file shrank under the mapping; ENOMEM. The reader
    // faults its pages in itself, checks every CRC and reports what it finds.
    given_up_ = true;
    chain_ok_.store(false, std::memory_order_relaxed);
  }

  const char* base_;
  const int fd_;  // the reader's, open while this pager lives: its size is checked
  const uint64_t size_, page_, window_, chunk_, step_;
  // How far ahead of the reader the CRCs are checked: near enough that the blocks are still in the
  // shared cache when the reader gets there.
  static constexpr uint64_t verify_lead = 2u << 20;
  std::atomic<uint64_t> reading_{0}, ready_{0}, populated_{0}, verified_{0};
  std::atomic<bool> chain_ok_{true};
  uint64_t chain_ = store_header_size;  // the pager's: the next block of the chain to check
  std::atomic<uint32_t> bell_{0};
  std::atomic<bool> quit_{false};
  uint64_t woken_at_ = 0;  // the reader's: no second ring before it moved a chunk on
  bool given_up_ = false;  // the pager's: mapping ahead failed, only giving back goes on
  std::thread thread_;
};

}  // namespace

struct store_reader::impl {
  std::string name;
  store_reader_options opt;
  const char* base = nullptr;  // the mapping
  int fd = -1;                 // the file while a pager may read it (-1: closed)
  uint64_t size = 0;
  uint64_t pos = 0;  // next block
  const char* rec = nullptr;
  const char* rec_end = nullptr;
  uint32_t left = 0;           // events left in the current block (a run's bars count one each)
  run_cursor run;              // the bar run being read (run.left bars of `left` are its)
  uint16_t block_kinds = 0;    // the record types its header lists
  uint64_t block_at = 0;       // offset of the current block
  uint64_t symtab_at = 0;      // offset of the symbol block loaded last (0: none)
  uint64_t released = 0;       // the mapping's pages before this offset were given back
  uint64_t rescan_budget = 0;  // bytes the search for the next block may checksum (2x the file)
  std::vector<std::string> symbols;  // by id - 1
  struct resolved {
    uint32_t id = 0;
    bool known = false;
  };
  std::vector<resolved> ids;  // by file id
  bool hold_new = false;      // read() stops before a record of a symbol not resolved yet
  bool held = false;          // ... and did
  symbol_resolver resolver;
  const std::string* current = nullptr;
  uint16_t last_file_id = 0;  // resolve()'s last answer (0: none; file ids start at 1)
  uint32_t last_id = 0;
  const std::string none;
  book_update book;
  std::string error;
  bool done = false;
  uint64_t records = 0, damaged = 0, damaged_bytes = 0;
  std::vector<std::string> messages;

  std::unique_ptr<pager> pages;  // options.page_window: faults and unmapping on another thread
  bool pager_tried = false;
  // The record types the file header lists for a file closed in good order (what a backtest
  // decided from, store_record_kinds): a data block with others is damage. All bits otherwise.
  uint16_t listed_kinds = 0xffff;

  ~impl() {
    pages.reset();
    if (base != nullptr) ::munmap(const_cast<char*>(base), size);
    if (fd >= 0) ::close(fd);
  }

  bool fail(std::string message) {
    error = name + ": " + std::move(message);
    done = true;
    return false;
  }

  // A damaged block at `at`: the end (an error), or with skip_damaged one more skipped block.
  bool damage(uint64_t at, const std::string& what) {
    const std::string where = "at byte " + std::to_string(at) + ": " + what;
    if (!opt.skip_damaged) return fail(where);
    ++damaged;
    if (messages.size() < kept_messages) messages.push_back(name + ": " + where + " (skipped)");
    return true;
  }

  // The block at `at` if it is whole and its CRC matches; `why` says otherwise. For a block on the
  // chain from the first block on (`on_chain`: next_block's walk), the CRC the pager already
  // checked is not computed again: the pager walks the same chain and stops at its first fault.
  bool check_block(uint64_t at, block_header& h, std::string& why, bool on_chain = false) const {
    const bool checked = on_chain && pages && at < pages->verified();
    const block_fault f = find_block_fault(base, size, at, h, checked);
    if (f == block_fault::none) return true;
    why = describe(f, at, h);
    return false;
  }

  std::string describe(block_fault f, uint64_t at, const block_header& h) const {
    switch (f) {
      case block_fault::short_header:
        return "truncated block header (needs " + std::to_string(block_header_size) + " bytes, " +
               std::to_string(size - at) + " left)";
      case block_fault::no_magic:
        return "no block starts here (damaged or not a block boundary)";
      case block_fault::bad_payload:
        return "damaged block header (records of " + std::to_string(h.payload) + " bytes)";
      case block_fault::truncated:
        return "truncated block (needs " + std::to_string(block_header_size + h.payload) +
               " bytes, " + std::to_string(size - at) + " left)";
      case block_fault::checksum: {
        char b[96];
        std::snprintf(b, sizeof b, "checksum mismatch in block (stored 0x%08x, computed 0x%08x)",
                      h.crc, block_crc(base + at, h.payload));
        return b;
      }
      case block_fault::none:
        break;
    }
    return {};
  }

  // After a damaged block: the next offset where a whole block starts (or the end).
  // Checksummed candidates cost their length: a file crafted with a "CBLK" every 8 bytes would
  // otherwise cost (size / 8) x 64 MiB. Past this budget the rest of the file counts as damaged.
  uint64_t resync(uint64_t from) {
    block_header h;
    std::string why;
    for (uint64_t at = (from + 8) & ~uint64_t{7}; at + block_header_size <= size; at += 8) {
      block_header c;
      if (header_fault(base + at, size - at, c) != block_fault::none) continue;
      if (rescan_budget < c.payload) return size;
      rescan_budget -= c.payload;
      if (check_block(at, h, why)) return at;
    }
    return size;
  }

  bool load_symbols(uint64_t at, const block_header& h, std::string& why) {
    const char* p = base + at + block_header_size;
    const char* end = p + h.payload;
    std::vector<std::string> table;
    for (uint32_t i = 0; i < h.count; ++i) {
      if (end - p < 4) break;
      decoder dec(p);
      const uint16_t id = dec.u16();
      const uint16_t n = dec.u16();
      if (id != i + 1 || n == 0 || static_cast<size_t>(end - p) < 4u + n) break;
      table.emplace_back(p + 4, n);
      p += (4 + n + 7) & ~size_t{7};
    }
    if (table.size() != h.count) {
      why = "malformed symbol block";
      return false;
    }
    for (size_t i = 0; i < std::min(table.size(), symbols.size()); ++i) {
      if (table[i] != symbols[i]) {
        why = "symbol id " + std::to_string(i + 1) + " redefined (\"" + symbols[i] + "\", then \"" +
              table[i] + "\")";
        return false;
      }
    }
    if (table.size() > symbols.size()) {
      symbols = std::move(table);
      current = nullptr;  // pointed into the old table; set again by the next record
      last_file_id = 0;
    }
    symtab_at = at;
    return true;
  }

  // Moves to the next data block with records; false at the end or on an error.
  bool next_block() {
    while (!done) {
      if (pos == size) return false;
      block_header h;
      std::string why;
      const uint64_t at = pos;
      if (!check_block(at, h, why, true)) {
        if (!damage(at, why)) return false;
        const uint64_t next = resync(at);
        damaged_bytes += next - at;
        pos = next;
        continue;
      }
      pos = at + block_header_size + h.payload;
      if (h.kind == block_symbols) {
        if (!load_symbols(at, h, why) && !damage(at, why)) return false;
        continue;
      }
      if (h.kind != block_data) continue;  // a block kind from a newer writer
      bool sound = true;
      if ((h.kinds & ~listed_kinds) != 0) [[unlikely]] {
        char b[112];
        std::snprintf(b, sizeof b,
                      "block holds record types the file header does not list (0x%x, listed 0x%x)",
                      h.kinds, listed_kinds);
        why = b;
        sound = false;
      } else if (h.symtab != symtab_at) {
        sound = refer(h, why);
      }
      if (!sound) {
        if (!damage(at, why)) return false;
        damaged_bytes += pos - at;
        continue;
      }
      block_at = at;
      if (pages || start_pager(at))
        pages->reading(at);
      else
        release_behind(at);
      rec = base + at + block_header_size;
      rec_end = rec + h.payload;
      left = h.count;
      run.left = 0;
      block_kinds = h.kinds;
      if (left > 0) return true;
    }
    return false;
  }

  // At the first read (not when a file is only opened to be checked), for files larger than its
  // window. Without a thread (none can be started) the reader maps and releases its own pages.
  bool start_pager(uint64_t at) {
    if (opt.page_window == 0 || pager_tried || size <= opt.page_window || fd < 0) return false;
    pager_tried = true;
    try {
      const long page = ::sysconf(_SC_PAGESIZE);
      pages = std::make_unique<pager>(base, fd, size, opt.page_window,
                                      page > 0 ? static_cast<uint64_t>(page) : 4096, at);
    } catch (const std::system_error&) {
      return false;
    }
    return true;
  }

  // The pages before `at` leave this process's memory (the page cache keeps them): what the
  // replay holds stays the same however long the file is.
  void release_behind(uint64_t at) {
    constexpr uint64_t step = 16u << 20;
    const uint64_t upto = at & ~(step - 1);
    if (upto <= released) return;
    ::madvise(const_cast<char*>(base) + released, upto - released, MADV_DONTNEED);
    released = upto;
  }

  // A data block whose symbol table is not the one loaded (the reader skipped it, or it is an
  // older table): loads the one the block names.
  bool refer(const block_header& h, std::string& why) {
    block_header s;
    if (h.symtab == 0) return true;  // no symbols: the block can only hold none
    if (h.symtab >= size || !check_block(h.symtab, s, why) || s.kind != block_symbols) {
      why = "block refers to a symbol table at byte " + std::to_string(h.symtab) +
            " that is missing or damaged";
      return false;
    }
    return load_symbols(h.symtab, s, why);
  }

  bool resolved(uint16_t file_id) const noexcept {
    return (file_id == last_file_id && file_id != 0) ||
           (file_id < ids.size() && ids[file_id].known);
  }

  // The symbol of the record before, again (the common case): `current` still names it.
  [[gnu::always_inline]] bool resolve(uint16_t file_id, uint32_t& out) {
    if (file_id == last_file_id && file_id != 0) [[likely]] {
      out = last_id;
      return true;
    }
    if (!resolve_table(file_id, out)) return false;
    last_file_id = file_id;
    last_id = out;
    return true;
  }

  bool resolve_table(uint16_t file_id, uint32_t& out) {
    if (file_id < ids.size() && ids[file_id].known) {
      out = ids[file_id].id;
      current = &symbols[file_id - 1];
      return true;
    }
    if (file_id == 0 || file_id > symbols.size()) return false;
    out = resolver ? resolver(symbols[file_id - 1]) : file_id;
    if (ids.size() <= file_id) ids.resize(file_id + 1u);
    ids[file_id] = {out, true};
    current = &symbols[file_id - 1];
    return true;
  }

  // The records from `rec` on that are bars of the symbol of the record before (of sizes this
  // build writes, of types the block lists) into `out`, up to `n`: what read() would make of
  // them, with its checks made for the run as a whole. Stops at anything else, which read()
  // then takes.
  size_t bar_run(market_event* out, size_t n);

  // The rest of the block as damaged (a record that does not fit its block).
  bool bad_record(const char* p, const std::string& what) {
    left = 0;
    run.left = 0;
    const auto at = static_cast<uint64_t>(p - base);
    if (!damage(at, what + " (in the block at byte " + std::to_string(block_at) + ")")) {
      return false;
    }
    damaged_bytes += static_cast<uint64_t>(rec_end - p);
    return true;
  }
};

namespace {

size_t minimum_size(uint8_t type) noexcept {
  switch (type) {
    case type_trade:
      return trade_size;
    case type_quote:
      return quote_size;
    case type_bar:
      return bar_size;
    case type_packed_bar:
      return packed_bar_size;
    case type_bar_run:
      return run_size(1);
    case type_book:
      return book_fixed_size;
    default:
      return record_head;
  }
}

void decode_book(decoder& dec, uint8_t bits, uint32_t id, book_update& u, uint32_t& flags,
                 uint32_t& nb, uint32_t& na) noexcept {
  u.instrument_id = id;
  u.exchange_ts_ns = dec.i64();
  u.local_ts_ns = dec.i64();
  u.first_seq = dec.u64();
  u.last_seq = dec.u64();
  u.prev_seq = dec.i64();
  flags = dec.u32();
  u.checksum = dec.i32();
  u.snapshot = (bits & book_bit_snapshot) != 0;
  u.has_checksum = (bits & book_bit_has_checksum) != 0;
  nb = dec.u32();
  na = dec.u32();
}

// The head of a record of `avail` bytes: nullptr when it is sound, else what is wrong.
// `known` is false for a record type from a newer writer (sound, to be skipped).
const char* check_head(uint8_t type, uint8_t flags, uint32_t size, uint64_t avail, bool& known) {
  known = false;
  if (size < minimum_size(type) || size % 8 != 0 || size > avail) return "malformed record";
  if (type < type_trade || type > type_bar_run) return nullptr;
  if (type == type_trade && (flags & 3) == 3) return "malformed trade record (side 3)";
  known = true;
  return nullptr;
}

// The fields of a sound record `p` of `size` bytes (its head checked) as an event of instrument
// `id`; a book event points into `book`. False when the book's level counts exceed the record.
[[gnu::always_inline]] inline bool decode_body(const char* p, uint8_t type, uint8_t flags,
                                               uint32_t size, uint32_t id, market_event& out,
                                               book_update& book) {
  decoder dec(p + record_head);
  out.built = false;
  out.book = nullptr;
  out.book_flags = 0;
  if (type == type_book) {
    uint32_t book_flags = 0, nb = 0, na = 0;
    decode_book(dec, flags, id, book, book_flags, nb, na);
    if (book_fixed_size + book_level_size * (static_cast<uint64_t>(nb) + na) > size) return false;
    read_levels(dec, book, nb, na);
    out = market_event::of(book, book_flags, book.local_ts_ns);
  } else if (type == type_packed_bar) {
    out.type = market_event::kind::bar;
    cats_bar_event_t& b = out.bar;
    b.header.struct_size = sizeof b;
    b.header.type = CATS_EVENT_BAR;
    b.header.instrument_id = id;
    b.header.flags = 0;
    unpack_bar(p, flags, b);
    out.ts = b.header.local_ts_ns;
  } else if (type == type_bar) {
    out.type = market_event::kind::bar;
    cats_bar_event_t& b = out.bar;
    if constexpr (std::endian::native == std::endian::little) {
      b.header.struct_size = sizeof b;
      b.header.type = CATS_EVENT_BAR;
      b.header.instrument_id = id;
      b.header.flags = 0;
      // The record's 13 fields are the struct's from exchange_ts_ns on, in the same order.
      static_assert(offsetof(cats_bar_event_t, trade_count) -
                        offsetof(cats_bar_event_t, header.exchange_ts_ns) ==
                    12 * 8);
      std::memcpy(&b.header.exchange_ts_ns, p + record_head, 13 * 8);
    } else {
      read_bar(dec, id, b);
    }
    out.ts = b.header.local_ts_ns;
  } else if (type == type_trade) {
    out.type = market_event::kind::trade;
    read_trade_fields(dec, id, out.trade);
    out.trade.aggressor_side = flags & 3;
    out.ts = out.trade.header.local_ts_ns;
  } else {
    out.type = market_event::kind::quote;
    read_quote(dec, id, out.quote);
    out.ts = out.quote.header.local_ts_ns;
  }
  return true;
}

}  // namespace

store_reader::store_reader(const std::filesystem::path& file, store_reader_options options)
    : impl_(std::make_unique<impl>()) {
  impl& r = *impl_;
  r.name = file.string();
  r.opt = options;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_io("cannot open", file, errno);
  r.fd = fd;  // closed with the reader
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_io("cannot stat", file, errno);
  r.size = static_cast<uint64_t>(st.st_size);
  if (r.size > 0) {
    void* m = ::mmap(nullptr, r.size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) throw_io("cannot map", file, errno);
    r.base = static_cast<const char*>(m);
    ::madvise(m, r.size, MADV_SEQUENTIAL);  // advice only: read ahead, drop pages behind
#ifdef MADV_HUGEPAGE
    // Huge pages for the mapping where the kernel backs read-only files with them (a file
    // system and a kernel that can, THP enabled); refused elsewhere, which changes nothing.
    ::madvise(m, r.size, MADV_HUGEPAGE);
#endif
  }
  if (r.opt.page_window == 0 || r.size <= r.opt.page_window) {  // no pager will read it
    ::close(fd);
    r.fd = -1;
  }
  if (r.size < store_header_size) {
    r.fail(r.size == 0 ? "empty file (no file header; the writer stopped before its first flush)"
                       : "truncated file header at byte 0 (needs 64 bytes, " +
                             std::to_string(r.size) + " left)");
    return;
  }
  decoder dec(r.base + sizeof file_magic);
  const uint16_t version = dec.u16();
  if (std::memcmp(r.base, file_magic, sizeof file_magic) != 0 || !is_block_store_version(version)) {
    throw std::runtime_error(r.name + ": not a CATS block store (version 2 to 4)");
  }
  const uint32_t stored = decoder(r.base + store_header_size - 4).u32();
  const uint32_t computed = crc32c(r.base, store_header_size - 4);
  if (stored != computed) {
    char b[96];
    std::snprintf(b, sizeof b, ": file header checksum mismatch (stored 0x%08x, computed 0x%08x)",
                  stored, computed);
    throw std::runtime_error(r.name + b);
  }
  if (const std::optional<file_summary> s = closed_summary(r.base, r.size))
    r.listed_kinds = s->kinds;
  r.pos = store_header_size;
  r.rescan_budget = 2 * r.size + (64u << 20);
}

store_reader::~store_reader() = default;

void store_reader::set_resolver(symbol_resolver resolver) {
  impl_->resolver = std::move(resolver);
  impl_->ids.clear();
  impl_->last_file_id = 0;
}

[[gnu::always_inline]] inline bool store_reader::read(market_event& out) {
  impl& r = *impl_;
  for (;;) {
    if (r.run.left != 0) {  // the next bar of a run (its record checked when it was reached)
      read_run_bar(r.run, out);
      --r.left;
      ++r.records;
      return true;
    }
    if (r.left == 0 && !r.next_block()) return false;
    const char* p = r.rec;
    if (r.rec_end - p < static_cast<ptrdiff_t>(record_head)) {  // fewer records than counted
      if (!r.bad_record(p, "malformed record (the block's count is larger than its records)"))
        return false;
      continue;
    }
    decoder head(p);
    const uint8_t type = head.u8();
    const uint8_t flags = head.u8();
    const uint16_t file_id = head.u16();
    const uint32_t size = head.u32();
    bool known = false;
    if (const char* bad =
            check_head(type, flags, size, static_cast<uint64_t>(r.rec_end - p), known)) {
      if (!r.bad_record(p, bad)) return false;
      continue;
    }
    // A batch ends before the first record of a symbol the resolver has not seen: the instrument
    // registers when its event is asked for, not up to a batch earlier.
    if (r.hold_new && known && !r.resolved(file_id)) [[unlikely]] {
      r.held = true;
      return false;
    }
    // What the block's header lists is what the file says it holds (store_record_kinds): a
    // record of another type would reach a replay set up without it (a store of bars only).
    if (known && ((r.block_kinds >> type) & 1) == 0) [[unlikely]] {
      if (!r.bad_record(p, "record of type " + std::to_string(type) +
                               " that its block header does not list")) {
        return false;
      }
      continue;
    }
    r.rec = p + size;
    --r.left;
    if (!known) continue;  // a record type from a newer writer
    uint32_t id = 0;
    if (!r.resolve(file_id, id)) {
      if (!r.bad_record(p, "record refers to undefined symbol id " + std::to_string(file_id))) {
        return false;
      }
      continue;
    }
    if (type == type_bar_run) {
      // Its bars count in the block's events: the first is read now, the rest by the calls after.
      if (!open_run(p, flags, size, id, r.run) || r.run.left - 1 > r.left) {
        if (!r.bad_record(p, "malformed bar run (" + std::to_string(r.run.left) + " bars)"))
          return false;
        continue;
      }
      read_run_bar(r.run, out);
    } else if (!decode_body(p, type, flags, size, id, out, r.book)) {
      if (!r.bad_record(p, "malformed book record")) return false;
      continue;
    }
    ++r.records;
    return true;
  }
}

bool store_reader::next(market_event& out) {
  return read(out);
}

size_t store_reader::impl::bar_run(market_event* out, size_t n) {
  if (run.left != 0) {  // the rest of a bar run, whose record read() checked when it reached it
    const uint32_t m = static_cast<uint32_t>(std::min<size_t>(n, run.left));
    for (uint32_t k = 0; k < m; ++k) read_run_bar(run, out[k]);
    left -= m;
    records += m;
    return m;
  }
  if (left == 0 || last_file_id == 0) return 0;
  const bool packed = ((block_kinds >> type_packed_bar) & 1) != 0;
  const bool whole = ((block_kinds >> type_bar) & 1) != 0;
  const char* p = rec;
  size_t k = 0;
  for (const size_t most = std::min<size_t>(n, left); k < most; ++k) {
    if (rec_end - p < static_cast<ptrdiff_t>(record_head)) break;  // read() names it
    decoder head(p);
    const uint8_t type = head.u8();
    const uint8_t flags = head.u8();
    const uint16_t file_id = head.u16();
    const uint32_t size = head.u32();
    if (file_id != last_file_id) break;
    market_event& e = out[k];
    if (type == type_packed_bar && packed && size == packed_bar_size &&
        rec_end - p >= static_cast<ptrdiff_t>(packed_bar_size)) {
      decode_body(p, type, flags, size, last_id, e, book);
    } else if (type == type_bar && whole && size == bar_size &&
               rec_end - p >= static_cast<ptrdiff_t>(bar_size)) {
      decode_body(p, type, flags, size, last_id, e, book);
    } else {
      break;
    }
    p += size;
  }
  rec = p;
  left -= static_cast<uint32_t>(k);
  records += k;
  return k;
}

size_t store_reader::next_batch(market_event* out, size_t n) {
  impl& r = *impl_;
  size_t k = 0;
  while (k < n) {
    k += r.bar_run(out + k, n - k);
    if (k == n) break;
    r.hold_new = k > 0;  // the batch's first event may be of a new symbol, no later one
    if (!read(out[k])) break;
    if (out[k++].type == market_event::kind::book) break;  // its levels are in r.book
  }
  r.hold_new = false;
  r.held = false;
  return k;
}

// One record on its own (a bus message): bars whole, as every reader of the block store reads
// them.
size_t event_record_size(const market_event& e) {
  return shape_of(e, false).size;
}

size_t encode_event_record(const market_event& e, uint16_t symbol_id, char* out) {
  const record_shape s = shape_of(e, false);
  if (s.size == 0) return 0;
  encoder enc(out);
  enc.u8(s.type);
  enc.u8(s.flags);
  enc.u16(symbol_id);
  enc.u32(static_cast<uint32_t>(s.size));
  encode_body(e, s, out + record_head);
  return s.size;
}

bool decode_event_record(const char* p, size_t n, uint32_t instrument_id, market_event& out,
                         book_update& book, std::string& why) {
  if (n < record_head) {
    why = "a record of " + std::to_string(n) + " bytes (at least 8 expected)";
    return false;
  }
  decoder head(p);
  const uint8_t type = head.u8();
  const uint8_t flags = head.u8();
  head.u16();
  const uint32_t size = head.u32();
  bool known = false;
  const char* bad = check_head(type, flags, size, n, known);
  if (bad == nullptr && !known) bad = "unknown record type";
  if (bad == nullptr && type == type_bar_run) bad = "a bar run is not a message";
  if (bad == nullptr && size != n) bad = "record size differs from the message size";
  if (bad == nullptr && !decode_body(p, type, flags, size, instrument_id, out, book))
    bad = "malformed book record";
  if (bad == nullptr) return true;
  why = std::string(bad) + " (type " + std::to_string(type) + ", " + std::to_string(size) +
        " bytes in a message of " + std::to_string(n) + ")";
  return false;
}

const std::string& store_reader::symbol() const noexcept {
  return impl_->current != nullptr ? *impl_->current : impl_->none;
}
const std::string& store_reader::error() const noexcept {
  return impl_->error;
}
uint64_t store_reader::skip_before(int64_t ts) {
  impl& r = *impl_;
  if (r.done || r.left != 0 || r.pos != store_header_size) return 0;
  // A header is trusted without its block's CRC, so it must fit the chain: blocks are numbered
  // one after the other, and a data block's times are in order. Where one does not (a length, a
  // number or a time damaged), the walk goes back a block, as the length that led there may be
  // what is wrong, and reading checks the CRCs from there.
  uint64_t at = r.pos, before = r.pos, symtab = 0;
  std::optional<uint64_t> number;
  // The blocks passed since the last data block with records passed (that one first), and the
  // block the walk went back onto.
  std::vector<uint64_t> tail;
  while (at < r.size) {
    block_header h;
    if (header_at(r.fd, r.base, r.size, at, h) != block_fault::none || !fits_chain(h, number)) {
      at = before;  // still in the tail: checked below like the blocks passed
      break;
    }
    if (holds_records(h) && h.last_ts >= ts) break;
    if (h.kind == block_symbols) symtab = at;
    if (holds_records(h)) tail.clear();
    tail.push_back(at);
    number = h.sequence;
    before = at;
    at += block_header_size + h.payload;
  }
  // The chain cannot vouch for every field: a last time lowered but still after the first, or a
  // count or kind damaged, would pass a block that holds the start, and the last header has no next
  // one to check it. With times in order, only the last data block passed can hold events at or
  // after the start, and only blocks without records (symbol tables, empty blocks, blocks of a kind
  // from a newer writer) lie between it and where the walk stopped: their CRCs are checked from the
  // last one back to that data block (usually one block or two). Reading starts at the earliest
  // that fails, and reports it.
  for (size_t i = tail.size(); i-- > 0;) {
    std::string why;
    block_header h;
    if (!r.check_block(tail[i], h, why))
      at = tail[i];
    else if (holds_records(h))
      break;  // sound: all its records are before the start
  }
  const uint64_t passed = at - r.pos;
  r.pos = at;
  // The symbols of what was passed over are registered as a read of this file from its start
  // would have done it (in the order they first appear, which is their ids' order), so that the
  // file's instruments and their ids do not depend on the window (with several files merged, each
  // file's are registered when it is opened). A table that is damaged is left to the block that
  // refers to it, which reports it. A table the walk went back onto is read here and again by
  // reading: tables only grow, so that changes nothing.
  std::string why;
  block_header h;
  if (symtab != 0 && r.check_block(symtab, h, why) && h.kind == block_symbols &&
      r.load_symbols(symtab, h, why)) {
    uint32_t id = 0;
    for (size_t i = 1; i <= r.symbols.size() && i <= UINT16_MAX; ++i)
      r.resolve_table(static_cast<uint16_t>(i), id);
    r.current = nullptr;  // no record read yet: symbol() names none
  }
  return passed;
}

uint64_t store_reader::records_read() const noexcept {
  return impl_->records;
}
uint64_t store_reader::damaged_blocks() const noexcept {
  return impl_->damaged;
}
uint64_t store_reader::damaged_bytes() const noexcept {
  return impl_->damaged_bytes;
}
const std::vector<std::string>& store_reader::messages() const noexcept {
  return impl_->messages;
}
uint64_t store_reader::bytes_done() const noexcept {
  return impl_->left > 0 ? static_cast<uint64_t>(impl_->rec - impl_->base) : impl_->pos;
}
uint64_t store_reader::paged_until() const noexcept {
  return impl_->pages ? impl_->pages->populated() : 0;
}
uint64_t store_reader::checked_until() const noexcept {
  return impl_->pages ? impl_->pages->verified() : 0;
}

uint64_t store_reader::bytes_total() const noexcept {
  return impl_->size;
}

namespace {

// A block store opened for its headers: the file header in `head`; fd -1 when the file cannot be
// read or is not a block store.
struct store_headers {
  explicit store_headers(const std::filesystem::path& file)
      : fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC)) {
    struct stat st {};
    if (fd >= 0 && ::fstat(fd, &st) == 0 &&
        ::pread(fd, head, store_header_size, 0) == static_cast<ssize_t>(store_header_size) &&
        std::memcmp(head, file_magic, 8) == 0 && is_block_store_version(decoder(head + 8).u16())) {
      size = static_cast<uint64_t>(st.st_size);
      return;
    }
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~store_headers() {
    if (fd >= 0) ::close(fd);
  }
  store_headers(const store_headers&) = delete;
  store_headers& operator=(const store_headers&) = delete;

  // Calls f(header) for every block, header to header (a few reads per megabyte of records);
  // false when a header is not sound or runs past the end (the reader's own checks: a length that
  // does not fit ends the walk, no wrap-around).
  // A header that does not fit the chain (fits_chain) ends it too.
  template <class F>
  bool each_block(F&& f) const {
    std::optional<uint64_t> number;
    for (uint64_t at = store_header_size; at < size;) {
      block_header h;
      if (header_at(fd, nullptr, size, at, h) != block_fault::none || !fits_chain(h, number))
        return false;
      f(h);
      number = h.sequence;
      at += block_header_size + h.payload;
    }
    return true;
  }

  int fd;
  uint64_t size = 0;
  char head[store_header_size];
};

}  // namespace

std::optional<uint16_t> store_record_kinds(const std::filesystem::path& file) {
  const store_headers s(file);
  if (s.fd < 0) return std::nullopt;
  // A file closed in good order says it in its header (checked by its CRC) ...
  if (decoder(s.head + store_header_size - 4).u32() == crc32c(s.head, store_header_size - 4)) {
    if (const std::optional<file_summary> sum = closed_summary(s.head, s.size)) return sum->kinds;
  }
  // ... others are read header to header.
  uint16_t kinds = 0;
  if (!s.each_block([&](const block_header& h) {
        if (h.kind == block_data) kinds = static_cast<uint16_t>(kinds | h.kinds);
      }))
    return std::nullopt;
  return kinds;
}

std::optional<store_extent> store_extent_of(const std::filesystem::path& file) {
  const store_headers s(file);
  if (s.fd < 0) return std::nullopt;
  store_extent e;
  bool known = true;  // records of a type from a newer writer count in a header, not in a read
  if (!s.each_block([&](const block_header& h) {
        if (!holds_records(h)) return;
        known = known && (h.kinds & ~known_record_kinds) == 0;
        e.records += h.count;
        e.first_ts = std::min(e.first_ts, h.first_ts);
        e.last_ts = std::max(e.last_ts, h.last_ts);
      }) ||
      !known)
    return std::nullopt;
  return e;
}

int record_file_version(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_io("cannot open", file, errno);
  char head[10] = {};
  ssize_t n = 0;
  do {
    n = ::pread(fd, head, sizeof head, 0);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n < static_cast<ssize_t>(sizeof head) ||
      std::memcmp(head, file_magic, sizeof file_magic) != 0) {
    return 0;
  }
  return decoder(head + sizeof file_magic).u16();
}

}  // namespace cats
