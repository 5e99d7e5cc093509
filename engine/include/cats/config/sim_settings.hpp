// The settings of the simulated exchange, as the config gives them ([backtest]: fees, slippage,
// leverage, fill rule, latency, participation). Plain values: the rules that use them are in
// sim/sim_exchange.hpp.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "cats/core/fixed.hpp"

namespace cats {

enum class fill_model { next_open, close };

/// How long an order action takes to reach the simulated exchange (tick data only).
struct latency_model {
  enum class kind { fixed, uniform, normal, lognormal };
  kind type = kind::fixed;
  int64_t a_ns = 0;  ///< fixed: the latency; uniform: low; normal: mean; lognormal: median
  int64_t b_ns = 0;  ///< uniform: high; normal: standard deviation
  double sigma = 0;  ///< lognormal: sigma of the underlying normal
  bool is_zero() const noexcept { return type == kind::fixed && a_ns == 0; }
};

/// Parses "5ms", "uniform:2ms:8ms", "normal:5ms:1ms" or "lognormal:5ms:0.5" (durations in ns,
/// us, ms or s, decimals allowed, e.g. "1.5ms"). On failure returns false and says why in `error`.
bool parse_latency(std::string_view text, latency_model& out, std::string& error);
/// The latency as the config spells it ("5ms", "uniform:2ms:8ms", ...).
std::string format_latency(const latency_model& m);

struct sim_exchange_config {
  fill_model fill = fill_model::next_open;
  int64_t taker_fee_rate = 0;  ///< fixed-point fraction: 10 bps = 0.001 = 100000
  int64_t maker_fee_rate = 0;
  int64_t slippage_rate = 0;
  int64_t leverage = fixed_scale;       ///< 1.0 = no borrowing beyond equity
  latency_model latency;                ///< tick data only; default 0
  uint64_t seed = 1;                    ///< seeds the latency draws
  int64_t participation = fixed_scale;  ///< share of a trade's quantity an order gets
};

}  // namespace cats
