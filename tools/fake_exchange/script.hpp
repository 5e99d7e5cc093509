// --script: recorded venue messages replayed to subscribers instead of the generator.
//
// One JSON object per line:
//   {"venue":"binance","stream":"btcusdt@trade","delay_us":1000,"msg":{...}}
//   {"venue":"okx","stream":"trades:BTC-USDT","delay_us":0,"msg":{"arg":{...},"data":[...]}}
// `delay_us` is the wait after the previous line. A Binance `msg` is the raw stream payload; a
// recorded combined message ({"stream":..,"data":..}) is unwrapped. An OKX `msg` is sent as is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "market.hpp"
#include "render.hpp"

namespace cats::fake {

struct script_line {
  venue where = venue::binance;
  std::string key;  ///< subscription key: "btcusdt@trade", "trades:BTC-USDT"
  int64_t delay_us = 0;
  std::string payload;  ///< minified JSON
};

/// Reads a script file. Blank lines are skipped; any other bad line is an error naming the line.
bool load_script(const std::string& path, const market& m, std::vector<script_line>& out,
                 std::string& error);

/// The message `s` gets for a script line, or false when the line is for another stream.
bool render_script(const script_line& line, const subscription& s, bool combined, std::string& out);

}  // namespace cats::fake
