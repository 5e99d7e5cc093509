// The fake exchange's market simulation: one synthetic L2 book per symbol and the log of generated
// events that every connection reads at its own pace.
//
// No networking here. The generator is deterministic for a seed: each symbol draws from its own
// PRNG seeded from (seed, symbol name), and events go to the symbols round robin, so one symbol's
// sequence does not change when another symbol is added. Only timestamps (taken when a message is
// sent) and the minute boundaries of klines depend on the wall clock.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cats/book/order_book.hpp"

namespace cats::fake {

enum class venue : uint8_t { binance, okx };

const char* venue_name(venue v) noexcept;

/// splitmix64: a fixed algorithm, so a seed gives the same market on every platform (the standard
/// distributions are implementation-defined).
class rng {
 public:
  explicit rng(uint64_t seed) noexcept : state_(seed) {}
  uint64_t next() noexcept {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0; the modulo bias is irrelevant at these sizes).
  uint64_t below(uint64_t n) noexcept { return next() % n; }

 private:
  uint64_t state_;
};

enum class event_kind : uint8_t {
  trade,   ///< one trade at the touch
  book,    ///< a few levels changed; one update id
  kline,   ///< a closed 1m kline (Binance symbols; wall-clock minutes)
  script,  ///< a line of a --script file
};

inline constexpr int max_changes = 4;  ///< level changes per side in one book event

struct top_of_book {
  int64_t bid_px = 0, bid_qty = 0, ask_px = 0, ask_qty = 0;
  friend bool operator==(const top_of_book&, const top_of_book&) = default;
};

struct kline_data {
  int64_t open_ms = -1;  ///< start of the minute; -1 while no trade has been seen
  int64_t open = 0, high = 0, low = 0, close = 0;
  int64_t volume = 0, quote_volume = 0, taker_buy_volume = 0, taker_buy_quote = 0;
  uint64_t first_trade = 0, last_trade = 0, trades = 0;
};

/// One generated event. Kept flat (no heap) because the log holds many while a client lags.
struct market_event {
  uint64_t seq = 0;     ///< generator sequence number, 1-based over all symbols (0: not generated)
  uint32_t symbol = 0;  ///< index into market::symbols(); unused for script events
  event_kind kind = event_kind::trade;
  // trade
  bool buyer_maker = false;  ///< Binance "m"; the aggressor sold (OKX side "sell")
  uint64_t trade_id = 0;
  int64_t price = 0, qty = 0;
  // book
  bool suppressed = false;      ///< skip_seq fault: applied to the book but never sent as a diff
  bool top_changed = false;     ///< best bid/ask price or quantity changed
  int32_t checksum = 0;         ///< OKX: okx_checksum after the change (wrong when faulted)
  uint64_t update_id = 0;       ///< Binance U == u; OKX seqId
  uint64_t prev_update_id = 0;  ///< OKX prevSeqId
  uint8_t n_bids = 0, n_asks = 0;
  book_level bids[max_changes], asks[max_changes];
  top_of_book top;                    ///< after the event
  int64_t last_px = 0, last_qty = 0;  ///< the symbol's last trade when the event was generated
  uint32_t aux = 0;    ///< kline: index for market::kline(); script: the line number (0-based)
  int64_t due_ns = 0;  ///< --paced: the steady-clock time (ns) it is due to be sent; 0: not paced
};

struct symbol_state {
  std::string name;   ///< as the venue writes it: "BTCUSDT", "BTC-USDT"
  std::string lower;  ///< Binance stream spelling: "btcusdt"
  venue where = venue::binance;
  order_book book;
  uint64_t update_id = 0;  ///< last applied book update (Binance lastUpdateId, OKX seqId)
  uint64_t trade_id = 0;   ///< last trade id (ids start at 1)
  int64_t tick = 0;
  int64_t last_px = 0, last_qty = 0;
  int64_t open_px = 0, high_px = 0, low_px = 0, volume = 0, quote_volume = 0;  ///< since start
  // Faults armed by the control API; each applies to the next matching event or request.
  bool skip_next = false;
  bool bad_checksum_next = false;
  int stale_snapshots = 0;
  // Old books for stale_snapshot: the initial book and one copy every `save_every` updates.
  std::pair<uint64_t, order_book> initial;
  std::deque<std::pair<uint64_t, order_book>> saved;
  kline_data kline;
  rng random{0};
};

class market {
 public:
  static constexpr int levels = 50;                  ///< per side
  static constexpr uint64_t first_update_id = 1000;  ///< the initial book's update id
  static constexpr uint64_t save_every = 1024;       ///< stale-snapshot spacing in updates
  static constexpr size_t saved_books = 4;

  market(uint64_t seed, const std::vector<std::string>& binance_symbols,
         const std::vector<std::string>& okx_symbols);

  const std::vector<symbol_state>& symbols() const noexcept { return symbols_; }
  std::vector<symbol_state>& symbols() noexcept { return symbols_; }
  /// Index of a symbol, or -1. Binance names match case-insensitively ("btcusdt").
  int find(venue v, std::string_view name) const noexcept;

  /// Every event a trade (the book then never changes): for latency runs where the trade rate
  /// should be the whole rate.
  void set_trades_only(bool on) noexcept { trades_only_ = on; }

  /// Generates the next event (symbols round robin) into the log. `wall_ms` only decides the
  /// minute of Binance klines.
  void generate(int64_t wall_ms, int64_t due_ns = 0);
  uint64_t generated() const noexcept { return generated_; }

  /// Appends an event that did not come from the generator (script lines).
  void push(const market_event& e) { log_.push_back(e); }
  /// Closed klines, kept apart from the events because they are rare and large.
  const kline_data& kline(uint32_t index) const noexcept { return klines_[index]; }

  /// The log: absolute indices [log_begin, log_end); references stay valid until trimmed.
  uint64_t log_begin() const noexcept { return base_; }
  uint64_t log_end() const noexcept { return base_ + log_.size(); }
  const market_event& at(uint64_t index) const noexcept { return log_[index - base_]; }
  /// Forgets events below `index` (every reader has passed them).
  void trim(uint64_t index);

  /// The book a stale_snapshot request returns: the oldest kept copy.
  const std::pair<uint64_t, order_book>& stale_book(const symbol_state& s) const noexcept;

 private:
  void trade(symbol_state& s, market_event& e, int64_t wall_ms);
  void change_book(symbol_state& s, market_event& e);
  std::vector<symbol_state> symbols_;
  std::deque<market_event> log_;
  std::vector<kline_data> klines_;
  uint64_t base_ = 0;
  uint64_t generated_ = 0;
  size_t next_symbol_ = 0;
  bool trades_only_ = false;
};

}  // namespace cats::fake
