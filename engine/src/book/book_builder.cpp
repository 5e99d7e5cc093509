#include "cats/book/book_builder.hpp"

#include <algorithm>

#include "cats/core/events.hpp"

namespace cats {
namespace {

void copy_levels(const std::vector<book_level>& from, size_t n,
                 std::vector<cats_book_level_t>& to) {
  n = std::min(n, from.size());
  to.resize(n);
  for (size_t i = 0; i < n; ++i) to[i] = cats_book_level_t{from[i].price, from[i].quantity};
}

}  // namespace

const cats_book_event_t& book_builder::apply(const book_update& u, uint32_t book_flags,
                                             uint32_t event_flags) {
  order_book& book = books_[u.instrument_id];
  if (u.snapshot) {
    book.assign(u.bids, u.asks);
    book_flags |= CATS_BOOK_FLAG_SNAPSHOT;
  } else {
    book.apply(u.bids, u.asks);
  }
  copy_levels(book.bids(), depth_, bids_);
  copy_levels(book.asks(), depth_, asks_);
  copy_levels(u.bids, u.bids.size(), bid_changes_);
  copy_levels(u.asks, u.asks.size(), ask_changes_);

  event_ = cats_book_event_t{};
  event_.header = event_header<cats_book_event_t>(CATS_EVENT_BOOK, u.instrument_id,
                                                  u.exchange_ts_ns, event_flags);
  event_.header.local_ts_ns = u.local_ts_ns;
  event_.book_flags = book_flags;
  event_.bid_count = static_cast<uint32_t>(bids_.size());
  event_.ask_count = static_cast<uint32_t>(asks_.size());
  event_.bid_change_count = static_cast<uint32_t>(bid_changes_.size());
  event_.ask_change_count = static_cast<uint32_t>(ask_changes_.size());
  event_.sequence = u.last_seq;
  event_.bids = bids_.data();
  event_.asks = asks_.data();
  event_.bid_changes = bid_changes_.data();
  event_.ask_changes = ask_changes_.data();
  return event_;
}

const order_book* book_builder::find(uint32_t instrument_id) const {
  auto it = books_.find(instrument_id);
  return it == books_.end() ? nullptr : &it->second;
}

}  // namespace cats
