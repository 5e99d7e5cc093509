#include "cats/core/order_request.hpp"

#include "cats/core/engine.hpp"
#include "cats/core/fixed.hpp"

namespace cats {

cats_status_t check_order_request(const instrument_registry& instruments,
                                  const cats_order_request_t& r, std::string& error) {
  if (instruments.get(r.instrument_id) == nullptr) {
    error = "no instrument with id " + std::to_string(r.instrument_id);
    return CATS_E_NOT_FOUND;
  }
  if (r.side != CATS_SIDE_BUY && r.side != CATS_SIDE_SELL) {
    error = "side must be CATS_SIDE_BUY or CATS_SIDE_SELL, got " + std::to_string(r.side);
    return CATS_E_INVALID_ARGUMENT;
  }
  if (r.order_type != CATS_ORDER_MARKET && r.order_type != CATS_ORDER_LIMIT &&
      r.order_type != CATS_ORDER_STOP_MARKET) {
    error = "unsupported order type " + std::to_string(r.order_type);
    return CATS_E_UNSUPPORTED;
  }
  if (r.order_type == CATS_ORDER_LIMIT && r.time_in_force != CATS_TIF_GTC &&
      r.time_in_force != CATS_TIF_IOC && r.time_in_force != CATS_TIF_POST_ONLY) {
    error = "unsupported time in force " + std::to_string(r.time_in_force);
    return CATS_E_UNSUPPORTED;
  }
  if (r.order_type != CATS_ORDER_LIMIT && r.time_in_force == CATS_TIF_POST_ONLY) {
    error = "post-only applies to limit orders only";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (r.quantity <= 0) {
    error = "quantity must be positive, got " + fixed_to_string(r.quantity);
    return CATS_E_INVALID_ARGUMENT;
  }
  if (r.order_type == CATS_ORDER_LIMIT && r.limit_price <= 0) {
    error = "a limit order needs a positive limit_price, got " + fixed_to_string(r.limit_price);
    return CATS_E_INVALID_ARGUMENT;
  }
  // The router sees requests already widened to this ABI: a 1.1 plugin's stop_price reads 0.
  if (r.order_type == CATS_ORDER_STOP_MARKET && r.stop_price <= 0) {
    error = "a stop-market order needs a positive stop_price, got " + fixed_to_string(r.stop_price);
    return CATS_E_INVALID_ARGUMENT;
  }
  if (r.quantity > max_order_amount || r.limit_price > max_order_amount ||
      (r.order_type == CATS_ORDER_STOP_MARKET && r.stop_price > max_order_amount)) {
    error = "quantity or price above 1e9: " + fixed_to_string(r.quantity) + " @ " +
            fixed_to_string(r.order_type == CATS_ORDER_STOP_MARKET ? r.stop_price : r.limit_price);
    return CATS_E_INVALID_ARGUMENT;
  }
  return CATS_OK;
}

rounded_order round_order_request(const instrument_info& inst, const cats_order_request_t& r) {
  rounded_order o;
  const bool buy = r.side == CATS_SIDE_BUY;
  o.tif = r.order_type == CATS_ORDER_LIMIT                                       ? r.time_in_force
          : r.order_type == CATS_ORDER_MARKET && r.time_in_force == CATS_TIF_IOC ? CATS_TIF_IOC
                                                                                 : CATS_TIF_GTC;
  o.quantity = round_to_step(r.quantity, inst.lot_size, rounding::down);
  o.limit_price =
      r.order_type == CATS_ORDER_LIMIT
          ? round_to_step(r.limit_price, inst.tick_size, buy ? rounding::down : rounding::up)
          : 0;
  o.stop_price =
      r.order_type == CATS_ORDER_STOP_MARKET
          ? round_to_step(r.stop_price, inst.tick_size, buy ? rounding::up : rounding::down)
          : 0;
  if (o.quantity <= 0)
    o.refusal = "quantity " + fixed_to_string(r.quantity) + " is below the lot size " +
                fixed_to_string(inst.lot_size) + " of " + inst.symbol;
  else if (r.order_type == CATS_ORDER_LIMIT && o.limit_price <= 0)
    o.refusal = "limit price " + fixed_to_string(r.limit_price) + " rounds to 0 at tick " +
                fixed_to_string(inst.tick_size);
  return o;
}

}  // namespace cats
