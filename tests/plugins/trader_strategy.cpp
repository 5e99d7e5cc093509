// A strategy for the live-execution tests: it trades a fixed plan on the first quote and writes
// every order update and fill it receives to a log, one line each, so a test can compare what the
// strategy saw with what the (fake) venue did.
//   plan = "lifecycle"  a market buy; a limit buy far below the bid, amended closer, then
//                       cancelled; a marketable limit sell (50 ticks under the bid); a buy limit at
//                       the ask for more than the ask shows, by 2.5 (more than a level of the fake
//                       ever holds: it fills in parts, then rests)
//   plan = "rest"       `count` limit buys far below the bid that rest; placed only if no
//                       order was restored at start (a restarted run keeps the ones it has)
//   plan = "none"       no orders
//   plan = "market"     one market buy of `qty` on each of the first `count` quotes
//   plan = "paced"      `count` IOC buy limits far below the bid (they expire unfilled), one
//                       every `every_us` microseconds from a timer (the order-latency benchmark)
//   symbol = "..."      trade only that instrument (default: the first one quoted)
// Log lines: "update <id> <status> <filled> <reason>", "fill <id> <side> <qty> <price> <fee>".
#include <cats/strategy.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace {

class trader final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"plan", CATS_PARAM_STRING, "\"lifecycle\"", "lifecycle, rest, market, paced or none"},
      {"log", CATS_PARAM_STRING, "\"\"", "file to append one line per update and fill to"},
      {"qty", CATS_PARAM_FLOAT, "0.01", "market plan: quantity of each order"},
      {"count", CATS_PARAM_INT, "1", "market and paced plans: number of orders"},
      {"every_us", CATS_PARAM_INT, "1000", "paced plan: microseconds between orders"},
      {"symbol", CATS_PARAM_STRING, "\"\"", "trade only this instrument (empty: the first quoted)"},
  };

  trader(cats::context& ctx, const cats::params& p)
      : strategy(ctx),
        plan_(p.get_string("plan")),
        qty_(cats::fixed::from_double(p.get_float("qty"))),
        count_(p.get_int("count")),
        every_ns_(p.get_int("every_us") * 1000),
        symbol_(p.get_string("symbol")) {
    const std::string log = p.get_string("log");
    if (!log.empty()) {
      log_.reset(std::fopen(log.c_str(), "a"));
      if (!log_) throw cats::error("cannot open " + log);
    }
  }

  void on_start() override {
    if (plan_ == "paced") ctx().set_timer(ctx().now_ns() + every_ns_);
  }

  void on_timer(const cats::timer& t) override {
    if (sent_ < count_ && bid_ > 0) {
      ++sent_;
      const int64_t tick = ctx().get_instrument(instrument_).tick_size.raw();
      ctx().submit({instrument_, CATS_SIDE_BUY, CATS_ORDER_LIMIT, CATS_TIF_IOC,
                    cats::fixed::from_raw(100'000), cats::fixed::from_raw(bid_ - 1000 * tick)});
    }
    if (sent_ < count_) ctx().set_timer(t.time_ns() + every_ns_);
  }

  void on_quote(const cats::quote& q) override {
    if (q.bid_price().raw() <= 0 || q.ask_price().raw() <= 0) return;
    const uint32_t id = q.instrument_id();
    if (!symbol_.empty() && ctx().get_instrument(id).symbol != symbol_) return;
    if (plan_ == "paced") {
      instrument_ = id;
      bid_ = q.bid_price().raw();
      return;
    }
    const int64_t tick = ctx().get_instrument(id).tick_size.raw();
    auto at = [&](int64_t raw) { return cats::fixed::from_raw(raw); };
    if (plan_ == "market") {
      if (sent_ < count_) {
        ++sent_;
        ctx().buy_market(id, qty_);
      }
      return;
    }
    if (sent_ > 0) return;
    sent_ = 1;
    if (plan_ == "none") return;
    if (plan_ == "rest") {
      for (int64_t i = 0; i < count_ && !restored_; ++i)
        ctx().buy_limit(id, cats::fixed::from_raw(5'000'000),
                        at(q.bid_price().raw() - (500 + i) * tick));
      return;
    }
    ctx().buy_market(id, cats::fixed::from_raw(1'000'000));
    far_ = ctx().buy_limit(id, cats::fixed::from_raw(50'000'000),
                           at(q.bid_price().raw() - 1000 * tick));
    far_price_ = q.bid_price().raw() - 500 * tick;
    // 50 ticks under the bid: still marketable when the fake's book has moved down a few ticks
    // before the order arrives (slow sanitizer builds); it fills at the book's own prices.
    ctx().sell_limit(id, cats::fixed::from_raw(300'000), at(q.bid_price().raw() - 50 * tick));
    ctx().buy_limit(id, cats::fixed::from_raw(q.ask_quantity().raw() + 250'000'000), q.ask_price());
  }

  void on_order_update(const cats::order_update& u) override {
    write("update " + std::to_string(u.order_id()) + " " + status(u.status()) + " " +
          u.filled_quantity().to_string() + " " + std::string(u.reason()));
    if (u.reason().starts_with("restored")) restored_ = true;
    if (u.order_id() != far_ || far_ == 0) return;
    if (u.status() == CATS_ORDER_NEW && !amended_) {
      amended_ = true;
      if (!ctx().amend(far_, cats::fixed{}, cats::fixed::from_raw(far_price_)))
        write("amend refused");
    } else if (u.reason() == "amended") {
      ctx().cancel(far_);
    }
  }

  void on_fill(const cats::fill& f) override {
    write("fill " + std::to_string(f.order_id()) + " " +
          (f.side() == CATS_SIDE_BUY ? "buy" : "sell") + " " + f.quantity().to_string() + " " +
          f.price().to_string() + " " + f.fee().to_string());
  }

 private:
  static const char* status(cats_order_status s) {
    switch (s) {
      case CATS_ORDER_NEW:
        return "new";
      case CATS_ORDER_PARTIALLY_FILLED:
        return "partial";
      case CATS_ORDER_FILLED:
        return "filled";
      case CATS_ORDER_CANCELED:
        return "cancelled";
      case CATS_ORDER_REJECTED:
        return "rejected";
      default:
        return "?";
    }
  }
  void write(const std::string& line) {
    if (!log_) return;
    std::fprintf(log_.get(), "%s\n", line.c_str());
    std::fflush(log_.get());
  }

  struct closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::string plan_;
  cats::fixed qty_;
  int64_t count_ = 1, sent_ = 0, every_ns_ = 1'000'000, bid_ = 0;
  std::string symbol_;
  uint32_t instrument_ = 0;
  std::unique_ptr<std::FILE, closer> log_;
  uint64_t far_ = 0;
  int64_t far_price_ = 0;
  bool amended_ = false, restored_ = false;
};

}  // namespace

CATS_EXPORT_STRATEGY(trader, "trader", "1.0.0", "trades a fixed plan and logs what it sees (tests)")
