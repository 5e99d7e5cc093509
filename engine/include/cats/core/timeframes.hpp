// Bars of longer intervals that the engine builds for the strategies that ask for them (the host
// API's subscribe_bars): 5m, 1h or 1d bars from an instrument's 1m bars, or from its trades when
// its feed has no bars. One builder per (instrument, interval), shared by its subscribers; the
// market step (session/session.hpp) feeds it every bar and trade and asks it for the bars that
// time has closed, so backtest, paper and live runs build the same bars.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cats {

class bar_timeframes {
 public:
  static constexpr int64_t second_ns = 1'000'000'000;
  static constexpr int64_t max_interval_ns = 86'400 * second_ns;
  /// Flat bars (intervals without trades) in a row before the builder waits for the next trade.
  static constexpr int64_t max_flat_bars = 1440;

  /// A bar one builder completed, for the strategies in `subscribers`.
  struct built {
    cats_bar_event_t bar;
    size_t builder;
  };
  /// A builder whose input cannot make its interval: its subscribers are disabled with `message`.
  struct failure {
    size_t builder;
    uint32_t instrument_id;
    std::string message;
  };

  /// `wall_clock`: a live run, where the first interval is partial unless the data began at its
  /// start. `grace_ns`: intervals that time closes wait this long for late data (the clock is a
  /// receive time: live, or the replay of a recording).
  void configure(bool wall_clock, int64_t grace_ns) noexcept {
    wall_clock_ = wall_clock;
    grace_ns_ = grace_ns;
  }
  /// Replay: the first time replayed (backtest.start, a walk-forward fold's start); a first
  /// interval that begins before it is partial.
  void set_data_start(int64_t ts) noexcept { data_start_ = ts; }
  /// Empty when `interval_ns` is acceptable, otherwise why not.
  static std::string check_interval(int64_t interval_ns);
  /// Adds `slot` to the builder of (instrument, interval), creating it. `watching_late`: the run
  /// has begun, so the first interval the new builder sees is partial. Returns why not (the
  /// builder found that the feed cannot make the interval), or empty.
  std::string subscribe(uint32_t slot, uint32_t instrument_id, int64_t interval_ns,
                        bool watching_late);
  /// A strategy that is gone before it ran (its create() failed): its slot may be reused.
  void unsubscribe(uint32_t slot);

  bool active() const noexcept { return !builders_.empty(); }
  /// The earliest time at which an interval closes by time alone (INT64_MAX: none).
  int64_t next_due() const noexcept { return next_due_; }
  /// A bar or trade of the feed: the intervals it closes are appended to `out`.
  void on_bar(const cats_bar_event_t& bar, std::vector<built>& out, std::vector<failure>& failed);
  void on_trade(const cats_trade_event_t& trade, int64_t quote_quantity, std::vector<built>& out);
  /// The clock reads `now`: intervals due by then (that ended at `now` or before; live: `grace_ns`
  /// before) close, each bar stamped with `now` as its local time.
  void close_due(int64_t now, std::vector<built>& out);
  /// The replay built bars of `bar.interval_ns` from the feed's trades: a subscription to that
  /// interval builds nothing (those bars are delivered to everybody).
  void note_built(const cats_bar_event_t& bar);

  const std::vector<uint32_t>& subscribers(size_t builder) const noexcept {
    return builders_[builder].subscribers;
  }
  /// Bars and trades that arrived after their interval was closed (live: later than the grace).
  uint64_t late() const noexcept { return late_; }

 private:
  struct builder {
    uint32_t instrument_id = 0;
    int64_t interval = 0;
    std::vector<uint32_t> subscribers;
    bool from_bars = false;  // the feed has bars: built from them (trades are ignored from then on)
    bool started = false;    // win_start is set
    bool has_data = false;   // cur holds data of [win_start, win_start + interval)
    bool skip = false;       // the current interval began before the builder saw data
    bool dormant = false;    // max_flat_bars in a row: nothing more until data arrives
    bool broken = false;
    bool mirror = false;   // the feed's bars have this interval: nothing to build
    int incompatible = 0;  // feed bars that cannot make the interval, before any trade
    bool watching_late = false;
    int64_t win_start = 0;
    int64_t emitted_until = std::numeric_limits<int64_t>::min();  // before: closed from trades
    std::string failure;
    int64_t flat_run = 0;
    int64_t last_close = 0;
    cats_bar_event_t cur{};
  };
  int64_t floor_to(int64_t ts, int64_t interval) const noexcept;
  void begin(builder& b, int64_t start, bool partial);
  void close_window(size_t i, int64_t local_ts, std::vector<built>& out);
  /// Closes the intervals before `start` (flat ones included, up to max_flat_bars).
  void advance(size_t i, int64_t start, int64_t local_ts, std::vector<built>& out);
  /// Moves builder `i` to the interval that begins at `start` (a builder not started begins
  /// there, partial if told); false when that interval is closed already (late data).
  bool enter(size_t i, int64_t start, bool partial, int64_t local_ts, std::vector<built>& out);
  void update_due() noexcept;
  int64_t due_of(const builder& b) const noexcept;

  std::vector<builder> builders_;
  std::vector<std::vector<uint32_t>> by_instrument_;  // builder indices
  int64_t next_due_ = std::numeric_limits<int64_t>::max();
  bool wall_clock_ = false;
  int64_t grace_ns_ = 0;
  int64_t data_start_ = std::numeric_limits<int64_t>::min();
  uint64_t late_ = 0;
};

}  // namespace cats
