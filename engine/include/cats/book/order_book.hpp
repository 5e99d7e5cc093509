// An L2 order book: price levels of one instrument, best first on each side.
//
// Sorted vectors: updates land near the top of the book, so a binary search plus a short move
// beats a node-based map, and reading the top N levels is a plain slice. A message with many
// levels (a snapshot, a burst) is sorted and merged in one pass instead, O(n + k log k): one
// level at a time would move the vector k times (a 200,000-level snapshot took 3.5 s that way).
// A side keeps at most max_levels levels, the deepest beyond that are dropped (and counted).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "cats/core/market_event.hpp"

namespace cats {

class order_book {
 public:
  void clear() noexcept {
    bids_.clear();
    asks_.clear();
  }
  /// Sets the level at `price` to `quantity`; a quantity of 0 removes it.
  void set_bid(int64_t price, int64_t quantity) { set(bids_, price, quantity, true); }
  void set_ask(int64_t price, int64_t quantity) { set(asks_, price, quantity, false); }
  /// Replaces the whole book (levels in any order; zero quantities are skipped).
  void assign(std::span<const book_level> bids, std::span<const book_level> asks);
  /// Applies level changes.
  void apply(std::span<const book_level> bids, std::span<const book_level> asks);

  const std::vector<book_level>& bids() const noexcept { return bids_; }  ///< descending
  const std::vector<book_level>& asks() const noexcept { return asks_; }  ///< ascending
  bool empty() const noexcept { return bids_.empty() && asks_.empty(); }
  /// True when the best bid is at or above the best ask.
  bool crossed() const noexcept {
    return !bids_.empty() && !asks_.empty() && bids_.front().price >= asks_.front().price;
  }
  /// Drops levels beyond the first `depth` on each side (a venue's book has a fixed depth).
  void truncate(size_t depth);

  /// Levels per side a book keeps; deeper ones are dropped.
  static constexpr size_t max_levels = 50'000;
  /// Levels dropped so far because a side was over max_levels.
  uint64_t levels_dropped() const noexcept { return dropped_; }

  friend bool operator==(const order_book& a, const order_book& b) noexcept {
    return a.bids_ == b.bids_ && a.asks_ == b.asks_;
  }

 private:
  static void set(std::vector<book_level>& side, int64_t price, int64_t quantity, bool desc);
  /// Applies `changes` to `side` by sorting them and merging (many changes at once).
  void merge(std::vector<book_level>& side, std::span<const book_level> changes, bool desc);
  void apply_side(std::vector<book_level>& side, std::span<const book_level> changes, bool desc);
  void cap(std::vector<book_level>& side);
  std::vector<book_level> bids_;
  std::vector<book_level> asks_;
  std::vector<book_level> scratch_, merged_;  // merge buffers, kept for their capacity
  uint64_t dropped_ = 0;
};

}  // namespace cats
