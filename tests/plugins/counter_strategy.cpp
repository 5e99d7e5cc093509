// A strategy for the hot-reload tests: counts trades and writes one line per trade,
// "v<version> <trade id> <count> <instrument id>", so a test can check that every trade reached
// exactly one version and that the count carried over each swap. Built in variants:
//   COUNTER_VERSION=N   the version it reports
//   COUNTER_BROKEN      create() fails (a build that must be refused)
//   COUNTER_NEW_STATE   writes and accepts only state version 2 (refuses a version-1 state)
#include <cats/strategy.hpp>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#ifndef COUNTER_VERSION
#define COUNTER_VERSION 1
#endif
#define COUNTER_STR2(x) #x
#define COUNTER_STR(x) COUNTER_STR2(x)

namespace {

#ifdef COUNTER_NEW_STATE
constexpr uint32_t state_version = 2;
#else
constexpr uint32_t state_version = 1;
#endif

class counter final : public cats::strategy {
 public:
  static constexpr cats::param_spec params[] = {
      {"log", CATS_PARAM_STRING, "\"\"", "file to append one line per trade to"},
  };

  counter(cats::context& ctx, const cats::params& p) : strategy(ctx) {
#ifdef COUNTER_BROKEN
    (void)p;
    throw std::runtime_error("this build is broken on purpose");
#else
    const std::string log = p.get_string("log");
    if (!log.empty()) {
      log_.reset(std::fopen(log.c_str(), "a"));
      if (!log_) throw cats::error("cannot open " + log);
    }
#endif
  }

  void on_trade(const cats::trade& t) override {
    ++count_;
    if (log_) {
      std::fprintf(log_.get(), "v%d %llu %lld %u\n", COUNTER_VERSION,
                   static_cast<unsigned long long>(t.trade_id()), static_cast<long long>(count_),
                   t.instrument_id());
      std::fflush(log_.get());
    }
  }

  uint32_t save_state(cats::state_writer& w) const override {
    w.put<int64_t>(count_);
    return state_version;
  }
  void load_state(uint32_t version, cats::state_reader& r) override {
    if (version != state_version)
      throw cats::bad_state("counter v" COUNTER_STR(COUNTER_VERSION) ": cannot read a version " +
                            std::to_string(version) + " state");
    count_ = r.get<int64_t>();
  }

 private:
  struct closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  int64_t count_ = 0;
  std::unique_ptr<std::FILE, closer> log_;
};

}  // namespace

CATS_EXPORT_STRATEGY(counter, "counter", COUNTER_STR(COUNTER_VERSION) ".0.0",
                     "counts trades (hot-reload tests)")
