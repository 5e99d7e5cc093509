// Seeded random mutations of text (JSON messages) for the parsers' never-crash tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace cats::test {

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
