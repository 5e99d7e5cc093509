// Bollinger mean reversion: buy below the lower band, sell at the middle; the bands are plotted.
#include <cats/indicators.hpp>
#include <cats/strategy.hpp>

class bollinger_reversion final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"window", CATS_PARAM_INT, "20", "bars in the moving average and deviation"},
      {"width", CATS_PARAM_FLOAT, "2.0", "standard deviations from the middle to each band"},
  };
  bollinger_reversion(cats::context& ctx, const cats::params& p)
      : strategy(ctx), bands_(static_cast<size_t>(p.get_int("window")), p.get_float("width")) {}
  void on_bar(const cats::bar& b) override {
    bands_.update(b.close());
    if (!bands_.ready()) return;
    ctx().plot("upper", bands_.upper());
    ctx().plot("lower", bands_.lower());
    const cats::position pos = ctx().position(b.instrument_id());
    const double close = b.close().to_double();
    if (pos.is_flat() && close < bands_.lower()) {
      const cats::instrument i = ctx().get_instrument(b.instrument_id());
      const cats::fixed qty = cats::fixed::from_double(ctx().account().equity.to_double() / close);
      if (!i.round_quantity(qty).is_zero())
        ctx().buy_market(i.id, i.round_quantity(qty), "closed below the lower band");
    } else if (pos.is_long() && close >= bands_.middle()) {
      ctx().sell_market(b.instrument_id(), pos.quantity, "back at the middle");
    }
  }
  uint32_t save_state(cats::state_writer& w) const override {
    bands_.save(w);
    return 1;
  }
  void load_state(uint32_t, cats::state_reader& r) override { bands_.load(r); }  // same window
 private:
  cats::bollinger bands_;
};

CATS_EXPORT_STRATEGY(bollinger_reversion, "bollinger_reversion", "1.0.0",
                     "Buy below the lower Bollinger band, sell back at the middle")
