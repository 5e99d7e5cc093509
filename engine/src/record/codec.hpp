// The .catsrec byte layout shared by the writer and the reader (internal to the record area). The
// layout is documented in docs/record_format.md; keep the two in step.
#pragma once

#include <cats/sdk.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "cats/core/market_event.hpp"

namespace cats::record_codec {

constexpr char file_magic[8] = {'C', 'A', 'T', 'S', 'R', 'E', 'C', '\0'};
constexpr uint16_t format_version = 1;
// The block store (store.cpp): version 2; version 3, which adds the packed bar (type 5); version 4,
// which adds the bar run (type 6). A writer writes 4, so that a reader of an earlier version
// refuses the file instead of skipping its bars as a record type it does not know.
constexpr uint16_t block_store_version = 4;
constexpr bool is_block_store_version(uint16_t v) noexcept {
  return v >= 2 && v <= block_store_version;
}
constexpr size_t file_header_size = 24;   // magic, version, reserved, created_ns, crc32
constexpr size_t record_header_size = 5;  // u32 payload length, u8 type
constexpr size_t record_crc_size = 4;
constexpr size_t record_overhead = record_header_size + record_crc_size;
// Larger lengths can only come from corruption; the reader refuses them instead of trying to
// buffer gigabytes. A 64 MiB book record would hold four million levels.
constexpr uint32_t max_payload = 64u << 20;
constexpr size_t buffer_size = 1u << 20;

enum record_type : uint8_t {
  type_trade = 1,
  type_quote = 2,
  type_bar = 3,
  type_book = 4,
  type_packed_bar = 5,  // version 3 of the block store: a bar in 72 bytes where it fits exactly
  type_bar_run = 6,     // version 4: consecutive bars of one symbol, 44 bytes each
  type_symbol = 16,
};
// A block header's `kinds` bits of the record types this version reads.
constexpr uint16_t known_record_kinds = 1u << type_trade | 1u << type_quote | 1u << type_bar |
                                        1u << type_book | 1u << type_packed_bar |
                                        1u << type_bar_run;

// Minimum payload sizes of this version; a longer payload is accepted and its tail ignored
// (fields are only ever appended).
constexpr size_t trade_payload = 4 + 5 * 8 + 4;                                   // 48
constexpr size_t quote_payload = 4 + 6 * 8;                                       // 52
constexpr size_t bar_payload = 4 + 13 * 8;                                        // 108
constexpr size_t book_fixed_payload = 4 + 8 + 8 + 4 + 1 + 8 + 8 + 8 + 4 + 4 + 4;  // 61
constexpr size_t book_level_size = 16;
constexpr size_t symbol_fixed_payload = 4 + 2;  // id, length; then the name

constexpr uint8_t book_bit_snapshot = 0x1;
constexpr uint8_t book_bit_has_checksum = 0x2;

// Little-endian stores and loads: one unaligned move on a little-endian host, byte by byte
// elsewhere, so the format does not depend on the host.
class encoder {
 public:
  explicit encoder(char* p) noexcept : p_(p) {}
  void u8(uint8_t v) noexcept { *p_++ = static_cast<char>(v); }
  void u16(uint16_t v) noexcept { put(v, 2); }
  void u32(uint32_t v) noexcept { put(v, 4); }
  void u64(uint64_t v) noexcept { put(v, 8); }
  void i32(int32_t v) noexcept { put(static_cast<uint32_t>(v), 4); }
  void i64(int64_t v) noexcept { put(static_cast<uint64_t>(v), 8); }
  void bytes(const void* data, size_t n) noexcept {
    if (n != 0) std::memcpy(p_, data, n);
    p_ += n;
  }

 private:
  void put(uint64_t v, int n) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(p_, &v, static_cast<size_t>(n));
    } else {
      for (int i = 0; i < n; ++i) p_[i] = static_cast<char>(v >> (8 * i));
    }
    p_ += n;
  }
  char* p_;
};

class decoder {
 public:
  explicit decoder(const char* p) noexcept : p_(p) {}
  uint8_t u8() noexcept { return static_cast<uint8_t>(*p_++); }
  uint16_t u16() noexcept { return static_cast<uint16_t>(get(2)); }
  uint32_t u32() noexcept { return static_cast<uint32_t>(get(4)); }
  uint64_t u64() noexcept { return get(8); }
  int32_t i32() noexcept { return static_cast<int32_t>(static_cast<uint32_t>(get(4))); }
  int64_t i64() noexcept { return static_cast<int64_t>(get(8)); }
  const char* ptr() const noexcept { return p_; }
  void skip(size_t n) noexcept { p_ += n; }

 private:
  uint64_t get(int n) noexcept {
    uint64_t v = 0;
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(&v, p_, static_cast<size_t>(n));
    } else {
      for (int i = 0; i < n; ++i)
        v |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    }
    p_ += n;
    return v;
  }
  const char* p_;
};

// The checksum is zlib's CRC-32 (reflected polynomial 0xEDB88320, as in gzip, PNG and Python's
// zlib.crc32). zlib's crc32() is fast on long inputs (2.7 GB/s measured here) but spends ~170 ns on
// a 57-byte trade record, 80% of the writer's time; slicing-by-8 does a record in ~55 ns. Both give
// the same value (the tests check records of every length against zlib).
struct crc_tables {
  uint32_t t[8][256];
};

inline constexpr crc_tables make_crc_tables() {
  crc_tables c{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t v = i;
    for (int k = 0; k < 8; ++k) v = (v & 1) != 0 ? 0xEDB88320u ^ (v >> 1) : v >> 1;
    c.t[0][i] = v;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) c.t[k][i] = (c.t[k - 1][i] >> 8) ^ c.t[0][c.t[k - 1][i] & 0xff];
  }
  return c;
}

inline constexpr crc_tables crc_table = make_crc_tables();
constexpr size_t crc_zlib_from = 256;  // bytes; where zlib's braided code gets ahead

inline uint32_t load_le32(const unsigned char* p) noexcept {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

inline uint32_t crc_of(const char* data, size_t n) noexcept {
  if (n >= crc_zlib_from) {
    return static_cast<uint32_t>(
        ::crc32(0L, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n)));
  }
  const auto& t = crc_table.t;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t a = load_le32(p) ^ c;
    const uint32_t b = load_le32(p + 4);
    c = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
        t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
  }
  for (; n > 0; --n, ++p) c = t[0][(c ^ *p) & 0xff] ^ (c >> 8);
  return ~c;
}

inline std::string errno_text(int e) {
  return std::generic_category().message(e);
}

[[noreturn]] inline void throw_io(const char* what, const std::filesystem::path& path, int e) {
  throw std::runtime_error(std::string(what) + " " + path.string() + ": " + errno_text(e));
}

// A finished file made durable (fdatasync; file systems that cannot are let be) and closed; the
// descriptor is closed either way.
inline void sync_and_close(int fd, const std::filesystem::path& path) {
  if (::fdatasync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    const int e = errno;
    ::close(fd);
    throw_io("cannot sync", path, e);
  }
  if (::close(fd) != 0) throw_io("cannot close", path, errno);
}

// A book update's levels, bids then asks, each (price, quantity): the same in both versions.
inline void write_levels(encoder& enc, const book_update& u) noexcept {
  for (const auto* side : {&u.bids, &u.asks}) {
    for (const book_level& l : *side) {
      enc.i64(l.price);
      enc.i64(l.quantity);
    }
  }
}
// ... read back into `u`, reusing its vectors' capacity; the caller checked the length.
inline void read_levels(decoder& dec, book_update& u, uint32_t bids, uint32_t asks) {
  for (auto [side, n] : {std::pair{&u.bids, bids}, std::pair{&u.asks, asks}}) {
    side->resize(n);
    for (book_level& l : *side) {
      l.price = dec.i64();
      l.quantity = dec.i64();
    }
  }
}

// The SDK header of a decoded trade, quote or bar: its kind, the engine's id, then the two
// timestamps as stored (exchange, local).
inline void read_event_header(decoder& dec, cats_event_t& h, size_t struct_size, cats_event_type t,
                              uint32_t id) noexcept {
  h.struct_size = static_cast<uint32_t>(struct_size);
  h.type = t;
  h.instrument_id = id;
  h.flags = 0;
  h.exchange_ts_ns = dec.i64();
  h.local_ts_ns = dec.i64();
}

// A trade's fields as both format versions store them (timestamps, price, quantity, trade id);
// the aggressor side is stored differently (version 1: an i32 after them; version 2: the record
// head's flags), so the caller reads it.
inline void read_trade_fields(decoder& dec, uint32_t id, cats_trade_event_t& e) noexcept {
  e = cats_trade_event_t{};
  read_event_header(dec, e.header, sizeof e, CATS_EVENT_TRADE, id);
  e.price = dec.i64();
  e.quantity = dec.i64();
  e.trade_id = dec.u64();
}

// A quote as both format versions store it.
inline void read_quote(decoder& dec, uint32_t id, cats_quote_event_t& e) noexcept {
  e = cats_quote_event_t{};
  read_event_header(dec, e.header, sizeof e, CATS_EVENT_QUOTE, id);
  e.bid_price = dec.i64();
  e.bid_quantity = dec.i64();
  e.ask_price = dec.i64();
  e.ask_quantity = dec.i64();
}

// A bar as both format versions store it: the two timestamps, then open time, interval, OHLC,
// the volumes and the trade count.
inline void read_bar(decoder& dec, uint32_t id, cats_bar_event_t& b) noexcept {
  b = cats_bar_event_t{};
  read_event_header(dec, b.header, sizeof b, CATS_EVENT_BAR, id);
  b.open_time_ns = dec.i64();
  b.interval_ns = dec.i64();
  b.open = dec.i64();
  b.high = dec.i64();
  b.low = dec.i64();
  b.close = dec.i64();
  b.volume = dec.i64();
  b.quote_volume = dec.i64();
  b.taker_buy_volume = dec.i64();
  b.taker_buy_quote_volume = dec.i64();
  b.trade_count = dec.i64();
}

}  // namespace cats::record_codec
