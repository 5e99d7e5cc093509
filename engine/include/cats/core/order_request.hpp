// The checks and rounding every order router applies to a strategy's order request, whether the
// order is simulated or sent to a venue: one set of rules, so that a strategy sees the same
// refusals in backtest, paper and live.
#pragma once

#include <cats/sdk.h>

#include <string>

#include "cats/core/instrument.hpp"

namespace cats {

/// CATS_OK, or an error status with `error` saying what is wrong with the request (unknown
/// instrument, side, type, time in force, non-positive or oversized amounts).
cats_status_t check_order_request(const instrument_registry& instruments,
                                  const cats_order_request_t& r, std::string& error);

/// The request as it goes to the exchange: quantity rounded down to the lot, a buy limit rounded
/// down to the tick and a sell limit up (never worse than asked), a buy stop up and a sell stop
/// down (never triggers before its price); market orders keep IOC, stops are GTC. The request
/// must have passed check_order_request.
struct rounded_order {
  int32_t tif = CATS_TIF_GTC;
  int64_t quantity = 0, limit_price = 0, stop_price = 0;
  /// Non-empty when rounding left nothing to send (quantity below the lot, price below the tick).
  std::string refusal;
};
rounded_order round_order_request(const instrument_info& inst, const cats_order_request_t& r);

}  // namespace cats
