#include "cats/backtest/sim_exchange.hpp"

#include <algorithm>

#include "cats/core/events.hpp"

namespace cats {

namespace {
int64_t abs64(int64_t v) noexcept {
  return v < 0 ? -v : v;
}
const char* side_name(int32_t side) {
  return side == CATS_SIDE_BUY ? "buy" : "sell";
}
}  // namespace

sim_exchange::sim_exchange(engine& eng, sim_exchange_config config)
    : engine_(eng), config_(config) {}

sim_exchange::market_state& sim_exchange::market(uint32_t instrument_id) {
  if (instrument_id >= markets_.size()) markets_.resize(instrument_id + 1);
  return markets_[instrument_id];
}

void sim_exchange::post_update(const order& o, cats_order_status status, std::string reason,
                               bool count) {
  cats_order_update_event_t u{};
  u.header = event_header<cats_order_update_event_t>(CATS_EVENT_ORDER_UPDATE, o.instrument_id,
                                                     engine_.now(), config_.event_flags);
  u.order_id = o.id;
  u.client_tag = o.client_tag;
  u.side = o.side;
  u.order_type = o.type;
  u.status = status;
  u.time_in_force = o.tif;
  u.quantity = o.quantity;
  u.limit_price = o.limit_price;
  u.filled_quantity = o.filled;
  u.avg_fill_price = o.filled == 0 ? 0 : fixed_div(o.filled_notional, o.filled, rounding::nearest);
  if (count && status == CATS_ORDER_REJECTED) ++stats_.rejected;
  if (count && status == CATS_ORDER_CANCELED) ++stats_.canceled;
  engine_.post_order_update(o.owner, u, std::move(reason));
}

cats_status_t sim_exchange::submit(uint32_t owner, const cats_order_request_t& r,
                                   uint64_t& order_id, std::string& error) {
  const instrument_info* inst = engine_.instruments().get(r.instrument_id);
  if (inst == nullptr) {
    error = "no instrument with id " + std::to_string(r.instrument_id);
    return CATS_E_NOT_FOUND;
  }
  if (r.side != CATS_SIDE_BUY && r.side != CATS_SIDE_SELL) {
    error = "side must be CATS_SIDE_BUY or CATS_SIDE_SELL, got " + std::to_string(r.side);
    return CATS_E_INVALID_ARGUMENT;
  }
  if (r.order_type != CATS_ORDER_MARKET && r.order_type != CATS_ORDER_LIMIT) {
    error = "unsupported order type " + std::to_string(r.order_type);
    return CATS_E_UNSUPPORTED;
  }
  if (r.order_type == CATS_ORDER_LIMIT && r.time_in_force != CATS_TIF_GTC &&
      r.time_in_force != CATS_TIF_IOC) {
    error = "unsupported time in force " + std::to_string(r.time_in_force);
    return CATS_E_UNSUPPORTED;
  }
  if (r.quantity <= 0) {
    error = "quantity must be positive, got " + fixed_to_string(r.quantity);
    return CATS_E_INVALID_ARGUMENT;
  }
  if (r.order_type == CATS_ORDER_LIMIT && r.limit_price <= 0) {
    error = "a limit order needs a positive limit_price, got " + fixed_to_string(r.limit_price);
    return CATS_E_INVALID_ARGUMENT;
  }
  // Far beyond any real order; keeps every later product inside 128-bit arithmetic.
  constexpr int64_t max_value = int64_t{1'000'000'000} * fixed_scale;
  if (r.quantity > max_value || r.limit_price > max_value) {
    error = "quantity or limit price above 1e9: " + fixed_to_string(r.quantity) + " @ " +
            fixed_to_string(r.limit_price);
    return CATS_E_INVALID_ARGUMENT;
  }
  order o{};
  o.id = next_order_id_++;
  o.owner = owner;
  o.instrument_id = r.instrument_id;
  o.side = r.side;
  o.type = r.order_type;
  o.tif = r.order_type == CATS_ORDER_LIMIT ? r.time_in_force : CATS_TIF_GTC;
  o.quantity = round_to_step(r.quantity, inst->lot_size, rounding::down);
  // Never worse than asked: buys round the limit down to the tick, sells up.
  o.limit_price = r.order_type == CATS_ORDER_LIMIT
                      ? round_to_step(r.limit_price, inst->tick_size,
                                      r.side == CATS_SIDE_BUY ? rounding::down : rounding::up)
                      : 0;
  o.client_tag = r.client_tag;
  o.submitted_ts = engine_.now();
  order_id = o.id;
  ++stats_.orders;

  if (o.quantity <= 0) {
    post_update(o, CATS_ORDER_REJECTED,
                "quantity " + fixed_to_string(r.quantity) + " is below the lot size " +
                    fixed_to_string(inst->lot_size) + " of " + inst->symbol);
    return CATS_OK;
  }
  if (o.type == CATS_ORDER_LIMIT && o.limit_price <= 0) {
    post_update(o, CATS_ORDER_REJECTED,
                "limit price " + fixed_to_string(r.limit_price) + " rounds to 0 at tick " +
                    fixed_to_string(inst->tick_size));
    return CATS_OK;
  }
  post_update(o, CATS_ORDER_NEW, {});
  const market_state& m = market(o.instrument_id);
  if (o.type == CATS_ORDER_MARKET && config_.fill == fill_model::close && m.has_close &&
      m.close_ts == engine_.now()) {
    execute(o, m.last_close, true, CATS_LIQUIDITY_TAKER);
    return CATS_OK;
  }
  working_.push_back(o);
  return CATS_OK;
}

cats_status_t sim_exchange::cancel(uint32_t owner, uint64_t order_id, std::string& error) {
  for (auto it = working_.begin(); it != working_.end(); ++it) {
    if (it->id == order_id && it->owner == owner) {
      const order o = *it;
      working_.erase(it);
      post_update(o, CATS_ORDER_CANCELED, "cancelled by the strategy");
      return CATS_OK;
    }
  }
  error = "no working order " + std::to_string(order_id) + " of this strategy";
  return CATS_E_NOT_FOUND;
}

void sim_exchange::cancel_all(uint32_t owner, std::string_view reason) {
  std::vector<order> keep;
  for (const order& o : working_) {
    if (o.owner == owner)
      post_update(o, CATS_ORDER_CANCELED, std::string(reason));
    else
      keep.push_back(o);
  }
  working_.swap(keep);
}

void sim_exchange::finish(std::string_view reason) {
  std::vector<order> all;
  all.swap(working_);
  for (const order& o : all) post_update(o, CATS_ORDER_CANCELED, std::string(reason));
}

void sim_exchange::on_bar_close(const cats_bar_event_t& bar) {
  const uint32_t inst = bar.header.instrument_id;
  market_state& m = market(inst);
  m.last_close = bar.close;
  m.close_ts = engine_.now();
  m.has_close = true;
  if (config_.fill != fill_model::close) return;
  match_working(inst, [&](order& o) {
    return o.type == CATS_ORDER_MARKET && execute(o, bar.close, true, CATS_LIQUIDITY_TAKER);
  });
}

void sim_exchange::on_bar_open(const cats_bar_event_t& bar) {
  // Orders are matched in submission order; ones submitted while this bar is processed wait.
  match_working(bar.header.instrument_id, [&](order& o) {
    if (o.submitted_ts > bar.open_time_ns) return false;
    const bool buy = o.side == CATS_SIDE_BUY;
    if (o.type == CATS_ORDER_MARKET) {
      // In close mode market orders wait for the close (on_bar_close).
      return config_.fill == fill_model::next_open &&
             execute(o, bar.open, true, CATS_LIQUIDITY_TAKER);
    }
    if (o.tif == CATS_TIF_IOC) {
      const bool crosses = buy ? bar.open <= o.limit_price : bar.open >= o.limit_price;
      if (!(crosses && execute(o, bar.open, false, CATS_LIQUIDITY_TAKER)))
        post_update(o, CATS_ORDER_CANCELED, "IOC: not marketable at the open");
      return true;
    }
    if (buy ? bar.open < o.limit_price : bar.open > o.limit_price)
      return execute(o, bar.open, false, CATS_LIQUIDITY_TAKER);
    if (buy ? bar.low < o.limit_price : bar.high > o.limit_price)
      return execute(o, o.limit_price, false, CATS_LIQUIDITY_MAKER);
    return false;
  });
}

void sim_exchange::on_quote(uint32_t instrument_id, int64_t bid, int64_t ask) {
  market_state& m = market(instrument_id);
  m.bid = bid;
  m.ask = ask;
  match_working(instrument_id, [&](order& o) {
    const bool buy = o.side == CATS_SIDE_BUY;
    const int64_t touch = buy ? ask : bid;
    if (touch <= 0) return false;  // this side of the book is unknown: wait
    if (o.type == CATS_ORDER_MARKET) return execute(o, touch, true, CATS_LIQUIDITY_TAKER);
    const bool reached = buy ? touch <= o.limit_price : touch >= o.limit_price;
    if (o.resting) {
      // The opposite side came to the resting order's price: it was hit there.
      return reached && execute(o, o.limit_price, false, CATS_LIQUIDITY_MAKER);
    }
    if (reached) return execute(o, touch, false, CATS_LIQUIDITY_TAKER);  // marketable on arrival
    if (o.tif == CATS_TIF_IOC) {
      post_update(o, CATS_ORDER_CANCELED, "IOC: not marketable at the touch");
      return true;
    }
    o.resting = true;
    return false;
  });
}

void sim_exchange::on_trade(const cats_trade_event_t& t) {
  const market_state& m = market(t.header.instrument_id);
  const int64_t px = t.price;
  match_working(t.header.instrument_id, [&](order& o) {
    const bool buy = o.side == CATS_SIDE_BUY;
    const bool touch_known = (buy ? m.ask : m.bid) > 0;
    if (o.type == CATS_ORDER_MARKET)
      return !touch_known && execute(o, px, true, CATS_LIQUIDITY_TAKER);
    if (o.resting) {
      // Traded through the limit: the resting order was reached whatever its queue place.
      return (buy ? px < o.limit_price : px > o.limit_price) &&
             execute(o, o.limit_price, false, CATS_LIQUIDITY_MAKER);
    }
    if (touch_known) return false;  // new orders meet the next quote
    // No quote yet: the trade price stands in for the touch on arrival.
    if (buy ? px <= o.limit_price : px >= o.limit_price)
      return execute(o, px, false, CATS_LIQUIDITY_TAKER);
    if (o.tif == CATS_TIF_IOC) {
      post_update(o, CATS_ORDER_CANCELED, "IOC: not marketable at the last trade");
      return true;
    }
    o.resting = true;
    return false;
  });
}

bool sim_exchange::below_minimums(const order& o, const instrument_info& inst, int64_t qty,
                                  int64_t notional) {
  std::string why;
  if (inst.min_quantity > 0 && qty < inst.min_quantity)
    why = "quantity " + fixed_to_string(qty) + " is below the minimum " +
          fixed_to_string(inst.min_quantity) + " of " + inst.symbol;
  else if (inst.min_notional > 0 && notional < inst.min_notional)
    why = "notional " + fixed_to_string(notional) + " is below the minimum " +
          fixed_to_string(inst.min_notional) + " of " + inst.symbol;
  if (why.empty()) return false;
  post_update(o, o.filled == 0 ? CATS_ORDER_REJECTED : CATS_ORDER_CANCELED, std::move(why));
  return true;
}

bool sim_exchange::execute(order& o, int64_t base_price, bool apply_slippage,
                           cats_liquidity liquidity) {
  const instrument_info& inst = *engine_.instruments().get(o.instrument_id);
  portfolio& acct = engine_.account();
  const int dir = o.side == CATS_SIDE_BUY ? 1 : -1;

  int64_t price = base_price;
  if (apply_slippage && config_.slippage_rate != 0) {
    price = fixed_mul(base_price, fixed_scale + dir * config_.slippage_rate,
                      dir > 0 ? rounding::up : rounding::down);
  }
  price = round_to_step(price, inst.tick_size, dir > 0 ? rounding::up : rounding::down);
  if (price <= 0) price = inst.tick_size > 0 ? inst.tick_size : 1;
  const int64_t fee_rate =
      liquidity == CATS_LIQUIDITY_MAKER ? config_.maker_fee_rate : config_.taker_fee_rate;

  // What the account can afford: reducing a position is always allowed; the opening part is
  // capped so that gross exposure stays within leverage x equity after fees.
  const int64_t remaining = o.quantity - o.filled;
  const position_state& pos = acct.position(o.instrument_id);
  int64_t closing = 0;
  if (pos.quantity != 0 && (pos.quantity > 0) != (dir > 0))
    closing = std::min(remaining, abs64(pos.quantity));
  int64_t opening = remaining - closing;
  if (opening > 0) {
    const int64_t pos_value_at_price = fixed_mul(pos.quantity, price, rounding::nearest);
    const int64_t closing_fee =
        fixed_mul(fixed_mul(closing, price, rounding::nearest), fee_rate, rounding::up);
    const int64_t equity_at_price =
        acct.equity() - pos.market_value + pos_value_at_price - closing_fee;
    const int64_t other_gross = acct.gross_exposure() - abs64(pos.market_value);
    const int64_t left_after_close = abs64(pos.quantity) - closing;  // same side as the order
    // In 128 bits: leverage x equity may exceed the int64 range of a single amount.
    const int128_t headroom = div_round(static_cast<int128_t>(config_.leverage) * equity_at_price,
                                        fixed_scale, rounding::down) -
                              other_gross - fixed_mul(left_after_close, price, rounding::up);
    // opening x price x (1 + leverage x fee_rate) <= headroom
    const int128_t unit_cost =
        static_cast<int128_t>(price) *
        (fixed_scale + fixed_mul(config_.leverage, fee_rate, rounding::up));  // scale 10^16
    int64_t affordable = 0;
    if (headroom > 0 && unit_cost > 0) {
      const int128_t q = div_round(headroom * fixed_scale * fixed_scale, unit_cost, rounding::down);
      affordable = q > remaining ? remaining : static_cast<int64_t>(q);
      affordable = round_to_step(affordable, inst.lot_size, rounding::down);
    }
    opening = std::min(opening, affordable);
  }
  const int64_t qty = closing + opening;
  const std::string funds_note = "insufficient buying power for " + std::string(side_name(o.side)) +
                                 " " + fixed_to_string(remaining) + " " + inst.symbol + " at " +
                                 fixed_to_string(price) + " (equity " +
                                 fixed_to_string(acct.equity()) + ")";
  if (qty <= 0) {
    post_update(o, o.filled == 0 ? CATS_ORDER_REJECTED : CATS_ORDER_CANCELED, funds_note);
    return true;
  }
  const int64_t notional = fixed_mul(qty, price, rounding::nearest);
  // Minimums apply to orders that open a position; closing one is always allowed.
  if (closing == 0 && below_minimums(o, inst, qty, notional)) return true;
  const int64_t fee = fixed_mul(notional, fee_rate, rounding::up);
  const auto closed = acct.apply_fill(o.instrument_id, dir, qty, price, fee, engine_.now());
  o.filled += qty;
  o.filled_notional += notional;
  ++stats_.fills;

  cats_fill_event_t f{};
  f.header = event_header<cats_fill_event_t>(CATS_EVENT_FILL, o.instrument_id, engine_.now(),
                                             config_.event_flags);
  f.order_id = o.id;
  f.client_tag = o.client_tag;
  f.fill_id = next_fill_id_++;
  f.side = o.side;
  f.liquidity = liquidity;
  f.price = price;
  f.quantity = qty;
  f.fee = fee;
  f.position_after = acct.position(o.instrument_id).quantity;
  engine_.post_fill(o.owner, f);
  if (listener_ != nullptr && o.owner < engine_.strategies().size()) {
    const strategy_slot& owner = *engine_.strategies()[o.owner];
    listener_->on_fill(owner, inst, f, acct.cash());
    if (closed) listener_->on_round_trip(owner, inst, *closed);
  }
  if (o.filled == o.quantity) {
    post_update(o, CATS_ORDER_FILLED, {});
    return true;
  }
  // Capped, not cancelled by anyone: counted apart so that sizing beyond buying power (common
  // with fraction = 1 and costs) does not read as cancellations in the report.
  ++stats_.capped;
  post_update(
      o, CATS_ORDER_CANCELED,
      funds_note + "; filled " + fixed_to_string(o.filled) + " of " + fixed_to_string(o.quantity),
      false);
  return true;
}

}  // namespace cats
