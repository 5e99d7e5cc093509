// The account: cash, net positions per instrument, realized and unrealized PnL, and the round-trip
// trades that positions go through. All amounts are exact fixed-point; every fill moves cash by
// exactly the notional and fee it reports, so PnL always reconciles with cash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cats/core/fixed.hpp"

namespace cats {

/// A position from flat to flat (or to a flip). PnL is net of the fees of all its fills.
struct round_trip {
  uint32_t instrument_id = 0;
  int32_t direction = 0;  ///< +1 long, -1 short
  int64_t entry_ts_ns = 0;
  int64_t exit_ts_ns = 0;
  int64_t max_quantity = 0;  ///< largest absolute position during the trade
  int64_t entry_price = 0;   ///< volume-weighted average of the opening fills
  int64_t exit_price = 0;    ///< volume-weighted average of the closing fills
  int64_t entry_notional = 0;
  int64_t pnl = 0;  ///< net of fees
  int64_t fees = 0;
  double return_pct = 0;        ///< pnl / entry_notional * 100
  uint64_t entry_order_id = 0;  ///< the order whose fill opened it (0: unknown)
  uint64_t exit_order_id = 0;   ///< the order whose fill closed it
  /// Why those orders were sent (the order request's reason), filled in by the broker.
  std::string entry_reason, exit_reason;
};

struct position_state {
  int64_t quantity = 0;      ///< signed
  int64_t entry_cost = 0;    ///< |quantity| x average entry price
  int64_t mark_price = 0;    ///< last price seen (bar close or fill)
  int64_t market_value = 0;  ///< quantity x mark_price
  int64_t realized_pnl = 0;  ///< net of fees
  int64_t fees = 0;
  uint64_t fills = 0;

  int64_t avg_entry_price() const noexcept;
  int64_t unrealized_pnl() const noexcept;

  // The round trip in progress.
  bool in_trade = false;
  int32_t direction = 0;
  int64_t trade_entry_ts = 0;
  int64_t trade_max_qty = 0;
  int64_t trade_open_qty = 0, trade_open_notional = 0;
  int64_t trade_close_qty = 0, trade_close_notional = 0;
  int64_t trade_cash_flow = 0;  ///< sells minus buys
  int64_t trade_fees = 0;
};

class portfolio {
 public:
  portfolio(int64_t initial_cash, std::string currency);

  const std::string& currency() const noexcept { return currency_; }
  int64_t initial_cash() const noexcept { return initial_cash_; }
  int64_t cash() const noexcept { return cash_; }
  int64_t fees_paid() const noexcept { return fees_; }
  /// Cash plus every position at its mark price.
  int64_t equity() const noexcept { return cash_ + market_value_; }
  /// Sum of |market value| over all positions.
  int64_t gross_exposure() const noexcept;
  bool has_exposure() const noexcept { return open_positions_ != 0; }

  /// The position in an instrument (a flat, zeroed one if never traded).
  const position_state& position(uint32_t instrument_id) const noexcept;

  /// The equity the account would have with `instrument_id` marked at each of `n` prices, each
  /// `stride` bytes after the one before, into out[0, n) (the closes of a run of bars, in place
  /// in their events); nothing changes.
  void equity_marked_along(uint32_t instrument_id, const int64_t* first_price, size_t stride,
                           size_t n, int64_t* out) const noexcept;

  /// Marks an instrument to a new price. Every bar and trade: the flat case is inline.
  void mark(uint32_t instrument_id, int64_t price) noexcept {
    if (instrument_id < positions_.size() && positions_[instrument_id].quantity == 0) [[likely]] {
      positions_[instrument_id].mark_price = price;
      return;
    }
    mark_held(instrument_id, price);
  }

  /// Books a fill: `quantity` > 0, `side` +1 buy / -1 sell, `fee` >= 0 in the account currency.
  /// Returns the round trip that the fill closed, if any (a flip closes one and opens another).
  /// `order_id`: the order the fill belongs to (the round trip's entry and exit orders).
  std::optional<round_trip> apply_fill(uint32_t instrument_id, int side, int64_t quantity,
                                       int64_t price, int64_t fee, int64_t ts_ns,
                                       uint64_t order_id = 0);

 private:
  position_state& slot(uint32_t instrument_id);
  void set_market_value(position_state& p, int64_t mv) noexcept;
  void mark_held(uint32_t instrument_id, int64_t price) noexcept;

  std::string currency_;
  int64_t initial_cash_;
  int64_t cash_;
  int64_t fees_ = 0;
  int64_t market_value_ = 0;
  uint32_t open_positions_ = 0;
  std::vector<position_state> positions_;  // index = instrument id (128 bytes each: keep it so)
  std::vector<uint64_t> entry_orders_;     // index = instrument id: the open trade's first order
};

}  // namespace cats
