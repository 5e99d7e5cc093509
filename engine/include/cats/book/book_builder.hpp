// The engine thread's books: applies verified updates (live or replayed) and turns each into the
// SDK's cats_book_event_t with the top levels and the changed levels.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/core/market_event.hpp"

namespace cats {

class book_builder {
 public:
  /// `depth`: how many levels per side a book event carries.
  explicit book_builder(size_t depth) : depth_(depth) {}

  /// Applies `u` (a snapshot replaces the book) and returns the event describing the result, with
  /// `event_flags` (CATS_EVENT_FLAG_*) in its header. The event and its arrays stay valid until
  /// the next call.
  const cats_book_event_t& apply(const book_update& u, uint32_t book_flags,
                                 uint32_t event_flags = 0);

  /// The book of an instrument, or null if none has been seen.
  const order_book* find(uint32_t instrument_id) const;
  const std::unordered_map<uint32_t, order_book>& books() const noexcept { return books_; }
  size_t depth() const noexcept { return depth_; }

 private:
  size_t depth_;
  std::unordered_map<uint32_t, order_book> books_;
  cats_book_event_t event_{};
  std::vector<cats_book_level_t> bids_, asks_, bid_changes_, ask_changes_;
};

}  // namespace cats
