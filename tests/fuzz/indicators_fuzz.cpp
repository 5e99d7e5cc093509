// Fuzz target: the SDK indicators' load() (cats/indicators.hpp), which reads the state a hot
// reload hands over, must refuse any blob it does not understand with cats::bad_state, never read
// past it (ASan) or build an object that breaks later (UBSan, traps). What it accepts must save
// back to the same bytes, load into a fresh instance, and go on updating without a failure. The
// input's first byte picks the indicator, the rest is its blob. Driven like kline_csv_fuzz.cpp.
#include <cats/indicators.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"

namespace {

using cats::fuzz::require;

cats_bar_event_t bar_at(int64_t k, int64_t price) {
  cats_bar_event_t e{};
  e.header.struct_size = sizeof e;
  e.header.type = CATS_EVENT_BAR;
  e.header.instrument_id = 1 + static_cast<uint32_t>(k % 2);
  e.open_time_ns = k * 60'000'000'000;
  e.interval_ns = 60'000'000'000;
  e.header.exchange_ts_ns = e.open_time_ns + e.interval_ns;
  e.open = e.close = price;
  e.high = price + 100;
  e.low = price - 100;
  e.volume = 100'000'000;
  return e;
}

// Loads `blob` into a fresh `make()`; if accepted: saves it back (same bytes), loads that into
// another fresh one, then feeds both a few bars (a throw is allowed only as cats::error from an
// overflow, the same in both).
template <class Make, class Feed>
void check(const std::vector<unsigned char>& blob, Make make, Feed feed) {
  auto a = make();
  try {
    cats::state_reader r(blob.data(), blob.size());
    a.load(r);
  } catch (const cats::bad_state&) {
    return;
  }
  cats::state_writer w;
  a.save(w);
  auto b = make();
  cats::state_reader again(w.bytes().data(), w.bytes().size());
  b.load(again);  // what it saved, it must take back
  cats::state_writer w2;
  b.save(w2);
  require(w2.bytes() == w.bytes());
  for (int64_t k = 0; k < 40; ++k) {
    const cats_bar_event_t e = bar_at(k, 4'000'000'000'000 + (k % 7) * 1'000'000);
    bool threw_a = false, threw_b = false;
    try {
      feed(a, cats::bar(e));
    } catch (const cats::error&) {
      threw_a = true;
    }
    try {
      feed(b, cats::bar(e));
    } catch (const cats::error&) {
      threw_b = true;
    }
    require(threw_a == threw_b);
  }
}

// Calls f(make, feed) for the indicator `which` picks: how to build a fresh one and how to feed
// it a bar (with the promises its outputs keep).
template <class F>
void with_indicator(uint8_t which, F&& f) {
  auto close = [](auto& i, const cats::bar& b) { i.update(b.close()); };
  auto whole = [](auto& i, const cats::bar& b) { i.update(b); };
  switch (which % 14) {
    case 0:
      return f([] { return cats::sma(5); }, close);
    case 1:
      return f([] { return cats::ema(5); }, close);
    case 2:
      return f([] { return cats::wma(5); }, close);
    case 3:
      return f([] { return cats::rolling_variance(5, 1); }, close);
    case 4:
      return f([] { return cats::bollinger(5); }, close);
    case 5:
      return f([] { return cats::rolling_max(5); }, close);
    case 6:
      return f([] { return cats::donchian(5); }, whole);
    case 7:
      return f([] { return cats::roc(5); }, close);
    case 8:
      return f([] { return cats::rsi(5); }, close);
    case 9:
      return f([] { return cats::macd(3, 6, 4); }, close);
    case 10:
      return f([] { return cats::atr(5); }, whole);
    case 11:
      return f([] { return cats::vwap(3'600'000'000'000); }, whole);
    case 12:
      return f([] { return cats::bar_history(4); },
               [](cats::bar_history& h, const cats::bar& b) {
                 h.push(b);
                 require(h.last(b.instrument_id(), 3).size() <= 3);
               });
    default:
      return f([] { return cats::resampler(300'000'000'000); },
               [](cats::resampler& r, const cats::bar& b) {
                 r.update(b, [](const cats::bar& out) {
                   require(out.high() >= out.low() && out.interval_ns() == 300'000'000'000);
                 });
               });
  }
}

// A valid state of the indicator `which`, for the seeds: the indicator after some bars.
std::vector<unsigned char> valid_state(uint8_t which, uint64_t bars) {
  std::vector<unsigned char> out;
  with_indicator(which, [&](auto make, auto feed) {
    auto ind = make();
    for (uint64_t k = 0; k < bars; ++k) {
      const cats_bar_event_t e = bar_at(
          static_cast<int64_t>(k), 4'000'000'000'000 + static_cast<int64_t>(k % 5) * 3'000'000);
      feed(ind, cats::bar(e));
    }
    cats::state_writer w;
    ind.save(w);
    out = w.bytes();
  });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::vector<unsigned char> blob(data + 1, data + size);
  with_indicator(data[0], [&](auto make, auto feed) { check(blob, make, feed); });
  return 0;
}

// The valid input the mutation driver starts from: a selector byte and that indicator's state
// after 0 to 11 bars.
extern const char* const fuzz_target_name = "indicators_fuzz";
std::string fuzz_seed_file(uint64_t& rng, uint64_t (*next)(uint64_t&)) {
  const auto which = static_cast<uint8_t>(next(rng) % 14);
  const std::vector<unsigned char> state = valid_state(which, next(rng) % 12);
  std::string out(1, static_cast<char>(which));
  out.append(state.begin(), state.end());
  return out;
}
