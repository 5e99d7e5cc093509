// The block store: versions 2 to 4 of the .catsrec format (docs/record_format.md, "Version 2").
//
// Records are grouped in blocks. Each block has a 64-byte header (event count, time range, the
// offset of the symbol table its ids refer to, a CRC-32C over the header and the records) and
// 8-byte aligned records, of a fixed size per type but the bar run (consecutive bars of one
// symbol, 44 bytes each), that name their instrument by a small id. The reader maps
// the file and decodes records in place; a damaged block is reported with the file and offset,
// and with `skip_damaged` it is skipped and counted instead of ending the replay. The writer only
// ever writes whole blocks: a disk that fills up leaves a file that ends on a block boundary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cats/core/market_event.hpp"

namespace cats {

struct store_writer_options {
  /// A block is written once its records reach this many bytes (a larger book record makes a
  /// larger block); flush() writes a shorter one.
  size_t block_bytes = 64u << 10;
  /// Replace an existing file: written to `<file>.part` and renamed over it by close(); a writer
  /// destroyed without close() removes the .part and replaces nothing. Without `replace` an
  /// existing file is never touched (creating it fails) and the destructor closes the file.
  bool replace = false;
  /// The file exists and is empty (an in-memory file's /proc/self/fd path): written where it is,
  /// neither created nor replaced. Not with `replace`.
  bool in_place = false;
  /// Bars whose fields fit are written as packed bars (72 bytes, not 112; exact either way).
  bool pack_bars = true;
  /// With pack_bars, the consecutive bars of one symbol (each opening one interval after the one
  /// before, in a block) that fit are written as a bar run: 44 bytes a bar.
  bool bar_runs = true;
};

struct store_writer_stats {
  uint64_t records = 0;
  uint64_t blocks = 0;  ///< data and symbol blocks written
  uint64_t bytes = 0;   ///< file size
};

/// Writes one store file. Not thread-safe: one thread writes.
class store_writer {
 public:
  /// Throws std::runtime_error naming the file when it cannot be created.
  store_writer(const std::filesystem::path& file, store_writer_options options = {});
  ~store_writer();  ///< close(); an error is logged
  store_writer(const store_writer&) = delete;
  store_writer& operator=(const store_writer&) = delete;

  /// `symbol` is "VENUE:SYMBOL" (at most 65535 distinct symbols and 65535 bytes each per file).
  /// Throws std::runtime_error with the path and errno text when a block cannot be written; the
  /// file then ends on the last whole block and the unwritten records are kept for a retry.
  void append(const std::string& symbol, const market_event& e);
  /// Writes the open block, if it holds any record.
  void flush();
  /// flush(), fdatasync and close (and, with `replace`, the rename). Idempotent.
  void close();
  const store_writer_stats& stats() const noexcept;
  const std::filesystem::path& path() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

struct store_reader_options {
  /// Skip damaged blocks (counted, with the first messages kept) instead of stopping at the
  /// first one; `on_error = "skip"` in [data].
  bool skip_damaged = false;
  /// Bytes a thread maps ahead of the reader (and gives back behind it) for files larger than
  /// that, so that the reading thread takes no page faults; 0: the reader maps its own pages.
  uint64_t page_window = 16u << 20;
};

/// Reads one store file through a read-only mapping. Memory is the mapping (page cache, read
/// ahead sequentially) plus the symbol table: nothing is copied or grows with the file.
class store_reader {
 public:
  /// Throws std::runtime_error naming the file when it cannot be opened or mapped, is not a
  /// block store (version 2, 3 or 4), or its header is damaged. An empty or short file does not
  /// throw: next() reports it like any other truncation.
  explicit store_reader(const std::filesystem::path& file, store_reader_options options = {});
  ~store_reader();
  store_reader(const store_reader&) = delete;
  store_reader& operator=(const store_reader&) = delete;

  /// Maps the file's symbols to the engine's instrument ids, called once per symbol when a record
  /// first uses it. Without one, events carry the file's own symbol ids.
  using symbol_resolver = std::function<uint32_t(const std::string& symbol)>;
  void set_resolver(symbol_resolver resolver);

  /// The next event, as record_reader::next gives it; false at the end or on an error
  /// (error() says what and where; empty at a clean end).
  bool next(market_event& out);
  /// Up to `n` events into `out`, as next() gives them; 0 at the end or on an error. A batch ends
  /// early after a book event (it points into this reader's one book buffer) and before the first
  /// event of a symbol new to the resolver (it starts the next batch: instruments register when
  /// their first event is asked for).
  size_t next_batch(market_event* out, size_t n);
  /// Before the first read: passes over the blocks whose records all lie before `ts` (their
  /// header's last_ts, the largest local time), reading only their headers. A replay whose window
  /// starts at `ts` decodes and checks nothing before it. Stops at the first data block that
  /// reaches `ts`; at a header that is not sound or does not follow the one before (its sequence
  /// number, its times) it goes back a block, and reading checks the CRCs from there. Then
  /// resolves the symbols of the last symbol table passed over, in id order. Returns the bytes
  /// passed over; 0 once reading has begun.
  uint64_t skip_before(int64_t ts);
  const std::string& symbol() const noexcept;
  const std::string& error() const noexcept;
  uint64_t records_read() const noexcept;
  /// Damaged blocks skipped (skip_damaged) and the bytes they took; the first messages.
  uint64_t damaged_blocks() const noexcept;
  uint64_t damaged_bytes() const noexcept;
  const std::vector<std::string>& messages() const noexcept;
  /// Bytes of the file read so far and in all.
  uint64_t bytes_done() const noexcept;
  uint64_t bytes_total() const noexcept;
  /// The offset up to which the pager thread has last mapped the file with MADV_POPULATE_READ
  /// (0 without one).
  uint64_t paged_until() const noexcept;
  /// The offset up to which the pager thread has checked the blocks' CRCs, block by block from
  /// the first one (0 without one): the reader does not compute them again. It stops for good
  /// at the first block that is not whole or whose CRC does not match.
  uint64_t checked_until() const noexcept;

 private:
  inline bool read(market_event& out);  // next()'s body, inlined into both readers
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One event as a store record (docs/record_format.md, "Version 2"): the 8-byte head with
/// `symbol_id`, then the fields. The bus sends each event as one such record. Size 0 for an
/// empty event; a book update with more levels than a block holds throws std::length_error.
size_t event_record_size(const market_event& e);
/// Writes event_record_size(e) bytes to `out` and returns that size.
size_t encode_event_record(const market_event& e, uint16_t symbol_id, char* out);
/// Reads one record of exactly `n` bytes as an event of `instrument_id` (a book update is decoded
/// into `book`, which the event points to). False with `why` when the bytes are not one sound
/// record.
bool decode_event_record(const char* p, size_t n, uint32_t instrument_id, market_event& out,
                         book_update& book, std::string& why);

/// The record types (bit 1 << type: 1 trade, 2 quote, 3 bar, 4 book, 5 packed bar, 6 bar run) that
/// a block store holds: the summary in the header of a file closed in good order (while it has the
/// size it was closed with; a reader then reports a block with other types as damage), else read
/// from its block headers. nullopt when it is not one, cannot be read, or its block headers,
/// walked, are damaged.
std::optional<uint16_t> store_record_kinds(const std::filesystem::path& file);

/// What a block store's block headers say of its records, read without the records (a pread per
/// block, nothing mapped): how many there are, and the smallest and largest local time among them.
struct store_extent {
  uint64_t records = 0;
  int64_t first_ts = INT64_MAX, last_ts = INT64_MIN;  ///< unchanged when there is no record
};
/// nullopt when it is not a block store, cannot be read, or a block header is not sound, runs past
/// the end, does not follow the block before it (its number) or lists its times out of order, or a
/// block holds records of a type this version does not read (they would count here, not in a read):
/// the records then have to be read to know. The records' CRCs are not checked.
std::optional<store_extent> store_extent_of(const std::filesystem::path& file);

/// The record types of bars in store_record_kinds(): whole (3), packed (5) and runs (6).
inline constexpr uint16_t store_bar_kinds = 1u << 3 | 1u << 5 | 1u << 6;
/// Kinds of a store that holds bars and nothing else.
constexpr bool store_holds_only_bars(uint16_t kinds) noexcept {
  return kinds != 0 && (kinds & ~store_bar_kinds) == 0;
}

/// The format version of a .catsrec file (1 to 4), 0 when it does not start like one. Throws
/// std::runtime_error when it cannot be opened.
int record_file_version(const std::filesystem::path& file);

}  // namespace cats
