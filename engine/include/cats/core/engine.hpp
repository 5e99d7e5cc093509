// The engine loop: strategy instances, the clock, timers and deterministic event delivery.
//
// One thread drives the engine. Market events go to every running strategy in the order the
// strategies were added; events a strategy caused (order updates, fills) are queued and delivered
// after the current event has reached everyone, so no callback is ever re-entered.
#pragma once

#include <cats/sdk.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cats/core/instrument.hpp"
#include "cats/core/market_event.hpp"
#include "cats/core/params.hpp"
#include "cats/core/portfolio.hpp"
#include "cats/core/timeframes.hpp"

namespace cats {
class engine;
}

/// The host side of a strategy instance (opaque to plugins).
struct cats_host_t {
  cats::engine* engine = nullptr;
  uint32_t slot = 0;
  std::string last_error;
  /// Set while a new version of a strategy is being created off the engine thread (hot reload):
  /// only the read-only part of the host API works then.
  bool detached = false;
  std::string name;  ///< the instance name, for logging while detached
  /// Bar subscriptions (instrument, interval) made while detached: applied when it is swapped in.
  std::vector<std::pair<uint32_t, int64_t>> bar_requests;
};

namespace cats {

/// A strategy's code as the engine sees it: the checked descriptor and where it came from. A
/// plugin library is one (plugin/loader.hpp); the engine keeps it loaded while an instance of it
/// exists and hands it back (retire, swap_in) so that it is unloaded off the engine thread.
class strategy_module {
 public:
  virtual ~strategy_module() = default;
  /// Host-side copy, zero-filled beyond the plugin's struct_size.
  virtual const cats_strategy_descriptor_t& descriptor() const noexcept = 0;
  virtual std::string name() const = 0;
  virtual std::string version() const = 0;
  /// The file the code was loaded from (hot reload watches it).
  virtual const std::filesystem::path& source() const noexcept = 0;
};

/// The largest quantity or price an order may carry (1e9 in fixed point): routers refuse more, and
/// the risk checks rely on it (products of two such amounts fit in 128 bits, their results here).
inline constexpr int64_t max_order_amount = int64_t{1'000'000'000} * 100'000'000;

struct strategy_slot;

/// Sees every order update a broker posts, as it is posted (orders.csv of a run).
class order_observer {
 public:
  virtual ~order_observer() = default;
  /// `strategy`: the owner's instance name, "(host)" for the host's own orders (the kill switch).
  virtual void on_order_update(std::string_view strategy, const cats_order_update_event_t& update,
                               std::string_view reason) = 0;
};

/// Receives the values strategies plot (host API `plot`, ABI 1.3): a backtest's report.
class plot_listener {
 public:
  virtual ~plot_listener() = default;
  /// `series`: the strategy's own index of the series (in order of first use), named `name` and
  /// drawn in `panel` ("" = over the price). Engine thread; must not throw.
  virtual void on_plot(std::string_view strategy, uint32_t series, std::string_view name,
                       std::string_view panel, int64_t time_ns, double value) noexcept = 0;
};

/// Sends the strategies' orders to a venue: simulated in backtest, real in live mode.
class order_router {
 public:
  virtual ~order_router() = default;
  /// Validates and accepts an order for strategy `owner`; sets `order_id`, or returns an error
  /// status and explains it in `error`.
  virtual cats_status_t submit(uint32_t owner, const cats_order_request_t& request,
                               uint64_t& order_id, std::string& error) = 0;
  virtual cats_status_t cancel(uint32_t owner, uint64_t order_id, std::string& error) = 0;
  /// Changes a working order's quantity and/or price (limit price, or stop price of a stop
  /// order); 0 keeps the value. Errors leave the order unchanged and are explained in `error`.
  /// The outcome reaches the strategy as an order update. Routers that cannot amend refuse.
  virtual cats_status_t amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                              int64_t new_limit_price, std::string& error) {
    (void)owner;
    (void)order_id;
    (void)new_quantity;
    (void)new_limit_price;
    error = "this order router cannot amend orders";
    return CATS_E_UNSUPPORTED;
  }
  /// Cancels every working order of a strategy (used when it is disabled).
  virtual void cancel_all(uint32_t owner, std::string_view reason) = 0;
};

/// The order router of a run, seeing the market before the strategies do: the simulated exchange
/// matches its working orders against each event here (session/session.hpp calls these in the
/// market step); a venue broker has nothing to match (the venue does it).
class broker : public order_router {
 public:
  /// A bar of an instrument matched on bars begins (the engine clock at its open time).
  virtual void on_bar_open(const cats_bar_event_t& bar) = 0;
  /// That bar has closed (the engine clock at its close); called before it is dispatched.
  virtual void on_bar_close(const cats_bar_event_t& bar) = 0;
  /// The best bid/ask of an instrument is now `bid`/`ask` (0 = side unknown) with
  /// `bid_size`/`ask_size` displayed (0 = unknown).
  virtual void on_quote(uint32_t instrument_id, int64_t bid, int64_t bid_size, int64_t ask,
                        int64_t ask_size) = 0;
  /// A trade printed.
  virtual void on_trade(const cats_trade_event_t& trade) = 0;
  /// The run ends: every working order is cancelled with `reason`.
  virtual void finish(std::string_view reason) = 0;

  /// An order the host refused before it reached the venue (the risk engine): it gets an order id
  /// and a CATS_ORDER_REJECTED update with `reason`, as a venue's refusal would.
  virtual uint64_t reject(uint32_t owner, const cats_order_request_t& request,
                          std::string reason) = 0;
  /// A working order, as the risk checks and the operator's view see it.
  struct open_order {
    uint64_t id;
    uint32_t owner;
    uint32_t instrument_id;
    int32_t side;       ///< cats_side
    int64_t remaining;  ///< quantity not yet filled
    int32_t type;       ///< cats_order_type
    int64_t quantity;   ///< as ordered (or last amended)
    int64_t price;      ///< limit price, or stop price of a stop order; 0 for market orders
  };
  /// Appends every working order (submitted, not yet filled, cancelled or rejected) to `out`.
  virtual void open_orders(std::vector<open_order>& out) const = 0;
  /// How many orders are working (cheap).
  virtual size_t open_order_count() const noexcept = 0;
  /// Nothing is working or waiting and nothing watches the market: a bar changes only the prices
  /// this broker holds. A replay may then hand a strategy several bars in one call (on_bars).
  virtual bool idle() const noexcept { return false; }
};

/// The market side of a run of bars handed to a strategy in one call (ABI 1.5 on_bars; the
/// session is one): it brings the clock, the account and the broker to the close of the span's bar
/// `index` and of every bar before it, as on_event's delivery of that bar would have found them.
class bar_span_host {
 public:
  virtual ~bar_span_host() = default;
  virtual void catch_up(uint32_t index) = 0;
  /// How many bars of the span the market has been brought through.
  virtual uint32_t caught_up() const noexcept = 0;
};

/// Which strategy callback an engine is running right now. The engine thread writes it around
/// every call into strategy code (a handful of plain stores, no clock read); the watchdog reads it
/// from its own thread, the crash handler from a signal handler on the engine thread.
struct callback_probe {
  /// Odd while a callback runs; +1 on entry and again on return.
  std::atomic<uint64_t> seq{0};
  /// The instance name (NUL-terminated, owned by the engine's slot) and the callback ("on_start",
  /// "on_event(bar)", ...: a string literal). Valid while `seq` is odd.
  std::atomic<const char*> strategy{nullptr};
  std::atomic<const char*> where{nullptr};
  /// Set by the watchdog to the `seq` of a callback that ran past the time limit: when it returns,
  /// the engine disables that strategy (its orders cancelled, no more events).
  std::atomic<uint64_t> overran_seq{0};
};

/// The probe of the engine whose strategy code this thread last ran (null if none). Async-signal
/// safe: for the crash handler and the exit() check.
const callback_probe* current_callback_probe() noexcept;

/// "on_event(bar)", "on_event(fill)", ... for a CATS_EVENT_* type (string literals).
inline const char* callback_name(int32_t event_type) noexcept {
  // Indexed by CATS_EVENT_* (1 trade ... 7 book).
  static constexpr const char* names[] = {
      "on_event",        "on_event(trade)",        "on_event(quote)",
      "on_event(bar)",   "on_event(order_update)", "on_event(fill)",
      "on_event(timer)", "on_event(book)"};
  return event_type > 0 && event_type < 8 ? names[event_type] : names[0];
}

struct strategy_failure {
  std::string where;  ///< "create", "on_start", "on_event(bar)", ...
  std::string message;
  cats_status_t status = CATS_OK;
  int64_t ts_ns = 0;
};

struct strategy_slot {
  std::string name;                          ///< the instance name from the config
  std::shared_ptr<strategy_module> library;  ///< null for a strategy compiled into the host
  cats_strategy_descriptor_t desc{};         ///< host-side copy, zero-filled beyond struct_size
  param_set params;
  cats_strategy_t* instance = nullptr;
  std::unique_ptr<cats_host_t> host;  ///< stable address: the instance keeps it
  std::filesystem::path source;       ///< the plugin file as configured (hot reload)
  /// Live runs: the broker its orders go to ([[strategy]] broker); empty = each instrument's.
  std::string broker;
  uint32_t generation = 1;  ///< 1 + the number of hot reloads
  // Copies of the descriptor's name and version: the strings in `desc` live in the library,
  // which is unloaded when a stopped strategy's library is released.
  std::string plugin_name, plugin_version;
  bool running = false;
  std::optional<strategy_failure> failure;
  uint64_t events = 0;
  uint64_t orders = 0;
  uint64_t rejected = 0;  ///< orders refused after submit (risk engine, broker, venue)
  uint64_t fills = 0;
  uint64_t timers = 0;  ///< pending timers
  /// The series this strategy plots: name and panel, in order of first use.
  std::vector<std::pair<std::string, std::string>> plot_series;
  /// This strategy's own fills booked as positions and realized PnL (the account is shared by
  /// every strategy of a run; this is each one's share, for the operator's view).
  portfolio ledger{0, std::string()};
  cats_status_t (*on_event)(cats_strategy_t*, const cats_event_t*) = nullptr;

  std::string label() const;  ///< "'sma' (ma_crossover 1.0.0)"
  std::string kind() const;   ///< descriptor name, "ma_crossover"
  std::string version() const;
};

/// A new instance of a strategy, created off the engine thread and waiting to replace the running
/// one (hot reload). Destroys the instance if it is never swapped in.
struct strategy_candidate {
  uint32_t slot = 0;
  std::string name;
  std::shared_ptr<strategy_module> library;
  cats_strategy_descriptor_t desc{};
  param_set params;
  std::unique_ptr<cats_host_t> host;
  cats_strategy_t* instance = nullptr;
  int64_t ready_ns = 0;  ///< when the file that produced it was complete (for measurements)

  strategy_candidate() = default;
  strategy_candidate(strategy_candidate&& o) noexcept { *this = std::move(o); }
  strategy_candidate& operator=(strategy_candidate&&) noexcept;
  ~strategy_candidate();
};

/// The cost of one swap, for the hot-reload statistics.
struct swap_timing {
  int64_t pause_ns = 0;  ///< engine thread busy with the swap (state hand-over, pointer swap)
};

class engine {
 public:
  engine(instrument_registry& instruments, portfolio& account);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  void set_router(order_router* router) noexcept { router_ = router; }
  order_router* router() const noexcept { return router_; }
  instrument_registry& instruments() noexcept { return instruments_; }
  portfolio& account() noexcept { return account_; }

  /// Creates an instance of `library` named `name`. On failure returns false and sets `error` to
  /// the strategy's own message.
  /// `broker`: the strategy's own route in a live run ([[strategy]] broker; empty = its
  /// instruments'), set before its create() runs.
  bool add_strategy(const std::string& name, std::shared_ptr<strategy_module> library,
                    param_set params, std::string& error, std::string broker = {});
  /// The same for a strategy linked into the host (tests, built-ins); `desc` must be checked.
  bool add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                    param_set params, std::string& error);

  /// on_start for every strategy; one that fails is disabled.
  void start();
  /// on_start for one strategy (added while running).
  void start_one(uint32_t slot);
  /// on_stop for every running strategy, then delivers what that caused.
  void stop();
  /// Destroys every instance (before any library is released).
  void destroy_all() noexcept;

  int64_t now() const noexcept { return now_; }
  /// CATS_EVENT_FLAG_* that the session stamps on everything it delivers (replay or live); the
  /// broker puts them on the order updates and fills it posts.
  uint32_t event_flags() const noexcept { return event_flags_; }
  void set_event_flags(uint32_t flags) noexcept { event_flags_ = flags; }
  void set_time(int64_t ts_ns) noexcept { now_ = ts_ns; }

  /// Fires every timer due at or before `ts_ns`, in time order, each at its own time.
  void run_timers_until(int64_t ts_ns) {
    if (!timers_.empty() && timers_.front().at <= ts_ns) fire_timers_until(ts_ns);
  }
  bool has_timers() const noexcept { return !timers_.empty(); }

  /// Delivers a market event to every running strategy, then everything that caused.
  void dispatch(const cats_event_t& event);
  /// Replay: the strategy a run of bars may go to in one call (on_bars): the only running one,
  /// when it has on_bars, no timer is pending, nothing is queued and no bars are built; else null.
  strategy_slot* bar_span_slot() noexcept;
  /// Hands `span` to `slot`'s on_bars. `host` keeps the market at the bar the strategy is on: its
  /// calls into the host API bring it there first, and the bars it handled are caught up when it
  /// returns. Returns how many it handled (at least 1); a failure disables it as on_event's
  /// would, at the bar that failed. Nothing the strategy caused is flushed yet.
  uint32_t deliver_bars(strategy_slot& slot, cats_bar_span_t& span, bar_span_host& host);
  /// A host API call of a strategy handling a span: the market is brought to its current bar;
  /// `stop` also ends the span after that bar (the call needs the host before the next one).
  /// False when the strategy broke the span's contract (it called from a bar after the one it
  /// was asked to stop at, or from an earlier bar than before): the call is then refused.
  bool sync_span(bool stop) noexcept {
    if (span_ != nullptr) [[unlikely]]
      return sync_span_now(stop);
    return true;
  }
  /// Why the last sync_span refused (for the host API's last_error).
  const std::string& span_refusal() const noexcept { return span_broken_; }
  /// Order and fill ids: unique within the run, whichever broker gives them out.
  uint64_t new_order_id() noexcept { return next_order_id_++; }
  uint64_t new_fill_id() noexcept { return next_fill_id_++; }
  /// The id the next order will get.
  uint64_t peek_order_id() const noexcept { return next_order_id_; }
  /// Sees every order update posted (orders.csv); null for none.
  void set_order_observer(order_observer* o) noexcept { order_observer_ = o; }
  /// Queues an order update or a fill for strategy `owner`.
  void post_order_update(uint32_t owner, const cats_order_update_event_t& event,
                         std::string reason);
  void post_fill(uint32_t owner, const cats_fill_event_t& event);
  /// Delivers queued events until none is left.
  void flush() {
    // Called after every step; nothing queued is the common case, checked inline.
    if (!flushing_ && pending_head_ != pending_.size()) flush_pending();
  }

  /// Creates a new instance of `library` for strategy `slot` without installing it. Safe to call
  /// off the engine thread: the instance's create() sees only the read-only host API (log, time,
  /// instruments). Reads nothing of the slot but `name`, passed by the caller.
  bool prepare_candidate(uint32_t slot, const std::string& name,
                         std::shared_ptr<strategy_module> library, param_set params,
                         strategy_candidate& out, std::string& error);
  /// Engine thread, between two events: hands the running instance's state (save_state) to the
  /// candidate (load_state), swaps it in and destroys the old instance. Orders, positions and
  /// timers belong to the slot and carry over. If the state is refused the old instance keeps
  /// running and the candidate is destroyed. The old library (to release off the engine thread)
  /// goes to `retired`.
  bool swap_in(strategy_candidate& c, std::shared_ptr<strategy_module>& retired, swap_timing& t,
               std::string& error);
  /// Engine thread: stops one strategy (on_stop, its orders cancelled) and destroys its
  /// instance; the slot stays, not running, for the report.
  void retire(uint32_t slot, std::string_view reason, std::shared_ptr<strategy_module>& retired);

  const std::vector<std::unique_ptr<strategy_slot>>& strategies() const noexcept { return slots_; }
  size_t running_count() const noexcept;
  /// Disables a running strategy (its orders cancelled, no more events); safe from inside its own
  /// callback (the risk engine stops an order loop this way).
  void disable(uint32_t slot, std::string where, std::string message);
  /// What strategy code runs now (read by the watchdog from another thread).
  callback_probe& probe() noexcept { return probe_; }

  /// Pending timers one strategy may hold (a runaway strategy cannot fill memory with them).
  static constexpr uint64_t max_timers_per_strategy = 100'000;

  // Used by the host API table. add_timer returns 0 when the strategy holds the most timers.
  uint64_t add_timer(uint32_t owner, int64_t fire_at_ns, uint64_t user_data);
  bool cancel_timer(uint32_t owner, uint64_t timer_id);
  void strategy_log(uint32_t slot, int32_t level, std::string_view message) const;
  /// Series one strategy may plot, and the longest name of a series or panel.
  static constexpr size_t max_plot_series = 32, max_plot_name = 64;
  /// The host API's plot: checks the names, then hands the value to the listener (none: dropped).
  cats_status_t plot(uint32_t owner, std::string_view series, std::string_view panel, double value,
                     std::string& error);
  void set_plot_listener(plot_listener* l) noexcept { plot_listener_ = l; }

  /// Why order `order_id` was sent (the request's reason, or the host's own for orders it sends);
  /// empty when none was given (an empty `reason` clears it). Kept for the run: a trade's entry
  /// reason is looked up when it closes.
  void set_order_reason(uint64_t order_id, std::string_view reason);
  static constexpr size_t max_order_reasons = 100'000;
  std::string_view order_reason(uint64_t order_id) const noexcept;
  /// Fills in a closed round trip's entry and exit reasons from its orders.
  void name_reasons(round_trip& t) const {
    t.entry_reason.assign(order_reason(t.entry_order_id));
    t.exit_reason.assign(order_reason(t.exit_order_id));
  }

  /// The host API's subscribe_bars: checks the instrument and the interval, then adds `owner` to
  /// the builder of those bars (core/timeframes.hpp).
  cats_status_t subscribe_bars(uint32_t owner, uint32_t instrument_id, int64_t interval_ns,
                               std::string& error);
  /// Some strategy asked for built bars: the market step feeds them (checked inline per event).
  bool builds_bars() const noexcept { return builds_bars_; }
  /// The market step's hooks: a feed's bar or trade after the strategies saw it, and the clock
  /// before an event (replay: `now` is the interval's end; live: the wall clock). Each delivers
  /// the bars it completed to their subscribers.
  void build_bars(const market_event& e);
  int64_t built_bars_due() const noexcept { return timeframes_.next_due(); }
  void close_built_bars(int64_t now);
  /// `wall_clock`: a live run. `grace_ns`: built intervals that time closes (no feed bar closed
  /// them) wait this long after their end for data still on its way (a receive-time clock).
  void configure_built_bars(bool wall_clock, int64_t grace_ns) noexcept {
    timeframes_.configure(wall_clock, grace_ns);
  }
  /// Replay: the first time replayed; a built interval that begins before it is partial.
  void set_built_bars_start(int64_t ts) noexcept { timeframes_.set_data_start(ts); }

 private:
  struct timer_entry {
    int64_t at;
    uint64_t id;
    uint32_t owner;
    uint64_t user_data;
    bool operator>(const timer_entry& o) const noexcept {
      return at != o.at ? at > o.at : id > o.id;
    }
  };
  struct pending_event {
    uint32_t owner;
    cats_order_update_event_t update;
    cats_fill_event_t fill;
    bool is_fill;
    std::string reason;
  };

  bool add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                    std::shared_ptr<strategy_module> library, param_set params, std::string& error,
                    std::string broker);
  bool deliver(strategy_slot& slot, const cats_event_t& event);
  /// A callback the watchdog flagged has returned: the strategy is disabled.
  void overran(strategy_slot& slot, const char* where);
  void call_on_start(strategy_slot& slot);
  void fire_timers_until(int64_t ts_ns);
  void fail(strategy_slot& slot, std::string where, cats_status_t status, std::string message);

  instrument_registry& instruments_;
  portfolio& account_;
  order_router* router_ = nullptr;
  std::vector<std::unique_ptr<strategy_slot>> slots_;
  std::vector<std::unique_ptr<strategy_slot>> refused_;  // strategies whose create() failed
  int64_t now_ = 0;
  uint64_t next_order_id_ = 1, next_fill_id_ = 1;
  order_observer* order_observer_ = nullptr;
  plot_listener* plot_listener_ = nullptr;
  bar_timeframes timeframes_;
  std::vector<uint32_t> order_reason_;  // by order id: 1 + index into reasons_; 0 = none
  std::vector<std::string> reasons_;    // each distinct reason once
  // Looked up by string_view: a reason already kept costs no allocation on each order.
  struct text_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, uint32_t, text_hash, std::equal_to<>> reason_index_;
  std::vector<bar_timeframes::built> built_;
  std::vector<bar_timeframes::failure> bar_failures_;
  void deliver_built();
  bool started_ = false;
  bool builds_bars_ = false;  // timeframes_.active(), read once per market event
  uint32_t event_flags_ = 0;
  std::vector<timer_entry> timers_;  // min-heap
  std::unordered_set<uint64_t> cancelled_timers_;
  uint64_t next_timer_id_ = 1;
  std::vector<pending_event> pending_;
  void flush_pending();
  size_t pending_head_ = 0;
  bool flushing_ = false;
  callback_probe probe_;
  // The span being handed to a strategy (deliver_bars), and the first failure of its market side.
  cats_bar_span_t* span_ = nullptr;
  bar_span_host* span_host_ = nullptr;
  std::exception_ptr span_error_;
  uint32_t span_stop_at_ = 0;  // the bar the strategy was asked to stop after (UINT32_MAX: none)
  uint32_t span_synced_ = 0;   // the latest bar a host call came from
  std::string span_broken_;    // how the strategy broke the span's contract (empty: it did not)
  bool sync_span_now(bool stop) noexcept;
};

/// A strategy's log message is cut after this many bytes.
inline constexpr size_t max_strategy_log_bytes = 4096;
/// `text` with newlines, tabs and control characters written as \n, \t, \x1b ..., cut after
/// `max_bytes` of output with a note of how much was cut.
std::string sanitize_log_text(std::string_view text, size_t max_bytes);

/// Logs a strategy's message as "[name time] message" (no time when `now` is 0), sanitized.
void log_as(const std::string& name, int64_t now, int32_t level, std::string_view message);

/// The host API table handed to every strategy.
const cats_host_api_t& host_api() noexcept;

const char* event_type_name(int32_t type) noexcept;

}  // namespace cats
