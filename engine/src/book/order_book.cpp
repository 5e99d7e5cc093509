#include "cats/book/order_book.hpp"

#include <zlib.h>

#include <algorithm>
#include <string>

#include "cats/core/fixed.hpp"

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

int32_t okx_checksum(const order_book& book) {
  std::string text;
  text.reserve(25 * 4 * 20);
  char buf[32];
  auto add = [&](const book_level& l) {
    if (!text.empty()) text.push_back(':');
    text.append(buf, static_cast<size_t>(format_fixed(l.price, buf)));
    text.push_back(':');
    text.append(buf, static_cast<size_t>(format_fixed(l.quantity, buf)));
  };
  const auto& b = book.bids();
  const auto& a = book.asks();
  for (size_t i = 0; i < 25; ++i) {
    if (i < b.size()) add(b[i]);
    if (i < a.size()) add(a[i]);
  }
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(text.data()),
                          static_cast<uInt>(text.size()));
  return static_cast<int32_t>(static_cast<uint32_t>(crc));
}

}  // namespace cats
