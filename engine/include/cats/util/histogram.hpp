// A latency histogram: log-linear buckets (32 per power of two, ~3 % resolution) over ns values,
// constant memory, O(1) record. Percentiles report the bucket's upper bound.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace cats {

class latency_histogram {
 public:
  void record(int64_t ns) noexcept {
    const uint64_t v = ns <= 0 ? 0 : static_cast<uint64_t>(ns);
    ++counts_[index(v)];
    ++total_;
    if (v > max_) max_ = v;
  }
  uint64_t count() const noexcept { return total_; }
  uint64_t max() const noexcept { return max_; }
  /// The value at quantile q in [0, 1] (upper bound of its bucket); 0 when empty.
  uint64_t quantile(double q) const noexcept {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const uint64_t upper = upper_bound(i);
        return upper < max_ ? upper : max_;
      }
    }
    return max_;
  }
  void reset() noexcept { *this = latency_histogram{}; }

 private:
  static constexpr int sub_bits = 5;  // 32 buckets per octave
  static constexpr size_t octaves = 48;
  static size_t index(uint64_t v) noexcept {
    if (v < (1u << sub_bits)) return static_cast<size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const int shift = msb - sub_bits;
    const size_t octave = static_cast<size_t>(shift + 1);
    const size_t sub = static_cast<size_t>((v >> shift) & ((1u << sub_bits) - 1));
    const size_t i = (octave << sub_bits) + sub;
    return i < octaves << sub_bits ? i : (octaves << sub_bits) - 1;
  }
  static uint64_t upper_bound(size_t i) noexcept {
    const size_t octave = i >> sub_bits;
    const uint64_t sub = i & ((1u << sub_bits) - 1);
    if (octave == 0) return sub;
    const int shift = static_cast<int>(octave) - 1;
    return (((uint64_t{1} << sub_bits) | sub) << shift) + ((uint64_t{1} << shift) - 1);
  }
  std::array<uint64_t, octaves << sub_bits> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace cats
