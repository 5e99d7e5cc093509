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

// Below this many changes on a side, binary search + insert per level is faster (updates land
// near the top); above it, sort + merge.
constexpr size_t merge_threshold = 32;

void order_book::merge(std::vector<book_level>& side, std::span<const book_level> changes,
                       bool desc) {
  auto before = [desc](const book_level& a, const book_level& b) {
    return desc ? a.price > b.price : a.price < b.price;
  };
  scratch_.assign(changes.begin(), changes.end());
  // Stable: of several changes to one price, the last one in the message wins.
  std::stable_sort(scratch_.begin(), scratch_.end(), before);
  merged_.clear();
  merged_.reserve(side.size() + scratch_.size());
  size_t i = 0;
  for (size_t c = 0; c < scratch_.size();) {
    size_t last = c;  // the last change at this price
    while (last + 1 < scratch_.size() && scratch_[last + 1].price == scratch_[c].price) ++last;
    const book_level& change = scratch_[last];
    while (i < side.size() && before(side[i], change)) merged_.push_back(side[i++]);
    if (i < side.size() && side[i].price == change.price) ++i;  // replaced or removed
    if (change.quantity != 0) merged_.push_back(change);
    c = last + 1;
  }
  merged_.insert(merged_.end(), side.begin() + static_cast<std::ptrdiff_t>(i), side.end());
  side.swap(merged_);
}

void order_book::apply_side(std::vector<book_level>& side, std::span<const book_level> changes,
                            bool desc) {
  if (changes.size() > merge_threshold) {
    merge(side, changes, desc);
  } else {
    for (const auto& l : changes) set(side, l.price, l.quantity, desc);
  }
  cap(side);
}

void order_book::cap(std::vector<book_level>& side) {
  if (side.size() <= max_levels) return;
  dropped_ += side.size() - max_levels;
  side.resize(max_levels);
}

void order_book::assign(std::span<const book_level> bids, std::span<const book_level> asks) {
  clear();
  apply(bids, asks);
}

void order_book::apply(std::span<const book_level> bids, std::span<const book_level> asks) {
  apply_side(bids_, bids, true);
  apply_side(asks_, asks, false);
}

void order_book::truncate(size_t depth) {
  if (bids_.size() > depth) bids_.resize(depth);
  if (asks_.size() > depth) asks_.resize(depth);
}

}  // namespace cats
