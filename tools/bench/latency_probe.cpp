// A strategy for the wire-to-strategy latency benchmark: the fake exchange (--stamp-ns) puts its
// send time in ns into each trade id; this plugin takes the wall clock in on_trade and writes the
// distribution of the differences to `out` when it stops.
#include <cats/strategy.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace {

int64_t wall_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class latency_probe final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"out", CATS_PARAM_STRING, "\"latency.txt\"", "file for the latency distribution"},
      {"skip", CATS_PARAM_INT, "1000", "warm-up trades not measured"},
  };
  latency_probe(cats::context& ctx, const cats::params& p)
      : strategy(ctx), out_(p.get_string("out")), skip_(p.get_int("skip")) {
    samples_.reserve(1 << 24);
  }

  void on_trade(const cats::trade& t) override {
    const int64_t now = wall_ns();
    if (seen_++ < skip_) return;
    const auto sent = static_cast<int64_t>(t.trade_id());
    if (sent < 1'000'000'000'000'000'000) return;  // not a send stamp
    if (samples_.size() < samples_.capacity()) samples_.push_back(now - sent);
  }

  void on_stop() override {
    std::FILE* f = std::fopen(out_.c_str(), "w");
    if (f == nullptr) throw cats::error("cannot write " + out_);
    std::sort(samples_.begin(), samples_.end());
    auto q = [&](double p) {
      if (samples_.empty()) return 0.0;
      const size_t i = std::min(samples_.size() - 1,
                                static_cast<size_t>(p * static_cast<double>(samples_.size())));
      return static_cast<double>(samples_[i]) / 1e3;
    };
    std::fprintf(f, "count %zu\np50_us %.1f\np99_us %.1f\np999_us %.1f\nmax_us %.1f\n",
                 samples_.size(), q(0.5), q(0.99), q(0.999),
                 samples_.empty() ? 0.0 : static_cast<double>(samples_.back()) / 1e3);
    std::fclose(f);
  }

 private:
  std::string out_;
  int64_t skip_;
  int64_t seen_ = 0;
  std::vector<int64_t> samples_;
};

}  // namespace

CATS_EXPORT_STRATEGY(latency_probe, "latency_probe", "1.0.0",
                     "measures fake-exchange send time to on_trade")
