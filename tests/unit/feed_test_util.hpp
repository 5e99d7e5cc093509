// What the venue parser tests share: a sink that keeps every event, exact decimals, header checks,
// padded messages, skipping when the shared market data is absent, and seeded mutations of text
// for the never-crash tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/venues/feed.hpp"

namespace cats::test {

/// The receive time the tests pass to the parsers.
inline constexpr int64_t local_ts = 1'700'000'000'123'456'789;

struct recording_sink final : feed_sink {
  std::vector<cats_trade_event_t> trades;
  std::vector<cats_quote_event_t> quotes;
  std::vector<cats_bar_event_t> bars;
  std::vector<book_update> books;
  void on_trade(const cats_trade_event_t& e) override { trades.push_back(e); }
  void on_quote(const cats_quote_event_t& e) override { quotes.push_back(e); }
  void on_bar(const cats_bar_event_t& e) override { bars.push_back(e); }
  void on_book(book_update&& u) override { books.push_back(std::move(u)); }
  size_t total() const { return trades.size() + quotes.size() + bars.size() + books.size(); }
};

/// Exact fixed-point of a decimal literal, through the engine's reference parser.
inline int64_t fx(std::string_view s) {
  int64_t v = 0;
  EXPECT_EQ(parse_fixed(s, v), parse_error::ok) << s;
  return v;
}

/// A message with the padding simdjson needs behind it.
struct padded {
  explicit padded(std::string text) : size(text.size()), buf(std::move(text)) {
    buf.append(64, ' ');
  }
  const char* data() const { return buf.data(); }
  size_t size;
  std::string buf;
};

inline void expect_header(const cats_event_t& h, uint32_t size, cats_event_type type, uint32_t id,
                          int64_t exchange_ns, int64_t local_ns = local_ts) {
  EXPECT_EQ(h.struct_size, size);
  EXPECT_EQ(h.type, type);
  EXPECT_EQ(h.instrument_id, id);
  EXPECT_EQ(h.flags, 0u);
  EXPECT_EQ(h.exchange_ts_ns, exchange_ns);
  EXPECT_EQ(h.local_ts_ns, local_ns);
}

/// Skips the test, saying so, when a folder of the shared market data is missing.
#define CATS_REQUIRE_DIR(dir)                                                    \
  do {                                                                           \
    if (!std::filesystem::exists(dir)) {                                         \
      GTEST_SKIP() << "shared market data is missing: " << (dir)                 \
                   << " (set CATS_SHARED_DATA to the folder holding messages/)"; \
    }                                                                            \
  } while (0)

/// splitmix64: a small deterministic generator; `s` is its state.
inline uint64_t next_random(uint64_t& s) {
  s += 0x9E3779B97F4A7C15ull;
  uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// 1 to 6 random edits (replace, insert, delete, truncate, duplicate, swap) biased to JSON syntax.
inline std::string mutate(std::string s, uint64_t& rng) {
  static const char alphabet[] = "0123456789.-+eE\"{}[]:, \\ntruefalsnl\x01\xff";
  const int edits = 1 + static_cast<int>(next_random(rng) % 6);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const size_t at = next_random(rng) % s.size();
    const char c = alphabet[next_random(rng) % (sizeof alphabet - 1)];
    switch (next_random(rng) % 6) {
      case 0:
        s[at] = c;
        break;
      case 1:
        s.insert(at, 1, c);
        break;
      case 2:
        s.erase(at, 1 + next_random(rng) % 12);
        break;
      case 3:
        s.resize(at);
        break;
      case 4:
        s.insert(at, s.substr(next_random(rng) % s.size(), 1 + next_random(rng) % 20));
        break;
      default:
        std::swap(s[at], s[next_random(rng) % s.size()]);
        break;
    }
  }
  return s;
}

}  // namespace cats::test
