// CATS strategy SDK — indicators, bar history and higher timeframes, header-only.
//
// Every indicator is incremental: update() costs O(1) (amortised for the rolling extremes) and
// memory is bounded by the window. Inputs are the exact fixed-point values of the events; sums
// that can be kept exactly are kept in 128-bit integers, so an SMA, WMA, VWAP or true range never
// drifts however long a strategy runs. Smoothed indicators (EMA, RSI, ATR, MACD) are doubles.
//
// Conventions, the same for every class:
//   update(...)   feeds one value (or bar);
//   ready()       true once the window is full; before that value() is NaN;
//   value()       the current value as a double (named accessors for several outputs);
//   save(w) / load(r)  write and restore the full state through the hot-reload state blob, so a
//                 reloaded strategy continues exactly where the old one stopped; load() checks
//                 what it reads and throws cats::bad_state for a blob of another shape;
//   reset()       back to the empty state.
//
// Seeding follows the usual definitions: EMA, Wilder (RSI, ATR) and MACD start from the simple
// average of their first n inputs; variance and the standard deviation are population (ddof 0)
// unless stated; rates of change are in percent. docs/indicators.md lists each formula.
//
//   cats::sma fast{10}, slow{30};
//   void on_bar(const cats::bar& b) override {
//     fast.update(b.close());
//     slow.update(b.close());
//     if (slow.ready() && cats::compare(fast, slow) > 0) { ... }
//   }
#ifndef CATS_INDICATORS_HPP
#define CATS_INDICATORS_HPP

#include <cats/strategy.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace cats {

__extension__ typedef __int128 int128_t;
__extension__ typedef unsigned __int128 uint128_t;

namespace detail {

inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();
inline constexpr double fixed_scale = static_cast<double>(CATS_FIXED_SCALE);

// floor(t / step) for step > 0, with no overflow anywhere in int64.
inline int64_t floor_div(int64_t t, int64_t step) noexcept {
  return t / step - (t % step < 0 ? 1 : 0);
}

inline size_t checked_length(size_t n, const char* what) {
  if (n == 0)
    throw error(std::string(what) + ": the window must be at least 1", CATS_E_INVALID_ARGUMENT);
  if (n > (size_t{1} << 32))
    throw error(std::string(what) + ": window of " + std::to_string(n) + " is too long",
                CATS_E_INVALID_ARGUMENT);
  return n;
}

// a + b, or cats::error when a sum of exact values would leave 128 bits (values far outside any
// market's range): an indicator never wraps around silently.
inline int128_t add_exact(int128_t a, int128_t b, const char* what) {
  int128_t out;
  if (__builtin_add_overflow(a, b, &out))
    throw error(std::string(what) + ": sum out of range", CATS_E_INVALID_ARGUMENT);
  return out;
}
inline int64_t add_exact64(int64_t a, int64_t b, const char* what) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out))
    throw error(std::string(what) + ": sum out of range", CATS_E_INVALID_ARGUMENT);
  return out;
}
inline int128_t mul_exact(int128_t a, int128_t b, const char* what) {
  int128_t out;
  if (__builtin_mul_overflow(a, b, &out))
    throw error(std::string(what) + ": product out of range", CATS_E_INVALID_ARGUMENT);
  return out;
}

// The last `capacity` raw values, newest at age 0. No `%` on the hot path.
class ring {
 public:
  explicit ring(size_t capacity, const char* what = "window")
      : values_(checked_length(capacity, what), 0) {}

  // Adds v; returns true and sets `evicted` when the oldest value left the window.
  bool push(int64_t v, int64_t& evicted) noexcept {
    const bool out = count_ == values_.size();
    evicted = values_[next_];
    values_[next_] = v;
    if (++next_ == values_.size()) next_ = 0;
    if (!out) ++count_;
    return out;
  }
  void push(int64_t v) noexcept {
    int64_t ignored;
    push(v, ignored);
  }
  size_t size() const noexcept { return count_; }
  size_t capacity() const noexcept { return values_.size(); }
  bool full() const noexcept { return count_ == values_.size(); }
  /// 0 = the newest value; age < size().
  int64_t at(size_t age) const noexcept {
    const size_t back = age + 1;
    return next_ >= back ? values_[next_ - back] : values_[next_ + values_.size() - back];
  }
  void clear() noexcept {
    std::fill(values_.begin(), values_.end(), 0);
    next_ = count_ = 0;
  }

  // The layout is the reference plugin's state since 1.0: the slots, the next slot, the count.
  void save(state_writer& w) const {
    w.put_vector(values_);
    w.put<uint64_t>(next_);
    w.put<uint64_t>(count_);
  }
  void load(state_reader& r, const char* what) {
    std::vector<int64_t> v = r.get_vector<int64_t>();
    const auto next = r.get<uint64_t>();
    const auto count = r.get<uint64_t>();
    if (v.size() != values_.size() || next >= v.size() || count > v.size())
      throw bad_state(std::string(what) + ": saved window has " + std::to_string(v.size()) +
                      " values, this instance uses " + std::to_string(values_.size()));
    values_ = std::move(v);
    next_ = static_cast<size_t>(next);
    count_ = static_cast<size_t>(count);
  }

 private:
  std::vector<int64_t> values_;
  size_t next_ = 0;
  size_t count_ = 0;
};

}  // namespace detail

// ------------------------------------------------------------------------------------------------
// Moving averages
// ------------------------------------------------------------------------------------------------

/// Simple moving average of the last n values, kept as an exact sum.
class sma {
 public:
  explicit sma(size_t n) : window_(n, "sma") {}
  void update(fixed x) {
    int64_t old = 0;
    const bool out = window_.push(x.raw(), old);
    // The sum fits in 64 bits for any price a market has (n prices of up to 2^63 need up to
    // 64 + log2(n) bits): 64-bit adds then, 128 bits once it does not fit.
    int64_t s = 0;
    if (!wide_ && !__builtin_add_overflow(narrow_, x.raw(), &s) &&
        !__builtin_sub_overflow(s, out ? old : 0, &s)) {
      narrow_ = s;
      return;
    }
    set_sum(sum() + (static_cast<int128_t>(x.raw()) - (out ? old : 0)));
  }
  bool ready() const noexcept { return window_.full(); }
  double value() const noexcept {
    return ready()
               ? static_cast<double>(sum()) / static_cast<double>(length()) / detail::fixed_scale
               : detail::nan;
  }
  /// The exact sum of the window in raw fixed-point units.
  int128_t sum() const noexcept {
    if (!wide_) return narrow_;
    return static_cast<int128_t>((static_cast<uint128_t>(static_cast<uint64_t>(high_)) << 64) |
                                 static_cast<uint64_t>(narrow_));
  }
  /// The sum when it fits in 64 bits (else false): compare() needs no 128-bit product then.
  bool narrow_sum(int64_t& out) const noexcept {
    out = narrow_;
    return !wide_;
  }
  size_t length() const noexcept { return window_.capacity(); }
  size_t count() const noexcept { return window_.size(); }
  void reset() noexcept {
    window_.clear();
    set_sum(0);
  }
  void save(state_writer& w) const { window_.save(w); }
  void load(state_reader& r) {
    window_.load(r, "sma");
    int128_t s = 0;
    for (size_t i = 0; i < window_.size(); ++i) s += window_.at(i);
    set_sum(s);
  }

 private:
  void set_sum(int128_t s) noexcept {
    wide_ = s < INT64_MIN || s > INT64_MAX;
    narrow_ = static_cast<int64_t>(static_cast<uint64_t>(static_cast<uint128_t>(s)));
    high_ = static_cast<int64_t>(static_cast<uint128_t>(s) >> 64);
  }
  detail::ring window_;
  // The sum: narrow_ alone, or with wide_ the low word of a 128-bit one whose high word is high_
  // (two words, each stored on its own: GCC 12 builds a 16-byte value on the stack and reloads it
  // whole, a failed store forward on every update).
  int64_t narrow_ = 0;
  int64_t high_ = 0;
  bool wide_ = false;
};

/// The sign of a.value() - b.value(), exactly (cross-multiplied sums, no division): -1, 0 or 1.
inline int compare(const sma& a, const sma& b) noexcept {
  int64_t sa = 0, sb = 0;
  int128_t lhs, rhs;
  if (a.narrow_sum(sa) && b.narrow_sum(sb)) {  // 64 x 64 bits: one multiply each
    lhs = static_cast<int128_t>(sa) * static_cast<int64_t>(b.length());
    rhs = static_cast<int128_t>(sb) * static_cast<int64_t>(a.length());
  } else {
    lhs = a.sum() * static_cast<int128_t>(b.length());
    rhs = b.sum() * static_cast<int128_t>(a.length());
  }
  return lhs > rhs ? 1 : (lhs < rhs ? -1 : 0);
}

/// Exponential moving average, seeded with the simple average of the first n values. The
/// smoothing factor is 2 / (n + 1), or 1 / n for Wilder's smoothing (ema::wilder).
class ema {
 public:
  explicit ema(size_t n) : ema(n, 2.0 / (static_cast<double>(n) + 1.0)) {}
  /// Wilder's smoothing (RSI, ATR): the factor is 1 / n.
  static ema wilder(size_t n) { return ema(n, 1.0 / static_cast<double>(n)); }

  void update(fixed x) { update(x.to_double()); }
  void update(double x) noexcept {
    if (count_ < n_) {
      seed_ += x;
      if (++count_ == n_) value_ = seed_ / static_cast<double>(n_);
      return;
    }
    value_ += alpha_ * (x - value_);
  }
  bool ready() const noexcept { return count_ == n_; }
  double value() const noexcept { return ready() ? value_ : detail::nan; }
  size_t length() const noexcept { return n_; }
  size_t count() const noexcept { return count_; }
  double alpha() const noexcept { return alpha_; }
  void reset() noexcept {
    count_ = 0;
    seed_ = value_ = 0;
  }
  void save(state_writer& w) const {
    w.put<uint64_t>(n_);
    w.put<uint64_t>(count_);
    w.put<double>(seed_);
    w.put<double>(value_);
  }
  void load(state_reader& r) {
    const auto n = r.get<uint64_t>();
    const auto count = r.get<uint64_t>();
    const auto seed = r.get<double>();
    const auto value = r.get<double>();
    if (n != n_ || count > n)
      throw bad_state("ema: saved length " + std::to_string(n) + ", this instance uses " +
                      std::to_string(n_));
    count_ = static_cast<size_t>(count);
    seed_ = seed;
    value_ = value;
  }

 private:
  ema(size_t n, double alpha) : n_(detail::checked_length(n, "ema")), alpha_(alpha) {}
  size_t n_;
  double alpha_;
  size_t count_ = 0;
  double seed_ = 0;
  double value_ = 0;
};

/// Linearly weighted moving average: the newest value weighs n, the oldest 1. Exact sums.
class wma {
 public:
  explicit wma(size_t n) : window_(n, "wma") {}
  void update(fixed x) {
    const int128_t v = x.raw();
    int64_t old = 0;
    const bool out = window_.push(x.raw(), old);
    if (out) {
      // Every weight drops by one (the oldest to zero) and x enters with weight n.
      numerator_ = detail::add_exact(numerator_ - sum_, v * static_cast<int128_t>(length()), "wma");
      sum_ += v - old;
    } else {
      numerator_ = detail::add_exact(numerator_, v * static_cast<int128_t>(window_.size()), "wma");
      sum_ += v;
    }
  }
  bool ready() const noexcept { return window_.full(); }
  double value() const noexcept {
    if (!ready()) return detail::nan;
    const double n = static_cast<double>(length());
    return static_cast<double>(numerator_) / (n * (n + 1) / 2) / detail::fixed_scale;
  }
  size_t length() const noexcept { return window_.capacity(); }
  void reset() noexcept {
    window_.clear();
    sum_ = numerator_ = 0;
  }
  void save(state_writer& w) const { window_.save(w); }
  void load(state_reader& r) {
    detail::ring window = window_;  // nothing changes unless the whole state is good
    window.load(r, "wma");
    int128_t sum = 0, numerator = 0;
    const size_t k = window.size();
    try {
      for (size_t age = 0; age < k; ++age) {
        sum += window.at(age);
        numerator = detail::add_exact(
            numerator, detail::mul_exact(window.at(age), static_cast<int128_t>(k - age), "wma"),
            "wma");
      }
    } catch (const error&) {
      throw bad_state("wma: saved values out of range");
    }
    window_ = std::move(window);
    sum_ = sum;
    numerator_ = numerator;
  }

 private:
  detail::ring window_;
  int128_t sum_ = 0;
  int128_t numerator_ = 0;
};

// ------------------------------------------------------------------------------------------------
// Dispersion
// ------------------------------------------------------------------------------------------------

/// Rolling mean, variance and standard deviation of the last n values.
///
/// Numerically stable: the sums are exact integers of the values' distance from a reference
/// point, and the reference moves to the window's mean each time the window has turned over
/// (O(n) every n updates, O(1) amortised). The one rounding is the final division, so there is
/// no cancellation drift however long it runs, unlike the textbook running sum of squares.
class rolling_variance {
 public:
  /// ddof 0: population variance (Bollinger bands); 1: the sample variance (pandas' default).
  explicit rolling_variance(size_t n, unsigned ddof = 0)
      : window_(n, "rolling_variance"), ddof_(ddof) {
    if (ddof > 1) throw error("rolling_variance: ddof must be 0 or 1", CATS_E_INVALID_ARGUMENT);
    if (ddof == 1 && n < 2)
      throw error("rolling_variance: a sample variance needs a window of at least 2",
                  CATS_E_INVALID_ARGUMENT);
  }
  void update(fixed x) {
    const int64_t ref = window_.size() == 0 ? x.raw() : ref_;
    const bool out = window_.full();
    const int64_t old = out ? window_.at(window_.capacity() - 1) : 0;
    // Both sums are worked out before anything changes, so an overflow (values far outside any
    // market) leaves the indicator as it was.
    int128_t sum = sum_, sum_sq = sum_sq_;
    accumulate(sum, sum_sq, ref, x.raw(), +1);
    if (out) accumulate(sum, sum_sq, ref, old, -1);
    window_.push(x.raw());
    ref_ = ref;
    sum_ = sum;
    sum_sq_ = sum_sq;
    if (++since_recentre_ >= window_.capacity()) recentre();
  }
  bool ready() const noexcept { return window_.full(); }
  double mean() const noexcept {
    if (!ready()) return detail::nan;
    return (static_cast<long double>(ref_) +
            static_cast<long double>(sum_) / static_cast<long double>(window_.size())) /
           detail::fixed_scale;
  }
  double variance() const noexcept {
    if (!ready()) return detail::nan;
    const auto n = static_cast<long double>(window_.size());
    const auto s = static_cast<long double>(sum_);
    long double m2 = static_cast<long double>(sum_sq_) - s * s / n;  // sum of squared deviations
    if (m2 < 0) m2 = 0;
    return static_cast<double>(
        m2 / (n - ddof_) / (static_cast<long double>(detail::fixed_scale) * detail::fixed_scale));
  }
  double stdev() const noexcept { return std::sqrt(variance()); }
  double value() const noexcept { return variance(); }
  size_t length() const noexcept { return window_.capacity(); }
  /// The newest value (the one last given to update).
  fixed last() const noexcept { return fixed::from_raw(window_.size() ? window_.at(0) : 0); }
  void reset() noexcept {
    window_.clear();
    ref_ = 0;
    sum_ = sum_sq_ = 0;
    since_recentre_ = 0;
  }
  void save(state_writer& w) const { window_.save(w); }
  void load(state_reader& r) {
    rolling_variance next = *this;  // nothing changes unless the whole state is good
    next.window_.load(r, "rolling_variance");
    try {
      next.recentre();
    } catch (const bad_state&) {
      throw;
    } catch (const error&) {
      throw bad_state("rolling_variance: saved values out of range");
    }
    *this = std::move(next);
  }

 private:
  static void accumulate(int128_t& sum, int128_t& sum_sq, int64_t ref, int64_t v, int sign) {
    const int128_t d = static_cast<int128_t>(v) - ref;
    const int128_t sq = detail::mul_exact(d, d, "rolling_variance");
    sum = detail::add_exact(sum, sign * d, "rolling_variance");
    sum_sq = detail::add_exact(sum_sq, sign * sq, "rolling_variance");
  }
  void recentre() {
    since_recentre_ = 0;
    const size_t k = window_.size();
    if (k == 0) return;
    int128_t total = 0;
    for (size_t i = 0; i < k; ++i) total += window_.at(i);
    // The mean is inside the window's range, so every distance fits where the values did.
    const auto ref = static_cast<int64_t>(total / static_cast<int128_t>(k));
    int128_t sum = 0, sum_sq = 0;
    for (size_t i = 0; i < k; ++i) accumulate(sum, sum_sq, ref, window_.at(i), +1);
    ref_ = ref;
    sum_ = sum;
    sum_sq_ = sum_sq;
  }

  detail::ring window_;
  unsigned ddof_;
  int64_t ref_ = 0;
  int128_t sum_ = 0;     // sum of (x - ref)
  int128_t sum_sq_ = 0;  // sum of (x - ref)^2
  size_t since_recentre_ = 0;
};

/// Rolling standard deviation: rolling_variance under the name people look for.
class rolling_stdev : public rolling_variance {
 public:
  using rolling_variance::rolling_variance;
  double value() const noexcept { return stdev(); }
};

/// How many standard deviations the newest value lies from the window's mean (population
/// deviation, window including the newest value); NaN while the window is not full or flat.
class zscore {
 public:
  explicit zscore(size_t n) : var_(n) {}
  void update(fixed x) { var_.update(x); }
  bool ready() const noexcept { return var_.ready(); }
  double value() const noexcept {
    const double sd = var_.stdev();
    if (!(sd > 0)) return detail::nan;
    return (var_.last().to_double() - var_.mean()) / sd;
  }
  void reset() noexcept { var_.reset(); }
  void save(state_writer& w) const { var_.save(w); }
  void load(state_reader& r) { var_.load(r); }

 private:
  rolling_variance var_;
};

/// Bollinger bands: the n-value SMA and k population standard deviations either side.
class bollinger {
 public:
  explicit bollinger(size_t n = 20, double k = 2.0) : var_(n), k_(k) {
    if (!(k > 0)) throw error("bollinger: k must be positive", CATS_E_INVALID_ARGUMENT);
  }
  void update(fixed x) { var_.update(x); }
  bool ready() const noexcept { return var_.ready(); }
  double middle() const noexcept { return var_.mean(); }
  double upper() const noexcept { return var_.mean() + k_ * var_.stdev(); }
  double lower() const noexcept { return var_.mean() - k_ * var_.stdev(); }
  double value() const noexcept { return middle(); }
  /// (upper - lower) / middle.
  double bandwidth() const noexcept { return (upper() - lower()) / middle(); }
  /// Where the newest value sits in the band: 0 at the lower, 1 at the upper; NaN when flat.
  double percent_b() const noexcept {
    const double width = upper() - lower();
    return width > 0 ? (var_.last().to_double() - lower()) / width : detail::nan;
  }
  void reset() noexcept { var_.reset(); }
  void save(state_writer& w) const { var_.save(w); }
  void load(state_reader& r) { var_.load(r); }

 private:
  rolling_variance var_;
  double k_;
};

// ------------------------------------------------------------------------------------------------
// Extremes
// ------------------------------------------------------------------------------------------------

namespace detail {

// The extreme of the last n values in a monotonic queue: amortised O(1) per value.
template <bool Max>
class rolling_extreme {
 public:
  explicit rolling_extreme(size_t n, const char* what) : n_(checked_length(n, what)), what_(what) {}
  void update(fixed x) {
    const int64_t v = x.raw();
    while (!q_.empty() && (Max ? q_.back().second <= v : q_.back().second >= v)) q_.pop_back();
    q_.emplace_back(seq_, v);
    ++seq_;
    while (seq_ - q_.front().first > n_) q_.pop_front();  // the newest always stays
  }
  bool ready() const noexcept { return seq_ >= n_; }
  fixed extreme() const noexcept { return fixed::from_raw(q_.empty() ? 0 : q_.front().second); }
  double value() const noexcept { return ready() ? extreme().to_double() : nan; }
  void reset() noexcept {
    q_.clear();
    seq_ = 0;
  }
  void save(state_writer& w) const {
    w.put<uint64_t>(n_);
    w.put<uint64_t>(seq_);
    w.put<uint64_t>(q_.size());
    for (const auto& [s, v] : q_) {
      w.put<uint64_t>(s);
      w.put<int64_t>(v);
    }
  }
  void load(state_reader& r) {
    const auto n = r.get<uint64_t>();
    const auto seq = r.get<uint64_t>();
    const auto size = r.get<uint64_t>();
    if (n != n_ || size > n || size > r.remaining() / 16 || (size == 0) != (seq == 0) ||
        seq > (uint64_t{1} << 62))
      throw bad_state(std::string(what_) + ": saved window does not match this instance");
    std::deque<std::pair<uint64_t, int64_t>> q;
    for (uint64_t i = 0; i < size; ++i) {
      const auto s = r.get<uint64_t>();
      const auto v = r.get<int64_t>();
      // Entries are in order, inside the window, the newest last, and monotonic.
      const bool ordered =
          q.empty() || (s > q.back().first && (Max ? v < q.back().second : v > q.back().second));
      if (!ordered || s >= seq || s + n < seq || (i + 1 == size && s + 1 != seq))
        throw bad_state(std::string(what_) + ": saved queue is not a valid window");
      q.emplace_back(s, v);
    }
    q_ = std::move(q);
    seq_ = seq;
  }

 private:
  uint64_t n_;
  const char* what_;
  uint64_t seq_ = 0;  // values seen
  std::deque<std::pair<uint64_t, int64_t>> q_;
};

}  // namespace detail

/// The highest of the last n values (exact).
class rolling_max : public detail::rolling_extreme<true> {
 public:
  explicit rolling_max(size_t n) : rolling_extreme(n, "rolling_max") {}
};
/// The lowest of the last n values (exact).
class rolling_min : public detail::rolling_extreme<false> {
 public:
  explicit rolling_min(size_t n) : rolling_extreme(n, "rolling_min") {}
};

/// Donchian channel: the highest high and lowest low of the last n bars.
class donchian {
 public:
  explicit donchian(size_t n) : highs_(n), lows_(n) {}
  void update(fixed high, fixed low) {
    highs_.update(high);
    lows_.update(low);
  }
  void update(const bar& b) { update(b.high(), b.low()); }
  bool ready() const noexcept { return highs_.ready(); }
  fixed upper() const noexcept { return highs_.extreme(); }
  fixed lower() const noexcept { return lows_.extreme(); }
  double middle() const noexcept {
    return ready() ? (upper().to_double() + lower().to_double()) / 2 : detail::nan;
  }
  double value() const noexcept { return middle(); }
  void reset() noexcept {
    highs_.reset();
    lows_.reset();
  }
  void save(state_writer& w) const {
    highs_.save(w);
    lows_.save(w);
  }
  void load(state_reader& r) {
    highs_.load(r);
    lows_.load(r);
  }

 private:
  rolling_max highs_;
  rolling_min lows_;
};

// ------------------------------------------------------------------------------------------------
// Momentum and volatility
// ------------------------------------------------------------------------------------------------

/// Rate of change in percent over n values: 100 * (x - x[n ago]) / x[n ago].
class roc {
 public:
  explicit roc(size_t n) : window_(detail::checked_length(n, "roc") + 1, "roc") {}
  void update(fixed x) { window_.push(x.raw()); }
  bool ready() const noexcept { return window_.full(); }
  double value() const noexcept {
    if (!ready()) return detail::nan;
    const int64_t then = window_.at(window_.capacity() - 1);
    if (then == 0) return detail::nan;
    return 100.0 * static_cast<double>(static_cast<int128_t>(window_.at(0)) - then) /
           static_cast<double>(then);
  }
  void reset() noexcept { window_.clear(); }
  void save(state_writer& w) const { window_.save(w); }
  void load(state_reader& r) { window_.load(r, "roc"); }

 private:
  detail::ring window_;
};

/// Relative strength index with Wilder's smoothing, 0..100. Ready after n changes (n + 1
/// values). With no losses in the window it is 100; with no movement at all, 50.
class rsi {
 public:
  explicit rsi(size_t n = 14) : gains_(ema::wilder(n)), losses_(ema::wilder(n)) {}
  void update(fixed x) {
    if (has_prev_) {
      const double change =
          static_cast<double>(static_cast<int128_t>(x.raw()) - prev_) / detail::fixed_scale;
      gains_.update(change > 0 ? change : 0.0);
      losses_.update(change < 0 ? -change : 0.0);
    }
    prev_ = x.raw();
    has_prev_ = true;
  }
  bool ready() const noexcept { return gains_.ready(); }
  double value() const noexcept {
    if (!ready()) return detail::nan;
    const double g = gains_.value(), l = losses_.value();
    if (l == 0) return g == 0 ? 50.0 : 100.0;
    return 100.0 - 100.0 / (1.0 + g / l);
  }
  void reset() noexcept {
    gains_.reset();
    losses_.reset();
    has_prev_ = false;
    prev_ = 0;
  }
  void save(state_writer& w) const {
    gains_.save(w);
    losses_.save(w);
    w.put<int64_t>(prev_);
    w.put<uint8_t>(has_prev_ ? 1 : 0);
  }
  void load(state_reader& r) {
    ema gains = gains_, losses = losses_;
    gains.load(r);
    losses.load(r);
    const auto prev = r.get<int64_t>();
    const auto has_prev = r.get<uint8_t>();
    // Every change feeds both averages, and there are changes only after a first value.
    if (gains.count() != losses.count() || has_prev > 1 || (gains.count() > 0 && has_prev == 0))
      throw bad_state("rsi: saved averages do not belong together");
    gains_ = gains;
    losses_ = losses;
    prev_ = prev;
    has_prev_ = has_prev != 0;
  }

 private:
  ema gains_, losses_;
  int64_t prev_ = 0;
  bool has_prev_ = false;
};

/// MACD: EMA(fast) - EMA(slow), its EMA(signal), and the histogram (line - signal). The signal
/// line starts once the slow EMA is ready.
class macd {
 public:
  explicit macd(size_t fast = 12, size_t slow = 26, size_t signal = 9)
      : fast_(fast), slow_(slow), signal_(signal) {
    if (fast >= slow) throw error("macd: fast must be shorter than slow", CATS_E_INVALID_ARGUMENT);
  }
  void update(fixed x) {
    fast_.update(x);
    slow_.update(x);
    if (slow_.ready()) signal_.update(line());
  }
  bool ready() const noexcept { return signal_.ready(); }
  /// The MACD line; available (not NaN) as soon as the slow EMA is ready.
  double line() const noexcept { return fast_.value() - slow_.value(); }
  double signal() const noexcept { return signal_.value(); }
  double histogram() const noexcept { return line() - signal(); }
  double value() const noexcept { return ready() ? line() : detail::nan; }
  void reset() noexcept {
    fast_.reset();
    slow_.reset();
    signal_.reset();
  }
  void save(state_writer& w) const {
    fast_.save(w);
    slow_.save(w);
    signal_.save(w);
  }
  void load(state_reader& r) {
    ema fast = fast_, slow = slow_, signal = signal_;
    fast.load(r);
    slow.load(r);
    signal.load(r);
    // Both averages saw the same values (the faster one fills first); the signal line starts
    // once the slow EMA is ready.
    const bool together =
        slow.ready() ? fast.ready()
                     : signal.count() == 0 && fast.count() == std::min(slow.count(), fast.length());
    if (!together) throw bad_state("macd: saved averages do not belong together");
    fast_ = fast;
    slow_ = slow;
    signal_ = signal;
  }

 private:
  ema fast_, slow_, signal_;
};

/// True range: the largest of high - low, |high - previous close| and |low - previous close|
/// (high - low for the first bar). Exact.
class true_range {
 public:
  void update(fixed high, fixed low, fixed close) {
    // In 128 bits: the differences of two extreme values do not fit in 64.
    const int128_t h = high.raw(), l = low.raw(), c = prev_close_.raw();
    int128_t tr = h - l;
    if (has_prev_) tr = std::max({tr, h - c, c - l});
    if (tr > std::numeric_limits<int64_t>::max() || tr < std::numeric_limits<int64_t>::min())
      throw error("true_range: range out of range", CATS_E_INVALID_ARGUMENT);
    value_ = fixed::from_raw(static_cast<int64_t>(tr));
    prev_close_ = close;
    has_prev_ = true;
  }
  void update(const bar& b) { update(b.high(), b.low(), b.close()); }
  bool ready() const noexcept { return has_prev_; }
  fixed range() const noexcept { return value_; }
  double value() const noexcept { return has_prev_ ? value_.to_double() : detail::nan; }
  void reset() noexcept {
    has_prev_ = false;
    value_ = prev_close_ = fixed{};
  }
  void save(state_writer& w) const {
    w.put<int64_t>(value_.raw());
    w.put<int64_t>(prev_close_.raw());
    w.put<uint8_t>(has_prev_ ? 1 : 0);
  }
  void load(state_reader& r) {
    value_ = fixed::from_raw(r.get<int64_t>());
    prev_close_ = fixed::from_raw(r.get<int64_t>());
    has_prev_ = r.get<uint8_t>() != 0;
  }

 private:
  fixed value_, prev_close_;
  bool has_prev_ = false;
};

/// Average true range with Wilder's smoothing, seeded with the mean of the first n true ranges.
class atr {
 public:
  explicit atr(size_t n = 14) : avg_(ema::wilder(n)) {}
  void update(fixed high, fixed low, fixed close) {
    tr_.update(high, low, close);
    avg_.update(tr_.range());
  }
  void update(const bar& b) { update(b.high(), b.low(), b.close()); }
  bool ready() const noexcept { return avg_.ready(); }
  double value() const noexcept { return avg_.value(); }
  void reset() noexcept {
    tr_.reset();
    avg_.reset();
  }
  void save(state_writer& w) const {
    tr_.save(w);
    avg_.save(w);
  }
  void load(state_reader& r) {
    tr_.load(r);
    avg_.load(r);
  }

 private:
  true_range tr_;
  ema avg_;
};

/// Volume-weighted average price since the start of the session: bars weigh their typical price
/// (high + low + close) / 3 by volume, trades their price by quantity. With a session length
/// (e.g. one day in ns) it starts over at each multiple of it since the Unix epoch (UTC); 0 never
/// resets. Exact sums.
class vwap {
 public:
  explicit vwap(int64_t session_ns = 0) : session_ns_(session_ns) {
    if (session_ns < 0)
      throw error("vwap: session length must not be negative", CATS_E_INVALID_ARGUMENT);
  }
  void update(const bar& b) {
    roll(b.open_time_ns());
    const int128_t typical3 =
        static_cast<int128_t>(b.high().raw()) + b.low().raw() + b.close().raw();
    add(typical3, b.volume().raw());
  }
  void update(const trade& t) { update(t.time_ns(), t.price(), t.quantity()); }
  void update(int64_t time_ns, fixed price, fixed quantity) {
    roll(time_ns);
    add(static_cast<int128_t>(price.raw()) * 3, quantity.raw());
  }
  /// True once some volume has been seen this session.
  bool ready() const noexcept { return volume_ > 0; }
  double value() const noexcept {
    return ready() ? static_cast<double>(static_cast<long double>(pv3_) /
                                         (3.0L * static_cast<long double>(volume_)) /
                                         detail::fixed_scale)
                   : detail::nan;
  }
  void reset() noexcept {
    pv3_ = volume_ = 0;
    session_ = std::numeric_limits<int64_t>::min();
  }
  void save(state_writer& w) const {
    w.put<int64_t>(session_ns_);
    w.put<int64_t>(session_);
    w.put<int128_t>(pv3_);
    w.put<int128_t>(volume_);
  }
  void load(state_reader& r) {
    const auto len = r.get<int64_t>();
    const auto session = r.get<int64_t>();
    const auto pv3 = r.get<int128_t>();
    const auto volume = r.get<int128_t>();
    if (len != session_ns_ || volume < 0 || (volume == 0 && pv3 != 0))
      throw bad_state("vwap: saved session length " + std::to_string(len) +
                      " ns, this instance uses " + std::to_string(session_ns_));
    session_ = session;
    pv3_ = pv3;
    volume_ = volume;
  }

 private:
  void roll(int64_t time_ns) {
    if (session_ns_ == 0) return;
    const int64_t s = detail::floor_div(time_ns, session_ns_);
    if (s != session_) {
      pv3_ = volume_ = 0;
      session_ = s;
    }
  }
  void add(int128_t price3, int64_t quantity) {
    if (quantity <= 0) return;
    const int128_t pv3 =
        detail::add_exact(pv3_, detail::mul_exact(price3, quantity, "vwap"), "vwap");
    volume_ = detail::add_exact(volume_, quantity, "vwap");
    pv3_ = pv3;
  }
  int64_t session_ns_;
  int64_t session_ = std::numeric_limits<int64_t>::min();
  int128_t pv3_ = 0;     // sum of 3 * price * quantity, raw units
  int128_t volume_ = 0;  // sum of quantity, raw units
};

// ------------------------------------------------------------------------------------------------
// Bar history and higher timeframes
// ------------------------------------------------------------------------------------------------

/// A bar as kept in a history: the values, copied out of the event.
struct bar_record {
  int64_t open_time_ns = 0;
  int64_t close_time_ns = 0;  ///< the end of the interval
  fixed open, high, low, close, volume;
  int64_t trade_count = 0;
};

inline bar_record record_of(const bar& b) noexcept {
  return {b.open_time_ns(), b.time_ns(), b.open(),   b.high(),
          b.low(),          b.close(),   b.volume(), b.trade_count()};
}

/// The last n bars of one instrument, newest at [0].
class bar_series {
 public:
  // The storage grows with the bars up to `depth`: a deep history of an instrument that has had
  // few bars (or a state blob that names many instruments) costs only what it holds.
  explicit bar_series(size_t depth) : depth_(detail::checked_length(depth, "history")) {}
  void push(const bar_record& b) {
    if (bars_.size() < depth_) {
      bars_.push_back(b);
      next_ = bars_.size() == depth_ ? 0 : bars_.size();
    } else {
      bars_[next_] = b;
      if (++next_ == depth_) next_ = 0;
    }
    count_ = bars_.size();
  }
  size_t size() const noexcept { return count_; }
  size_t capacity() const noexcept { return depth_; }
  bool empty() const noexcept { return count_ == 0; }
  bool full() const noexcept { return count_ == depth_; }
  /// 0 = the newest bar; throws cats::error past the oldest kept.
  const bar_record& operator[](size_t age) const {
    if (age >= count_)
      throw error("history: bar " + std::to_string(age) + " back asked, " + std::to_string(count_) +
                  " kept");
    const size_t back = age + 1;
    return next_ >= back ? bars_[next_ - back] : bars_[next_ + bars_.size() - back];
  }
  void save(state_writer& w) const {
    w.put<uint64_t>(count_);
    for (size_t age = count_; age-- > 0;) w.put((*this)[age]);
  }
  void load(state_reader& r) {
    const auto count = r.get<uint64_t>();
    if (count > r.remaining() / sizeof(bar_record))
      throw bad_state("history: saved series is truncated");
    if (count == 0) throw bad_state("history: saved series is empty");
    bars_.clear();
    next_ = count_ = 0;
    // A deeper saved history keeps its newest bars.
    for (uint64_t i = 0; i < count; ++i) push(r.get<bar_record>());
  }

 private:
  size_t depth_;
  std::vector<bar_record> bars_;
  size_t next_ = 0;
  size_t count_ = 0;
};

/// The last `depth` bars of each instrument a strategy sees; push every bar, then ask for
/// `history(instrument)[age]` or `history.last(instrument, n)`.
class bar_history {
 public:
  explicit bar_history(size_t depth) : depth_(detail::checked_length(depth, "history")) {}
  void push(const bar& b) { push(b.instrument_id(), record_of(b)); }
  void push(uint32_t instrument_id, const bar_record& b) { series_for(instrument_id).push(b); }
  /// The series of one instrument (empty when it has had no bar yet).
  const bar_series& operator()(uint32_t instrument_id) const {
    for (const auto& [id, s] : series_)
      if (id == instrument_id) return s;
    return empty_;
  }
  /// The last n bars of an instrument, oldest first (fewer when fewer were seen).
  std::vector<bar_record> last(uint32_t instrument_id, size_t n) const {
    const bar_series& s = (*this)(instrument_id);
    const size_t k = std::min(n, s.size());
    std::vector<bar_record> out;
    out.reserve(k);
    for (size_t age = k; age-- > 0;) out.push_back(s[age]);
    return out;
  }
  size_t depth() const noexcept { return depth_; }
  void save(state_writer& w) const {
    w.put<uint64_t>(series_.size());
    for (const auto& [id, s] : series_) {
      w.put<uint32_t>(id);
      s.save(w);
    }
  }
  void load(state_reader& r) {
    const auto n = r.get<uint64_t>();
    // Each saved instrument holds at least one bar.
    if (n > r.remaining() / (12 + sizeof(bar_record)))
      throw bad_state("history: saved instrument count is too large");
    std::vector<std::pair<uint32_t, bar_series>> loaded;
    for (uint64_t i = 0; i < n; ++i) {
      const auto id = r.get<uint32_t>();
      for (const auto& [other, s] : loaded)
        if (other == id)
          throw bad_state("history: instrument " + std::to_string(id) + " saved twice");
      loaded.emplace_back(id, bar_series(depth_));
      loaded.back().second.load(r);
    }
    series_ = std::move(loaded);
  }

 private:
  bar_series& series_for(uint32_t id) {
    for (auto& [sid, s] : series_)
      if (sid == id) return s;
    series_.emplace_back(id, bar_series(depth_));
    return series_.back().second;
  }
  size_t depth_;
  std::vector<std::pair<uint32_t, bar_series>> series_;  // few instruments: a scan beats a map
  bar_series empty_{1};
};

/// Builds bars of a longer interval (5m, 1h, 1d …) from the bars a strategy receives, aligned to
/// multiples of the interval since the Unix epoch (UTC), as the venues align klines. A bar is
/// handed on the moment the last input bar of its interval closes (no waiting for the next
/// one); if input bars are missing at the end of an interval, the partial bar is handed on when
/// the first bar of a later interval arrives. The same input gives the same bars in backtest,
/// paper and live.
///
///   cats::resampler hourly{3600 * cats::resampler::second};
///   void on_bar(const cats::bar& b) override {
///     hourly.update(b, [&](const cats::bar& h) { on_hour(h); });
///   }
class resampler {
 public:
  static constexpr int64_t second = 1'000'000'000;
  explicit resampler(int64_t interval_ns) : interval_(interval_ns) {
    if (interval_ns <= 0)
      throw error("resampler: interval must be positive", CATS_E_INVALID_ARGUMENT);
  }
  /// Adds one input bar (one instrument per resampler); calls on_bar(const cats::bar&) for each
  /// bar it completes: none, one, or two (a partial one cut off by a gap, then this one).
  template <class F>
  void update(const bar& b, F&& on_bar) {
    const int64_t start = floor_to(b.open_time_ns());
    if (open_ && start != out_.open_time_ns) emit(on_bar);
    if (!open_) {
      out_ = b.raw();
      out_.open_time_ns = start;
      out_.interval_ns = interval_;
      out_.header.struct_size = sizeof out_;
      out_.header.exchange_ts_ns = start + interval_;
      open_ = true;
    } else {
      // The whole bar first: an overflow of a sum (a corrupt state) leaves it as it was.
      cats_bar_event_t next = out_;
      if (b.raw().high > next.high) next.high = b.raw().high;
      if (b.raw().low < next.low) next.low = b.raw().low;
      next.close = b.raw().close;
      next.volume = detail::add_exact64(next.volume, b.raw().volume, "resampler");
      next.quote_volume = detail::add_exact64(next.quote_volume, b.raw().quote_volume, "resampler");
      next.taker_buy_volume =
          detail::add_exact64(next.taker_buy_volume, b.raw().taker_buy_volume, "resampler");
      next.taker_buy_quote_volume = detail::add_exact64(
          next.taker_buy_quote_volume, b.raw().taker_buy_quote_volume, "resampler");
      next.trade_count = detail::add_exact64(next.trade_count, b.raw().trade_count, "resampler");
      next.header.local_ts_ns = b.raw().header.local_ts_ns;
      out_ = next;
    }
    if (b.time_ns() >= out_.open_time_ns + interval_) emit(on_bar);
  }
  int64_t interval_ns() const noexcept { return interval_; }
  /// The bar being built, if any (its close so far is the last input close).
  std::optional<bar_record> partial() const {
    if (!open_) return std::nullopt;
    return record_of(bar(out_));
  }
  void reset() noexcept { open_ = false; }
  void save(state_writer& w) const {
    w.put<int64_t>(interval_);
    w.put<uint8_t>(open_ ? 1 : 0);
    w.put(out_);
  }
  void load(state_reader& r) {
    const auto interval = r.get<int64_t>();
    const auto flag = r.get<uint8_t>();
    const auto out = r.get<cats_bar_event_t>();
    if (interval != interval_)
      throw bad_state("resampler: saved interval " + std::to_string(interval) +
                      " ns, this instance uses " + std::to_string(interval_));
    // An open bar must be one this resampler could have built: aligned, of its interval, ending
    // where its interval ends.
    if (flag > 1 ||
        (flag == 1 && (out.interval_ns != interval_ || out.open_time_ns % interval_ != 0 ||
                       out.open_time_ns > INT64_MAX - interval_ ||
                       out.header.exchange_ts_ns != out.open_time_ns + interval_ ||
                       out.header.struct_size != sizeof out || out.high < out.low)))
      throw bad_state("resampler: saved bar is not one this resampler builds");
    open_ = flag == 1;
    out_ = out;
  }

 private:
  // The start of t's interval; a time within one interval of INT64_MIN (only a damaged or hostile
  // input has one) saturates instead of overflowing.
  int64_t floor_to(int64_t t) const noexcept {
    const int64_t r = t % interval_;  // in (-interval, interval)
    if (r >= 0) return t - r;
    const int64_t up = t - r;  // t rounded towards zero: no overflow
    return up >= INT64_MIN + interval_ ? up - interval_ : INT64_MIN;
  }
  template <class F>
  void emit(F& on_bar) {
    open_ = false;  // first, so a throwing callback does not hand the same bar on twice
    const cats_bar_event_t done = out_;
    on_bar(bar(done));
  }
  int64_t interval_;
  bool open_ = false;
  cats_bar_event_t out_{};
};

}  // namespace cats

#endif  // CATS_INDICATORS_HPP
