// Plots, for the report tests: an SMA over the price (a gap until its window is full), the RSI and
// a constant 50 line in a panel called "RSI", and a value that is replaced at the same time.
#include <cats/indicators.hpp>
#include <cats/strategy.hpp>

#include <limits>

namespace {

class plot_strategy final : public cats::strategy {
 public:
  plot_strategy(cats::context& ctx, const cats::params&) : strategy(ctx) {}
  void on_bar(const cats::bar& b) override {
    sma_.update(b.close());
    rsi_.update(b.close());
    ctx().plot("sma", sma_.ready() ? sma_.value() : std::numeric_limits<double>::quiet_NaN());
    if (rsi_.ready()) ctx().plot("rsi", rsi_.value(), "RSI");
    ctx().plot("mid", 0.0, "RSI");
    ctx().plot("mid", 50.0, "RSI");  // the same time: replaces the 0
  }

 private:
  cats::sma sma_{20};
  cats::rsi rsi_{14};
};

}  // namespace

CATS_EXPORT_STRATEGY(plot_strategy, "plot_strategy", "1.0.0", "plots an SMA and an RSI")
