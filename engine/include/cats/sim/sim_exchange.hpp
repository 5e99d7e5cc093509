// The simulated exchange of backtests and paper trading.
//
// Rules (docs/fill_rules.md documents them for users; describe_fill_rules() summarises them for
// the report):
//
// Bars:
//  - Market orders fill at the next bar's open (fill = next_open, the default) or at the close of
//    the bar being processed (fill = close), moved against the order by the slippage, rounded to
//    the tick against the order, and pay the taker fee. In close mode an order submitted before a
//    bar has closed (from a timer inside the bar, or on a fill at its open) waits for that close:
//    no order ever fills at a price that was not known when it was submitted.
//  - Limit and stop orders are live from the next bar on. A buy limit fills when the bar trades
//    below its price (low < limit): at the limit as maker, or at the open as taker when the bar
//    opens below the limit. Sells mirror this. IOC limits get only the next bar's open. A
//    post-only limit marketable at the open (buy limit >= open) is rejected "post-only would
//    take"; otherwise it rests like a GTC limit.
//  - A stop-market order triggers when the bar's range reaches the stop (buy: high >= stop, sell:
//    low <= stop) and fills at the stop moved by the slippage, or at the open moved by the
//    slippage if the bar opens beyond the stop (a gap); taker fee.
//  - Within a bar, orders are matched along a pessimistic path: open -> adverse extreme -> other
//    extreme -> close. Adverse is decided by the account's position in the instrument at the
//    open: long or flat -> the low comes first, short -> the high first. Orders fill in the order
//    the path reaches their prices (orders at the open first, in submission order), so a stop
//    below a long position fills before a take-profit above it in the same bar.
//  - Amend and cancel take effect at once (bars have no latency).
//
// Ticks (trade/quote/book replay, paper trading):
//  - Latency: every submit, cancel and amend reaches the exchange `latency` after the engine
//    clock at the call (fixed or drawn from a seeded distribution), never before an earlier
//    action of the run; until then it does not exist for matching (a cancel may lose the race).
//    The order or action arrives with the first market event at or after that time.
//  - A market order (or a triggered stop) takes the touch at once when a quote is known (moved by
//    the slippage), up to the displayed size when the quote carries one; the rest, or all of it
//    without a quote, fills against later trades: each trade gives at most its quantity x
//    participation, at the trade's own price (no slippage added: the traded prices are the
//    slippage), and later quotes give their displayed size. An IOC market order is cancelled
//    after its first matching event.
//  - A stop-market triggers on a trade at or through its stop (buy: price >= stop) and then is a
//    market order: at the touch if a quote is known, otherwise against the following trades.
//  - A limit that is marketable when it arrives fills as taker at the touch (or the trade price
//    without a quote); a post-only one is rejected instead; an IOC that is not marketable is
//    cancelled. Otherwise it rests and fills as maker at its own price: when the opposite touch
//    reaches it, when trades print through it (volume x participation), or when trades at its
//    price have used up the estimated queue ahead of it (queue_ahead: the displayed size at its
//    price if it joined the best level, 0 if it improved it, unknown - only trade-through fills
//    - otherwise; capped by the displayed size of its level as quotes arrive; reset by an amend
//    that changes the price or raises the quantity).
//
// Everywhere: quantities are rounded down to the lot size. A fill never takes the account
// beyond its buying power (equity x leverage, gross exposure, fees included): the affordable part
// fills and the rest is cancelled with a reason; nothing affordable means a rejection.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cats/config/sim_settings.hpp"
#include "cats/core/engine.hpp"
#include "cats/util/rng.hpp"

namespace cats {

/// The latency draws' generator: the same seed gives the same draws on every platform.
class sim_rng : public xoshiro256 {
 public:
  using xoshiro256::xoshiro256;
  /// Standard normal (Box-Muller).
  double normal() noexcept;
};

/// One draw of `m` in ns (>= 0; normal draws are truncated at 0).
int64_t draw_latency(const latency_model& m, sim_rng& rng) noexcept;

/// The fill assumptions of a run in a few lines of text (for the report).
/// `bar_data` with `tick_data`: a run with instruments of both kinds describes both rule sets.
std::string describe_fill_rules(const sim_exchange_config& config, bool tick_data,
                                bool bar_data = false);

struct sim_exchange_stats {
  uint64_t orders = 0;
  uint64_t fills = 0;
  uint64_t rejected = 0;
  uint64_t canceled = 0;  ///< by the strategy, IOC, end of data, a disabled strategy, or a
                          ///< remainder below the minimums after a partial fill
  uint64_t capped = 0;    ///< partly filled, the rest beyond buying power
};

/// Receives every fill and every closed round trip (for reports).
class fill_listener {
 public:
  virtual ~fill_listener() = default;
  virtual void on_fill(const strategy_slot& owner, const instrument_info& inst,
                       const cats_fill_event_t& fill, int64_t cash_after) = 0;
  virtual void on_round_trip(const strategy_slot& owner, const instrument_info& inst,
                             const round_trip& trade) = 0;
};

class sim_exchange final : public broker {
 public:
  sim_exchange(engine& eng, sim_exchange_config config);

  void set_listener(fill_listener* l) noexcept { listener_ = l; }

  cats_status_t submit(uint32_t owner, const cats_order_request_t& request, uint64_t& order_id,
                       std::string& error) override;
  cats_status_t cancel(uint32_t owner, uint64_t order_id, std::string& error) override;
  cats_status_t amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                      int64_t new_limit_price, std::string& error) override;
  void cancel_all(uint32_t owner, std::string_view reason) override;

  /// A bar of an instrument begins (engine clock at its open time): fills the orders it matches.
  void on_bar_open(const cats_bar_event_t& bar) override;
  /// The bar has closed (engine clock at its close): close-mode market orders waiting for it
  /// fill, and close-mode orders submitted while the clock is still at this close (from the bar's
  /// callbacks) fill at it; later ones wait for the next close. Call before the bar is dispatched.
  void on_bar_close(const cats_bar_event_t& bar) override;
  /// Tick data: the best bid/ask of an instrument is now `bid`/`ask` (0 = side unknown) with
  /// `bid_size`/`ask_size` displayed (0 = unknown). Call before the event is dispatched, with the
  /// engine clock at the event; matches the working orders against the new touch.
  void on_quote(uint32_t instrument_id, int64_t bid, int64_t bid_size, int64_t ask,
                int64_t ask_size) override;
  /// Tick data: a trade printed. Call before the event is dispatched.
  void on_trade(const cats_trade_event_t& trade) override;
  /// Cancels every working order (end of data).
  void finish(std::string_view reason) override;
  uint64_t reject(uint32_t owner, const cats_order_request_t& request, std::string reason) override;
  void open_orders(std::vector<open_order>& out) const override;
  size_t open_order_count() const noexcept override { return working_.size(); }
  bool idle() const noexcept override { return working_.empty() && pending_.empty(); }

  const sim_exchange_stats& stats() const noexcept { return stats_; }
  size_t working_orders() const noexcept { return working_.size(); }

 private:
  struct order {
    uint64_t id;
    uint32_t owner;
    uint32_t instrument_id;
    int32_t side;  // cats_side
    int32_t type;  // cats_order_type
    int32_t tif;
    int64_t quantity;
    int64_t limit_price;
    int64_t filled = 0;
    int64_t filled_notional = 0;
    uint64_t client_tag;
    int64_t submitted_ts;
    int64_t stop_price = 0;
    int64_t arrive_ts = 0;     ///< tick data: when the order reaches the exchange (latency)
    int64_t queue_ahead = -1;  ///< tick data, resting limits: estimated size ahead; -1 unknown
    bool arrived = false;      ///< tick data: its first matching event has happened
    bool resting = false;      ///< tick data: a limit that was not marketable when it arrived
    bool triggered = false;    ///< stop-market: the trigger price was reached
    bool amended = false;      ///< a refusal after an amend cancels rather than rejects
  };
  /// A cancel or amend on its way to the exchange (tick data with latency).
  struct pending_action {
    int64_t arrive_ts;
    uint32_t owner;
    uint64_t order_id;
    bool is_cancel;
    int64_t quantity, price;
  };
  struct market_state {
    int64_t last_close = 0;
    int64_t close_ts = 0;  ///< when last_close became known
    bool has_close = false;
    int64_t bid = 0;  ///< tick data: best bid, 0 if unknown
    int64_t ask = 0;
    int64_t bid_size = 0;  ///< displayed size at the best bid, 0 if unknown
    int64_t ask_size = 0;
    /// Taken by our market orders at the current best price: the displayed size is offered once,
    /// not again with every quote at the same price (reset when the price moves).
    int64_t bid_taken = 0, ask_taken = 0;
    bool bars = false;  ///< bar data seen: no latency, actions take effect at once
  };

  /// Offers each working order of the instrument to `match`, in submission order, and removes the
  /// ones it reports done.
  template <class Match>
  void match_working(uint32_t instrument_id, Match&& match) {
    for (size_t i = 0; i < working_.size();) {
      if (working_[i].instrument_id == instrument_id && match(working_[i]))
        working_.erase(working_.begin() + static_cast<std::ptrdiff_t>(i));
      else
        ++i;
    }
  }
  /// Fills what the account can afford of `o` at `base_price`, at most `max_qty` (-1 = all that
  /// remains); returns true if the order is done.
  bool execute(order& o, int64_t base_price, bool apply_slippage, cats_liquidity liquidity,
               int64_t max_qty = -1);
  /// Tick data: one market event for `o` (a trade when `t` is set, else the current quote).
  bool match_tick(order& o, market_state& m, const cats_trade_event_t* t);
  /// Tick data, market orders and triggered stops: takes the touch (size-limited) or the trade.
  bool take_liquidity(order& o, market_state& m, const cats_trade_event_t* t);
  /// Tick data: queue estimate of a limit that starts resting now.
  static int64_t initial_queue(const order& o, const market_state& m);
  /// Applies the cancels and amends that have reached the exchange by now (`all`: every one).
  /// Applies the cancels and amends that have reached the exchange; `bars`: also every action on
  /// an instrument matched on bars (they have no latency), whatever its arrival time.
  void apply_pending(bool bars);
  cats_status_t apply_amend(uint32_t owner, uint64_t order_id, int64_t quantity, int64_t price,
                            std::string& error, bool validate_only);
  /// When an action sent now reaches the exchange of `instrument_id`.
  int64_t arrival_time(uint32_t instrument_id);
  int64_t participation_qty(int64_t trade_qty, const instrument_info& inst) const;
  /// Rejects (or, after a partial fill, cancels) an opening order below the instrument's minimums.
  bool below_minimums(const order& o, const instrument_info& inst, int64_t qty, int64_t notional);
  /// A new order of `owner` from `r`: id, owner, instrument, side, type, tag and time set.
  order new_order(uint32_t owner, const cats_order_request_t& r);
  /// Queues an order update; `count` = false keeps it out of the rejected/cancelled statistics.
  void post_update(const order& o, cats_order_status status, std::string reason, bool count = true);
  // Called several times a bar: the lookup is inline, growing the table is not.
  market_state& market(uint32_t instrument_id) {
    if (instrument_id < markets_.size()) [[likely]]
      return markets_[instrument_id];
    return grow_markets(instrument_id);
  }
  market_state& grow_markets(uint32_t instrument_id);

  engine& engine_;
  sim_exchange_config config_;
  fill_listener* listener_ = nullptr;
  std::vector<order> working_;
  std::vector<pending_action> pending_;
  std::vector<market_state> markets_;
  sim_rng rng_;
  int64_t last_arrival_ = 0;
  sim_exchange_stats stats_;
};

}  // namespace cats
