// A strategy for tests: writes every event it sees to a log file, and can be told to trade, set
// timers, fail in its constructor or throw in a callback.
#include <cats/strategy.hpp>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

class probe final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"log", CATS_PARAM_STRING, "\"\"", "file to append one line per event to"},
      {"fail_create", CATS_PARAM_STRING, "\"\"", "if set, the constructor throws this message"},
      {"throw_at_bar", CATS_PARAM_INT, "0", "throw on this bar (1-based; 0 = never)"},
      {"buy_at_bar", CATS_PARAM_INT, "0", "market-buy `quantity` on this bar"},
      {"sell_at_bar", CATS_PARAM_INT, "0", "market-sell `quantity` on this bar"},
      {"quantity", CATS_PARAM_FLOAT, "0.01", "order quantity"},
      {"timer_at_bar", CATS_PARAM_INT, "0", "on this bar, set a timer for 30 s later"},
      {"buy_at_trade", CATS_PARAM_INT, "0", "market-buy `quantity` on this trade (1-based)"},
      {"log_books", CATS_PARAM_BOOL, "true", "log book events (one line each)"},
      {"query_every", CATS_PARAM_INT, "0",
       "every N bars, log the time, account and position the host reports, and plot the close"},
  };

  probe(cats::context& ctx, const cats::params& p)
      : strategy(ctx),
        throw_at_(p.get_int("throw_at_bar")),
        buy_at_(p.get_int("buy_at_bar")),
        sell_at_(p.get_int("sell_at_bar")),
        timer_at_(p.get_int("timer_at_bar")),
        buy_at_trade_(p.get_int("buy_at_trade")),
        log_books_(p.get_bool("log_books")),
        query_every_(p.get_int("query_every")),
        qty_(cats::fixed::from_double(p.get_float("quantity"))) {
    const std::string fail = p.get_string("fail_create");
    if (!fail.empty()) throw std::invalid_argument(fail);
    const std::string log = p.get_string("log");
    if (!log.empty()) {
      log_.reset(std::fopen(log.c_str(), "a"));
      if (!log_) throw cats::error("cannot open " + log);
    }
  }

  void on_start() override { write("start"); }
  void on_stop() override { write("stop"); }
  void on_bar(const cats::bar& b) override {
    ++bars_;
    write("bar " + std::to_string(bars_) + " " + std::to_string(b.time_ns()) + " " +
          b.close().to_string());
    if (bars_ == throw_at_)
      throw std::runtime_error("probe: deliberate failure at bar " + std::to_string(bars_));
    if (bars_ == buy_at_) ctx().buy_market(b.instrument_id(), qty_);
    if (bars_ == sell_at_) ctx().sell_market(b.instrument_id(), qty_);
    if (bars_ == timer_at_) ctx().set_timer(b.time_ns() + 30'000'000'000, 7);
    if (query_every_ > 0 && bars_ % query_every_ == 0) {
      const cats::account a = ctx().account();
      const cats::position pos = ctx().position(b.instrument_id());
      write("query " + std::to_string(ctx().now_ns()) + " equity " + a.equity.to_string() +
            " cash " + a.cash.to_string() + " pos " + pos.quantity.to_string() + " mark " +
            pos.mark_price.to_string());
      ctx().plot("close", b.close().to_double());
    }
  }
  void on_trade(const cats::trade& t) override {
    ++trades_;
    write("trade " + std::to_string(t.instrument_id()) + " " + std::to_string(t.trade_id()) + " " +
          t.price().to_string() + " " + t.quantity().to_string() + " " +
          std::to_string(t.aggressor_side()) + " " + std::to_string(t.time_ns()));
    if (trades_ == buy_at_trade_) ctx().buy_market(t.instrument_id(), qty_);
  }
  void on_quote(const cats::quote& q) override {
    write("quote " + std::to_string(q.instrument_id()) + " " + q.bid_price().to_string() + " " +
          q.ask_price().to_string());
  }
  void on_book(const cats::book& b) override {
    if (!log_books_) return;
    write("book " + std::to_string(b.instrument_id()) + " flags " +
          std::to_string(b.raw().book_flags) + " seq " + std::to_string(b.sequence()) + " levels " +
          std::to_string(b.bids().size()) + "/" + std::to_string(b.asks().size()) + " best " +
          b.best_bid().to_string() + " " + b.best_ask().to_string());
  }
  void on_order_update(const cats::order_update& u) override {
    write("order " + std::to_string(u.order_id()) + " status " + std::to_string(u.status()) +
          " filled " + u.filled_quantity().to_string() + " reason " + std::string(u.reason()));
  }
  void on_fill(const cats::fill& f) override {
    write("fill " + std::to_string(f.order_id()) + " " + f.quantity().to_string() + " @ " +
          f.price().to_string() + " fee " + f.fee().to_string() + " pos " +
          f.position_after().to_string());
  }
  void on_timer(const cats::timer& t) override {
    write("timer " + std::to_string(t.time_ns()) + " data " + std::to_string(t.user_data()));
  }

  uint32_t save_state(cats::state_writer& w) const override {
    w.put<int64_t>(bars_);
    return 1;
  }
  void load_state(uint32_t version, cats::state_reader& r) override {
    if (version != 1) throw cats::bad_state("probe: unknown state version");
    bars_ = r.get<int64_t>();
  }

 private:
  struct closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  void write(const std::string& line) {
    if (!log_) return;
    std::fputs((line + "\n").c_str(), log_.get());
    std::fflush(log_.get());
  }

  int64_t throw_at_, buy_at_, sell_at_, timer_at_, buy_at_trade_;
  bool log_books_;
  int64_t query_every_;
  int64_t trades_ = 0;
  cats::fixed qty_;
  int64_t bars_ = 0;
  std::unique_ptr<std::FILE, closer> log_;
};

}  // namespace

CATS_EXPORT_STRATEGY(probe, "probe", "2.3.4", "test strategy that logs every event")
