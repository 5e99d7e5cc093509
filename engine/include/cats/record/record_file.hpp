// The engine's own recording format: normalized market data, compact binary, one file per UTC day.
//
// Written by `cats record` (and `cats live` when recording is on), replayed by `cats backtest`
// with trade-, quote-, bar- and book-level events. The layout is documented in
// docs/record_format.md. A killed writer loses at most what it had not flushed (it flushes at
// least once a second); a truncated or corrupt tail is detected on replay and reported with the
// file and byte offset, never misread.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cats/core/market_event.hpp"

namespace cats {

struct record_writer_options {
  std::filesystem::path dir;
  std::string prefix = "cats";  ///< files are <dir>/<prefix>-YYYY-MM-DD.catsrec
  bool csv = false;             ///< also write <prefix>-YYYY-MM-DD-trades.csv / -quotes.csv
  int64_t flush_interval_ns = 1'000'000'000;
  /// 2: the block store (store.hpp, files of format version 4; each flush writes one block); 1:
  /// the record-by-record format.
  int version = 2;
};

struct record_writer_stats {
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t files = 0;  ///< files opened (rotations + 1)
};

/// Appends normalized events to daily files. Not thread-safe: one thread writes.
class record_writer {
 public:
  explicit record_writer(record_writer_options options);
  ~record_writer();  ///< flushes and closes
  record_writer(const record_writer&) = delete;
  record_writer& operator=(const record_writer&) = delete;

  /// `symbol` is the instrument's "VENUE:SYMBOL"; the file stores each symbol once per file and
  /// refers to it by a small id afterwards. The day of the file comes from local_ts_ns (the
  /// receive time) so files rotate at UTC midnight of the recording machine's clock.
  /// Throw std::runtime_error with the path and errno text on I/O failure.
  void write_trade(const std::string& symbol, const cats_trade_event_t& e);
  void write_quote(const std::string& symbol, const cats_quote_event_t& e);
  void write_bar(const std::string& symbol, const cats_bar_event_t& e);
  void write_book(const std::string& symbol, const book_update& u, uint32_t book_flags);
  /// Any of the above, by the event's kind (a book with its update and flags).
  void write(const std::string& symbol, const market_event& e);
  /// Flushes if flush_interval_ns has passed since the last flush (call often; cheap).
  void maybe_flush(int64_t now_ns);
  void flush();
  const record_writer_stats& stats() const noexcept { return stats_; }
  std::filesystem::path current_file() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  record_writer_stats stats_;
};

/// Reads one .catsrec file record by record (streaming; memory does not grow with the file).
class record_reader {
 public:
  /// Throws std::runtime_error naming the file when it cannot be opened or is not a .catsrec
  /// (wrong magic, unsupported version, bad header checksum). A file too short to hold the header
  /// but starting like one (also an empty file: a writer killed before its first flush) does not
  /// throw; next() reports it, like any other truncation.
  /// Version-2 files (the block store, cats/record/store.hpp) are read through a store_reader;
  /// `skip_damaged` skips their damaged blocks (counted) instead of stopping at the first.
  explicit record_reader(const std::filesystem::path& file, bool skip_damaged = false);
  ~record_reader();
  record_reader(const record_reader&) = delete;
  record_reader& operator=(const record_reader&) = delete;

  /// Maps the file's symbols to the engine's instrument ids, called once per symbol (and file)
  /// when a record first uses it. Without one, events carry the file's own symbol ids.
  using symbol_resolver = std::function<uint32_t(const std::string& symbol)>;
  void set_resolver(symbol_resolver resolver);

  /// Reads the next record into `out`; false at the end of the file or on error. After false,
  /// error() is empty for a clean end, otherwise it says what is wrong and where
  /// ("file.catsrec: truncated record at byte 12345 (needs 96 bytes, 40 left)",
  /// "...: checksum mismatch in record at byte N"). Events carry no flags; `out.ts` is the receive
  /// time; `out.book` points to the reader's own update, valid until the next call.
  bool next(market_event& out);
  /// Up to `n` events; 0 at the end or on an error. Ends early after a book event and before the
  /// first event of a symbol new to the resolver (store_reader::next_batch).
  size_t next_batch(market_event* out, size_t n);
  /// A block store passes over its blocks before `ts` before the first read
  /// (store_reader::skip_before); a version 1 recording has no blocks and reads them all.
  void skip_before(int64_t ts);
  /// "VENUE:SYMBOL" of the record next() returned last.
  const std::string& symbol() const noexcept;
  const std::string& error() const noexcept { return error_; }
  uint64_t records_read() const noexcept { return records_; }
  /// Block stores: damaged blocks skipped and the first messages about them (none for version 1).
  uint64_t damaged_blocks() const noexcept;
  std::vector<std::string> damage_messages() const;

 private:
  enum class decoded { event, skipped, failed };
  bool read_frame(uint8_t& type, uint32_t& len, uint64_t& at);
  decoded decode(uint8_t type, const char* payload, uint32_t len, uint64_t at, market_event& out);

  struct impl;
  std::unique_ptr<impl> impl_;
  std::unique_ptr<class store_reader> store_;  // set for a block store (version 2 to 4)
  std::string error_;
  uint64_t records_ = 0;
};

}  // namespace cats
