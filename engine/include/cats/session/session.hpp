// The market step: one function, session::on_event, that every mode calls for every market event
// (cats backtest and sweep with replayed files, cats live with venue feeds, cats record with no
// strategies). A new source or broker plugs in at an end; the step itself is never copied.
//
//   market_event -> clock (timers due before it fire; built bars time closed) -> book builder
//     -> broker matching -> portfolio mark -> taps (recorder, off-thread) -> strategies
//     -> built bars the event completed (core/timeframes.hpp), to the strategies that asked
//
// Order updates and fills the broker posts reach the strategies before the event that caused
// them, as they would from a venue.
#pragma once

#include <cats/sdk.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "cats/book/book_builder.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/market_event.hpp"
#include "cats/core/portfolio.hpp"
#include "cats/replay/replay.hpp"

namespace cats {

struct session_options {
  /// Replay: CATS_EVENT_FLAG_REPLAY, stamped on every event strategies see and on the broker's
  /// order updates and fills. Live: 0.
  uint32_t event_flags = 0;
  /// Live: the driver passes the wall clock and it is the engine's time. Replay: the clock follows
  /// the events' own times and never goes back.
  bool wall_clock = false;
  /// False for `cats record`: the market is tracked and recorded, no strategy runs.
  bool deliver = true;
  /// Levels per side in the book events strategies get.
  size_t book_depth = 20;
  /// Replay: per instrument id, 1 when its orders match on bars (it has klines and no ticks).
  std::vector<uint8_t> bar_matched;
  /// Replay: every instrument has bars only: the equity is sampled at each bar close, otherwise on
  /// a grid of `sample_ns`.
  bool bars_only = false;
  int64_t sample_ns = 0;
  /// Replay: the instrument whose first and last price a buy-and-hold comparison needs (0: none).
  uint32_t primary_instrument = 0;
  /// An interval of bars the engine builds (subscribe_bars) that no feed bar has closed closes
  /// this long after its end, so that data still on its way counts: live runs, and replays
  /// whose clock is a receive time (recordings). Replays of venue files use 0.
  int64_t bar_grace_ns = 2'000'000'000;
  /// Replay: the clock is the recorded receive time (a recording is among the feeds).
  bool receive_time_clock = false;
  /// Replay of bars only: runs of bars with nothing in between (no order working, no timer
  /// pending, one strategy) go to the strategy in one call when it takes them (ABI 1.5 on_bars).
  /// What it sees and what the run reports are the same either way; false delivers every bar
  /// through on_event ([backtest] bar_spans, for comparing).
  bool bar_spans = true;
};

/// The primary instrument's prices since the previous sample: the first open, the extremes and
/// the last close (all the last close when nothing traded in between; 0 before any price).
struct price_span {
  int64_t open = 0, high = 0, low = 0, close = 0;
};

/// Receives the equity samples of a replay (the report's metrics, equity.csv, the HTML chart).
class sample_listener {
 public:
  virtual ~sample_listener() = default;
  /// The strategies have started with the clock at `ts`.
  virtual void on_start(int64_t ts) = 0;
  /// The account at time `ts` (the engine's portfolio holds the values); `price` is the primary
  /// instrument's prices since the previous sample (price.close its last price).
  virtual void on_sample(int64_t ts, const price_span& price) = 0;
  /// True when the equity alone is all the listener uses: the samples of a run of bars may then
  /// come in one on_samples call, taken before the portfolio has moved through those bars.
  virtual bool takes_equity_only() const noexcept { return false; }
  /// True when, besides, the times of a run of samples with one equity and no exposure do not
  /// matter but for the first and the last: such a run may come in one on_flat_samples call.
  virtual bool takes_flat_runs() const noexcept { return false; }
  /// `n` samples at times `ts` with equity `equity`, the exposure the same in all of them (only
  /// called when takes_equity_only()).
  virtual void on_samples(const int64_t* ts, const int64_t* equity, size_t n, bool exposed) {
    (void)ts;
    (void)equity;
    (void)n;
    (void)exposed;
  }
  /// `n` (>= 2) samples from `first_ts` to `last_ts`, strictly increasing, all with equity
  /// `equity` and no exposure (only called when takes_flat_runs()).
  virtual void on_flat_samples(int64_t first_ts, int64_t last_ts, size_t n, int64_t equity) {
    (void)first_ts;
    (void)last_ts;
    (void)n;
    (void)equity;
  }
};

class session final : bar_span_host {
 public:
  /// `broker` matches the strategies' orders (it is also the engine's router); `account` is the
  /// portfolio the engine reports to strategies.
  session(engine& eng, portfolio& account, broker& broker, session_options options);
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void add_tap(market_tap& tap) { taps_.push_back(&tap); }
  void set_sample_listener(sample_listener* l) noexcept { samples_ = l; }

  /// Starts the strategies with the clock at `ts`. A replay starts itself at its first event.
  void start(int64_t ts);
  bool started() const noexcept { return started_; }

  /// The market step. `now`: the wall clock in live mode; ignored in replay.
  void on_event(const market_event& event, int64_t now = 0);

  /// Replay: [start, end) of the data; bars count by their open time, other events by their time.
  struct window {
    std::optional<int64_t> start, end;
  };
  struct replay_outcome {
    uint64_t events = 0;       ///< events inside the window, each taken through the step
    bool interrupted = false;  ///< `stop` was set
  };
  /// Replay: takes every event of `cursor` inside `window` through the step (the loop lives here
  /// so that the step is inlined into it), checking `stop` before every event and drawing a
  /// progress bar when `progress` is set and stderr is a terminal.
  replay_outcome replay(event_cursor& cursor, const window& w, const std::atomic<bool>* stop,
                        bool progress);
  /// Lockstep replay (a sweep's runs taking turns at one read of the data): the events
  /// [first, first + count), consecutive in the data, under the rules of replay(); false once the
  /// window has ended (no later event is for this run). `stop` set: returns at once, interrupted.
  /// `uniform`: how many events from `first` on are uniform_bars(), when the caller knows.
  bool replay_run(const market_event* first, size_t count, const window& w, replay_outcome& out,
                  const std::atomic<bool>* stop = nullptr, size_t uniform = SIZE_MAX);
  /// How many of ev[0, n) (n >= 1) are bars like ev[0]: read as they are (not built), of its
  /// instrument, with its flags and interval, open times that never go back and close times that
  /// always move on; 0 when ev[0] is not such a bar. A run of them goes to a strategy in one call
  /// without a check per bar (a sweep finds them once for all its runs).
  static size_t uniform_bars(const market_event* ev, size_t n) noexcept;
  /// Live: time passes without an event (timers due by `now` fire).
  void on_clock(int64_t now);
  /// The end of the run: the last sample (replay), on_stop for every strategy, and every working
  /// order cancelled with `reason`. `now`: the wall clock in live mode.
  void finish(std::string_view reason, int64_t now = 0);

  const book_builder& books() const noexcept { return books_; }
  /// Replay: first open and last close of the primary instrument (0 when none was seen).
  int64_t first_price() const noexcept { return first_open_; }
  int64_t last_price() const noexcept { return last_close_; }
  /// Replay with bars only: the shortest bar interval seen (it annualises the statistics).
  int64_t bar_interval() const noexcept { return bar_interval_; }
  uint64_t samples() const noexcept { return samples_taken_; }
  /// Replay: instruments whose feed should have had ticks (a recording) but whose orders matched
  /// on their bars, because no trade, quote or book of theirs had arrived (yet) when their bars
  /// did; those that never had a tick matched on bars the whole run.
  std::vector<uint32_t> matched_on_bars_without_ticks() const;
  bool had_ticks(uint32_t id) const noexcept { return id < ticked_.size() && ticked_[id] != 0; }
  /// Replay: the calls that handed a strategy a run of bars (on_bars), and the bars they took.
  uint64_t bar_runs() const noexcept { return span_calls_; }
  uint64_t bars_in_runs() const noexcept { return span_bars_; }

 private:
  // The parts of the step, inlined into on_event and replay (session.cpp): no call per stage.
  inline void step(const market_event& in, int64_t now);
  inline void step_market(const market_event& e, const market_event& in, int64_t now);
  inline const market_event& stamped(const market_event& in);
  inline void on_bar(const market_event& e);
  inline void replay_bar_clock(const market_event& e);
  enum class in_window { skip, step, end };
  inline in_window place(const market_event& e, const window& w);
  int64_t horizon_ = 0;  // replay: the longest bar interval seen (events are read that far past
                         // the end)
  inline void advance_to(int64_t ts);
  // Runs of bars in one call to the strategy (session_options::bar_spans).
  // 64 bars: Ctrl-C waits at most that many bars of a slow strategy.
  static constexpr size_t max_span = 64;
  static constexpr size_t unknown_uniform = SIZE_MAX;  // step_from: find the uniform bars out
  inline bool span_ready(const market_event& e);
  inline size_t span_length(const market_event* next, size_t n, size_t uniform, const window& w);
  inline size_t step_from(const market_event* ev, size_t ahead, size_t uniform, const window& w);
  void note_interval(int64_t ns) noexcept {
    if (bar_interval_ == 0 || ns < bar_interval_) bar_interval_ = ns;
  }
  uint32_t step_span(const market_event* first, size_t count, bool uniform);
  void catch_up(uint32_t index) override;
  uint32_t caught_up() const noexcept override { return span_done_; }
  bool catch_up_in_bulk(uint32_t index);
  std::vector<int64_t> bulk_ts_, bulk_equity_;  // catch_up_in_bulk's samples
  bool stamped_already(const cats_event_t& header) const noexcept {
    return (header.flags & options_.event_flags) == options_.event_flags;
  }
  strategy_slot* span_slot_ = nullptr;         // span_ready(): the strategy that takes the run
  const market_event* span_events_ = nullptr;  // the run being handed over
  uint32_t span_done_ = 0;                     // its bars the market has been brought through
  bool span_uniform_ = false;                  // its bars are uniform_bars()
  uint64_t span_calls_ = 0, span_bars_ = 0;    // runs handed over, and the bars in them
  inline void take_sample(int64_t ts);
  void close_built_bars(int64_t t);
  void step_building_bars(const market_event& in, int64_t now);
  void note_price(uint32_t id, int64_t open, int64_t high, int64_t low, int64_t close) noexcept {
    if (id != options_.primary_instrument) return;
    if (first_open_ == 0) first_open_ = open;
    last_close_ = close;
    if (!span_open_) {
      span_ = {open, high, low, close};
      span_open_ = true;
    } else {
      span_.high = std::max(span_.high, high);
      span_.low = std::min(span_.low, low);
      span_.close = close;
    }
  }
  bool matches_bars(uint32_t id) const noexcept {
    return id < options_.bar_matched.size() && options_.bar_matched[id] != 0;
  }
  // Ticks of an instrument have arrived: its orders match on them from now on.
  void saw_ticks(uint32_t id) {
    if (id >= ticked_.size()) [[unlikely]]
      ticked_.resize(id + 1, 0);
    ticked_[id] = 1;
  }
  // A recorded bar of an instrument with no ticks so far: matched like a kline, or no order of
  // a bar strategy would ever fill (a recording of bars only).
  bool lacks_ticks(const market_event& e) {
    const uint32_t id = e.bar.header.instrument_id;
    // Recordings only: a klines feed's instrument is bar-matched already, and a venue file of
    // trades has no bars but built ones.
    if (!options_.receive_time_clock || e.built || (id < ticked_.size() && ticked_[id] != 0))
      return false;
    if (id >= bars_without_ticks_.size()) bars_without_ticks_.resize(id + 1, 0);
    bars_without_ticks_[id] = 1;
    return true;
  }
  void tap(const market_event& e) {
    for (market_tap* t : taps_) t->on_event(e);
  }
  void deliver(const cats_event_t& header) {
    if (!options_.deliver) return;
    engine_.flush();
    engine_.dispatch(header);
  }

  engine& engine_;
  portfolio& account_;
  broker& broker_;
  session_options options_;
  book_builder books_;
  std::vector<market_tap*> taps_;
  bool cursor_stamps_ = false;  // replay(): the cursor sets the event flags itself
  sample_listener* samples_ = nullptr;
  market_event stamp_;  // the event with the session's flags, when they must be added

  bool started_ = false;
  int64_t pending_ts_ = 0;   // bars only: close time of the bars whose sample is not yet taken
  int64_t next_sample_ = 0;  // tick data: the next point of the sampling grid
  int64_t last_sampled_ = INT64_MIN;
  uint64_t samples_taken_ = 0;
  int64_t bar_interval_ = 0;
  int64_t first_open_ = 0, last_close_ = 0;
  std::vector<uint8_t> ticked_;              // by instrument id: a trade, quote or book arrived
  std::vector<uint8_t> bars_without_ticks_;  // by instrument id: a bar matched for lack of ticks
  price_span span_;                          // the primary instrument since the last sample
  bool span_open_ = false;                   // a price arrived since the last sample
};

}  // namespace cats
