// Streaming reader for Binance public-data trade files (data.binance.vision layouts):
//   spot trades          id,price,qty,quote_qty,time,is_buyer_maker,is_best_match
//   futures trades       id,price,qty,quote_qty,time,is_buyer_maker
//   spot aggTrades       agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,
//                        is_buyer_maker,is_best_match
//   futures aggTrades    the same without is_best_match
// with or without a header row (futures files have one); the column count of the first row
// tells spot from futures. Booleans are True/False or true/false. Times are epoch milliseconds or
// (spot files from 2025 on) microseconds, detected per file. Like the kline reader it streams
// through one fixed buffer (plain, .gz or .zip files) and parses every number exactly into
// 8-decimal fixed point.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cats/replay/kline_csv.hpp"
#include "cats/util/byte_source.hpp"

namespace cats {

enum class trade_file_kind : uint8_t { trades, agg_trades };

struct trade_row {
  int64_t id = 0;  ///< trade id, or aggregate trade id for aggTrades
  int64_t price = 0, quantity = 0;
  /// From the file for trades. For aggTrades (which have no such column) price × quantity,
  /// rounded to the nearest 10^-8: exact whenever the product has at most 8 decimals, which
  /// holds for Binance's tick and lot sizes.
  int64_t quote_quantity = 0;
  int64_t time_ns = 0;
  int64_t first_trade_id = 0, last_trade_id = 0;  ///< aggTrades only; 0 for trades
  bool buyer_maker = false;
  bool best_match = true;  ///< true when the layout has no such column (futures)
  uint64_t line = 0;       ///< 1-based line number in the file
};

class trade_csv_reader {
 public:
  enum class status { row, end, error };

  trade_csv_reader(std::string path, trade_file_kind kind, kline_reader_options options = {});
  trade_csv_reader(const trade_csv_reader&) = delete;
  trade_csv_reader& operator=(const trade_csv_reader&) = delete;

  /// Opens the file (plain, .gz, .zip or .zip#entry); false with error() set if it cannot be
  /// read.
  bool open();
  /// The next valid row, the end of the file, or an error ("file:line: what was wrong"). Rows
  /// must not go back in time (equal times are fine) and ids must increase; in skip mode a row
  /// that breaks this is skipped and counted like a malformed one.
  status next(trade_row& row);

  const std::string& path() const noexcept { return path_; }
  const std::string& error() const noexcept { return error_; }
  /// Fraction of the file read so far (negative when unknown), for progress bars.
  double fraction_read() const noexcept { return lines_.fraction(); }
  trade_file_kind kind() const noexcept { return kind_; }
  time_unit unit() const noexcept { return unit_; }
  bool had_header() const noexcept { return had_header_; }
  /// Columns per row: 6 or 7 for trades, 7 or 8 for aggTrades; 0 before the first row.
  int columns() const noexcept { return columns_; }
  uint64_t rows() const noexcept { return rows_; }
  uint64_t skipped() const noexcept { return skipped_; }
  const std::vector<std::string>& skip_messages() const noexcept { return skip_messages_; }

 private:
  bool parse_line(const char* b, const char* e, trade_row& row);
  bool set_layout(const char* b, const char* e, bool header);
  bool field_failure(const char* b, const char* e, int field, int err);
  /// Records a bad row (an error, or a skip in skip mode); always returns false.
  bool reject(const std::string& what);

  std::string path_;
  trade_file_kind kind_;
  kline_reader_options options_;
  line_reader lines_;
  uint64_t line_ = 0;
  int columns_ = 0;
  bool has_best_match_ = false;
  time_unit unit_ = time_unit::unknown;
  int64_t time_mult_ = 0;
  bool had_header_ = false;
  bool have_prev_ = false;
  int64_t prev_id_ = 0, prev_time_ = 0;  // raw file units
  uint64_t rows_ = 0;
  uint64_t skipped_ = 0;
  std::vector<std::string> skip_messages_;
  std::string error_;
};

/// "binance trades" / "binance aggTrades", for messages.
const char* to_string(trade_file_kind kind) noexcept;

}  // namespace cats
