#include "cats/book/order_book.hpp"

#include <algorithm>

namespace cats {

void order_book::set(std::vector<book_level>& side, int64_t price, int64_t quantity, bool desc) {
  auto it = desc ? std::lower_bound(side.begin(), side.end(), price,
                                    [](const book_level& l, int64_t p) { return l.price > p; })
                 : std::lower_bound(side.begin(), side.end(), price,
                                    [](const book_level& l, int64_t p) { return l.price < p; });
  const bool found = it != side.end() && it->price == price;
  if (quantity == 0) {
    if (found) side.erase(it);
  } else if (found) {
    it->quantity = quantity;
  } else {
    side.insert(it, book_level{price, quantity});
  }
}

void order_book::assign(std::span<const book_level> bids, std::span<const book_level> asks) {
  clear();
  apply(bids, asks);
}

void order_book::apply(std::span<const book_level> bids, std::span<const book_level> asks) {
  for (const auto& l : bids) set_bid(l.price, l.quantity);
  for (const auto& l : asks) set_ask(l.price, l.quantity);
}

void order_book::truncate(size_t depth) {
  if (bids_.size() > depth) bids_.resize(depth);
  if (asks_.size() > depth) asks_.resize(depth);
}

}  // namespace cats
