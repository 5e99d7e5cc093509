#include "cats/replay/sample_data.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cats/core/events.hpp"
#include "cats/core/fixed.hpp"
#include "cats/core/market_event.hpp"
#include "cats/record/store.hpp"
#include "cats/util/rng.hpp"

namespace cats {

namespace {

// The shared generator plus a Box-Muller normal that keeps the second value of each pair.
class rng {
 public:
  explicit rng(uint64_t seed) : core_(seed) {}
  double uniform() { return core_.uniform(); }  // [0, 1)
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 0;
    while (u <= 1e-300) u = uniform();
    const double v = uniform();
    const double r = std::sqrt(-2.0 * std::log(u));
    spare_ = r * std::sin(2.0 * M_PI * v);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * v);
  }

 private:
  xoshiro256 core_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// Writes rows through a 2 MB buffer; throws naming the file when a write fails.
class chunked_file {
 public:
  explicit chunked_file(const std::filesystem::path& file) : path_(file) {
    f_ = std::fopen(file.c_str(), "wb");
    if (f_ == nullptr)
      throw std::runtime_error(file.string() + ": cannot write: " + std::strerror(errno));
    buf_.reserve(1u << 21);
  }
  ~chunked_file() {
    if (f_ != nullptr) std::fclose(f_);
  }
  chunked_file(const chunked_file&) = delete;
  chunked_file& operator=(const chunked_file&) = delete;
  std::string& buffer() { return buf_; }
  /// Call after each row.
  void maybe_flush() {
    if (buf_.size() >= (1u << 21) - 512) write();
  }
  void close() {
    write();
    const int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) fail();
  }

 private:
  void write() {
    if (std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) fail();
    buf_.clear();
  }
  [[noreturn]] void fail() {
    throw std::runtime_error(path_.string() + ": write failed: " + std::strerror(errno));
  }
  std::filesystem::path path_;
  std::FILE* f_ = nullptr;
  std::string buf_;
};

struct regime {
  double drift;      // annual log drift
  double vol;        // annual volatility
  double volume;     // relative activity
  double mean_days;  // expected length
};

constexpr regime regimes[] = {
    {0.9, 0.45, 1.0, 9.0},   // calm bull
    {-0.8, 0.55, 1.2, 6.0},  // calm bear
    {0.0, 0.35, 0.7, 7.0},   // chop
    {0.0, 1.10, 2.5, 2.0},   // turbulence
};

void put_fixed8(std::string& out, int64_t raw) {
  // Binance pads prices and volumes to 8 decimals ("46216.93000000").
  char buf[32];
  const int n = format_fixed(raw, buf);
  out.append(buf, static_cast<size_t>(n));
  const char* dot = static_cast<const char*>(std::memchr(buf, '.', static_cast<size_t>(n)));
  const int decimals = dot == nullptr ? 0 : static_cast<int>(buf + n - dot - 1);
  if (dot == nullptr) out += '.';
  out.append(static_cast<size_t>(8 - decimals), '0');
}

int64_t to_fixed(double v, int64_t step, rounding mode) {
  int64_t raw = 0;
  fixed_from_double(v, raw);
  return round_to_step(raw, step, mode);
}

}  // namespace

namespace {

struct sample_bar {
  int64_t open, high, low, close, volume, quote_volume, trades, taker_buy_volume, taker_buy_quote;
};

// The sample's bars, one call of `emit` each (open time in ns and the kline's values).
template <class Emit>
void generate_bars(const sample_options& o, Emit&& emit) {
  rng r(o.seed);
  const double year_ns = 365.0 * 86400.0 * 1e9;
  const double dt = static_cast<double>(o.interval_ns) / year_ns;
  const double bars_per_day = 86400.0 * 1e9 / static_cast<double>(o.interval_ns);
  const int64_t tick = 1'000'000;  // 0.01
  const int64_t lot = 1'000;       // 0.00001
  int state = 2;
  double price = o.start_price;
  constexpr int steps = 6;  // sub-steps per bar for a realistic high/low
  for (uint64_t i = 0; i < o.bars; ++i) {
    const regime& g = regimes[state];
    if (r.uniform() < 1.0 / (g.mean_days * bars_per_day)) {
      // Switch to another regime; turbulence is rarer than the others.
      const double u = r.uniform();
      int next = u < 0.36 ? 0 : u < 0.68 ? 1 : u < 0.9 ? 2 : 3;
      if (next == state) next = (next + 1) % 4;
      state = next;
    }
    // Mean reversion towards the start price keeps a year-long sample in a plausible range.
    const double anchor = -0.15 * std::log(price / o.start_price);
    const double sigma = g.vol * std::sqrt(dt / steps);
    const double mu = (g.drift + anchor - 0.5 * g.vol * g.vol) * dt / steps;
    // The first trade of a bar rarely prints exactly at the previous close.
    const double open = price * std::exp(0.2 * sigma * r.normal());
    double hi = open, lo = open, p = open;
    for (int k = 0; k < steps; ++k) {
      double z = r.normal();
      if (r.uniform() < 0.004) z *= 4.0;  // fat tails
      p *= std::exp(mu + sigma * z);
      hi = std::max(hi, p);
      lo = std::min(lo, p);
    }
    const double wick = g.vol * std::sqrt(dt) * 0.25;
    hi *= 1.0 + std::fabs(r.normal()) * wick;
    lo *= 1.0 - std::fabs(r.normal()) * wick;
    price = p;

    const int64_t o_fx = to_fixed(open, tick, rounding::nearest);
    const int64_t c_fx = to_fixed(p, tick, rounding::nearest);
    int64_t h_fx = std::max({to_fixed(hi, tick, rounding::up), o_fx, c_fx});
    int64_t l_fx = std::min({to_fixed(lo, tick, rounding::down), o_fx, c_fx});
    if (l_fx <= 0) l_fx = tick;
    if (h_fx < l_fx) h_fx = l_fx;

    const double move = std::fabs(std::log(p / open)) / (g.vol * std::sqrt(dt));
    const double base_volume = 25.0 * static_cast<double>(o.interval_ns) / 60e9;
    const double vol = base_volume * g.volume * (0.4 + 0.6 * move) * std::exp(0.5 * r.normal());
    const int64_t v_fx = std::max<int64_t>(lot, to_fixed(vol, lot, rounding::nearest));
    const double vwap = (open + p + hi + lo) / 4.0;
    const int64_t qv_fx = to_fixed(static_cast<double>(v_fx) / 1e8 * vwap, 1, rounding::nearest);
    const double buy_share = std::clamp(
        0.5 + 0.25 * std::tanh(std::log(p / open) / (g.vol * std::sqrt(dt))) + 0.05 * r.normal(),
        0.05, 0.95);
    const int64_t tb_fx = round_to_step(static_cast<int64_t>(static_cast<double>(v_fx) * buy_share),
                                        lot, rounding::down);
    const int64_t tbq_fx = to_fixed(static_cast<double>(tb_fx) / 1e8 * vwap, 1, rounding::nearest);
    const int64_t trades = 1 + static_cast<int64_t>(static_cast<double>(v_fx) / 1e8 * 38.0 *
                                                    (0.8 + 0.4 * r.uniform()));

    emit(o.start_ns + static_cast<int64_t>(i) * o.interval_ns,
         sample_bar{o_fx, h_fx, l_fx, c_fx, v_fx, qv_fx, trades, tb_fx, tbq_fx});
  }
}

}  // namespace

void write_sample_klines(const std::filesystem::path& file, const sample_options& o) {
  chunked_file f(file);
  const int64_t unit = o.microseconds ? 1000 : 1'000'000;  // ns per output time unit
  std::string& out = f.buffer();
  if (o.header)
    out +=
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_base_volume,taker_buy_quote_volume,ignore\n";
  generate_bars(o, [&](int64_t open_ns, const sample_bar& b) {
    const int64_t open_t = open_ns / unit;
    const int64_t close_t = open_t + o.interval_ns / unit - 1;
    out += std::to_string(open_t);
    out += ',';
    put_fixed8(out, b.open);
    out += ',';
    put_fixed8(out, b.high);
    out += ',';
    put_fixed8(out, b.low);
    out += ',';
    put_fixed8(out, b.close);
    out += ',';
    put_fixed8(out, b.volume);
    out += ',';
    out += std::to_string(close_t);
    out += ',';
    put_fixed8(out, b.quote_volume);
    out += ',';
    out += std::to_string(b.trades);
    out += ',';
    put_fixed8(out, b.taker_buy_volume);
    out += ',';
    put_fixed8(out, b.taker_buy_quote);
    out += ",0\n";
    f.maybe_flush();
  });
  f.close();
}

void write_sample_store(const std::filesystem::path& file, const sample_options& o,
                        const std::string& symbol) {
  store_writer_options wo;
  wo.replace = true;  // FILE.part, renamed once whole
  store_writer w(file, wo);
  generate_bars(o, [&](int64_t open_ns, const sample_bar& s) {
    cats_bar_event_t b{};
    b.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, 0, open_ns + o.interval_ns, 0);
    b.open_time_ns = open_ns;
    b.interval_ns = o.interval_ns;
    b.open = s.open;
    b.high = s.high;
    b.low = s.low;
    b.close = s.close;
    b.volume = s.volume;
    b.quote_volume = s.quote_volume;
    b.taker_buy_volume = s.taker_buy_volume;
    b.taker_buy_quote_volume = s.taker_buy_quote;
    b.trade_count = s.trades;
    w.append(symbol, market_event::of(b, b.header.local_ts_ns));
  });
  w.close();
}

void write_sample_trades(const std::filesystem::path& file, const sample_trades_options& o) {
  chunked_file f(file);
  rng r(o.seed);
  const int64_t tick = 1'000'000;  // 0.01
  const int64_t lot = 1'000;       // 0.00001
  const int64_t unit = o.microseconds ? 1000 : 1'000'000;
  const double mean_gap = static_cast<double>(o.span_ns) / static_cast<double>(o.trades);
  // Per-trade volatility: about 60 % a year at this trade rate.
  const double sigma = 0.6 * std::sqrt(mean_gap / (365.0 * 86400.0 * 1e9));
  double price = o.start_price;
  double t = static_cast<double>(o.start_ns);
  std::string& out = f.buffer();
  if (o.header) out += "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n";
  for (uint64_t i = 0; i < o.trades; ++i) {
    // Bursty arrivals: exponential gaps, a tenth of them much shorter.
    const double u = std::max(r.uniform(), 1e-12);
    t += -std::log(u) * mean_gap * (r.uniform() < 0.1 ? 0.05 : 1.1056);  // mean: one gap
    const bool buyer_maker = r.uniform() < 0.5;
    price *= std::exp(sigma * r.normal() - 0.15 * std::log(price / o.start_price) * 1e-4);
    const int64_t p_fx = std::max(tick, to_fixed(price, tick, rounding::nearest));
    const double size = 0.002 * std::exp(1.2 * r.normal());
    const int64_t q_fx = std::max<int64_t>(lot, to_fixed(size, lot, rounding::nearest));
    const int64_t qq_fx = static_cast<int64_t>(static_cast<int128_t>(p_fx) * q_fx / fixed_scale);
    out += std::to_string(1'000'000 + i);
    out += ',';
    put_fixed8(out, p_fx);
    out += ',';
    put_fixed8(out, q_fx);
    out += ',';
    put_fixed8(out, qq_fx);
    out += ',';
    out += std::to_string(static_cast<int64_t>(t) / unit);
    out += buyer_maker ? ",True,True\n" : ",False,True\n";
    f.maybe_flush();
  }
  f.close();
}

}  // namespace cats
