// The simulated exchange of a bar backtest.
//
// Rules (README "Fill rules" documents them for users):
//  - Market orders fill at the next bar's open (fill = next_open, the default) or at the close of
//    the bar being processed (fill = close), moved against the order by the slippage, rounded to
//    the tick against the order, and pay the taker fee. In close mode an order submitted before a
//    bar has closed (from a timer inside the bar, or on a fill at its open) waits for that close:
//    no order ever fills at a price that was not known when it was submitted.
//  - Limit orders rest from the next bar on. A buy fills when the bar trades below its price
//    (low < limit): at the limit as maker, or at the open as taker when the bar opens below the
//    limit. Sells mirror this. IOC limits get only the next bar's open.
//  - On tick data (paper trading, trade/quote replay) orders are matched on the next market event
//    of their instrument: a market order fills at the touch (best ask for a buy) moved by the
//    slippage, or at the trade price when no quote is known yet. A limit order that is marketable
//    when it arrives fills as taker at the touch (or the trade price); an IOC that is not is
//    cancelled; otherwise it rests, and fills as maker at its own price once the opposite touch
//    reaches it or a trade prints through it (below a buy, above a sell).
//  - Quantities are rounded down to the lot size. A fill never takes the account beyond its
//    buying power (equity x leverage, gross exposure, fees included): the affordable part fills
//    and the rest is cancelled with a reason; nothing affordable means a rejection.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cats/core/engine.hpp"

namespace cats {

enum class fill_model { next_open, close };

struct sim_exchange_config {
  fill_model fill = fill_model::next_open;
  int64_t taker_fee_rate = 0;  ///< fixed-point fraction: 10 bps = 0.001 = 100000
  int64_t maker_fee_rate = 0;
  int64_t slippage_rate = 0;
  int64_t leverage = fixed_scale;                 ///< 1.0 = no borrowing beyond equity
  uint32_t event_flags = CATS_EVENT_FLAG_REPLAY;  ///< stamped on order updates and fills
};

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

class sim_exchange final : public order_router {
 public:
  sim_exchange(engine& eng, sim_exchange_config config);

  void set_listener(fill_listener* l) noexcept { listener_ = l; }

  cats_status_t submit(uint32_t owner, const cats_order_request_t& request, uint64_t& order_id,
                       std::string& error) override;
  cats_status_t cancel(uint32_t owner, uint64_t order_id, std::string& error) override;
  void cancel_all(uint32_t owner, std::string_view reason) override;

  /// A bar of an instrument begins (engine clock at its open time): fills the orders it matches.
  void on_bar_open(const cats_bar_event_t& bar);
  /// The bar has closed (engine clock at its close): close-mode market orders waiting for it
  /// fill, and close-mode orders submitted while the clock is still at this close (from the bar's
  /// callbacks) fill at it; later ones wait for the next close. Call before the bar is dispatched.
  void on_bar_close(const cats_bar_event_t& bar);
  /// Tick data: the best bid/ask of an instrument is now `bid`/`ask` (0 = side unknown). Call
  /// before the event is dispatched; matches the working orders against the new touch.
  void on_quote(uint32_t instrument_id, int64_t bid, int64_t ask);
  /// Tick data: a trade printed. Call before the event is dispatched.
  void on_trade(const cats_trade_event_t& trade);
  /// Cancels every working order (end of data).
  void finish(std::string_view reason);

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
    bool resting = false;  ///< tick data: a limit that was not marketable when it arrived
  };
  struct market_state {
    int64_t last_close = 0;
    int64_t close_ts = 0;  ///< when last_close became known
    bool has_close = false;
    int64_t bid = 0;  ///< tick data: best bid, 0 if unknown
    int64_t ask = 0;
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
  /// Fills what the account can afford of `o` at `base_price`; returns true if the order is done.
  bool execute(order& o, int64_t base_price, bool apply_slippage, cats_liquidity liquidity);
  /// Rejects (or, after a partial fill, cancels) an opening order below the instrument's minimums.
  bool below_minimums(const order& o, const instrument_info& inst, int64_t qty, int64_t notional);
  /// Queues an order update; `count` = false keeps it out of the rejected/cancelled statistics.
  void post_update(const order& o, cats_order_status status, std::string reason, bool count = true);
  market_state& market(uint32_t instrument_id);

  engine& engine_;
  sim_exchange_config config_;
  fill_listener* listener_ = nullptr;
  std::vector<order> working_;
  std::vector<market_state> markets_;
  uint64_t next_order_id_ = 1;
  uint64_t next_fill_id_ = 1;
  sim_exchange_stats stats_;
};

}  // namespace cats
