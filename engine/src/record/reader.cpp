#include "cats/record/record_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "cats/record/store.hpp"
#include "codec.hpp"

namespace cats {

using namespace record_codec;  // NOLINT(google-build-using-namespace): this area's own codec

// ---- reader -------------------------------------------------------------------------------------

struct record_reader::impl {
  std::string name;
  int fd = -1;
  std::vector<char> buf;
  size_t pos = 0;
  size_t end = 0;
  uint64_t buf_offset = 0;  // file offset of buf[0]
  bool done = false;
  std::unordered_map<uint32_t, std::string> symbols;

  ~impl() {
    if (fd >= 0) ::close(fd);
  }

  uint64_t offset() const noexcept { return buf_offset + pos; }

  // Makes at least `need` bytes available from pos unless the file ends first; returns how many
  // are available. Memory stays at max(1 MiB, the largest record).
  size_t fill(size_t need, std::string& error) {
    if (end - pos >= need) return end - pos;
    if (pos != 0) {
      std::memmove(buf.data(), buf.data() + pos, end - pos);
      buf_offset += pos;
      end -= pos;
      pos = 0;
    }
    if (buf.size() < need) buf.resize(need);
    while (end < need) {
      const ssize_t r = ::read(fd, buf.data() + end, buf.size() - end);
      if (r < 0) {
        if (errno == EINTR) continue;
        error = name + ": read error at byte " + std::to_string(buf_offset + end) + ": " +
                errno_text(errno);
        return 0;
      }
      if (r == 0) break;
      end += static_cast<size_t>(r);
    }
    return end - pos;
  }

  bool fail(std::string& error, std::string message) {
    error = name + ": " + std::move(message);
    done = true;
    return false;
  }

  const std::string* symbol(uint32_t id) const {
    const auto it = symbols.find(id);
    return it == symbols.end() ? nullptr : &it->second;
  }

  // The engine's id of the file's symbol id `file_id` (the file's own id without a resolver),
  // looked up once per symbol and file; sets current_symbol. False for an undefined symbol.
  bool resolve(uint32_t file_id, uint32_t& out) {
    if (file_id < ids.size() && ids[file_id].name != nullptr) {
      out = ids[file_id].id;
      current_symbol = ids[file_id].name;
      return true;
    }
    const std::string* s = symbol(file_id);
    if (s == nullptr) return false;
    out = resolver ? resolver(*s) : file_id;
    if (file_id < (1u << 20)) {  // ids are small and dense; a wild one is just not cached
      if (ids.size() <= file_id) ids.resize(file_id + 1);
      ids[file_id] = {out, s};
    }
    current_symbol = s;
    return true;
  }

  symbol_resolver resolver;
  struct resolved {
    uint32_t id = 0;
    const std::string* name = nullptr;  // null: not looked up yet
  };
  std::vector<resolved> ids;  // by file symbol id
  const std::string* current_symbol = nullptr;
  const std::string no_symbol;
  book_update book;  // the last book record
};

namespace {

std::string hex_bytes(const char* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%s%02x", i == 0 ? "" : " ", static_cast<uint8_t>(p[i]));
    s += b;
  }
  return s;
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

}  // namespace

record_reader::record_reader(const std::filesystem::path& file, bool skip_damaged)
    : impl_(std::make_unique<impl>()) {
  impl& r = *impl_;
  r.name = file.string();
  r.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (r.fd < 0) throw_io("cannot open", file, errno);
  // The header alone first: a block store reads through its own mapping and needs no buffer
  // (1 MiB zeroed would cost it 256 page faults at every open).
  r.buf.resize(file_header_size);
  const size_t have = r.fill(file_header_size, error_);
  if (!error_.empty()) throw std::runtime_error(error_);
  const char* p = r.buf.data();
  // Whatever is there must be the start of the magic; a short file with the right start is a
  // recording whose writer died before the header reached the disk, reported by next().
  if (std::memcmp(p, file_magic, std::min(have, sizeof file_magic)) != 0) {
    throw std::runtime_error(r.name + ": not a CATS recording (starts with " +
                             hex_bytes(p, std::min(have, sizeof file_magic)) +
                             ", expected 43 41 54 53 52 45 43 00 \"CATSREC\\0\")");
  }
  if (have >= sizeof file_magic + 2 &&
      is_block_store_version(decoder(p + sizeof file_magic).u16())) {
    ::close(r.fd);
    r.fd = -1;
    r.buf = {};
    store_ = std::make_unique<store_reader>(file, store_reader_options{skip_damaged});
    return;
  }
  if (have < file_header_size) {
    r.fail(error_, have == 0 ? "empty file (no file header; the writer stopped before its first "
                               "flush)"
                             : "truncated file header at byte 0 (needs " +
                                   std::to_string(file_header_size) + " bytes, " +
                                   std::to_string(have) + " left)");
    return;
  }
  decoder dec(p + sizeof file_magic);
  const uint16_t version = dec.u16();
  if (version != format_version) {
    throw std::runtime_error(r.name + ": unsupported format version " + std::to_string(version) +
                             " (this build reads versions 1 to " +
                             std::to_string(record_codec::block_store_version) + ")");
  }
  dec.skip(2 + 8);
  const uint32_t stored = dec.u32();
  const uint32_t computed = crc_of(p, file_header_size - 4);
  if (stored != computed) {
    throw std::runtime_error(r.name + ": file header checksum mismatch (stored " + hex32(stored) +
                             ", computed " + hex32(computed) + ")");
  }
  r.pos = file_header_size;
  r.buf.resize(buffer_size);  // keeps the header: the records are read after it
}

record_reader::~record_reader() = default;

void record_reader::set_resolver(symbol_resolver resolver) {
  if (store_) return store_->set_resolver(std::move(resolver));
  impl_->resolver = std::move(resolver);
  impl_->ids.clear();
}

uint64_t record_reader::damaged_blocks() const noexcept {
  return store_ ? store_->damaged_blocks() : 0;
}

std::vector<std::string> record_reader::damage_messages() const {
  return store_ ? store_->messages() : std::vector<std::string>{};
}

const std::string& record_reader::symbol() const noexcept {
  if (store_) return store_->symbol();
  return impl_->current_symbol != nullptr ? *impl_->current_symbol : impl_->no_symbol;
}

// One record: its frame (length, type, checksum) checked, `type` and `len` set and the payload
// at r.pos - record_crc_size - len. False at the end of the file or on an error (error_ says).
bool record_reader::read_frame(uint8_t& type, uint32_t& len, uint64_t& at) {
  impl& r = *impl_;
  at = r.offset();
  const auto where = [at] { return " at byte " + std::to_string(at); };
  size_t have = r.fill(record_header_size, error_);
  if (!error_.empty() || have == 0) {  // a read error, or a clean end after a complete record
    r.done = true;
    return false;
  }
  if (have < record_header_size) {
    return r.fail(error_, "truncated record" + where() + " (needs at least " +
                              std::to_string(record_overhead) + " bytes, " + std::to_string(have) +
                              " left)");
  }
  decoder head(r.buf.data() + r.pos);
  len = head.u32();
  type = head.u8();
  if (len > max_payload) {
    return r.fail(error_, "corrupt record" + where() + " (length " + std::to_string(len) +
                              " exceeds the format's limit of " + std::to_string(max_payload) +
                              ")");
  }
  const size_t total = record_overhead + len;
  have = r.fill(total, error_);
  if (!error_.empty()) {
    r.done = true;
    return false;
  }
  if (have < total) {
    return r.fail(error_, "truncated record" + where() + " (needs " + std::to_string(total) +
                              " bytes, " + std::to_string(have) + " left)");
  }
  const char* rec = r.buf.data() + r.pos;
  const uint32_t stored = decoder(rec + record_header_size + len).u32();
  const uint32_t computed = crc_of(rec, record_header_size + len);
  if (stored != computed) {
    return r.fail(error_, "checksum mismatch in record" + where() + " (stored " + hex32(stored) +
                              ", computed " + hex32(computed) + ")");
  }
  r.pos += total;
  return true;
}

size_t record_reader::next_batch(market_event* out, size_t n) {
  if (store_) {
    const size_t k = store_->next_batch(out, n);
    records_ += k;
    if (k == 0) error_ = store_->error();
    return k;
  }
  return n != 0 && next(out[0]) ? 1 : 0;  // version 1: one at a time
}

void record_reader::skip_before(int64_t ts) {
  if (store_) store_->skip_before(ts);
}

bool record_reader::next(market_event& out) {
  if (store_) {
    if (store_->next(out)) {
      ++records_;
      return true;
    }
    error_ = store_->error();
    return false;
  }
  impl& r = *impl_;
  uint8_t type = 0;
  uint32_t len = 0;
  uint64_t at = 0;
  while (!r.done && read_frame(type, len, at)) {
    const char* payload = r.buf.data() + r.pos - record_crc_size - len;
    switch (decode(type, payload, len, at, out)) {
      case decoded::event:
        ++records_;
        return true;
      case decoded::skipped:
        continue;
      case decoded::failed:
        return false;
    }
  }
  return false;
}

namespace {

void read_trade(decoder& dec, uint32_t id, cats_trade_event_t& e) noexcept {
  read_trade_fields(dec, id, e);
  e.aggressor_side = dec.i32();
}

// A book record's payload after the symbol id into `u`, reusing its vectors' capacity (no
// allocation per record once the largest book was seen). Returns 0, or the payload size the
// level counts need when `len` is shorter.
uint64_t read_book(decoder& dec, uint32_t id, uint32_t len, book_update& u,
                   uint32_t& flags) noexcept {
  u.instrument_id = id;
  u.exchange_ts_ns = dec.i64();
  u.local_ts_ns = dec.i64();
  flags = dec.u32();
  const uint8_t bits = dec.u8();
  u.snapshot = (bits & book_bit_snapshot) != 0;
  u.has_checksum = (bits & book_bit_has_checksum) != 0;
  u.first_seq = dec.u64();
  u.last_seq = dec.u64();
  u.prev_seq = dec.i64();
  u.checksum = dec.i32();
  const uint32_t nb = dec.u32();
  const uint32_t na = dec.u32();
  const uint64_t needed = book_fixed_payload + book_level_size * (static_cast<uint64_t>(nb) + na);
  if (len < needed) return needed;
  read_levels(dec, u, nb, na);
  return 0;
}

}  // namespace

// The payload of one record into `out`; symbol records only update the symbol table.
record_reader::decoded record_reader::decode(uint8_t type, const char* payload, uint32_t len,
                                             uint64_t at, market_event& out) {
  impl& r = *impl_;
  const auto where = [at] { return " at byte " + std::to_string(at); };
  const auto malformed = [&](const char* what, size_t needed) {
    r.fail(error_, std::string("malformed ") + what + " record" + where() + " (payload " +
                       std::to_string(len) + " bytes, needs " + std::to_string(needed) + ")");
    return decoded::failed;
  };
  decoder dec(payload);
  if (type == type_symbol) {
    if (len < symbol_fixed_payload) return malformed("symbol", symbol_fixed_payload);
    const uint32_t id = dec.u32();
    const uint16_t n = dec.u16();
    if (len < symbol_fixed_payload + n) return malformed("symbol", symbol_fixed_payload + n);
    std::string name(dec.ptr(), n);
    const std::string* known = r.symbol(id);
    if (known != nullptr && *known != name) {
      r.fail(error_, "symbol id " + std::to_string(id) + " redefined" + where() + " (\"" + *known +
                         "\", then \"" + name + "\")");
      return decoded::failed;
    }
    r.symbols[id] = std::move(name);
    return decoded::skipped;
  }
  size_t minimum = 0;
  switch (type) {
    case type_trade:
      minimum = trade_payload;
      break;
    case type_quote:
      minimum = quote_payload;
      break;
    case type_bar:
      minimum = bar_payload;
      break;
    case type_book:
      minimum = book_fixed_payload;
      break;
    default:
      return decoded::skipped;  // a record type from a newer writer: its checksum was good
  }
  static constexpr const char* names[] = {"", "trade", "quote", "bar", "book"};
  if (len < minimum) return malformed(names[type], minimum);
  const uint32_t file_id = dec.u32();
  uint32_t id = 0;
  if (!r.resolve(file_id, id)) {
    r.fail(error_,
           "record" + where() + " refers to undefined symbol id " + std::to_string(file_id));
    return decoded::failed;
  }
  out.built = false;
  out.book = nullptr;
  out.book_flags = 0;
  switch (type) {
    case type_trade:
      out.type = market_event::kind::trade;
      read_trade(dec, id, out.trade);
      break;
    case type_quote:
      out.type = market_event::kind::quote;
      read_quote(dec, id, out.quote);
      break;
    case type_bar:
      out.type = market_event::kind::bar;
      read_bar(dec, id, out.bar);
      break;
    default: {
      uint32_t flags = 0;
      const uint64_t needed = read_book(dec, id, len, r.book, flags);
      if (needed != 0) return malformed("book", static_cast<size_t>(needed));
      out = market_event::of(r.book, flags, r.book.local_ts_ns);
      return decoded::event;
    }
  }
  out.ts = out.bar.header.local_ts_ns;
  return decoded::event;
}

}  // namespace cats
