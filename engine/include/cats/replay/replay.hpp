// Replay of historical market data: several feeds (kline files, trade or aggTrade files, the
// engine's recordings), each one instrument's (or, for recordings, several instruments') events
// in time order, merged into one time-ordered stream.
//
// Merge order (docs/data.md, "Replay"): events are ordered by their time (a bar by its close, a
// trade by its trade time, a recorded event by its receive time). Equal times keep the order of
// the feeds in the config ([data] first, then the [[data.feed]] tables in order); within a feed,
// the order of its files and rows. Bars built from trades come before the trade that closed them.
//
// Streaming sources read through fixed buffers: memory does not grow with the data. A decoded
// copy (market_data) holds the whole stream in memory so that many runs (a parameter sweep) share
// one read-only decode.
#pragma once

#include <cats/sdk.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/instrument.hpp"
#include "cats/core/market_event.hpp"
#include "cats/replay/bar_replay.hpp"

namespace cats {

/// One feed's events in time order.
class market_source {
 public:
  virtual ~market_source() = default;
  /// Opens the files (each one once, so that a missing file is found before the run starts) and
  /// gets ready to read; false with error() set. unreadable(): a file could not be opened.
  virtual bool open() = 0;
  virtual bool unreadable() const noexcept = 0;
  /// The next event; false at the end of the data or on an error (then error() is set).
  virtual bool next(market_event& out) = 0;
  /// Up to `n` events into `out`; 0 at the end of the data or on an error. A batch ends early
  /// after a book event (its levels live in the source until the next read). Sources that can
  /// read ahead without changing what they report (the block store) give more than one; the
  /// others one, so that their counts of skipped rows and gaps stay those of the events used.
  virtual size_t next_batch(market_event* out, size_t n) { return n != 0 && next(*out) ? 1 : 0; }
  /// After open(): reading ahead changes nothing this source reports and no event of it borrows
  /// what the next read replaces (no book): a merge of such sources reads ahead in batches.
  virtual bool reads_ahead() const noexcept { return false; }
  /// Before open(): a replay that skips every event before `ts` is coming. A source that can pass
  /// over them without reading them (the block store, by its block headers) may leave them out;
  /// the others give them all.
  virtual void start_at(int64_t ts) { (void)ts; }
  virtual const std::string& error() const noexcept = 0;
  /// Adds this source's rows, skips, gaps and first messages.
  virtual void add_stats(replay_stats& into, size_t max_messages) const = 0;
  /// Bytes of input consumed so far and in all (0 = unknown); for the progress bar.
  virtual uint64_t bytes_done() const noexcept { return 0; }
  virtual uint64_t bytes_total() const noexcept { return 0; }
};

/// Per feed, what the runner needs to know.
struct feed_info {
  uint32_t instrument_id = 0;   ///< 0 for recordings (they name their instruments)
  bool ticks = false;           ///< trades, quotes or books: orders match on ticks, not bars
  bool recorded = false;        ///< a recording: its clock is the recorded receive time
  int64_t bar_interval_ns = 0;  ///< bars built from trades, or the kline interval once known
};

/// Where runs read their events from: a streaming merge or a decoded copy.
class event_cursor {
 public:
  virtual ~event_cursor() = default;
  /// The next event, valid until the next call; null at the end or on an error.
  virtual const market_event* next() = 0;
  virtual const std::string& error() const noexcept = 0;
  /// Fraction of the input consumed, in [0, 1], or a negative number when unknown.
  virtual double progress() const noexcept = 0;
  virtual replay_stats stats() const = 0;
  /// A cursor that owns its events sets `flags` on the header of every trade, quote and bar it
  /// hands out from now on (the session's replay flag), sparing the session a copy per event;
  /// false for one that shares read-only events (the session then stamps copies).
  virtual bool stamp_events(uint32_t flags) noexcept {
    (void)flags;
    return false;
  }
  /// The events after the one next() returned last that are decoded already and lie right after
  /// it in memory (stamped like it), valid as long as it is: their count and the first in `first`;
  /// 0 when there are none or the cursor reads one event at a time. A replay hands runs of bars
  /// to a strategy in one call with them.
  virtual size_t peek_run(const market_event*& first) noexcept {
    first = nullptr;
    return 0;
  }
  /// Takes `k` of the events peek_run() showed, as if next() had returned each.
  virtual void skip(size_t k) noexcept { (void)k; }
};

/// Opens every feed of the config and merges them (k-way; see the top of this file).
class replay_stream final : public event_cursor {
 public:
  /// Registers the feeds' instruments in `instruments` (recordings add theirs as they appear).
  /// `threads` read and parse plain kline files (kline_reader_options::threads).
  replay_stream(const data_section& data, instrument_registry& instruments, unsigned threads = 1);
  ~replay_stream() override;

  /// Opens the files and reads the first event of each feed; false with error() set when a file
  /// cannot be opened (unreadable() is then true) or the first rows are bad.
  bool open();
  bool unreadable() const noexcept { return unreadable_; }
  /// Before open(): the replay skips every event before `ts`, so the feeds may leave them out
  /// (market_source::start_at).
  void start_at(int64_t ts);

  const market_event* next() override;
  bool stamp_events(uint32_t flags) noexcept override {
    stamp_ = flags;
    stamped_to_ = batch_pos_;
    return true;
  }
  size_t peek_run(const market_event*& first) noexcept override;
  void skip(size_t k) noexcept override { batch_pos_ += k; }
  const std::string& error() const noexcept override { return error_; }
  double progress() const noexcept override;
  replay_stats stats() const override;
  const std::vector<feed_info>& feeds() const noexcept { return feeds_; }
  /// The feed (index into data.feeds) of the event next() returned last.
  size_t last_feed() const noexcept {
    return sources_.size() == 1 ? 0 : batch_.empty() ? last_ : batch_feed_[batch_pos_ - 1];
  }

 private:
  bool refill();
  size_t earliest() const noexcept;
  size_t merge_batch();

  std::vector<std::unique_ptr<market_source>> sources_;
  std::vector<market_event> heads_;  // each source's next event
  std::vector<uint8_t> live_;        // head i holds an event not yet returned
  std::vector<feed_info> feeds_;
  size_t last_ = SIZE_MAX;  // source of the event returned last: advanced on the next call
  // One feed: nothing to merge, its events come in batches (fewer calls through the layers).
  // Several feeds whose sources all read ahead: the merge fills batches, batch_feed_ naming each
  // event's feed (merge_error_ waits until the events read before it are handed out).
  std::vector<market_event> batch_;
  std::vector<uint32_t> batch_feed_;
  std::string merge_error_;
  size_t batch_pos_ = 0, batch_len_ = 0;
  size_t stamped_to_ = 0;  // peek_run() stamped the batch up to here
  uint32_t stamp_ = 0;     // stamp_events()
  bool batch_ended_ = false;
  std::string error_;
  bool unreadable_ = false;
  size_t max_messages_ = 20;
};

/// The whole merged stream of a config, decoded once and then shared read-only by many runs.
class market_data {
 public:
  /// Reads everything; throws std::runtime_error with the reader's message on bad data.
  /// `unreadable` is set when a file could not be opened (a configuration error). When `stop` is
  /// set while reading, returns what was read so far. Plain kline files are parsed on `threads`
  /// threads (the events are the same).
  static std::shared_ptr<const market_data> load(const data_section& data, bool* unreadable,
                                                 const std::atomic<bool>* stop = nullptr,
                                                 unsigned threads = 1);

  const std::vector<market_event>& events() const noexcept { return events_; }
  const instrument_registry& instruments() const noexcept { return instruments_; }
  const std::vector<feed_info>& feeds() const noexcept { return feeds_; }
  const replay_stats& stats() const noexcept { return stats_; }
  /// Time of the first and last event (0 when empty).
  int64_t first_ts() const noexcept { return events_.empty() ? 0 : events_.front().ts; }
  int64_t last_ts() const noexcept { return events_.empty() ? 0 : events_.back().ts; }
  /// Bytes held (events and book levels).
  size_t memory_bytes() const noexcept;

 private:
  std::vector<market_event> events_;
  std::deque<book_update> books_;  // the events' book updates (a deque: addresses stay put)
  instrument_registry instruments_;
  std::vector<feed_info> feeds_;
  replay_stats stats_;
};

/// The data of a config written once into block stores held in memory (a sealed memfd per feed),
/// which many runs then stream read-only and merge as the files merge: the copy a sweep shares. A
/// bar takes 44 bytes in a run of its feed's bars (72 packed, 112 whole) and a trade 48, where
/// market_data holds 144 bytes an event; stepping it costs about what stepping market_data costs.
/// Each event reads back exactly as the files gave it (docs/record_format.md).
class store_copy {
 public:
  /// Reads everything, as market_data::load (the same errors, and `stop`), into the store. Null
  /// when the data cannot go into one: a feed builds bars from its trades (they are the replay's,
  /// not the data's), or the system offers no in-memory file (`why_not` then empty); or, with
  /// `why_not` saying so, when the store would pass `max_bytes` or cannot be written (memory).
  static std::shared_ptr<const store_copy> load(const data_section& data, bool* unreadable,
                                                const std::atomic<bool>* stop = nullptr,
                                                unsigned threads = 1,
                                                uint64_t max_bytes = UINT64_MAX,
                                                std::string* why_not = nullptr);
  /// Whether this system offers the in-memory files (memfd and /proc) a store copy needs.
  static bool available();
  ~store_copy();
  store_copy(const store_copy&) = delete;
  store_copy& operator=(const store_copy&) = delete;

  /// The files' feeds, each of format cats_record reading its part of the copy.
  const data_section& data() const noexcept { return data_; }
  /// The instruments as the files registered them; a cursor over data() registers into a copy
  /// of these, which gives every symbol the id it had.
  const instrument_registry& instruments() const noexcept { return instruments_; }
  /// The feeds of the files (not of data()): how runs match orders and sample equity.
  const std::vector<feed_info>& feeds() const noexcept { return feeds_; }
  const replay_stats& stats() const noexcept { return stats_; }
  uint64_t events() const noexcept { return events_; }
  uint64_t bytes() const noexcept { return bytes_; }  ///< the store's size
  /// The first event (without its book levels) and the latest event time.
  const market_event& first_event() const noexcept { return first_; }
  int64_t last_ts() const noexcept { return last_ts_; }

 private:
  store_copy() = default;
  std::vector<int> fds_;  // one sealed memfd per feed
  data_section data_;
  instrument_registry instruments_;
  std::vector<feed_info> feeds_;
  replay_stats stats_;
  uint64_t events_ = 0, bytes_ = 0;
  market_event first_;
  int64_t last_ts_ = INT64_MIN;
};

/// Reads a market_data's events in order.
class memory_cursor final : public event_cursor {
 public:
  explicit memory_cursor(const market_data& data) : data_(data) {}
  const market_event* next() override {
    return pos_ < data_.events().size() ? &data_.events()[pos_++] : nullptr;
  }
  size_t peek_run(const market_event*& first) noexcept override {
    first = data_.events().data() + pos_;
    return data_.events().size() - pos_;
  }
  void skip(size_t k) noexcept override { pos_ += k; }
  const std::string& error() const noexcept override { return no_error_; }
  double progress() const noexcept override {
    return data_.events().empty()
               ? 1.0
               : static_cast<double>(pos_) / static_cast<double>(data_.events().size());
  }
  replay_stats stats() const override { return data_.stats(); }
  /// Skips to the first event at or after `ts` (binary search).
  void seek(int64_t ts);

 private:
  const market_data& data_;
  size_t pos_ = 0;
  std::string no_error_;
};

/// Builds time bars of a fixed interval from one instrument's trades. Bars are aligned to the
/// epoch (a 1h bar opens on the hour). An interval with no trade gives a bar at the previous close
/// with zero volume, as the venues' own klines do; the last, unfinished bar is never emitted.
class bar_builder {
 public:
  bar_builder(uint32_t instrument_id, int64_t interval_ns)
      : instrument_id_(instrument_id), interval_(interval_ns) {}
  /// Feeds a trade. If it starts a new interval, the bars that closed before it become
  /// available from pop() (in time order) before the trade is counted into the new bar.
  void add(const cats_trade_event_t& t, int64_t quote_quantity);
  /// The next closed bar, if any.
  bool pop(cats_bar_event_t& out);
  int64_t interval_ns() const noexcept { return interval_; }

 private:
  void close_current();
  uint32_t instrument_id_;
  int64_t interval_;
  bool open_ = false;
  cats_bar_event_t cur_{};
  cats_bar_event_t closed_{};  // a finished bar waiting for pop()
  bool has_closed_ = false;
  int64_t next_empty_ = 0;   // open time of the next empty bar still to emit
  int64_t empty_until_ = 0;  // ... up to (excluding) this open time
};

}  // namespace cats
