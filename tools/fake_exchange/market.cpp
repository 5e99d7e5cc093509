#include "market.hpp"

#include <algorithm>
#include <cctype>

#include "cats/core/fixed.hpp"
#include "cats/venues/okx/book_sync.hpp"

namespace cats::fake {

namespace {

constexpr int64_t qty_unit = fixed_scale / 100000;  // quantities in steps of 0.00001

// FNV-1a: a stable hash of the symbol name for its PRNG seed (std::hash is not stable).
uint64_t fnv1a(std::string_view s) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Where a symbol's price starts: roughly today's level for the majors, 100 for anything else.
int64_t base_price(std::string_view name) noexcept {
  if (name.starts_with("BTC")) return 60000 * fixed_scale;
  if (name.starts_with("ETH")) return 3000 * fixed_scale;
  if (name.starts_with("BNB")) return 600 * fixed_scale;
  if (name.starts_with("SOL")) return 150 * fixed_scale;
  return 100 * fixed_scale;
}

int64_t random_qty(rng& r, uint64_t max_units) noexcept {
  return static_cast<int64_t>(r.below(max_units) + 1) * qty_unit;
}

top_of_book top_of(const order_book& b) noexcept {
  top_of_book t;
  if (!b.bids().empty()) t.bid_px = b.bids().front().price, t.bid_qty = b.bids().front().quantity;
  if (!b.asks().empty()) t.ask_px = b.asks().front().price, t.ask_qty = b.asks().front().quantity;
  return t;
}

// Records a level change in the event, replacing an earlier change of the same price.
void add_change(book_level* levels, uint8_t& n, book_level change) noexcept {
  for (uint8_t i = 0; i < n; ++i) {
    if (levels[i].price == change.price) {
      levels[i] = change;
      return;
    }
  }
  if (n < max_changes) levels[n++] = change;
}

}  // namespace

const char* venue_name(venue v) noexcept {
  return v == venue::binance ? "binance" : "okx";
}

market::market(uint64_t seed, const std::vector<std::string>& binance_symbols,
               const std::vector<std::string>& okx_symbols) {
  auto add = [&](const std::string& name, venue v) {
    symbol_state s;
    s.name = name;
    s.lower = name;
    for (char& c : s.lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    s.where = v;
    s.random = rng(seed ^ fnv1a(name) ^ (v == venue::okx ? 0x6f6b78ULL : 0));
    s.tick = fixed_scale / 100;
    // Contiguous levels with a two-tick spread: a move of the mid then never puts the same price
    // on both sides of one message.
    const int64_t best_bid = base_price(name);
    std::vector<book_level> bids, asks;
    for (int i = 0; i < levels; ++i) {
      bids.push_back({best_bid - i * s.tick, random_qty(s.random, 200000)});
      asks.push_back({best_bid + (i + 2) * s.tick, random_qty(s.random, 200000)});
    }
    s.book.assign(bids, asks);
    s.update_id = first_update_id;
    s.initial = {s.update_id, s.book};
    s.last_px = s.open_px = s.high_px = s.low_px = best_bid;
    symbols_.push_back(std::move(s));
  };
  for (const auto& n : binance_symbols) add(n, venue::binance);
  for (const auto& n : okx_symbols) add(n, venue::okx);
}

int market::find(venue v, std::string_view name) const noexcept {
  for (size_t i = 0; i < symbols_.size(); ++i) {
    const auto& s = symbols_[i];
    if (s.where != v || s.name.size() != name.size()) continue;
    const bool same =
        v == venue::okx ? s.name == name
                        : std::equal(name.begin(), name.end(), s.name.begin(), [](char a, char b) {
                            return std::toupper(static_cast<unsigned char>(a)) == b;
                          });
    if (same) return static_cast<int>(i);
  }
  return -1;
}

void market::generate(int64_t wall_ms, int64_t due_ns) {
  if (symbols_.empty()) return;
  const size_t index = next_symbol_;
  next_symbol_ = (next_symbol_ + 1) % symbols_.size();
  symbol_state& s = symbols_[index];
  market_event e;
  e.seq = ++generated_;
  e.symbol = static_cast<uint32_t>(index);
  if (trades_only_ || s.random.below(100) < 30) {
    trade(s, e, wall_ms);
  } else {
    change_book(s, e);
  }
  e.last_px = s.last_px;
  e.last_qty = s.last_qty;
  e.top = top_of(s.book);
  e.due_ns = due_ns;
  log_.push_back(e);
}

void market::trade(symbol_state& s, market_event& e, int64_t wall_ms) {
  e.kind = event_kind::trade;
  e.buyer_maker = s.random.below(2) == 0;  // the aggressor sold, at the bid
  e.trade_id = ++s.trade_id;
  e.price = e.buyer_maker ? s.book.bids().front().price : s.book.asks().front().price;
  e.qty = random_qty(s.random, 50000);
  s.last_px = e.price;
  s.last_qty = e.qty;
  s.high_px = std::max(s.high_px, e.price);
  s.low_px = std::min(s.low_px, e.price);
  s.volume += e.qty;
  s.quote_volume += fixed_mul(e.price, e.qty, rounding::nearest);

  if (s.where != venue::binance) return;
  // Binance klines: the first trade of a new minute closes the previous one.
  const int64_t minute = wall_ms / 60000 * 60000;
  kline_data& k = s.kline;
  if (k.open_ms >= 0 && k.open_ms != minute) {
    market_event ke;
    ke.seq = e.seq;
    ke.symbol = e.symbol;
    ke.kind = event_kind::kline;
    ke.aux = static_cast<uint32_t>(klines_.size());
    klines_.push_back(k);
    log_.push_back(ke);
    k = kline_data{};
  }
  const int64_t quote = fixed_mul(e.price, e.qty, rounding::nearest);
  if (k.open_ms < 0) {
    k.open_ms = minute;
    k.open = k.high = k.low = e.price;
    k.first_trade = e.trade_id;
  }
  k.high = std::max(k.high, e.price);
  k.low = std::min(k.low, e.price);
  k.close = e.price;
  k.volume += e.qty;
  k.quote_volume += quote;
  if (!e.buyer_maker) {
    k.taker_buy_volume += e.qty;
    k.taker_buy_quote += quote;
  }
  k.last_trade = e.trade_id;
  ++k.trades;
}

void market::change_book(symbol_state& s, market_event& e) {
  e.kind = event_kind::book;
  order_book& b = s.book;
  const top_of_book before = top_of(b);
  const uint64_t roll = s.random.below(100);
  if (roll < 20) {
    // The mid moves a tick: the touch on one side is taken, the other side steps in, and the
    // book keeps `levels` per side by adding one far level and dropping the other far level.
    const bool up = roll < 10;
    const auto& bids = b.bids();
    const auto& asks = b.asks();
    if (up) {
      add_change(e.asks, e.n_asks, {asks.front().price, 0});
      add_change(e.asks, e.n_asks, {asks.back().price + s.tick, random_qty(s.random, 200000)});
      add_change(e.bids, e.n_bids, {bids.front().price + s.tick, random_qty(s.random, 200000)});
      add_change(e.bids, e.n_bids, {bids.back().price, 0});
    } else {
      add_change(e.bids, e.n_bids, {bids.front().price, 0});
      add_change(e.bids, e.n_bids, {bids.back().price - s.tick, random_qty(s.random, 200000)});
      add_change(e.asks, e.n_asks, {asks.front().price - s.tick, random_qty(s.random, 200000)});
      add_change(e.asks, e.n_asks, {asks.back().price, 0});
    }
  } else {
    const int changes = 1 + static_cast<int>(s.random.below(3));
    for (int i = 0; i < changes; ++i) {
      const bool bid = s.random.below(2) == 0;
      const auto& side = bid ? b.bids() : b.asks();
      // Half of the changes hit the top five levels, as on a real book.
      const size_t idx = s.random.below(2) == 0 ? s.random.below(5) : s.random.below(side.size());
      const book_level change{side[idx].price, random_qty(s.random, 200000)};
      if (bid) {
        add_change(e.bids, e.n_bids, change);
      } else {
        add_change(e.asks, e.n_asks, change);
      }
    }
  }
  b.apply({e.bids, e.n_bids}, {e.asks, e.n_asks});

  e.prev_update_id = s.update_id;
  e.update_id = ++s.update_id;
  e.top_changed = !(top_of(b) == before);
  e.suppressed = std::exchange(s.skip_next, false);
  if (s.where == venue::okx) {
    e.checksum = okx_checksum(b);
    // Any other value is wrong; flipping the low bit keeps it a plausible int32.
    if (std::exchange(s.bad_checksum_next, false)) e.checksum ^= 1;
  } else if (s.update_id % save_every == 0) {
    s.saved.emplace_back(s.update_id, b);
    if (s.saved.size() > saved_books) s.saved.pop_front();
  }
}

void market::trim(uint64_t index) {
  while (base_ < index && !log_.empty()) {
    log_.pop_front();
    ++base_;
  }
  if (log_.empty()) base_ = std::max(base_, index);
}

const std::pair<uint64_t, order_book>& market::stale_book(const symbol_state& s) const noexcept {
  return s.saved.size() >= saved_books ? s.saved.front() : s.initial;
}

}  // namespace cats::fake
