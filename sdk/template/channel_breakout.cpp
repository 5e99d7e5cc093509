// A channel-breakout strategy, as a starting point for your own.
//
// Buys when the close breaks above the highest high of the previous `entry` bars and sells when it
// breaks below the lowest low of the previous `exit` bars. The channels are the SDK's rolling
// extremes (cats/indicators.hpp: O(1) per bar), and they are handed to the next build on hot
// reload, so a reloaded strategy trades on without waiting for its channels to fill again.
#include <cats/indicators.hpp>
#include <cats/strategy.hpp>

#include <string>

namespace {

class channel_breakout final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"entry", CATS_PARAM_INT, "20", "bars in the breakout channel"},
      {"exit", CATS_PARAM_INT, "10", "bars in the exit channel"},
      {"fraction", CATS_PARAM_FLOAT, "1.0", "fraction of equity per entry"},
  };

  channel_breakout(cats::context& ctx, const cats::params& p)
      : strategy(ctx),
        highs_(window(p, "entry")),
        lows_(window(p, "exit")),
        fraction_(p.get_float("fraction")) {
    if (!(fraction_ > 0 && fraction_ <= 1)) throw cats::error("fraction must be in (0, 1]");
  }

  void on_bar(const cats::bar& b) override {
    if (instrument_.id == 0) instrument_ = ctx().get_instrument(b.instrument_id());
    if (b.instrument_id() != instrument_.id) return;
    // Compare with the channel of the bars before this one, then add this bar.
    if (highs_.ready() && lows_.ready()) {
      const cats::position pos = ctx().position(instrument_.id);
      if (pos.is_flat() && b.close() > highs_.extreme()) {
        const double equity = ctx().account().equity.to_double();
        const auto qty = instrument_.round_quantity(
            cats::fixed::from_double(equity * fraction_ / b.close().to_double()));
        if (!qty.is_zero()) ctx().buy_market(instrument_.id, qty);
      } else if (pos.is_long() && b.close() < lows_.extreme()) {
        ctx().sell_market(instrument_.id, pos.quantity);
      }
    }
    highs_.update(b.high());
    lows_.update(b.low());
  }

  uint32_t save_state(cats::state_writer& w) const override {
    highs_.save(w);
    lows_.save(w);
    return 1;
  }
  void load_state(uint32_t version, cats::state_reader& r) override {
    if (version != 1) throw cats::bad_state("unknown state version " + std::to_string(version));
    highs_.load(r);  // refuses a state saved with other channel lengths
    lows_.load(r);
  }

 private:
  static size_t window(const cats::params& p, const char* name) {
    const int64_t n = p.get_int(name);
    if (n < 1) throw cats::error(std::string(name) + " must be at least 1");
    return static_cast<size_t>(n);
  }

  cats::rolling_max highs_;
  cats::rolling_min lows_;
  double fraction_;
  cats::instrument instrument_;
};

}  // namespace

CATS_EXPORT_STRATEGY(channel_breakout, "channel_breakout", "1.0.0",
                     "Buy breakouts above the entry channel, sell below the exit channel")
