// Streaming reader for Binance public-data kline CSV files (data.binance.vision layout):
//   open_time,open,high,low,close,volume,close_time,quote_volume,count,
//   taker_buy_base_volume,taker_buy_quote_volume,ignore
// with or without a header row; times in epoch milliseconds or (spot files from 2025 on)
// microseconds, detected per file. Reads through a fixed buffer, so memory does not grow with the
// file. Every number is parsed exactly into 8-decimal fixed point, never through double. The path
// may name a plain, `.gz` or `.zip` file (`archive.zip#entry.csv` for one of several entries).
// A plain file can be read and parsed ahead on several threads (kline_reader_options::threads):
// the rows, the errors and their order are the same as with one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cats/util/byte_source.hpp"

namespace cats {

struct kline_row {
  int64_t open_time_ns = 0;
  int64_t close_time_ns = 0;  ///< as in the file: the last instant of the interval
  int64_t open = 0, high = 0, low = 0, close = 0;
  int64_t volume = 0, quote_volume = 0, taker_buy_volume = 0, taker_buy_quote_volume = 0;
  int64_t trade_count = 0;
  uint64_t line = 0;  ///< 1-based line number in the file
};

enum class time_unit : uint8_t { unknown, milliseconds, microseconds, seconds };

struct kline_reader_options {
  bool skip_malformed = false;    ///< skip and count bad rows instead of stopping
  size_t buffer_size = 1u << 20;  ///< read size; also the longest line accepted
  size_t max_kept_messages = 20;  ///< how many skip messages to keep for the report
  /// Threads that read and parse a plain file, the caller's included (at most 4): windows of
  /// `read_ahead_window` bytes are parsed ahead by the helpers while the caller checks and hands
  /// out the rows in file order. 0 or 1, a compressed file, or a file under two windows: the
  /// caller alone. A file that grows or shrinks while it is read ahead is read as it was at
  /// open() (a shrunk one is an error).
  unsigned threads = 1;
  size_t read_ahead_window = 1u << 20;
};

class kline_csv_reader {
 public:
  enum class status { row, end, error };

  explicit kline_csv_reader(std::string path, kline_reader_options options = {});
  ~kline_csv_reader();
  kline_csv_reader(const kline_csv_reader&) = delete;
  kline_csv_reader& operator=(const kline_csv_reader&) = delete;

  /// Opens the file (plain, .gz, .zip or .zip#entry); false with error() set if it cannot be
  /// read.
  bool open();
  /// The next valid row, the end of the file, or an error ("file:line: what was wrong").
  status next(kline_row& row);

  const std::string& path() const noexcept { return path_; }
  const std::string& error() const noexcept { return error_; }
  /// Fraction of the file read so far (negative when unknown), for progress bars.
  double fraction_read() const noexcept;
  time_unit unit() const noexcept { return unit_; }
  /// Whether helpers read and parse the file ahead (options.threads > 1 on a large plain file).
  bool reads_ahead() const noexcept { return ahead_ != nullptr; }
  /// Windows the helper threads have parsed (the caller parses the others itself).
  uint64_t windows_read_ahead() const noexcept;
  bool had_header() const noexcept { return had_header_; }
  uint64_t rows() const noexcept { return rows_; }
  uint64_t skipped() const noexcept { return skipped_; }
  const std::vector<std::string>& skip_messages() const noexcept { return skip_messages_; }

 private:
  struct ahead;  // the windows parsed ahead on other threads (options.threads > 1)
  status next_ahead(kline_row& row);
  /// A non-blank line: the header, a row (true), or a bad row.
  bool take(const char* begin, const char* end, kline_row& row);
  bool parse_line(const char* begin, const char* end, kline_row& row);
  /// The checks that depend on the rows before (the file's time unit) and the ones that need the
  /// whole row; `open_time` and `close_time` as written in the file.
  bool check_row(int64_t open_time, int64_t close_time, kline_row& row);
  /// Records a bad row (an error, or a skip in skip mode); always returns false.
  bool reject(uint64_t line, const std::string& what);

  std::string path_;
  kline_reader_options options_;
  line_reader lines_;
  uint64_t line_ = 0;
  time_unit unit_ = time_unit::unknown;
  bool had_header_ = false;
  uint64_t rows_ = 0;
  uint64_t skipped_ = 0;
  std::vector<std::string> skip_messages_;
  std::string error_;
  std::unique_ptr<ahead> ahead_;
};

}  // namespace cats
