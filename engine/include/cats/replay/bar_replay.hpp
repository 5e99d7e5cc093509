// Replays kline files as one time-ordered stream of bar events.
//
// Files are merged by bar close time (a k-way merge; equal times keep the order the files were
// given in). Per instrument the stream must move forward: a bar whose open time is not after the
// previous one (a duplicate, an overlap between files, time going backwards) stops the run, or is
// skipped and counted with skip_malformed. Gaps are counted and reported, never filled in.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cats/replay/kline_csv.hpp"

namespace cats {

struct bar_file {
  std::string path;
  uint32_t instrument_id = 0;
};

struct replay_stats {
  uint64_t rows = 0;     ///< valid rows read
  uint64_t bars = 0;     ///< bars delivered
  uint64_t skipped = 0;  ///< malformed or out-of-order rows skipped
  uint64_t gaps = 0;     ///< places where bars are missing
  uint64_t missing_bars = 0;
  /// Trade files: places where the venue's trade ids (aggTrade ids) jump, and how many ids the
  /// jumps skip: trades that are not in the data, within a file or between two files.
  uint64_t trade_id_gaps = 0;
  uint64_t missing_trades = 0;
  /// Recordings (version 2) with on_error = "skip": damaged blocks skipped.
  uint64_t damaged_blocks = 0;
  std::vector<std::string> messages;  ///< first skip and gap messages, for the report
};

class bar_replay {
 public:
  enum class status { bar, end, error };

  bar_replay(std::vector<bar_file> files, kline_reader_options options);
  ~bar_replay();

  /// Opens every file and reads the first row of each; false with error() set if a file cannot
  /// be opened (then unreadable() is true) or its first row is bad.
  bool open();
  bool unreadable() const noexcept { return unreadable_; }
  /// The next bar in time order. header.exchange_ts_ns = open_time + interval.
  status next(cats_bar_event_t& bar);

  const std::string& error() const noexcept { return error_; }
  /// Rows, bars, skips and gaps so far, with the first messages about them.
  replay_stats stats() const;
  /// Interval of the first instrument's bars (0 before the first bar).
  int64_t interval_ns() const noexcept { return interval_ns_; }
  const std::vector<std::unique_ptr<kline_csv_reader>>& readers() const noexcept {
    return readers_;
  }

 private:
  struct head {
    kline_row row;
    bool valid = false;
  };
  struct instrument_track {
    int64_t last_open = 0;
    int64_t interval = 0;
    bool seen = false;
    size_t last_file = 0;
    uint64_t last_line = 0;
  };
  bool advance(size_t i);
  bool reject(const std::string& message);
  void note(std::string message);

  std::vector<bar_file> files_;
  kline_reader_options options_;
  std::vector<std::unique_ptr<kline_csv_reader>> readers_;
  std::vector<head> heads_;
  std::vector<instrument_track> tracks_;
  replay_stats stats_;
  std::string error_;
  int64_t interval_ns_ = 0;
  bool unreadable_ = false;
};

}  // namespace cats
