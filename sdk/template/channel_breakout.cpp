// A channel-breakout strategy, as a starting point for your own.
//
// Buys when the close breaks above the highest high of the previous `entry` bars and sells when it
// breaks below the lowest low of the previous `exit` bars. Rolling maxima and minima are kept in
// monotonic queues, so each bar costs O(1) on average.
#include <cats/strategy.hpp>

#include <deque>
#include <string>
#include <utility>

namespace {

// The extreme of the last `n` values; `better(a, b)` is true when a should replace b.
template <class Better>
class rolling_extreme {
 public:
  explicit rolling_extreme(int64_t n) : n_(n) {}
  void push(int64_t index, cats::fixed v) {
    while (!q_.empty() && !Better()(q_.back().second, v)) q_.pop_back();
    q_.emplace_back(index, v);
    while (q_.front().first <= index - n_) q_.pop_front();
  }
  cats::fixed value() const { return q_.front().second; }

 private:
  int64_t n_;
  std::deque<std::pair<int64_t, cats::fixed>> q_;
};

struct greater {
  bool operator()(cats::fixed a, cats::fixed b) const { return a > b; }
};
struct less {
  bool operator()(cats::fixed a, cats::fixed b) const { return a < b; }
};

class channel_breakout final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"entry", CATS_PARAM_INT, "20", "bars in the breakout channel"},
      {"exit", CATS_PARAM_INT, "10", "bars in the exit channel"},
      {"fraction", CATS_PARAM_FLOAT, "1.0", "fraction of equity per entry"},
  };

  channel_breakout(cats::context& ctx, const cats::params& p)
      : strategy(ctx),
        entry_(p.get_int("entry")),
        exit_(p.get_int("exit")),
        fraction_(p.get_float("fraction")),
        highs_(entry_),
        lows_(exit_) {
    if (entry_ < 1 || exit_ < 1) throw cats::error("entry and exit must be at least 1");
    if (!(fraction_ > 0 && fraction_ <= 1)) throw cats::error("fraction must be in (0, 1]");
  }

  void on_bar(const cats::bar& b) override {
    if (instrument_.id == 0) instrument_ = ctx().get_instrument(b.instrument_id());
    if (b.instrument_id() != instrument_.id) return;
    // Compare with the channel of the bars before this one, then add this bar.
    if (bars_ >= entry_ && bars_ >= exit_) {
      const cats::position pos = ctx().position(instrument_.id);
      if (pos.is_flat() && b.close() > highs_.value()) {
        const double equity = ctx().account().equity.to_double();
        const auto qty = instrument_.round_quantity(
            cats::fixed::from_double(equity * fraction_ / b.close().to_double()));
        if (!qty.is_zero()) ctx().buy_market(instrument_.id, qty);
      } else if (pos.is_long() && b.close() < lows_.value()) {
        ctx().sell_market(instrument_.id, pos.quantity);
      }
    }
    highs_.push(bars_, b.high());
    lows_.push(bars_, b.low());
    ++bars_;
  }

 private:
  int64_t entry_, exit_;
  double fraction_;
  rolling_extreme<greater> highs_;
  rolling_extreme<less> lows_;
  int64_t bars_ = 0;
  cats::instrument instrument_;
};

}  // namespace

CATS_EXPORT_STRATEGY(channel_breakout, "channel_breakout", "1.0.0",
                     "Buy breakouts above the entry channel, sell below the exit channel")
