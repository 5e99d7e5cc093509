// A small, portable pseudo-random generator: xoshiro256** seeded through splitmix64. The same seed
// gives the same sequence on every platform and standard library (the std distributions do not),
// which keeps sample data, latency draws and sweep samples reproducible.
#pragma once

#include <cstdint>

namespace cats {

class xoshiro256 {
 public:
  explicit xoshiro256(uint64_t seed) noexcept {
    for (uint64_t& w : s_) w = splitmix64(seed);
  }
  /// One step of splitmix64 on state `x`.
  static uint64_t splitmix64(uint64_t& x) noexcept {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t next() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace cats
