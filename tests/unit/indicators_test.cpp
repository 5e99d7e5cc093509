// The SDK's indicators against independent references: each value is recomputed at every step
// with the textbook O(n) formula written out here (long double, whole window or whole prefix),
// and, where python3 with pandas is installed, against pandas as a second opinion. Save/load is
// checked by continuing a restored copy side by side with the original.
#include <cats/indicators.hpp>

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace {

using cats::fixed;
using ld = long double;

constexpr int64_t minute = 60'000'000'000;

struct ohlc {
  fixed open, high, low, close, volume;
};

// A random walk around `level` with a few flat stretches and jumps, in exact 8-decimal values.
std::vector<ohlc> walk(size_t n, double level, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0.0, level * 0.002);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<ohlc> out;
  double close = level;
  for (size_t i = 0; i < n; ++i) {
    const double open = close;
    if (u(rng) > 0.05) close = std::max(level * 0.01, close + step(rng));  // 5 % flat bars
    if (u(rng) < 0.01) close *= 1.05;
    const double high = std::max(open, close) + std::fabs(step(rng));
    const double low = std::max(level * 0.005, std::min(open, close) - std::fabs(step(rng)));
    out.push_back({fixed::from_double(open), fixed::from_double(high), fixed::from_double(low),
                   fixed::from_double(close), fixed::from_double(u(rng) * 10)});
  }
  return out;
}

cats_bar_event_t bar_event(const ohlc& b, int64_t open_time, int64_t interval = minute,
                           uint32_t instrument = 1) {
  cats_bar_event_t e{};
  e.header.struct_size = sizeof e;
  e.header.type = CATS_EVENT_BAR;
  e.header.instrument_id = instrument;
  e.header.exchange_ts_ns = open_time + interval;
  e.open_time_ns = open_time;
  e.interval_ns = interval;
  e.open = b.open.raw();
  e.high = b.high.raw();
  e.low = b.low.raw();
  e.close = b.close.raw();
  e.volume = b.volume.raw();
  e.trade_count = 3;
  return e;
}

ld d(fixed f) {
  return static_cast<ld>(f.raw()) / 1e8L;
}

// Equal to 1e-9 relative (or 1e-9 absolute near zero); both NaN counts as equal.
void expect_near(double got, ld want, const std::string& what, size_t step) {
  if (std::isnan(static_cast<double>(want))) {
    EXPECT_TRUE(std::isnan(got)) << what << " at step " << step << ": got " << got;
    return;
  }
  const ld tol = 1e-9L * std::max<ld>(1.0L, std::fabs(want));
  EXPECT_LE(std::fabs(static_cast<ld>(got) - want), tol)
      << what << " at step " << step << ": got " << got << ", want " << static_cast<double>(want);
}

std::vector<ld> closes_of(const std::vector<ohlc>& bars) {
  std::vector<ld> out;
  for (const ohlc& b : bars) out.push_back(d(b.close));
  return out;
}

// ---- the references, each the definition written out -------------------------------------------

ld ref_mean(const std::vector<ld>& x, size_t end, size_t n) {
  ld s = 0;
  for (size_t i = end - n; i < end; ++i) s += x[i];
  return s / static_cast<ld>(n);
}
ld ref_variance(const std::vector<ld>& x, size_t end, size_t n, unsigned ddof) {
  const ld m = ref_mean(x, end, n);
  ld s = 0;
  for (size_t i = end - n; i < end; ++i) s += (x[i] - m) * (x[i] - m);
  return s / static_cast<ld>(n - ddof);
}
// EMA over x[0, end) seeded with the mean of the first n, as the closed-form weighted sum.
ld ref_ema(const std::vector<ld>& x, size_t end, size_t n, ld alpha) {
  ld value = ref_mean(x, n, n), weight = 1;
  ld acc = 0;
  for (size_t i = end; i-- > n;) {
    acc += alpha * weight * x[i];
    weight *= (1 - alpha);
  }
  return acc + weight * value;
}
ld ref_rsi(const std::vector<ld>& x, size_t end, size_t n) {
  std::vector<ld> gains, losses;
  for (size_t i = 1; i < end; ++i) {
    gains.push_back(std::max<ld>(0, x[i] - x[i - 1]));
    losses.push_back(std::max<ld>(0, x[i - 1] - x[i]));
  }
  const ld g = ref_ema(gains, gains.size(), n, 1.0L / n);
  const ld l = ref_ema(losses, losses.size(), n, 1.0L / n);
  if (l == 0) return g == 0 ? 50 : 100;
  return 100 - 100 / (1 + g / l);
}

TEST(Indicators, MovingAveragesMatchTheirDefinitions) {
  const auto bars = walk(1500, 30000.0, 1);
  const auto x = closes_of(bars);
  for (size_t n : {1u, 2u, 14u, 50u}) {
    cats::sma s(n);
    cats::ema e(n);
    cats::wma w(n);
    for (size_t i = 0; i < x.size(); ++i) {
      s.update(bars[i].close);
      e.update(bars[i].close);
      w.update(bars[i].close);
      const size_t seen = i + 1;
      ASSERT_EQ(s.ready(), seen >= n);
      ASSERT_EQ(e.ready(), seen >= n);
      if (seen < n) {
        EXPECT_TRUE(std::isnan(s.value()) && std::isnan(e.value()) && std::isnan(w.value()));
        continue;
      }
      expect_near(s.value(), ref_mean(x, seen, n), "sma(" + std::to_string(n) + ")", i);
      expect_near(e.value(), ref_ema(x, seen, n, 2.0L / (n + 1)), "ema", i);
      ld num = 0;
      for (size_t k = 0; k < n; ++k) num += static_cast<ld>(k + 1) * x[seen - n + k];
      expect_near(w.value(), num / (n * (n + 1) / 2.0L), "wma", i);
    }
  }
}

TEST(Indicators, CompareOfTwoSmasIsExactWhereDoublesTie) {
  // At 9e9 a double's spacing is 2e-6: averages 1e-8 apart are the same double, but not the
  // same number.
  cats::sma a(3), b(2);
  for (int i = 0; i < 3; ++i) a.update(fixed::from_raw(900'000'000'000'000'001));
  for (int i = 0; i < 2; ++i) b.update(fixed::from_raw(900'000'000'000'000'000));
  EXPECT_EQ(a.value(), b.value());  // the doubles cannot tell them apart
  EXPECT_EQ(cats::compare(a, b), 1);
  EXPECT_EQ(cats::compare(b, a), -1);
  EXPECT_EQ(cats::compare(a, a), 0);
}

// The sum is kept in 64 bits while it fits and in 128 beyond: a window of huge prices goes past
// 2^63 and back, and the sum, the average and the comparison stay exact all the way.
TEST(Indicators, SmaSumIsExactPastSixtyFourBitsAndBack) {
  const int64_t huge = INT64_MAX / 2 + 12345;  // three of them overflow 64 bits
  std::vector<int64_t> xs = {huge, huge, huge, huge, 7, -3, 5, huge, -huge, -huge, -huge, 1, 2, 3};
  cats::sma a(3), b(2);
  std::vector<int64_t> seen;
  for (size_t i = 0; i < xs.size(); ++i) {
    SCOPED_TRACE(i);
    a.update(fixed::from_raw(xs[i]));
    b.update(fixed::from_raw(xs[i]));
    seen.push_back(xs[i]);
    cats::int128_t want_a = 0, want_b = 0;
    for (size_t k = seen.size() >= 3 ? seen.size() - 3 : 0; k < seen.size(); ++k) want_a += seen[k];
    for (size_t k = seen.size() >= 2 ? seen.size() - 2 : 0; k < seen.size(); ++k) want_b += seen[k];
    EXPECT_TRUE(a.sum() == want_a);
    EXPECT_TRUE(b.sum() == want_b);
    const cats::int128_t l = want_a * 2, r = want_b * 3;
    EXPECT_EQ(cats::compare(a, b), l > r ? 1 : (l < r ? -1 : 0));
    EXPECT_EQ(cats::compare(b, a), l > r ? -1 : (l < r ? 1 : 0));
  }
  // An add that overflows 64 bits while the sum after the value that leaves fits; the extremes.
  for (const std::vector<int64_t>& run :
       {std::vector<int64_t>{INT64_MAX, -1, INT64_MAX, 5, INT64_MAX},
        std::vector<int64_t>{INT64_MIN, INT64_MIN, INT64_MIN, 3, INT64_MIN, INT64_MAX},
        std::vector<int64_t>{INT64_MIN, INT64_MAX, INT64_MIN, INT64_MAX, 0, -1}}) {
    cats::sma two(2), three(3);
    std::vector<int64_t> got;
    for (const int64_t v : run) {
      two.update(fixed::from_raw(v));
      three.update(fixed::from_raw(v));
      got.push_back(v);
      cats::int128_t want2 = 0, want3 = 0;
      for (size_t k = got.size() >= 2 ? got.size() - 2 : 0; k < got.size(); ++k) want2 += got[k];
      for (size_t k = got.size() >= 3 ? got.size() - 3 : 0; k < got.size(); ++k) want3 += got[k];
      EXPECT_TRUE(two.sum() == want2) << got.size();
      EXPECT_TRUE(three.sum() == want3) << got.size();
      const cats::int128_t l = want2 * 3, r = want3 * 2;
      EXPECT_EQ(cats::compare(two, three), l > r ? 1 : (l < r ? -1 : 0)) << got.size();
    }
  }
  int64_t narrow = 0;
  EXPECT_TRUE(a.narrow_sum(narrow));  // 1 + 2 + 3 fits again
  EXPECT_EQ(narrow, 6);
  a.update(fixed::from_raw(huge));
  a.update(fixed::from_raw(huge));
  a.update(fixed::from_raw(huge));
  EXPECT_FALSE(a.narrow_sum(narrow));
  a.reset();
  EXPECT_TRUE(a.narrow_sum(narrow));
  EXPECT_EQ(narrow, 0);
}

TEST(Indicators, DispersionMatchesTwoPassFormulas) {
  const auto bars = walk(1200, 2.5, 2);
  const auto x = closes_of(bars);
  const size_t n = 20;
  cats::rolling_variance pop(n), sample(n, 1);
  cats::rolling_stdev sd(n);
  cats::bollinger bb(n, 2.0);
  cats::zscore z(n);
  for (size_t i = 0; i < x.size(); ++i) {
    for (auto* v : {&pop, &sample}) v->update(bars[i].close);
    sd.update(bars[i].close);
    bb.update(bars[i].close);
    z.update(bars[i].close);
    const size_t seen = i + 1;
    if (seen < n) {
      EXPECT_TRUE(std::isnan(pop.variance()) && std::isnan(bb.upper()) && std::isnan(z.value()));
      continue;
    }
    const ld var = ref_variance(x, seen, n, 0), m = ref_mean(x, seen, n);
    expect_near(pop.variance(), var, "variance", i);
    expect_near(pop.mean(), m, "mean", i);
    expect_near(sample.variance(), ref_variance(x, seen, n, 1), "sample variance", i);
    expect_near(sd.value(), std::sqrt(var), "stdev", i);
    expect_near(bb.middle(), m, "bollinger middle", i);
    expect_near(bb.upper(), m + 2 * std::sqrt(var), "bollinger upper", i);
    expect_near(bb.lower(), m - 2 * std::sqrt(var), "bollinger lower", i);
    if (var > 0) {
      expect_near(z.value(), (x[i] - m) / std::sqrt(var), "zscore", i);
      expect_near(bb.percent_b(), (x[i] - (m - 2 * std::sqrt(var))) / (4 * std::sqrt(var)), "%b",
                  i);
    } else {
      EXPECT_TRUE(std::isnan(z.value())) << "a flat window has no z-score";
    }
  }
}

TEST(Indicators, VarianceStaysExactOverAMillionUpdatesAtAHighLevel) {
  // Prices near 1e9 moving by 1e-8: the textbook running sum of squares in doubles loses every
  // digit here (x^2 ~ 1e18 against a variance ~ 1e-16). The kit's exact sums do not.
  cats::rolling_variance v(100);
  std::mt19937_64 rng(3);
  std::vector<ld> x;
  double naive_sum = 0, naive_sq = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const int64_t raw = 100'000'000'000'000'000 + static_cast<int64_t>(rng() % 7);
    v.update(fixed::from_raw(raw));
    x.push_back(static_cast<ld>(raw - 100'000'000'000'000'000) / 1e8L);  // shifted: exact
    const double xd = static_cast<double>(raw) / 1e8;
    naive_sum += xd;
    naive_sq += xd * xd;
    if (i >= 100) {
      const double xo = static_cast<double>(x[x.size() - 101] * 1e8L + 1e17L) / 1e8;
      naive_sum -= xo;
      naive_sq -= xo * xo;
    }
  }
  const ld want = ref_variance(x, x.size(), 100, 0);  // shift-invariant
  expect_near(v.variance() * 1e16, want * 1e16L, "variance at 1e9", 0);
  const double naive = (naive_sq - naive_sum * naive_sum / 100) / 100;
  EXPECT_GT(std::fabs(naive - static_cast<double>(want)), 0.5 * static_cast<double>(want))
      << "the naive formula should be visibly wrong here, or this test proves nothing";
}

TEST(Indicators, ExtremesRateOfChangeAndChannels) {
  const auto bars = walk(1000, 100.0, 4);
  const auto x = closes_of(bars);
  const size_t n = 15;
  cats::rolling_max mx(n);
  cats::rolling_min mn(n);
  cats::donchian dc(n);
  cats::roc r(n);
  for (size_t i = 0; i < bars.size(); ++i) {
    mx.update(bars[i].close);
    mn.update(bars[i].close);
    dc.update(bars[i].high, bars[i].low);
    r.update(bars[i].close);
    const size_t seen = i + 1;
    ASSERT_EQ(mx.ready(), seen >= n);
    ASSERT_EQ(r.ready(), seen > n) << "roc needs n + 1 values";
    if (seen < n) continue;
    fixed hi = bars[seen - n].close, lo = hi, hh = bars[seen - n].high, ll = bars[seen - n].low;
    for (size_t k = seen - n; k < seen; ++k) {
      hi = std::max(hi, bars[k].close);
      lo = std::min(lo, bars[k].close);
      hh = std::max(hh, bars[k].high);
      ll = std::min(ll, bars[k].low);
    }
    EXPECT_EQ(mx.extreme(), hi) << i;
    EXPECT_EQ(mn.extreme(), lo) << i;
    EXPECT_EQ(dc.upper(), hh) << i;
    EXPECT_EQ(dc.lower(), ll) << i;
    expect_near(dc.middle(), (d(hh) + d(ll)) / 2, "donchian middle", i);
    if (seen > n) expect_near(r.value(), 100 * (x[i] - x[i - n]) / x[i - n], "roc", i);
  }
}

TEST(Indicators, RsiMacdTrueRangeAndAtr) {
  const auto bars = walk(700, 50.0, 5);
  const auto x = closes_of(bars);
  const size_t n = 14;
  cats::rsi rsi(n);
  cats::macd macd(12, 26, 9);
  cats::atr atr(n);
  cats::true_range tr;
  std::vector<ld> trs, macd_line;
  for (size_t i = 0; i < bars.size(); ++i) {
    const ohlc& b = bars[i];
    rsi.update(b.close);
    macd.update(b.close);
    atr.update(b.high, b.low, b.close);
    tr.update(b.high, b.low, b.close);
    const size_t seen = i + 1;
    fixed want_tr = b.high - b.low;
    if (i > 0) {
      const fixed prev = bars[i - 1].close;
      want_tr = std::max({want_tr, b.high - prev, prev - b.high, b.low - prev, prev - b.low});
    }
    trs.push_back(d(want_tr));
    EXPECT_EQ(tr.range(), want_tr) << "true range is exact, step " << i;
    ASSERT_EQ(rsi.ready(), seen > n);
    if (seen > n) expect_near(rsi.value(), ref_rsi(x, seen, n), "rsi", i);
    if (seen >= n) expect_near(atr.value(), ref_ema(trs, seen, n, 1.0L / n), "atr", i);
    if (seen >= 26) {
      macd_line.push_back(ref_ema(x, seen, 12, 2.0L / 13) - ref_ema(x, seen, 26, 2.0L / 27));
      expect_near(macd.line(), macd_line.back(), "macd line", i);
    }
    ASSERT_EQ(macd.ready(), macd_line.size() >= 9);
    if (macd.ready()) {
      const ld sig = ref_ema(macd_line, macd_line.size(), 9, 2.0L / 10);
      expect_near(macd.signal(), sig, "macd signal", i);
      expect_near(macd.histogram(), macd_line.back() - sig, "macd histogram", i);
    }
  }
}

TEST(Indicators, RsiOfAFlatSeriesIsFiftyAndOfARiseAHundred) {
  cats::rsi flat(3), rise(3);
  for (int i = 0; i < 10; ++i) {
    flat.update(fixed::from_int(7));
    rise.update(fixed::from_int(7 + i));
  }
  EXPECT_EQ(flat.value(), 50.0);
  EXPECT_EQ(rise.value(), 100.0);
}

TEST(Indicators, VwapIsExactAndStartsOverEachSession) {
  const auto bars = walk(3000, 1000.0, 6);
  const int64_t day = 1440 * minute;
  cats::vwap anchored(day), forever;
  const int64_t t0 = 1'700'000'000'000'000'000 / day * day + 600 * minute;  // mid-day start
  ld num = 0, vol = 0, num_all = 0, vol_all = 0;
  int64_t session = -1;
  for (size_t i = 0; i < bars.size(); ++i) {
    const int64_t open = t0 + static_cast<int64_t>(i) * minute;
    const cats_bar_event_t e = bar_event(bars[i], open);
    anchored.update(cats::bar(e));
    forever.update(cats::bar(e));
    if (open / day != session) {
      session = open / day;
      num = vol = 0;
    }
    const ld typical = (d(bars[i].high) + d(bars[i].low) + d(bars[i].close)) / 3;
    num += typical * d(bars[i].volume);
    vol += d(bars[i].volume);
    num_all += typical * d(bars[i].volume);
    vol_all += d(bars[i].volume);
    if (vol > 0) expect_near(anchored.value(), num / vol, "session vwap", i);
    if (vol_all > 0) expect_near(forever.value(), num_all / vol_all, "vwap", i);
  }
  cats::vwap trades;
  trades.update(0, fixed::from_int(100), fixed::from_int(1));
  trades.update(1, fixed::from_int(103), fixed::from_int(2));
  EXPECT_EQ(trades.value(), 102.0);  // (100 + 206) / 3
}

// ---- history and higher timeframes --------------------------------------------------------------

TEST(Indicators, HistoryKeepsTheLastBarsOfEachInstrument) {
  const auto bars = walk(40, 10.0, 7);
  cats::bar_history h(5);
  for (size_t i = 0; i < bars.size(); ++i) {
    const cats_bar_event_t e = bar_event(bars[i], static_cast<int64_t>(i) * minute, minute,
                                         1 + static_cast<uint32_t>(i % 2));
    h.push(cats::bar(e));
  }
  ASSERT_EQ(h(1).size(), 5u);
  ASSERT_EQ(h(2).size(), 5u);
  EXPECT_TRUE(h(3).empty());
  // Instrument 1 got the even bars: its newest is bar 38, then 36 …
  for (size_t age = 0; age < 5; ++age) {
    EXPECT_EQ(h(1)[age].close, bars[38 - 2 * age].close);
    EXPECT_EQ(h(2)[age].close, bars[39 - 2 * age].close);
  }
  EXPECT_EQ(h(1)[0].open_time_ns, 38 * minute);
  EXPECT_THROW((void)h(1)[5], cats::error);
  const auto last3 = h.last(2, 3);  // oldest first
  ASSERT_EQ(last3.size(), 3u);
  EXPECT_EQ(last3[0].close, bars[35].close);
  EXPECT_EQ(last3[2].close, bars[39].close);
  EXPECT_EQ(h.last(2, 50).size(), 5u);
}

TEST(Indicators, ResamplerBuildsAlignedBarsAndHandsThemOnWithoutDelay) {
  const auto bars = walk(200, 10.0, 8);
  const int64_t five = 5 * minute;
  // Start at 3 minutes past a five-minute boundary; leave out bars 50-56, minutes 53-59 (interval
  // 50 is cut short after minute 52, interval 55 has no bar at all).
  const int64_t t0 = 1'000 * five + 3 * minute;
  cats::resampler r(five);
  std::vector<cats_bar_event_t> out;
  std::vector<size_t> emitted_after;  // which input bar completed each output bar
  std::vector<size_t> used;
  for (size_t i = 0; i < bars.size(); ++i) {
    if (i >= 50 && i <= 56) continue;
    used.push_back(i);
    const cats_bar_event_t e = bar_event(bars[i], t0 + static_cast<int64_t>(i) * minute);
    r.update(cats::bar(e), [&](const cats::bar& b) {
      out.push_back(b.raw());
      emitted_after.push_back(i);
    });
  }
  // The reference: group the bars that were fed by their five-minute interval.
  std::vector<std::vector<size_t>> groups;
  int64_t current = -1;
  for (size_t i : used) {
    const int64_t start = (t0 + static_cast<int64_t>(i) * minute) / five * five;
    if (start != current) groups.emplace_back();
    current = start;
    groups.back().push_back(i);
  }
  // Every group is handed on but the last, which has not reached its interval's end.
  const int64_t last_open = t0 + 199 * minute;
  const bool last_complete = (last_open + minute) % five == 0;
  ASSERT_EQ(out.size(), groups.size() - (last_complete ? 0 : 1));
  for (size_t g = 0; g < out.size(); ++g) {
    const auto& idx = groups[g];
    const cats_bar_event_t& b = out[g];
    const int64_t start = (t0 + static_cast<int64_t>(idx.front()) * minute) / five * five;
    EXPECT_EQ(b.open_time_ns, start);
    EXPECT_EQ(b.header.exchange_ts_ns, start + five);
    EXPECT_EQ(b.interval_ns, five);
    EXPECT_EQ(b.open, bars[idx.front()].open.raw());
    EXPECT_EQ(b.close, bars[idx.back()].close.raw());
    int64_t hi = b.open, lo = b.open, vol = 0;
    for (size_t i : idx) {
      hi = std::max(hi, bars[i].high.raw());
      lo = std::min(lo, bars[i].low.raw());
      vol += bars[i].volume.raw();
    }
    EXPECT_EQ(b.high, hi);
    EXPECT_EQ(b.low, lo);
    EXPECT_EQ(b.volume, vol);
    EXPECT_EQ(b.trade_count, 3 * static_cast<int64_t>(idx.size()));
    // A full interval is handed on with its own last minute; one cut short by the gap when
    // the next bar arrives.
    const bool full = (t0 + static_cast<int64_t>(idx.back() + 1) * minute) % five == 0;
    EXPECT_EQ(emitted_after[g], full ? idx.back() : groups[g + 1].front()) << "group " << g;
  }
}

// ---- state
// ----------------------------------------------------------------------------------------

// Runs `a` over the first half, saves it into `b`, runs both over the second half and checks that
// every value is identical (not just close): a reload changes nothing.
template <class T, class Feed, class Value>
void check_save_load(T a, T b, const std::vector<ohlc>& bars, Feed feed, Value value) {
  const size_t half = bars.size() / 2;
  for (size_t i = 0; i < half; ++i) feed(a, bars[i], i);
  cats::state_writer w;
  a.save(w);
  cats::state_reader r(w.bytes().data(), w.bytes().size());
  b.load(r);
  EXPECT_EQ(r.remaining(), 0u);
  for (size_t i = half; i < bars.size(); ++i) {
    feed(a, bars[i], i);
    feed(b, bars[i], i);
    const double va = value(a), vb = value(b);
    ASSERT_TRUE((std::isnan(va) && std::isnan(vb)) || va == vb) << i << ": " << va << " vs " << vb;
  }
  // A truncated blob is refused with bad_state, never read past its end.
  for (size_t cut : {size_t{0}, w.bytes().size() / 2, w.bytes().size() - 1}) {
    cats::state_reader part(w.bytes().data(), cut);
    EXPECT_THROW(b.load(part), cats::bad_state) << "cut at " << cut;
  }
}

TEST(Indicators, EverySaveLoadContinuesIdentically) {
  const auto bars = walk(400, 100.0, 9);
  auto close = [](auto& i, const ohlc& b, size_t) { i.update(b.close); };
  auto hlc = [](auto& i, const ohlc& b, size_t) { i.update(b.high, b.low, b.close); };
  auto val = [](const auto& i) { return i.value(); };
  check_save_load(cats::sma(20), cats::sma(20), bars, close, val);
  check_save_load(cats::ema(20), cats::ema(20), bars, close, val);
  check_save_load(cats::wma(20), cats::wma(20), bars, close, val);
  check_save_load(cats::rolling_variance(20, 1), cats::rolling_variance(20, 1), bars, close, val);
  check_save_load(cats::zscore(20), cats::zscore(20), bars, close, val);
  check_save_load(cats::bollinger(20), cats::bollinger(20), bars, close,
                  [](const cats::bollinger& b) { return b.upper(); });
  check_save_load(cats::rolling_max(20), cats::rolling_max(20), bars, close, val);
  check_save_load(cats::rolling_min(20), cats::rolling_min(20), bars, close, val);
  check_save_load(
      cats::donchian(20), cats::donchian(20), bars,
      [](auto& i, const ohlc& b, size_t) { i.update(b.high, b.low); }, val);
  check_save_load(cats::roc(20), cats::roc(20), bars, close, val);
  check_save_load(cats::rsi(14), cats::rsi(14), bars, close, val);
  check_save_load(cats::macd(), cats::macd(), bars, close,
                  [](const cats::macd& m) { return m.histogram(); });
  check_save_load(cats::true_range(), cats::true_range(), bars, hlc, val);
  check_save_load(cats::atr(14), cats::atr(14), bars, hlc, val);
  check_save_load(
      cats::vwap(30 * minute), cats::vwap(30 * minute), bars,
      [](auto& i, const ohlc& b, size_t k) {
        i.update(static_cast<int64_t>(k) * minute, b.close, b.volume);
      },
      val);
  check_save_load(
      cats::resampler(5 * minute), cats::resampler(5 * minute), bars,
      [](cats::resampler& r, const ohlc& b, size_t k) {
        const cats_bar_event_t e = bar_event(b, static_cast<int64_t>(k) * minute);
        r.update(cats::bar(e), [](const cats::bar&) {});
      },
      [](const cats::resampler& r) { return r.partial() ? r.partial()->close.to_double() : -1.0; });
  check_save_load(
      cats::bar_history(8), cats::bar_history(8), bars,
      [](cats::bar_history& h, const ohlc& b, size_t k) {
        const cats_bar_event_t e =
            bar_event(b, static_cast<int64_t>(k) * minute, minute, 1 + k % 3);
        h.push(cats::bar(e));
      },
      [](const cats::bar_history& h) { return h(2)[7].close.to_double(); });
}

TEST(Indicators, AStateOfAnotherShapeIsRefused) {
  auto blob = [](const auto& ind) {
    cats::state_writer w;
    ind.save(w);
    return w.bytes();
  };
  auto load = [](auto&& ind, const std::vector<unsigned char>& bytes) {
    cats::state_reader r(bytes.data(), bytes.size());
    ind.load(r);
  };
  EXPECT_THROW(load(cats::sma(21), blob(cats::sma(20))), cats::bad_state);
  EXPECT_THROW(load(cats::ema(21), blob(cats::ema(20))), cats::bad_state);
  EXPECT_THROW(load(cats::rolling_max(5), blob(cats::rolling_max(6))), cats::bad_state);
  EXPECT_THROW(load(cats::vwap(1), blob(cats::vwap(2))), cats::bad_state);
  EXPECT_THROW(load(cats::resampler(1), blob(cats::resampler(2))), cats::bad_state);
  // A rolling-extreme queue that is not monotonic is refused, not trusted.
  cats::rolling_max m(4);
  for (int v : {5, 3, 1}) m.update(fixed::from_int(v));
  auto bytes = blob(m);
  // n, seq, size, then (seq, value) entries: swap the values of the first two.
  std::swap_ranges(bytes.begin() + 32, bytes.begin() + 40, bytes.begin() + 48);
  EXPECT_THROW(load(cats::rolling_max(4), bytes), cats::bad_state);
}

// Blobs a hostile or corrupted state could hold: each refused with bad_state, never trusted.
TEST(Indicators, CraftedStatesAreRefused) {
  auto load = [](auto&& ind, const cats::state_writer& w) {
    cats::state_reader r(w.bytes().data(), w.bytes().size());
    ind.load(r);
  };
  {  // a rolling maximum whose counter is about to wrap around
    cats::state_writer w;
    w.put<uint64_t>(5);
    w.put<uint64_t>(~uint64_t{0} - 5);
    w.put<uint64_t>(1);
    w.put<uint64_t>(~uint64_t{0} - 6);
    w.put<int64_t>(1);
    EXPECT_THROW(load(cats::rolling_max(5), w), cats::bad_state);
  }
  {  // a history naming one instrument twice, or holding an empty series
    cats::bar_history h(3);
    const cats_bar_event_t e =
        bar_event({fixed::from_int(1), fixed::from_int(2), fixed::from_int(1), fixed::from_int(2),
                   fixed::from_int(1)},
                  0);
    h.push(cats::bar(e));
    cats::state_writer one;
    h.save(one);
    cats::state_writer twice;
    twice.put<uint64_t>(2);
    for (int k = 0; k < 2; ++k) {
      twice.put<uint32_t>(1);
      twice.put<uint64_t>(1);
      twice.put(cats::record_of(cats::bar(e)));
    }
    EXPECT_THROW(load(cats::bar_history(3), twice), cats::bad_state);
    cats::state_writer empty;
    empty.put<uint64_t>(1);
    empty.put<uint32_t>(1);
    empty.put<uint64_t>(0);
    EXPECT_THROW(load(cats::bar_history(3), empty), cats::bad_state);
    cats::bar_history ok(3);
    load(ok, one);
    EXPECT_EQ(ok(1).size(), 1u);
  }
  {  // a resampler bar that is not aligned to its interval
    cats::resampler r(5 * minute);
    const cats_bar_event_t e =
        bar_event({fixed::from_int(1), fixed::from_int(2), fixed::from_int(1), fixed::from_int(2),
                   fixed::from_int(1)},
                  0);
    r.update(cats::bar(e), [](const cats::bar&) {});
    cats::state_writer w;
    r.save(w);
    std::vector<unsigned char> bytes = w.bytes();
    // interval (8), open flag (1), then the event: its open_time_ns is 32 bytes in.
    int64_t open_time = minute;
    std::memcpy(bytes.data() + 9 + 32, &open_time, 8);
    cats::state_reader rd(bytes.data(), bytes.size());
    cats::resampler other(5 * minute);
    EXPECT_THROW(other.load(rd), cats::bad_state);
    // Within one interval of INT64_MIN (found by the indicators fuzz target: the check itself
    // overflowed): refused, with no undefined arithmetic on the way.
    open_time = std::numeric_limits<int64_t>::min() + 7;
    std::memcpy(bytes.data() + 9 + 32, &open_time, 8);
    cats::state_reader rd2(bytes.data(), bytes.size());
    cats::resampler third(5 * minute);
    EXPECT_THROW(third.load(rd2), cats::bad_state);
  }
  {  // an RSI whose two averages saw different numbers of changes
    cats::state_writer w;
    cats::ema::wilder(3).save(w);
    cats::ema g = cats::ema::wilder(3);
    g.update(1.0);
    g.save(w);
    w.put<int64_t>(0);
    w.put<uint8_t>(1);
    EXPECT_THROW(load(cats::rsi(3), w), cats::bad_state);
  }
  {  // a VWAP with value but no volume
    cats::state_writer w;
    w.put<int64_t>(0);
    w.put<int64_t>(0);
    w.put<cats::int128_t>(5);
    w.put<cats::int128_t>(0);
    EXPECT_THROW(load(cats::vwap(0), w), cats::bad_state);
  }
}

TEST(Indicators, AnOverflowLeavesTheVarianceAsItWas) {
  cats::rolling_variance v(3);
  const int64_t low = std::numeric_limits<int64_t>::min() + 1;
  for (int64_t d : {0, 3, 5}) v.update(fixed::from_raw(low + d));
  const double before = v.variance();
  // The distance from the reference squared leaves 128 bits: refused, nothing changed.
  EXPECT_THROW(v.update(fixed::from_raw(std::numeric_limits<int64_t>::max())), cats::error);
  EXPECT_EQ(v.variance(), before);
  EXPECT_EQ(v.last(), fixed::from_raw(low + 5));
}

// Found by the indicators fuzz target: sums that a loaded state puts next to the limit, and
// ranges between extreme values, throw cats::error instead of overflowing.
TEST(Indicators, ExtremeStatesThrowInsteadOfOverflowing) {
  cats::state_writer w;
  w.put<int64_t>(0);
  w.put<int64_t>(std::numeric_limits<int64_t>::min());
  w.put<cats::int128_t>(0);
  const cats::int128_t near_max = ~(static_cast<cats::int128_t>(1) << 127) - 5;
  w.put<cats::int128_t>(near_max);
  cats::vwap v;
  cats::state_reader r(w.bytes().data(), w.bytes().size());
  v.load(r);
  EXPECT_THROW(v.update(0, fixed::from_int(1), fixed::from_int(1)), cats::error);
  // A variance window of extremes: its squared distances leave 128 bits; refused on load.
  cats::state_writer ext;
  ext.put_vector(std::vector<int64_t>{std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max(),
                                      std::numeric_limits<int64_t>::min()});
  ext.put<uint64_t>(0);
  ext.put<uint64_t>(3);
  cats::rolling_variance var(3);
  cats::state_reader er(ext.bytes().data(), ext.bytes().size());
  EXPECT_THROW(var.load(er), cats::bad_state);
  cats::true_range tr;
  tr.update(fixed::from_raw(0), fixed::from_raw(0),
            fixed::from_raw(std::numeric_limits<int64_t>::min()));
  EXPECT_THROW(tr.update(fixed::from_raw(std::numeric_limits<int64_t>::max()), fixed::from_raw(0),
                         fixed::from_raw(0)),
               cats::error);
}

TEST(Indicators, BadArgumentsAreRefusedWithAMessage) {
  EXPECT_THROW(cats::sma(0), cats::error);
  EXPECT_THROW(cats::ema(0), cats::error);
  EXPECT_THROW(cats::rolling_variance(1, 1), cats::error);
  EXPECT_THROW(cats::macd(26, 12), cats::error);
  EXPECT_THROW(cats::bollinger(20, 0), cats::error);
  EXPECT_THROW(cats::resampler(0), cats::error);
  try {
    cats::rsi r(0);
    FAIL() << "rsi(0) was accepted";
  } catch (const cats::error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 1"), std::string::npos) << e.what();
  }
}

// ---- pandas, a second opinion
// ---------------------------------------------------------------------

TEST(Indicators, AgreeWithPandas) {
  // Debian's python3 first: a python3 earlier in PATH (a pyenv, a venv) may lack pandas.
  std::string python;
  for (const char* p : {"/usr/bin/python3", "python3"})
    if (std::system((std::string(p) + " -c 'import pandas' >/dev/null 2>&1").c_str()) == 0) {
      python = p;
      break;
    }
  if (python.empty())
    GTEST_SKIP() << "python3 with pandas is not installed (Debian: python3-pandas); the "
                    "independent formulas above still ran";
  const auto bars = walk(600, 250.0, 10);
  const auto dir =
      std::filesystem::temp_directory_path() / ("cats_indicators_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "in.csv");
    f << "high,low,close\n";
    for (const ohlc& b : bars)
      f << b.high.to_string() << ',' << b.low.to_string() << ',' << b.close.to_string() << '\n';
  }
  // pandas' ewm(adjust=False) starts from the first value; the kit (as TA-Lib) from the mean of
  // the first n. Both agree once the series handed to pandas starts with that mean.
  const std::string script = R"(
import sys, pandas as pd, numpy as np
d = pd.read_csv(sys.argv[1], dtype=str).astype(float)
c, h, l = d['close'], d['high'], d['low']
n = 14
def seeded_ewm(s, n, alpha):
    s = s.dropna().reset_index(drop=True)
    seed = s.iloc[:n].mean()
    t = pd.concat([pd.Series([seed]), s.iloc[n:]], ignore_index=True)
    e = t.ewm(alpha=alpha, adjust=False).mean()
    return pd.Series([np.nan] * (n - 1) + list(e))
out = pd.DataFrame({
  'sma': c.rolling(n).mean(),
  'ema': seeded_ewm(c, n, 2 / (n + 1)),
  'wma': c.rolling(n).apply(lambda w: np.dot(w, np.arange(1, n + 1)) / (n * (n + 1) / 2), raw=True),
  'std0': c.rolling(n).std(ddof=0),
  'std1': c.rolling(n).std(ddof=1),
  'max': c.rolling(n).max(),
  'min': c.rolling(n).min(),
  'roc': c.pct_change(n) * 100,
})
ch = c.diff()
g = seeded_ewm(ch.clip(lower=0), n, 1 / n)
lo = seeded_ewm((-ch).clip(lower=0), n, 1 / n)
out['rsi'] = [np.nan] + list(100 - 100 / (1 + g / lo))[:len(c) - 1]
pc = c.shift(1)
tr = pd.concat([h - l, (h - pc).abs(), (l - pc).abs()], axis=1).max(axis=1)
out['atr'] = seeded_ewm(tr, n, 1 / n)
out.to_csv(sys.argv[2], index=False, na_rep='nan', float_format='%.17g')
)";
  cats::test::write_file(dir / "ref.py", script);
  const std::string cmd = python + " " + (dir / "ref.py").string() + " " +
                          (dir / "in.csv").string() + " " + (dir / "out.csv").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(dir / "out.csv");
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line, "sma,ema,wma,std0,std1,max,min,roc,rsi,atr");
  cats::sma sma(14);
  cats::ema ema(14);
  cats::wma wma(14);
  cats::rolling_variance v0(14), v1(14, 1);
  cats::rolling_max mx(14);
  cats::rolling_min mn(14);
  cats::roc roc(14);
  cats::rsi rsi(14);
  cats::atr atr(14);
  size_t rows = 0;
  for (size_t i = 0; std::getline(in, line); ++i, ++rows) {
    ASSERT_LT(i, bars.size());
    const ohlc& b = bars[i];
    sma.update(b.close);
    ema.update(b.close);
    wma.update(b.close);
    v0.update(b.close);
    v1.update(b.close);
    mx.update(b.close);
    mn.update(b.close);
    roc.update(b.close);
    rsi.update(b.close);
    atr.update(b.high, b.low, b.close);
    std::vector<double> want;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) want.push_back(std::stod(cell));
    ASSERT_EQ(want.size(), 10u) << line;
    const double got[] = {sma.value(), ema.value(), wma.value(), v0.stdev(),  v1.stdev(),
                          mx.value(),  mn.value(),  roc.value(), rsi.value(), atr.value()};
    const char* names[] = {"sma", "ema", "wma", "std0", "std1", "max", "min", "roc", "rsi", "atr"};
    for (size_t k = 0; k < 10; ++k)
      expect_near(got[k], want[k], std::string("pandas ") + names[k], i);
  }
  EXPECT_EQ(rows, bars.size());
  std::filesystem::remove_all(dir);
}

}  // namespace
