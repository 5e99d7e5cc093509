#include "cats/record/record_file.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "cats/core/fixed.hpp"
#include "cats/record/store.hpp"
#include "cats/util/time.hpp"
#include "codec.hpp"

namespace cats {

using namespace record_codec;  // NOLINT(google-build-using-namespace): this area's own codec

namespace {

int64_t floor_day(int64_t ts_ns) noexcept {
  int64_t d = ts_ns / ns_per_day;
  if (ts_ns % ns_per_day < 0) --d;
  return d;
}

std::string date_text(int64_t ts_ns) {
  const civil_time c = to_civil(ts_ns);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.year), c.month,
                c.day);
  return buf;
}

// A file opened for writing with its own buffer; data reaches the kernel on flush() (so it
// survives a killed process) and the disk on close() (fdatasync).
class out_file {
 public:
  out_file() = default;
  ~out_file() {
    if (fd_ >= 0) ::close(fd_);
  }
  out_file(const out_file&) = delete;
  out_file& operator=(const out_file&) = delete;

  /// O_EXCL create: false when the file already exists, throws on any other failure.
  bool create(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) return false;
      throw_io("cannot create", path, errno);
    }
    fd_ = fd;
    path_ = path;
    used_ = 0;
    if (buf_.size() < buffer_size) buf_.resize(buffer_size);
    return true;
  }
  bool is_open() const noexcept { return fd_ >= 0; }
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Room for `n` more bytes at the end of the buffer; commit() what was written. A record larger
  /// than the buffer grows it (only huge books do).
  char* reserve(size_t n) {
    if (buf_.size() - used_ < n) {
      flush();
      if (buf_.size() < n) buf_.resize(n);
    }
    return buf_.data() + used_;
  }
  void commit(size_t n) noexcept { used_ += n; }
  void append(const char* data, size_t n) {
    std::memcpy(reserve(n), data, n);
    commit(n);
  }

  void flush() {
    size_t done = 0;
    while (done < used_) {
      const ssize_t w = ::write(fd_, buf_.data() + done, used_ - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        // Keep what was not written, so a retry (or the destructor) does not lose or repeat it.
        std::memmove(buf_.data(), buf_.data() + done, used_ - done);
        used_ -= done;
        throw_io("cannot write", path_, e);
      }
      done += static_cast<size_t>(w);
    }
    used_ = 0;
  }

  void close() {
    if (fd_ < 0) return;
    flush();
    const int fd = fd_;
    fd_ = -1;
    // A finished day file is worth making durable; this happens once a day per file.
    sync_and_close(fd, path_);
  }

 private:
  int fd_ = -1;
  std::filesystem::path path_;
  std::vector<char> buf_;
  size_t used_ = 0;
};

// CSV fields: only a symbol could need quoting, and venue symbols never do, but a stray comma
// must not shift the columns.
char* put_csv_text(char* p, const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
  }
  *p++ = '"';
  for (char c : s) {
    if (c == '"') *p++ = '"';
    *p++ = c;
  }
  *p++ = '"';
  return p;
}

template <typename T>
char* put_int(char* p, T v) {
  return std::to_chars(p, p + 24, v).ptr;
}

char* put_fixed(char* p, int64_t v) {
  return p + format_fixed(v, p);
}

}  // namespace

// ---- writer -------------------------------------------------------------------------------------

struct record_writer::impl {
  record_writer_options opt;
  record_writer_stats& stats;
  out_file rec;                         // version 1
  std::unique_ptr<store_writer> store;  // the block store
  uint64_t closed_bytes = 0;            // of the store files closed before
  out_file trades_csv;
  out_file quotes_csv;
  int64_t day = 0;  // of the open file
  int64_t day_end = 0;
  std::unordered_map<std::string, uint32_t> ids;
  int64_t last_flush_ns = std::numeric_limits<int64_t>::min();
  char* record_start = nullptr;
  size_t record_len = 0;

  impl(record_writer_options o, record_writer_stats& s) : opt(std::move(o)), stats(s) {
    std::error_code ec;
    std::filesystem::create_directories(opt.dir, ec);
    if (ec) {
      throw std::runtime_error("cannot create directory " + opt.dir.string() + ": " + ec.message());
    }
  }

  ~impl() {
    try {
      close_all();
    } catch (const std::exception& e) {
      spdlog::error("recorder: {}", e.what());
    }
  }

  void close_all() {
    // Close every file even when one fails; report the first failure.
    std::exception_ptr first;
    if (store) {
      try {
        store->close();
      } catch (...) {
        first = std::current_exception();
      }
      closed_bytes += store->stats().bytes;
      store.reset();
    }
    for (out_file* f : {&rec, &trades_csv, &quotes_csv}) {
      try {
        f->close();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
    if (first) std::rethrow_exception(first);
  }

  void flush_all() {
    if (store) store->flush();
    for (out_file* f : {&rec, &trades_csv, &quotes_csv}) {
      if (f->is_open()) f->flush();
    }
  }

  // Files only move forward in time: a record stamped before the open file's day (the clock
  // stepped back a little around midnight) stays in the open file rather than reopening
  // yesterday's as a new .N file.
  bool is_open() const noexcept { return store != nullptr || rec.is_open(); }

  void prepare(int64_t local_ts_ns) {
    if (is_open() && local_ts_ns < day_end) return;
    const int64_t d = floor_day(local_ts_ns);
    if (is_open() && d <= day) return;  // only at the far end of the int64 range
    open_day(d, local_ts_ns);
  }

  void open_day(int64_t d, int64_t ts_ns) {
    close_all();
    ids.clear();
    day = d;
    day_end = d < std::numeric_limits<int64_t>::max() / ns_per_day - 1
                  ? (d + 1) * ns_per_day
                  : std::numeric_limits<int64_t>::max();
    const std::string base = opt.prefix + "-" + date_text(ts_ns);
    for (int n = 0; n < 100000; ++n) {
      const std::string suffix = n == 0 ? std::string() : "." + std::to_string(n);
      const auto rec_path = opt.dir / (base + suffix + ".catsrec");
      const auto trades_path = opt.dir / (base + "-trades" + suffix + ".csv");
      const auto quotes_path = opt.dir / (base + "-quotes" + suffix + ".csv");
      // Never append to an existing file: its tail may be a half-written record.
      std::error_code ec;
      if (std::filesystem::exists(rec_path, ec)) continue;
      if (opt.csv &&
          (std::filesystem::exists(trades_path, ec) || std::filesystem::exists(quotes_path, ec))) {
        continue;
      }
      if (opt.version == 2) {
        store = std::make_unique<store_writer>(rec_path);  // writes its header at once
      } else {
        if (!rec.create(rec_path)) continue;  // another writer got there first
        write_file_header();
      }
      if (opt.csv) {
        if (!trades_csv.create(trades_path)) throw_io("cannot create", trades_path, EEXIST);
        if (!quotes_csv.create(quotes_path)) throw_io("cannot create", quotes_path, EEXIST);
        static constexpr char trades_head[] =
            "exchange_ts_ns,local_ts_ns,symbol,price,quantity,trade_id,side\n";
        static constexpr char quotes_head[] =
            "exchange_ts_ns,local_ts_ns,symbol,bid_price,bid_quantity,ask_price,ask_quantity\n";
        trades_csv.append(trades_head, sizeof trades_head - 1);
        quotes_csv.append(quotes_head, sizeof quotes_head - 1);
      }
      // The header reaches the disk at once, so a file never exists without one unless the
      // process died between these two calls.
      flush_all();
      ++stats.files;
      return;
    }
    throw std::runtime_error("cannot create " + (opt.dir / (base + ".catsrec")).string() +
                             ": too many files for one day");
  }

  void write_file_header() {
    const int64_t created = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    char* p = rec.reserve(file_header_size);
    encoder enc(p);
    enc.bytes(file_magic, sizeof file_magic);
    enc.u16(format_version);
    enc.u16(0);
    enc.i64(created);
    enc.u32(crc_of(p, file_header_size - 4));
    rec.commit(file_header_size);
    stats.bytes += file_header_size;
  }

  // Reserves room for one record and writes its header; the payload goes after the returned
  // pointer, then end_record() adds the checksum.
  char* begin_record(uint8_t type, size_t payload) {
    if (payload > max_payload) {
      throw std::length_error("record of " + std::to_string(payload) + " bytes exceeds the " +
                              std::to_string(max_payload) + "-byte limit of the format");
    }
    record_start = rec.reserve(record_overhead + payload);
    encoder enc(record_start);
    enc.u32(static_cast<uint32_t>(payload));
    enc.u8(type);
    record_len = record_header_size + payload;
    return record_start + record_header_size;
  }
  void end_record() {
    encoder(record_start + record_len).u32(crc_of(record_start, record_len));
    rec.commit(record_len + record_crc_size);
    stats.bytes += record_len + record_crc_size;
  }

  uint32_t symbol_id(const std::string& symbol) {
    const auto it = ids.find(symbol);
    if (it != ids.end()) return it->second;
    if (symbol.size() > std::numeric_limits<uint16_t>::max()) {
      throw std::length_error("symbol longer than 65535 bytes");
    }
    const auto id = static_cast<uint32_t>(ids.size() + 1);
    encoder enc(begin_record(type_symbol, symbol_fixed_payload + symbol.size()));
    enc.u32(id);
    enc.u16(static_cast<uint16_t>(symbol.size()));
    enc.bytes(symbol.data(), symbol.size());
    end_record();
    ids.emplace(symbol, id);
    return id;
  }

  void append(const std::string& symbol, const market_event& e) {
    store->append(symbol, e);
    stats.bytes = closed_bytes + store->stats().bytes;
  }

  static void put_ts(encoder& enc, const cats_event_t& h) noexcept {
    enc.i64(h.exchange_ts_ns);
    enc.i64(h.local_ts_ns);
  }

  void csv_trade(const std::string& symbol, const cats_trade_event_t& e) {
    char* const start = trades_csv.reserve(2 * symbol.size() + 160);
    char* p = start;
    p = put_int(p, e.header.exchange_ts_ns);
    *p++ = ',';
    p = put_int(p, e.header.local_ts_ns);
    *p++ = ',';
    p = put_csv_text(p, symbol);
    *p++ = ',';
    p = put_fixed(p, e.price);
    *p++ = ',';
    p = put_fixed(p, e.quantity);
    *p++ = ',';
    p = put_int(p, e.trade_id);
    *p++ = ',';
    if (e.aggressor_side == CATS_SIDE_BUY) {
      std::memcpy(p, "buy", 3);
      p += 3;
    } else if (e.aggressor_side == CATS_SIDE_SELL) {
      std::memcpy(p, "sell", 4);
      p += 4;
    }
    *p++ = '\n';
    trades_csv.commit(static_cast<size_t>(p - start));
  }

  void csv_quote(const std::string& symbol, const cats_quote_event_t& e) {
    char* const start = quotes_csv.reserve(2 * symbol.size() + 200);
    char* p = start;
    p = put_int(p, e.header.exchange_ts_ns);
    *p++ = ',';
    p = put_int(p, e.header.local_ts_ns);
    *p++ = ',';
    p = put_csv_text(p, symbol);
    for (int64_t v : {e.bid_price, e.bid_quantity, e.ask_price, e.ask_quantity}) {
      *p++ = ',';
      p = put_fixed(p, v);
    }
    *p++ = '\n';
    quotes_csv.commit(static_cast<size_t>(p - start));
  }
};

record_writer::record_writer(record_writer_options options)
    : impl_(std::make_unique<impl>(std::move(options), stats_)) {}

record_writer::~record_writer() = default;

void record_writer::write_trade(const std::string& symbol, const cats_trade_event_t& e) {
  impl& w = *impl_;
  w.prepare(e.header.local_ts_ns);
  if (w.store) {
    w.append(symbol, market_event::of(e, e.header.local_ts_ns));
    if (w.opt.csv) w.csv_trade(symbol, e);
    ++stats_.records;
    return;
  }
  const uint32_t id = w.symbol_id(symbol);
  encoder enc(w.begin_record(type_trade, trade_payload));
  enc.u32(id);
  impl::put_ts(enc, e.header);
  enc.i64(e.price);
  enc.i64(e.quantity);
  enc.u64(e.trade_id);
  enc.i32(e.aggressor_side);
  w.end_record();
  if (w.opt.csv) w.csv_trade(symbol, e);
  ++stats_.records;
}

void record_writer::write_quote(const std::string& symbol, const cats_quote_event_t& e) {
  impl& w = *impl_;
  w.prepare(e.header.local_ts_ns);
  if (w.store) {
    w.append(symbol, market_event::of(e, e.header.local_ts_ns));
    if (w.opt.csv) w.csv_quote(symbol, e);
    ++stats_.records;
    return;
  }
  const uint32_t id = w.symbol_id(symbol);
  encoder enc(w.begin_record(type_quote, quote_payload));
  enc.u32(id);
  impl::put_ts(enc, e.header);
  enc.i64(e.bid_price);
  enc.i64(e.bid_quantity);
  enc.i64(e.ask_price);
  enc.i64(e.ask_quantity);
  w.end_record();
  if (w.opt.csv) w.csv_quote(symbol, e);
  ++stats_.records;
}

void record_writer::write_bar(const std::string& symbol, const cats_bar_event_t& e) {
  impl& w = *impl_;
  w.prepare(e.header.local_ts_ns);
  if (w.store) {
    w.append(symbol, market_event::of(e, e.header.local_ts_ns));

    ++stats_.records;
    return;
  }
  const uint32_t id = w.symbol_id(symbol);
  encoder enc(w.begin_record(type_bar, bar_payload));
  enc.u32(id);
  impl::put_ts(enc, e.header);
  enc.i64(e.open_time_ns);
  enc.i64(e.interval_ns);
  enc.i64(e.open);
  enc.i64(e.high);
  enc.i64(e.low);
  enc.i64(e.close);
  enc.i64(e.volume);
  enc.i64(e.quote_volume);
  enc.i64(e.taker_buy_volume);
  enc.i64(e.taker_buy_quote_volume);
  enc.i64(e.trade_count);
  w.end_record();
  ++stats_.records;
}

void record_writer::write_book(const std::string& symbol, const book_update& u,
                               uint32_t book_flags) {
  impl& w = *impl_;
  w.prepare(u.local_ts_ns);
  if (w.store) {
    w.append(symbol, market_event::of(u, book_flags, u.local_ts_ns));
    ++stats_.records;
    return;
  }
  const uint32_t id = w.symbol_id(symbol);
  if (u.bids.size() > max_payload || u.asks.size() > max_payload) {
    throw std::length_error("book update with too many levels to record");
  }
  const size_t payload = book_fixed_payload + book_level_size * (u.bids.size() + u.asks.size());
  encoder enc(w.begin_record(type_book, payload));
  enc.u32(id);
  enc.i64(u.exchange_ts_ns);
  enc.i64(u.local_ts_ns);
  enc.u32(book_flags);
  enc.u8(static_cast<uint8_t>((u.snapshot ? book_bit_snapshot : 0) |
                              (u.has_checksum ? book_bit_has_checksum : 0)));
  enc.u64(u.first_seq);
  enc.u64(u.last_seq);
  enc.i64(u.prev_seq);
  enc.i32(u.checksum);
  enc.u32(static_cast<uint32_t>(u.bids.size()));
  enc.u32(static_cast<uint32_t>(u.asks.size()));
  write_levels(enc, u);
  w.end_record();
  ++stats_.records;
}

void record_writer::write(const std::string& symbol, const market_event& e) {
  switch (e.type) {
    case market_event::kind::trade:
      return write_trade(symbol, e.trade);
    case market_event::kind::quote:
      return write_quote(symbol, e.quote);
    case market_event::kind::bar:
      return write_bar(symbol, e.bar);
    case market_event::kind::book:
      return write_book(symbol, *e.book, e.book_flags);
    case market_event::kind::none:
      return;
  }
}

void record_writer::maybe_flush(int64_t now_ns) {
  impl& w = *impl_;
  // The first call flushes: nothing says how long the data has been waiting.
  if (w.last_flush_ns != std::numeric_limits<int64_t>::min() &&
      now_ns - w.last_flush_ns < w.opt.flush_interval_ns) {
    return;
  }
  w.last_flush_ns = now_ns;
  w.flush_all();
}

void record_writer::flush() {
  impl_->flush_all();
}

std::filesystem::path record_writer::current_file() const {
  if (impl_->store) return impl_->store->path();
  return impl_->rec.is_open() ? impl_->rec.path() : std::filesystem::path();
}

}  // namespace cats
