// The reference strategy: a simple-moving-average crossover.
//
// Long when the fast SMA of closes crosses above the slow SMA; flat (or short, with allow_short)
// when it crosses below. Each entry commits `fraction` of the account's equity. Both averages are
// kept as exact running sums of fixed-point closes over ring buffers, so each bar costs O(1)
// whatever the window lengths.
#include <cats/strategy.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

__extension__ typedef __int128 int128_t;

// A window of the last `n` values with their exact sum.
class rolling_sum {
 public:
  explicit rolling_sum(size_t n) : values_(n, 0) {}
  void push(int64_t v) {
    sum_ += static_cast<int128_t>(v) - values_[next_];  // no int64 overflow, whatever a state held
    values_[next_] = v;
    next_ = (next_ + 1) % values_.size();
    if (count_ < values_.size()) ++count_;
  }
  bool full() const { return count_ == values_.size(); }
  // The average in fixed-point units times the window length is the sum; comparisons of two
  // averages are done on cross-multiplied sums so no division (and no rounding) is needed.
  int128_t sum() const { return sum_; }
  size_t size() const { return values_.size(); }

  void save(cats::state_writer& w) const {
    w.put_vector(values_);
    w.put<uint64_t>(next_);
    w.put<uint64_t>(count_);
  }
  void load(cats::state_reader& r) {
    std::vector<int64_t> v = r.get_vector<int64_t>();
    const auto next = r.get<uint64_t>();
    const auto count = r.get<uint64_t>();
    if (v.size() != values_.size() || next >= v.size() || count > v.size())
      throw cats::bad_state("saved window has " + std::to_string(v.size()) +
                            " values, this instance uses " + std::to_string(values_.size()));
    values_ = std::move(v);
    next_ = static_cast<size_t>(next);
    count_ = static_cast<size_t>(count);
    sum_ = 0;
    for (int64_t x : values_) sum_ += x;
  }

 private:
  std::vector<int64_t> values_;
  size_t next_ = 0;
  size_t count_ = 0;
  int128_t sum_ = 0;
};

class ma_crossover final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"fast", CATS_PARAM_INT, "10", "bars in the fast moving average"},
      {"slow", CATS_PARAM_INT, "30", "bars in the slow moving average"},
      {"symbol", CATS_PARAM_STRING, "\"\"",
       "instrument to trade; empty = the first one that has bars"},
      {"fraction", CATS_PARAM_FLOAT, "1.0", "fraction of equity committed per entry (0, 1]"},
      {"allow_short", CATS_PARAM_BOOL, "false", "go short on a downward cross instead of flat"},
  };

  ma_crossover(cats::context& ctx, const cats::params& p)
      : strategy(ctx),
        fast_len_(p.get_int("fast", 10)),
        slow_len_(p.get_int("slow", 30)),
        fraction_(p.get_float("fraction", 1.0)),
        allow_short_(p.get_bool("allow_short", false)),
        fast_(static_cast<size_t>(fast_len_ > 0 ? fast_len_ : 1)),
        slow_(static_cast<size_t>(slow_len_ > 0 ? slow_len_ : 1)) {
    if (fast_len_ < 1 || slow_len_ < 1)
      throw cats::error("fast and slow must be at least 1 (fast=" + std::to_string(fast_len_) +
                        ", slow=" + std::to_string(slow_len_) + ")");
    if (fast_len_ >= slow_len_)
      throw cats::error("fast (" + std::to_string(fast_len_) + ") must be shorter than slow (" +
                        std::to_string(slow_len_) + ")");
    if (!(fraction_ > 0.0 && fraction_ <= 1.0))
      throw cats::error("fraction must be in (0, 1], got " + std::to_string(fraction_));
    const std::string symbol = p.get_string("symbol", "");
    if (!symbol.empty()) set_instrument(ctx.find_instrument(symbol));
  }

  void on_bar(const cats::bar& b) override {
    if (instrument_.id == 0) set_instrument(ctx().get_instrument(b.instrument_id()));
    if (b.instrument_id() != instrument_.id) return;
    fast_.push(b.close().raw());
    slow_.push(b.close().raw());
    if (!slow_.full()) return;
    // fast_avg - slow_avg has the sign of fast_sum * slow_len - slow_sum * fast_len.
    const int128_t lhs = fast_.sum() * static_cast<int128_t>(slow_len_);
    const int128_t rhs = slow_.sum() * static_cast<int128_t>(fast_len_);
    const int diff = lhs > rhs ? 1 : (lhs < rhs ? -1 : 0);
    const int prev = prev_diff_;
    prev_diff_ = diff;
    if (!has_prev_) {
      has_prev_ = true;  // the first full bar only sets the reference
      return;
    }
    if (prev <= 0 && diff > 0) {
      target(1, b.close());
    } else if (prev >= 0 && diff < 0) {
      target(allow_short_ ? -1 : 0, b.close());
    }
  }

  uint32_t save_state(cats::state_writer& w) const override {
    fast_.save(w);
    slow_.save(w);
    w.put<int32_t>(prev_diff_);
    w.put<uint8_t>(has_prev_ ? 1 : 0);
    return 1;
  }

  void load_state(uint32_t version, cats::state_reader& r) override {
    if (version != 1) throw cats::bad_state("unknown state version " + std::to_string(version));
    fast_.load(r);
    slow_.load(r);
    prev_diff_ = r.get<int32_t>();
    has_prev_ = r.get<uint8_t>() != 0;
  }

 private:
  void set_instrument(cats::instrument i) {
    instrument_ = std::move(i);
    ctx().info("trading ", instrument_.symbol, " fast=", fast_len_, " slow=", slow_len_,
               " fraction=", fraction_, allow_short_ ? " long/short" : " long/flat");
  }

  // Moves the position to `direction` (+1 long, 0 flat, -1 short) sized from equity at `price`.
  void target(int direction, cats::fixed price) {
    const cats::position pos = ctx().position(instrument_.id);
    cats::fixed want;
    if (direction != 0) {
      const double equity = ctx().account().equity.to_double();
      const double qty = equity * fraction_ / price.to_double();
      want = instrument_.round_quantity(cats::fixed::from_double(qty));
      if (direction < 0) want = -want;
    }
    const cats::fixed delta = want - pos.quantity;
    if (delta.is_zero()) return;
    if (delta > cats::fixed())
      ctx().buy_market(instrument_.id, delta);
    else
      ctx().sell_market(instrument_.id, -delta);
  }

  int64_t fast_len_, slow_len_;
  double fraction_;
  bool allow_short_;
  rolling_sum fast_, slow_;
  cats::instrument instrument_;
  int prev_diff_ = 0;
  bool has_prev_ = false;
};

}  // namespace

CATS_EXPORT_STRATEGY(ma_crossover, "ma_crossover", "1.0.0",
                     "Simple moving average crossover: long above, flat or short below")
