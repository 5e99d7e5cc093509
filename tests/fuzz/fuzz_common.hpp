// What the fuzz targets share: the trap on a broken promise, simdjson's padding, the checks on
// book levels and books, a private work folder removed at exit, and the seed generators' RNG.
#pragma once

#include <simdjson.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/core/market_event.hpp"

namespace cats::fuzz {

/// Traps (a crash libFuzzer reports with the input) when an API's promise does not hold.
inline void require(bool holds) {
  if (!holds) __builtin_trap();
}

/// The RNG of the seed generators (splitmix64): the mutation driver and seed_writer.cpp.
inline uint64_t splitmix(uint64_t& s) {
  s += 0x9E3779B97F4A7C15ull;
  uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// A message copied in front of the zeroed padding that simdjson reads past its end.
class padded_message {
 public:
  const char* set(std::string_view text) {
    buf_.assign(text);
    buf_.append(simdjson::SIMDJSON_PADDING, '\0');
    return buf_.data();
  }

 private:
  std::string buf_;
};

/// Levels one side of one venue message may carry (venues::max_levels_per_message).
constexpr size_t max_message_levels = 20'000;

/// Levels as the venue parsers read them: non-negative decimals (venues::parse_decimal refuses a
/// sign), at most max_message_levels a side (venues::read_levels).
inline void check_levels(const std::vector<book_level>& side) {
  require(side.size() <= max_message_levels);
  for (const book_level& l : side) require(l.price >= 0 && l.quantity >= 0);
}

/// What order_book keeps: best first on each side, no level of quantity 0 (a 0 removes it, and
/// the parsers give no negative ones), at most max_levels a side.
inline void check_book(const order_book& book) {
  const auto& bids = book.bids();
  const auto& asks = book.asks();
  require(bids.size() <= order_book::max_levels && asks.size() <= order_book::max_levels);
  for (size_t i = 0; i < bids.size(); ++i)
    require(bids[i].quantity > 0 && (i == 0 || bids[i - 1].price > bids[i].price));
  for (size_t i = 0; i < asks.size(); ++i)
    require(asks[i].quantity > 0 && (i == 0 || asks[i - 1].price < asks[i].price));
}

/// A private folder "/tmp/<prefix>-XXXXXX", made on first use (then `prepare(dir)`, which
/// returns false on failure), removed at exit. Empty when it could not be made.
template <class Prepare>
const std::filesystem::path& work_dir(const char* prefix, Prepare prepare) {
  static std::filesystem::path dir;
  static const bool made = [&] {
    std::string name = std::string("/tmp/") + prefix + "-XXXXXX";
    if (mkdtemp(name.data()) == nullptr) return false;
    dir = name;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    });
    return prepare(dir);
  }();
  static const std::filesystem::path none;
  return made ? dir : none;
}

/// The message as a pretty printer writes it: a line break after '{', '[' and ',', a space after
/// ':' (outside strings). Only for a message alone: a session is one message a line.
inline std::string spread(const std::string& s) {
  std::string out;
  bool in_string = false;
  bool escaped = false;
  for (const char c : s) {
    out += c;
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[' || c == ',') {
      out += "\n  ";
    } else if (c == ':') {
      out += ' ';
    }
  }
  return out;
}

}  // namespace cats::fuzz
