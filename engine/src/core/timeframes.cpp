#include "cats/core/timeframes.hpp"

#include <algorithm>

#include "cats/core/events.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();

// Volumes are summed exactly; a sum beyond the int64 range reads INT64_MAX (sdk.h says so).
int64_t add_sat(int64_t a, int64_t b) noexcept {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? int64_max : r;
}

}  // namespace

std::string bar_timeframes::check_interval(int64_t interval_ns) {
  if (interval_ns <= 0 || interval_ns % second_ns != 0 || interval_ns > max_interval_ns)
    return "a bar interval is a whole number of seconds from 1 s to 1 day, not " +
           std::to_string(interval_ns) + " ns";
  return {};
}

int64_t bar_timeframes::floor_to(int64_t ts, int64_t interval) const noexcept {
  int64_t start = ts - ts % interval;
  if (ts < 0 && ts % interval != 0) start -= interval;
  return start;
}

std::string bar_timeframes::subscribe(uint32_t slot, uint32_t instrument_id, int64_t interval_ns,
                                      bool watching_late) {
  if (instrument_id >= by_instrument_.size()) by_instrument_.resize(instrument_id + 1);
  for (uint32_t i : by_instrument_[instrument_id]) {
    builder& b = builders_[i];
    if (b.interval != interval_ns) continue;
    if (b.broken) return b.failure;
    if (std::find(b.subscribers.begin(), b.subscribers.end(), slot) == b.subscribers.end())
      b.subscribers.push_back(slot);
    return {};
  }
  builder b;
  b.instrument_id = instrument_id;
  b.interval = interval_ns;
  b.subscribers.push_back(slot);
  b.watching_late = watching_late;
  by_instrument_[instrument_id].push_back(static_cast<uint32_t>(builders_.size()));
  builders_.push_back(std::move(b));
  // Shorter intervals first: a 5m and a 1h bar closed by one event arrive in that order.
  std::sort(by_instrument_[instrument_id].begin(), by_instrument_[instrument_id].end(),
            [&](uint32_t x, uint32_t y) { return builders_[x].interval < builders_[y].interval; });
  return {};
}

void bar_timeframes::unsubscribe(uint32_t slot) {
  for (builder& b : builders_)
    b.subscribers.erase(std::remove(b.subscribers.begin(), b.subscribers.end(), slot),
                        b.subscribers.end());
}

void bar_timeframes::begin(builder& b, int64_t start, bool partial) {
  b.started = true;
  b.win_start = start;
  b.has_data = false;
  b.skip = partial;
  b.dormant = false;
  b.flat_run = 0;
}

int64_t bar_timeframes::due_of(const builder& b) const noexcept {
  if (!b.started || b.dormant || b.broken || b.mirror) return int64_max;
  return b.win_start + b.interval + grace_ns_;
}

void bar_timeframes::update_due() noexcept {
  next_due_ = int64_max;
  for (const builder& b : builders_) next_due_ = std::min(next_due_, due_of(b));
}

// Hands on the current interval (a flat bar when it had no data) and moves to the next one.
void bar_timeframes::close_window(size_t i, int64_t local_ts, std::vector<built>& out) {
  builder& b = builders_[i];
  const int64_t end = b.win_start + b.interval;
  if (b.has_data) {
    if (!b.skip) out.push_back({b.cur, i});
    b.last_close = b.cur.close;
    b.flat_run = 0;
  } else if (b.last_close != 0 && !b.skip) {
    cats_bar_event_t flat{};
    flat.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, b.instrument_id, end, 0);
    flat.open_time_ns = b.win_start;
    flat.interval_ns = b.interval;
    flat.open = flat.high = flat.low = flat.close = b.last_close;
    out.push_back({flat, i});
    if (++b.flat_run >= max_flat_bars) b.dormant = true;
  }
  if (!out.empty() && out.back().builder == i) out.back().bar.header.local_ts_ns = local_ts;
  b.skip = false;
  b.has_data = false;
  b.win_start = end;
}

void bar_timeframes::advance(size_t i, int64_t start, int64_t local_ts, std::vector<built>& out) {
  builder& b = builders_[i];
  while (b.win_start < start) {
    if (b.dormant) {  // a long gap: no flat bars for it, the bars resume here
      begin(b, start, false);
      return;
    }
    close_window(i, local_ts, out);
  }
}

bool bar_timeframes::enter(size_t i, int64_t start, bool partial, int64_t local_ts,
                           std::vector<built>& out) {
  builder& b = builders_[i];
  if (!b.started) {
    begin(b, start, partial);
  } else if (start < b.win_start) {
    ++late_;
    return false;
  } else {
    advance(i, start, local_ts, out);
  }
  b.dormant = false;
  return true;
}

void bar_timeframes::on_bar(const cats_bar_event_t& bar, std::vector<built>& out,
                            std::vector<failure>& failed) {
  const uint32_t id = bar.header.instrument_id;
  if (id >= by_instrument_.size()) return;
  bool changed = false;
  for (uint32_t i : by_instrument_[id]) {
    builder& b = builders_[i];
    if (b.broken || b.mirror) continue;
    if (bar.interval_ns == b.interval) {
      // The feed's own interval: its bars are those bars, already delivered to everybody, so
      // this builder makes none (from trades either).
      b.mirror = true;
      b.started = false;
      changed = true;
      continue;
    }
    const int64_t start = floor_to(bar.open_time_ns, b.interval);
    if (bar.interval_ns <= 0 || b.interval % bar.interval_ns != 0 ||
        floor_to(bar.open_time_ns + bar.interval_ns - 1, b.interval) != start) {
      // Built from trades already (a feed with trades and bars): the trades stay the source.
      // Before any trade, one such bar may still be followed by trades; a second one is a
      // feed of bars only.
      if ((b.started && !b.from_bars) || ++b.incompatible < 2) continue;
      b.broken = true;
      changed = true;
      b.failure = "cannot build " + format_interval(b.interval) + " bars from the feed's " +
                  format_interval(bar.interval_ns) + " bars: " + format_interval(b.interval) +
                  " is not a whole number of " + format_interval(bar.interval_ns) + " bars";
      failed.push_back({i, id, b.failure});
      continue;
    }
    if (!b.from_bars) {
      // The feed has bars: they are the source from now on. Intervals the trades already closed
      // stay closed; the one in progress starts again from the bars.
      b.from_bars = true;
      if (b.started) b.emitted_until = b.win_start;
      b.started = false;
    }
    if (!b.started && start < b.emitted_until) {  // closed from trades already
      ++late_;
      continue;
    }
    if (!enter(i, start, bar.open_time_ns != start, bar.header.local_ts_ns, out)) continue;
    changed = true;
    cats_bar_event_t& c = b.cur;
    if (!b.has_data) {
      c = bar;
      c.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, id, start + b.interval, 0);
      c.open_time_ns = start;
      c.interval_ns = b.interval;
      b.has_data = true;
    } else {
      c.high = std::max(c.high, bar.high);
      c.low = std::min(c.low, bar.low);
      c.close = bar.close;
      c.volume = add_sat(c.volume, bar.volume);
      c.quote_volume = add_sat(c.quote_volume, bar.quote_volume);
      c.taker_buy_volume = add_sat(c.taker_buy_volume, bar.taker_buy_volume);
      c.taker_buy_quote_volume = add_sat(c.taker_buy_quote_volume, bar.taker_buy_quote_volume);
      c.trade_count = add_sat(c.trade_count, bar.trade_count);
    }
    // The feed's bar that ends the interval completes it.
    if (bar.open_time_ns + bar.interval_ns == start + b.interval)
      close_window(i, bar.header.local_ts_ns, out);
  }
  if (changed) update_due();
}

void bar_timeframes::on_trade(const cats_trade_event_t& t, int64_t quote_quantity,
                              std::vector<built>& out) {
  const uint32_t id = t.header.instrument_id;
  if (id >= by_instrument_.size()) return;
  bool changed = false;
  const int64_t ts = t.header.exchange_ts_ns;
  for (uint32_t i : by_instrument_[id]) {
    builder& b = builders_[i];
    if (b.broken || b.from_bars || b.mirror) continue;
    const int64_t start = floor_to(ts, b.interval);
    // A new builder, in a replay: the data begins here, so its first interval is whole, unless
    // the replay window begins inside it. Live, or a subscription made during the run: the
    // trades before this one were not seen.
    const bool partial = ((b.watching_late || wall_clock_) && ts != start) || start < data_start_;
    if (!enter(i, start, partial, t.header.local_ts_ns, out)) continue;
    changed = true;
    cats_bar_event_t& c = b.cur;
    const int64_t qq = quote_quantity;
    if (!b.has_data) {
      c = cats_bar_event_t{};
      c.header = event_header<cats_bar_event_t>(CATS_EVENT_BAR, id, start + b.interval, 0);
      c.open_time_ns = start;
      c.interval_ns = b.interval;
      c.open = c.high = c.low = t.price;
      b.has_data = true;
    }
    c.high = std::max(c.high, t.price);
    c.low = std::min(c.low, t.price);
    c.close = t.price;
    c.volume = add_sat(c.volume, t.quantity);
    c.quote_volume = add_sat(c.quote_volume, qq);
    if (t.aggressor_side == CATS_SIDE_BUY) {
      c.taker_buy_volume = add_sat(c.taker_buy_volume, t.quantity);
      c.taker_buy_quote_volume = add_sat(c.taker_buy_quote_volume, qq);
    }
    c.trade_count = add_sat(c.trade_count, 1);
  }
  if (changed) update_due();
}

void bar_timeframes::note_built(const cats_bar_event_t& bar) {
  const uint32_t id = bar.header.instrument_id;
  if (id >= by_instrument_.size()) return;
  for (uint32_t i : by_instrument_[id]) {
    builder& b = builders_[i];
    if (b.mirror || b.interval != bar.interval_ns) continue;
    b.mirror = true;
    b.started = false;
    update_due();
  }
}

void bar_timeframes::close_due(int64_t now, std::vector<built>& out) {
  if (now < next_due_) return;
  for (size_t i = 0; i < builders_.size(); ++i) {
    builder& b = builders_[i];
    while (due_of(b) <= now) close_window(i, now, out);
  }
  update_due();
  // Bars of several builders closed by one clock step arrive in time order.
  std::stable_sort(out.begin(), out.end(), [](const built& x, const built& y) {
    return x.bar.header.exchange_ts_ns < y.bar.header.exchange_ts_ns;
  });
}

}  // namespace cats
