// The reference strategy: a simple-moving-average crossover.
//
// Long when the fast SMA of closes crosses above the slow SMA; flat (or short, with allow_short)
// when it crosses below. Each entry commits `fraction` of the account's equity. Both averages are
// the SDK's cats::sma: exact running sums of fixed-point closes, so each bar costs O(1) whatever
// the window lengths, and the averages are compared exactly (cats::compare, no division). With
// `timeframe` it trades bars of that interval, which the engine builds from the feed (ABI 1.4).
#include <cats/indicators.hpp>
#include <cats/strategy.hpp>

#include <cstdint>
#include <string>

namespace {

class ma_crossover final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"fast", CATS_PARAM_INT, "10", "bars in the fast moving average"},
      {"slow", CATS_PARAM_INT, "30", "bars in the slow moving average"},
      {"symbol", CATS_PARAM_STRING, "\"\"",
       "instrument to trade; empty = the first one that has bars"},
      {"fraction", CATS_PARAM_FLOAT, "1.0", "fraction of equity committed per entry (0, 1]"},
      {"allow_short", CATS_PARAM_BOOL, "false", "go short on a downward cross instead of flat"},
      {"timeframe", CATS_PARAM_STRING, "\"\"",
       "bars to trade: \"\" = the feed's own, or \"15m\", \"1h\", \"4h\", \"1d\" ... built by the "
       "engine from the feed"},
  };

  ma_crossover(cats::context& ctx, const cats::params& p)
      : strategy(ctx),
        fast_len_(p.get_int("fast", 10)),
        slow_len_(p.get_int("slow", 30)),
        fraction_(p.get_float("fraction", 1.0)),
        allow_short_(p.get_bool("allow_short", false)),
        timeframe_(parse_timeframe(p.get_string("timeframe", ""))),
        fast_(static_cast<size_t>(fast_len_ > 0 ? fast_len_ : 1)),
        slow_(static_cast<size_t>(slow_len_ > 0 ? slow_len_ : 1)) {
    // The windows are built before these checks can run: a bad length is mapped to 1 above so
    // the message below, not the indicator's, is the one the user sees.
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
    if (instrument_.id == 0) adopt(b.instrument_id());
    if (b.instrument_id() != instrument_.id) return;
    if (timeframe_ != 0 && b.interval_ns() != timeframe_) return;  // the feed's own bars
    fast_.update(b.close());
    slow_.update(b.close());
    if (!slow_.ready()) return;
    const int diff = cats::compare(fast_, slow_);
    const int prev = prev_diff_;
    prev_diff_ = diff;
    if (!has_prev_) {
      has_prev_ = true;  // the first full bar only sets the reference
      return;
    }
    if (prev <= 0 && diff > 0) {
      target(1, b.close(), "fast crossed above slow");
    } else if (prev >= 0 && diff < 0) {
      target(allow_short_ ? -1 : 0, b.close(), "fast crossed below slow");
    }
  }

  // Version 1 since 1.0: the layout of cats::sma's save is the one this plugin's own window used.
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
  // "" -> 0 (the feed's bars); "90s", "15m", "1h", "1d" -> nanoseconds.
  static int64_t parse_timeframe(const std::string& text) {
    if (text.empty()) return 0;
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    const std::string unit = text.substr(digits);
    const int64_t n = digits == 0 || digits > 5 ? 0 : std::stoll(text.substr(0, digits));
    const int64_t ns = unit == "s"   ? cats::seconds(n)
                       : unit == "m" ? cats::minutes(n)
                       : unit == "h" ? cats::hours(n)
                       : unit == "d" ? cats::days(n)
                                     : 0;
    if (ns <= 0)
      throw cats::error(
          "timeframe must be a number and a unit (s, m, h, d) such as \"15m\" or "
          "\"1h\", got \"" +
          text + "\"");
    return ns;
  }

  // The first instrument that has bars, when no symbol was given: once, out of line like target().
  [[gnu::noinline]] void adopt(uint32_t id) { set_instrument(ctx().get_instrument(id)); }

  void set_instrument(cats::instrument i) {
    instrument_ = std::move(i);
    if (timeframe_ != 0) ctx().subscribe_bars(instrument_.id, timeframe_);
    ctx().info("trading ", instrument_.symbol, " fast=", fast_len_, " slow=", slow_len_,
               " fraction=", fraction_, allow_short_ ? " long/short" : " long/flat");
  }

  // Moves the position to `direction` (+1 long, 0 flat, -1 short) sized from equity at `price`.
  // `why` names the signal: the trade table's entry and exit reason. Out of line: a cross is rare,
  // and on_bar, called for every bar, keeps a small frame without it.
  [[gnu::noinline]] void target(int direction, cats::fixed price, std::string_view why) {
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
      ctx().buy_market(instrument_.id, delta, why);
    else
      ctx().sell_market(instrument_.id, -delta, why);
  }

  int64_t fast_len_, slow_len_;
  double fraction_;
  bool allow_short_;
  int64_t timeframe_;  // 0: the feed's bars
  cats::sma fast_, slow_;
  cats::instrument instrument_;
  int prev_diff_ = 0;
  bool has_prev_ = false;
};

}  // namespace

CATS_EXPORT_STRATEGY(ma_crossover, "ma_crossover", "1.0.0",
                     "Simple moving average crossover: long above, flat or short below")
