// Instruments known to a run, addressed by id (as in events) or by "VENUE:SYMBOL".
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace cats {

struct instrument_info {
  uint32_t id = 0;
  std::string symbol;     ///< "BINANCE:BTCUSDT"
  std::string venue;      ///< "BINANCE"
  std::string name;       ///< "BTCUSDT", the venue's own symbol
  std::string base;       ///< "BTC", or empty if unknown
  std::string quote;      ///< "USDT", or empty if unknown
  int64_t tick_size = 1;  ///< fixed-point; 1 = 10^-8
  int64_t lot_size = 1;
  int64_t min_quantity = 0;
  int64_t min_notional = 0;
};

/// Splits "BINANCE:BTCUSDT" into venue and venue symbol; a bare "BTCUSDT" gets `default_venue`.
/// Returns false when the text is not a valid instrument name.
bool split_symbol(std::string_view text, std::string_view default_venue, std::string& venue,
                  std::string& name);

/// Guesses base and quote of a concatenated symbol ("BTCUSDT" -> BTC/USDT) from the common quote
/// assets; "BTC-USDT" style names split at the dash. Leaves both empty when it cannot tell.
void guess_base_quote(std::string_view name, std::string& base, std::string& quote);

class instrument_registry {
 public:
  /// Adds an instrument and returns its id (ids start at 1). An existing symbol keeps its id.
  uint32_t add(instrument_info inst);
  /// By full "VENUE:SYMBOL", or by bare symbol when exactly one venue lists it.
  const instrument_info* find(std::string_view symbol) const noexcept;
  const instrument_info* get(uint32_t id) const noexcept;
  size_t size() const noexcept { return items_.size(); }
  const std::deque<instrument_info>& all() const noexcept { return items_; }
  /// Replaces an instrument's trading rules (the venue's own, fetched at start).
  void set_rules(uint32_t id, int64_t tick_size, int64_t lot_size, int64_t min_quantity,
                 int64_t min_notional) noexcept;

 private:
  std::deque<instrument_info> items_;  // deque: pointers stay valid as instruments are added
};

}  // namespace cats
