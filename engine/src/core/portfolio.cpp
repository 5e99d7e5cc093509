#include "cats/core/portfolio.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace cats {

namespace {
const position_state flat_position{};

int64_t notional_of(int64_t qty, int64_t price) noexcept {
  return fixed_mul(qty, price, rounding::nearest);
}
}  // namespace

int64_t position_state::avg_entry_price() const noexcept {
  if (quantity == 0) return 0;
  return fixed_div(entry_cost, quantity < 0 ? -quantity : quantity, rounding::nearest);
}

int64_t position_state::unrealized_pnl() const noexcept {
  if (quantity == 0) return 0;
  return quantity > 0 ? market_value - entry_cost : market_value + entry_cost;
}

portfolio::portfolio(int64_t initial_cash, std::string currency)
    : currency_(std::move(currency)), initial_cash_(initial_cash), cash_(initial_cash) {}

int64_t portfolio::gross_exposure() const noexcept {
  int64_t g = 0;
  for (const position_state& p : positions_)
    g += p.market_value < 0 ? -p.market_value : p.market_value;
  return g;
}

const position_state& portfolio::position(uint32_t instrument_id) const noexcept {
  return instrument_id < positions_.size() ? positions_[instrument_id] : flat_position;
}

// A power of two: mark() runs for every bar and indexes the positions by instrument id.
static_assert(sizeof(position_state) == 128, "position_state grew: keep rare fields elsewhere");

position_state& portfolio::slot(uint32_t instrument_id) {
  if (instrument_id >= positions_.size()) positions_.resize(instrument_id + 1);
  if (instrument_id >= entry_orders_.size()) entry_orders_.resize(positions_.size(), 0);
  return positions_[instrument_id];
}

void portfolio::set_market_value(position_state& p, int64_t mv) noexcept {
  market_value_ += mv - p.market_value;
  p.market_value = mv;
}

void portfolio::equity_marked_along(uint32_t instrument_id, const int64_t* first_price,
                                    size_t stride, size_t n, int64_t* out) const noexcept {
  const int64_t qty =
      instrument_id < positions_.size() ? positions_[instrument_id].quantity : int64_t{0};
  if (qty == 0) {
    std::fill(out, out + n, equity());
    return;
  }
  const int64_t others = cash_ + market_value_ - positions_[instrument_id].market_value;
  const char* at = reinterpret_cast<const char*>(first_price);
  for (size_t k = 0; k < n; ++k, at += stride) {
    int64_t price;
    std::memcpy(&price, at, sizeof price);
    out[k] = others + notional_of(qty, price);
  }
}

void portfolio::mark_held(uint32_t instrument_id, int64_t price) noexcept {
  if (instrument_id >= positions_.size()) {
    positions_.resize(instrument_id + 1);
  }
  position_state& p = positions_[instrument_id];
  p.mark_price = price;
  if (p.quantity != 0) set_market_value(p, notional_of(p.quantity, price));
}

std::optional<round_trip> portfolio::apply_fill(uint32_t instrument_id, int side, int64_t quantity,
                                                int64_t price, int64_t fee, int64_t ts_ns,
                                                uint64_t order_id) {
  position_state& p = slot(instrument_id);
  std::optional<round_trip> closed;
  const int dir = side > 0 ? 1 : -1;
  ++p.fills;
  fees_ += fee;
  p.fees += fee;
  cash_ -= fee;

  // Split into the part that reduces the position and the part that opens (or adds to) it.
  int64_t closing = 0;
  if (p.quantity != 0 && (p.quantity > 0) != (dir > 0)) {
    const int64_t held = p.quantity < 0 ? -p.quantity : p.quantity;
    closing = quantity < held ? quantity : held;
  }
  const int64_t opening = quantity - closing;
  const int64_t fee_close =
      closing == 0
          ? 0
          : (opening == 0 ? fee
                          : static_cast<int64_t>(div_round(static_cast<int128_t>(fee) * closing,
                                                           quantity, rounding::nearest)));
  const int64_t fee_open = fee - fee_close;

  if (closing > 0) {
    const int64_t held = p.quantity < 0 ? -p.quantity : p.quantity;
    const int64_t notional = notional_of(closing, price);
    const int64_t cost_removed =
        closing == held
            ? p.entry_cost
            : static_cast<int64_t>(div_round(static_cast<int128_t>(p.entry_cost) * closing, held,
                                             rounding::nearest));
    const int pos_dir = p.quantity > 0 ? 1 : -1;
    cash_ -= dir * notional;
    p.realized_pnl += pos_dir * (notional - cost_removed) - fee_close;
    p.entry_cost -= cost_removed;
    p.quantity += dir * closing;
    p.trade_close_qty += closing;
    p.trade_close_notional += notional;
    p.trade_cash_flow -= dir * notional;
    p.trade_fees += fee_close;
    if (p.quantity == 0) {
      round_trip t;
      t.instrument_id = instrument_id;
      t.direction = p.direction;
      t.entry_ts_ns = p.trade_entry_ts;
      t.exit_ts_ns = ts_ns;
      t.max_quantity = p.trade_max_qty;
      t.entry_price = p.trade_open_qty == 0
                          ? 0
                          : fixed_div(p.trade_open_notional, p.trade_open_qty, rounding::nearest);
      t.exit_price = p.trade_close_qty == 0
                         ? 0
                         : fixed_div(p.trade_close_notional, p.trade_close_qty, rounding::nearest);
      t.entry_notional = p.trade_open_notional;
      t.entry_order_id = entry_orders_[instrument_id];
      t.exit_order_id = order_id;
      t.fees = p.trade_fees;
      t.pnl = p.trade_cash_flow - p.trade_fees;
      t.return_pct =
          p.trade_open_notional == 0
              ? 0.0
              : static_cast<double>(t.pnl) / static_cast<double>(p.trade_open_notional) * 100.0;
      closed = t;
      p.in_trade = false;
      p.entry_cost = 0;
      --open_positions_;
    }
  }
  if (opening > 0) {
    const int64_t notional = notional_of(opening, price);
    if (p.quantity == 0) {
      p.in_trade = true;
      p.direction = dir;
      p.trade_entry_ts = ts_ns;
      entry_orders_[instrument_id] = order_id;
      p.trade_max_qty = 0;
      p.trade_open_qty = p.trade_open_notional = 0;
      p.trade_close_qty = p.trade_close_notional = 0;
      p.trade_cash_flow = 0;
      p.trade_fees = 0;
      ++open_positions_;
    }
    cash_ -= dir * notional;
    p.realized_pnl -= fee_open;
    p.entry_cost += notional;
    p.quantity += dir * opening;
    p.trade_open_qty += opening;
    p.trade_open_notional += notional;
    p.trade_cash_flow -= dir * notional;
    p.trade_fees += fee_open;
    const int64_t held = p.quantity < 0 ? -p.quantity : p.quantity;
    if (held > p.trade_max_qty) p.trade_max_qty = held;
  }
  // Marks come from market data (bar closes, trades); our own fill price, slippage included,
  // is not the market. It only stands in until the first market price arrives.
  if (p.mark_price == 0) p.mark_price = price;
  set_market_value(p, p.quantity == 0 ? 0 : notional_of(p.quantity, p.mark_price));
  return closed;
}

}  // namespace cats
