// A strategy that misbehaves on purpose, for the safety tests: on its `at`-th market event (bars
// and trades counted together) it loops forever, sleeps, crashes, aborts, calls exit(), floods
// the engine with orders, writes to stdout or logs forged lines; or it sends the orders described
// by its parameters and logs every order update and fill to `log`.
#include <cats/strategy.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

namespace {

class hostile final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"mode", CATS_PARAM_STRING, "\"\"",
       "loop | sleep | slow (sleep_ms on every event) | segv | recurse | abort | exit | flood | "
       "stdout | "
       "log | orders (\"\" = behave)"},
      {"at", CATS_PARAM_INT, "1", "the market event (1-based) to act on"},
      {"sleep_ms", CATS_PARAM_INT, "1000", "sleep: how long"},
      {"count", CATS_PARAM_INT, "1", "flood/orders: how many orders"},
      {"side", CATS_PARAM_STRING, "\"buy\"", "orders: buy or sell"},
      {"type", CATS_PARAM_STRING, "\"market\"", "orders: market or limit"},
      {"quantity", CATS_PARAM_STRING, "\"0.01\"", "orders: quantity of each"},
      {"offset", CATS_PARAM_FLOAT, "0", "orders, limit: price = last x (1 + offset)"},
      {"then", CATS_PARAM_STRING, "\"\"",
       "orders: a second batch one event later (same form: "
       "side:type:quantity:offset)"},
      {"log", CATS_PARAM_STRING, "\"\"", "file for order updates and fills"},
  };

  hostile(cats::context& ctx, const cats::params& p)
      : strategy(ctx),
        mode_(p.get_string("mode")),
        at_(p.get_int("at")),
        sleep_ms_(p.get_int("sleep_ms")),
        count_(p.get_int("count")),
        then_(p.get_string("then")) {
    batch_ = {p.get_string("side"), p.get_string("type"), p.get_string("quantity"),
              p.get_float("offset")};
    const std::string log = p.get_string("log");
    if (!log.empty()) {
      log_.reset(std::fopen(log.c_str(), "a"));
      if (!log_) throw cats::error("cannot open " + log);
    }
  }

  void on_bar(const cats::bar& b) override { market(b.instrument_id(), b.close()); }
  void on_trade(const cats::trade& t) override { market(t.instrument_id(), t.price()); }
  void on_order_update(const cats::order_update& u) override {
    write("order " + std::to_string(u.order_id()) + " status " + std::to_string(u.status()) +
          " filled " + u.filled_quantity().to_string() + " reason " + std::string(u.reason()));
  }
  void on_fill(const cats::fill& f) override {
    write("fill " + std::to_string(f.order_id()) + " " + f.quantity().to_string() + " @ " +
          f.price().to_string() + " pos " + f.position_after().to_string());
  }

 private:
  struct batch {
    std::string side, type, quantity;
    double offset;
  };

  void market(uint32_t id, cats::fixed price) {
    ++events_;
    if (mode_ == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    if (events_ == at_ + 1 && !then_.empty()) send(id, price, parse(then_));
    if (events_ != at_) return;
    if (mode_ == "loop") {
      std::atomic<uint64_t> spin{0};
      for (;;) spin.fetch_add(1, std::memory_order_relaxed);
    } else if (mode_ == "sleep") {
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms_));
    } else if (mode_ == "segv") {
      segfault();
    } else if (mode_ == "recurse") {
      recurse(1);
    } else if (mode_ == "abort") {
      std::abort();
    } else if (mode_ == "exit") {
      std::exit(0);
    } else if (mode_ == "flood") {
      for (int64_t i = 0; i < count_; ++i) {
        try {
          ctx().buy_market(id, cats::fixed::from_double(0.001));
        } catch (const cats::error&) {  // refused: keep hammering, as a broken loop would
        }
      }
    } else if (mode_ == "stdout") {
      std::printf("{\"not\": \"the engine's json\"}\nGARBAGE FROM THE PLUGIN\n");
      std::fflush(stdout);
    } else if (mode_ == "log") {
      ctx().info("innocent\nE 00:00:00.000 [engine] FORGED LINE\x1b[2J", std::string(10000, 'x'));
    } else if (mode_ == "orders") {
      send(id, price, batch_);
    }
  }

  // A write to an unmapped page. Not through a null pointer: UndefinedBehaviorSanitizer would
  // report that and end the process itself, before the engine's handler sees a real SIGSEGV.
  static void segfault() {
    volatile uintptr_t address = 16;
    *reinterpret_cast<volatile int*>(address) = 1;
  }

  // Runaway recursion: 1 KiB a frame until the stack runs out.
  static int recurse(int depth) {
    volatile char frame[1024];
    frame[0] = static_cast<char>(depth);
    if (depth < 0) return 0;  // never: it keeps the compiler from proving the recursion endless
    return recurse(depth + 1) + frame[0];
  }

  static batch parse(const std::string& spec) {
    batch b{"buy", "market", "0.01", 0};
    size_t at = 0;
    std::string* fields[] = {&b.side, &b.type, &b.quantity};
    for (std::string* f : fields) {
      const size_t colon = spec.find(':', at);
      *f = spec.substr(at, colon - at);
      at = colon == std::string::npos ? spec.size() : colon + 1;
    }
    if (at < spec.size()) b.offset = std::stod(spec.substr(at));
    return b;
  }

  void send(uint32_t id, cats::fixed price, const batch& b) {
    const cats::instrument inst = ctx().get_instrument(id);
    const cats::fixed qty = cats::fixed::from_double(std::stod(b.quantity));
    const cats::fixed limit =
        cats::fixed::from_double(price.to_double() * (1 + b.offset)).truncate_to(inst.tick_size);
    for (int64_t i = 0; i < count_; ++i) {
      try {
        const bool buy = b.side == "buy";
        if (b.type == "limit")
          buy ? ctx().buy_limit(id, qty, limit) : ctx().sell_limit(id, qty, limit);
        else
          buy ? ctx().buy_market(id, qty) : ctx().sell_market(id, qty);
      } catch (const cats::error& e) {
        write(std::string("submit refused: ") + e.what());
      }
    }
  }

  struct closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  void write(const std::string& line) {
    if (!log_) return;
    std::fputs((line + "\n").c_str(), log_.get());
    std::fflush(log_.get());
  }

  std::string mode_;
  int64_t at_, sleep_ms_, count_;
  std::string then_;
  batch batch_;
  int64_t events_ = 0;
  std::unique_ptr<std::FILE, closer> log_;
};

}  // namespace

CATS_EXPORT_STRATEGY(hostile, "hostile", "1.0.0", "misbehaves on purpose (safety tests)")
