// An L2 order book: price levels of one instrument, best first on each side.
//
// Sorted vectors: updates land near the top of the book, so a binary search plus a short move
// beats a node-based map, and reading the top N levels is a plain slice.
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

  friend bool operator==(const order_book&, const order_book&) = default;

 private:
  static void set(std::vector<book_level>& side, int64_t price, int64_t quantity, bool desc);
  std::vector<book_level> bids_;
  std::vector<book_level> asks_;
};

}  // namespace cats
