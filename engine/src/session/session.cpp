#include "cats/session/session.hpp"

#include <algorithm>
#include <utility>

#include "cats/util/progress.hpp"

namespace cats {

session::session(engine& eng, portfolio& account, broker& broker, session_options options)
    : engine_(eng),
      account_(account),
      broker_(broker),
      options_(std::move(options)),
      books_(options_.book_depth) {
  engine_.set_router(&broker_);
  engine_.set_event_flags(options_.event_flags);
  engine_.configure_built_bars(
      options_.wall_clock,
      options_.wall_clock || options_.receive_time_clock ? options_.bar_grace_ns : 0);
}

void session::start(int64_t ts) {
  started_ = true;
  engine_.set_time(ts);
  engine_.start();
  if (samples_ != nullptr) samples_->on_start(ts);
  if (options_.sample_ns > 0) next_sample_ = (ts / options_.sample_ns + 1) * options_.sample_ns;
}

// Sources never set the replay flag: the session adds its flags to a copy of the payload (64 or
// 120 bytes), so that shared read-only data (a sweep's decoded copy) stays untouched. A cursor
// that owns its events (the streaming replay) stamps them itself instead (replay()).
[[gnu::always_inline]] inline const market_event& session::stamped(const market_event& in) {
  if (options_.event_flags == 0 || cursor_stamps_ || in.type == market_event::kind::book) return in;
  // Data stamped once for every replay of it (market_data) needs no copy either.
  if (stamped_already(in.bar.header)) return in;  // the header is at the same place in each kind
  stamp_.type = in.type;
  stamp_.built = in.built;
  stamp_.ts = in.ts;
  switch (in.type) {
    case market_event::kind::bar:
      stamp_.bar = in.bar;
      stamp_.bar.header.flags |= options_.event_flags;
      break;
    case market_event::kind::trade:
      stamp_.trade = in.trade;
      stamp_.trade.header.flags |= options_.event_flags;
      break;
    case market_event::kind::quote:
      stamp_.quote = in.quote;
      stamp_.quote.header.flags |= options_.event_flags;
      break;
    default:
      return in;
  }
  return stamp_;
}

[[gnu::always_inline]] inline void session::take_sample(int64_t ts) {
  if (samples_ != nullptr) {
    if (!span_open_) span_ = {last_close_, last_close_, last_close_, last_close_};
    samples_->on_sample(ts, span_);
  }
  span_open_ = false;
  ++samples_taken_;
  last_sampled_ = ts;
}

// Moves the replay clock to `ts` (never back, even if a recording machine's clock went back),
// taking the grid samples it passes and firing the timers due by then, each at its own time.
[[gnu::always_inline]] inline void session::advance_to(int64_t ts) {
  if (!options_.bars_only && options_.sample_ns > 0)
    while (ts >= next_sample_) {
      take_sample(next_sample_);
      next_sample_ += options_.sample_ns;
    }
  const int64_t now = std::max(ts, engine_.now());
  engine_.run_timers_until(now);
  engine_.set_time(now);
  pending_ts_ = now;
}

// A replayed bar: the clock walks through it. For an instrument matched on bars, the bar opens
// (timers due before it fire, waiting orders fill at its prices), then closes (timers inside it
// fire, the account is marked, close-mode orders fill). Grid samples before the close still see
// the previous close; the one at the close is taken by the next event.
[[gnu::always_inline]] inline void session::replay_bar_clock(const market_event& e) {
  const cats_bar_event_t& bar = e.bar;
  const int64_t close_ts = bar.header.exchange_ts_ns;
  const uint32_t id = bar.header.instrument_id;
  if (!started_) {
    // Strategies start at the first bar's open, so that now_ns() in on_start is a real time.
    start(bar.open_time_ns);
  } else if (options_.bars_only && close_ts != pending_ts_) {
    take_sample(pending_ts_);
  }
  // With klines only the equity is sampled at every close: the shortest interval annualises.
  if (options_.bars_only) note_interval(bar.interval_ns);
  // The bar's prices count from its close: grid samples inside it still see the earlier ones.
  if (options_.bars_only || matches_bars(id) || lacks_ticks(e)) {
    pending_ts_ = close_ts;
    engine_.run_timers_until(bar.open_time_ns);
    if (engine_.now() < bar.open_time_ns) engine_.set_time(bar.open_time_ns);
    broker_.on_bar_open(bar);
    engine_.flush();
    if (!options_.bars_only) {
      advance_to(close_ts - 1);
      pending_ts_ = close_ts;
    }
    if (!e.built) note_price(id, bar.open, bar.high, bar.low, bar.close);
    engine_.run_timers_until(close_ts);
    // A recorded bar may close before the receive time other feeds have moved the clock to.
    engine_.set_time(std::max(close_ts, engine_.now()));
    account_.mark(id, bar.close);
    broker_.on_bar_close(bar);
  } else {
    // A bar of an instrument with ticks (built from its trades, or recorded): the trades already
    // marked the account and matched the orders.
    advance_to(close_ts - 1);
    if (!e.built) note_price(id, bar.open, bar.high, bar.low, bar.close);
    engine_.run_timers_until(close_ts);
    engine_.set_time(std::max(close_ts, engine_.now()));
    pending_ts_ = engine_.now();
    if (!e.built) account_.mark(id, bar.close);
  }
}

[[gnu::always_inline]] inline void session::on_bar(const market_event& e) {
  const cats_bar_event_t& bar = e.bar;
  if (options_.wall_clock) {
    if (!e.built) account_.mark(bar.header.instrument_id, bar.close);
  } else {
    replay_bar_clock(e);
  }
}

void session::on_clock(int64_t now) {
  engine_.set_time(now);
  engine_.run_timers_until(now);
  if (engine_.builds_bars()) engine_.close_built_bars(now);
}

// Replay: the built intervals that ended before `t` close at their end, before the event at `t`
// (timers due by then fire first). Live runs close them in on_clock, by the wall clock.
void session::close_built_bars(int64_t t) {
  if (options_.wall_clock) return;
  for (int64_t due = engine_.built_bars_due(); due < t; due = engine_.built_bars_due()) {
    engine_.run_timers_until(due);
    if (engine_.now() < due) engine_.set_time(due);
    engine_.close_built_bars(due);
  }
}

[[gnu::always_inline]] inline void session::step(const market_event& in, int64_t now) {
  // Bars the engine builds for strategies that asked (subscribe_bars): none is the common case,
  // kept to one test here; the step with them is out of line.
  if (engine_.builds_bars()) [[unlikely]]
    return step_building_bars(in, now);
  step_market(stamped(in), in, now);
  // A strategy asked for its first built bars while handling this event: it counts for them.
  if (engine_.builds_bars() && options_.deliver) [[unlikely]]
    engine_.build_bars(in);
}

[[gnu::noinline]] void session::step_building_bars(const market_event& in, int64_t now) {
  const market_event& e = stamped(in);
  if (started_ && options_.deliver) close_built_bars(e.ts);
  step_market(e, in, now);
  if (options_.deliver) engine_.build_bars(in);
}

[[gnu::always_inline]] inline void session::step_market(const market_event& e,
                                                        const market_event& in, int64_t now) {
  if (options_.wall_clock) {
    on_clock(now);  // the wall clock is the engine's time; timers due by now fire first
  } else if (e.type != market_event::kind::bar) {  // a tick: the clock moves to it first
    if (!started_) start(e.ts);
    advance_to(e.ts);
  }
  switch (e.type) {
    case market_event::kind::bar:
      on_bar(e);
      tap(in);
      deliver(e.bar.header);
      return;
    case market_event::kind::trade: {
      const cats_trade_event_t& t = e.trade;
      if (!options_.wall_clock) saw_ticks(t.header.instrument_id);
      account_.mark(t.header.instrument_id, t.price);
      note_price(t.header.instrument_id, t.price, t.price, t.price, t.price);
      broker_.on_trade(t);
      tap(in);
      deliver(t.header);
      return;
    }
    case market_event::kind::quote: {
      const cats_quote_event_t& q = e.quote;
      if (!options_.wall_clock) saw_ticks(q.header.instrument_id);
      broker_.on_quote(q.header.instrument_id, q.bid_price, q.bid_quantity, q.ask_price,
                       q.ask_quantity);
      tap(in);
      deliver(q.header);
      return;
    }
    case market_event::kind::book: {
      tap(in);
      const cats_book_event_t& b = books_.apply(*e.book, e.book_flags, options_.event_flags);
      if (!options_.wall_clock) saw_ticks(b.header.instrument_id);
      broker_.on_quote(b.header.instrument_id, b.bid_count != 0 ? b.bids[0].price : 0,
                       b.bid_count != 0 ? b.bids[0].quantity : 0,
                       b.ask_count != 0 ? b.asks[0].price : 0,
                       b.ask_count != 0 ? b.asks[0].quantity : 0);
      deliver(b.header);
      return;
    }
    case market_event::kind::none:
      return;
  }
}

std::vector<uint32_t> session::matched_on_bars_without_ticks() const {
  std::vector<uint32_t> out;
  for (uint32_t id = 0; id < bars_without_ticks_.size(); ++id)
    if (bars_without_ticks_[id] != 0) out.push_back(id);
  return out;
}

void session::on_event(const market_event& in, int64_t now) {
  step(in, now);
}

// Where an event falls: bars by their open time, other events by their time. A bar that opened
// before the end closes up to its interval after it: events are read that far past the end, so
// that every feed's last bar in the window is replayed.
[[gnu::always_inline]] inline session::in_window session::place(const market_event& e,
                                                                const window& w) {
  const bool is_bar = e.type == market_event::kind::bar;
  const int64_t t = is_bar ? e.bar.open_time_ns : e.ts;
  if (w.start && t < *w.start) return in_window::skip;
  if (w.end && t >= *w.end) return e.ts - horizon_ >= *w.end ? in_window::end : in_window::skip;
  if (is_bar && e.bar.interval_ns > horizon_) horizon_ = e.bar.interval_ns;
  return in_window::step;
}

session::replay_outcome session::replay(event_cursor& cursor, const window& w,
                                        const std::atomic<bool>* stop, bool progress) {
  progress_bar bar(progress, "events");
  replay_outcome out;
  if (w.start) engine_.set_built_bars_start(*w.start);
  // A cursor that owns its events stamps them: no copy per event here. Not with taps: they keep
  // the events as the source gave them. The step's other user of the event as it came, the
  // engine's bar builder, reads no flags from it (built bars get the session's flags).
  cursor_stamps_ =
      options_.event_flags != 0 && taps_.empty() && cursor.stamp_events(options_.event_flags);
  struct unstamp {
    session& s;
    event_cursor& c;
    ~unstamp() {
      if (s.cursor_stamps_) c.stamp_events(0);
      s.cursor_stamps_ = false;
    }
  } restore{*this, cursor};
  uint64_t seen = 0, next_progress = 0x4000;
  while (const market_event* ev = cursor.next()) {
    // Every event, and every run of at most max_span bars: Ctrl-C is honoured soon even when a
    // strategy takes milliseconds per event; a relaxed load of a flag nobody writes costs what a
    // load from L1 costs.
    ++seen;
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) [[unlikely]] {
      out.interrupted = true;
      break;
    }
    if (seen >= next_progress) {
      bar.update(cursor.progress(), seen);
      next_progress = seen + 0x4000;
    }
    const in_window where = place(*ev, w);
    if (where == in_window::end) break;
    if (where == in_window::skip) continue;
    // The bars decoded after this one, in the window, go with it in one call (a source that
    // hands out one event at a time has none: a call per bar then costs less than a run).
    const market_event* more = nullptr;
    const size_t ahead = options_.bar_spans ? cursor.peek_run(more) : 0;
    const size_t k = step_from(ev, more == ev + 1 ? ahead : 0, unknown_uniform, w);
    if (k > 1) cursor.skip(k - 1);
    out.events += k;
    seen += k - 1;
  }
  bar.finish(seen);
  return out;
}

bool session::replay_run(const market_event* first, size_t count, const window& w,
                         replay_outcome& out, const std::atomic<bool>* stop, size_t uniform) {
  for (size_t i = 0; i < count;) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) [[unlikely]] {
      out.interrupted = true;
      return true;
    }
    const market_event& ev = first[i];
    const in_window where = place(ev, w);
    if (where == in_window::end) return false;
    if (where == in_window::skip) {
      ++i;
      continue;
    }
    // Past the uniform bars the caller found, the run finds its own.
    const size_t after =
        uniform != unknown_uniform && i < uniform ? uniform - i - 1 : unknown_uniform;
    const size_t k = step_from(&ev, count - i - 1, after, w);
    out.events += k;
    i += k;
  }
  return true;
}

size_t session::uniform_bars(const market_event* ev, size_t n) noexcept {
  if (n == 0 || ev[0].type != market_event::kind::bar || ev[0].built) return 0;
  const cats_bar_event_t& first = ev[0].bar;
  size_t k = 1;
  while (k < n) {
    const market_event& e = ev[k];
    const cats_bar_event_t& b = e.bar;
    const cats_bar_event_t& before = ev[k - 1].bar;
    if (e.type != market_event::kind::bar || e.built ||
        b.header.instrument_id != first.header.instrument_id ||
        b.header.flags != first.header.flags || b.interval_ns != first.interval_ns ||
        b.open_time_ns < before.open_time_ns ||
        b.header.exchange_ts_ns <= before.header.exchange_ts_ns)
      break;
    ++k;
  }
  return k;
}

// Steps `ev`, with the bars after it in one run of bars when they may go (`ahead` events follow it
// in memory, the first `uniform` of them uniform_bars() with it, or unknown_uniform); returns how
// many events it took.
[[gnu::always_inline]] inline size_t session::step_from(const market_event* ev, size_t ahead,
                                                        size_t uniform, const window& w) {
  if (ahead != 0 && span_ready(*ev)) {
    const size_t most = std::min(ahead, max_span - 1);
    if (uniform == unknown_uniform) uniform = uniform_bars(ev, most + 1) - 1;
    const size_t n = 1 + span_length(ev + 1, most, uniform, w);
    if (n > 1) return step_span(ev, n, n - 1 <= uniform);
  }
  step(*ev, 0);
  return 1;
}

// ---- Runs of bars (ABI 1.5 on_bars) ----
// A replay of bars only, with one strategy that takes runs, no order working or waiting, no timer
// pending and nothing else between the bars: the strategy gets the run in one call. Bar i's market
// side (clock, fills at its open, marks, samples: replay_bar_clock) is done when the strategy
// returns, or earlier when it calls the host from bar i (catch_up): it then finds everything as
// on_event's delivery of bar i would have. A call that changes anything (an order, a timer) ends
// the run after that bar, so that the next bar meets the order as it would have.

[[gnu::always_inline]] inline bool session::span_ready(const market_event& e) {
  if (!options_.bar_spans || !options_.bars_only || options_.wall_clock || !options_.deliver ||
      !started_ || e.type != market_event::kind::bar || e.built || !taps_.empty() ||
      !stamped_already(e.bar.header) || !broker_.idle())
    return false;
  span_slot_ = engine_.bar_span_slot();
  return span_slot_ != nullptr;
}

// How many of next[0, n) may follow next[-1] in the same run: bars of its instrument, read as they
// are, in the window.
[[gnu::always_inline]] inline size_t session::span_length(const market_event* next, size_t n,
                                                          size_t uniform, const window& w) {
  // Uniform bars (stamped as next[-1] is) are all in the window when the last one is: their open
  // times never go back, and next[-1] was in it. The bars after them are looked at one by one.
  size_t k = 0;
  if (uniform != 0) {
    const size_t u = std::min(n, uniform);
    if (place(next[u - 1], w) == in_window::step) k = u;
  }
  // One instrument: the broker keeps the last bar's prices of each (catch_up).
  const uint32_t id = next[-1].bar.header.instrument_id;
  while (k < n && next[k].type == market_event::kind::bar && !next[k].built &&
         next[k].bar.header.instrument_id == id && stamped_already(next[k].bar.header) &&
         place(next[k], w) == in_window::step)
    ++k;
  return k;
}

// The loop of catch_up over bars [span_done_, index) with the samples in one call, when the
// listener needs only the equity: the equity at each close is computed from the position, which
// no bar of the run changes, and the account is marked once, at the last close. Without a
// position the equity is the same at every close: the listener may take the samples as one flat
// run. False (nothing done) when the times do not strictly increase (a sample per close time).
bool session::catch_up_in_bulk(uint32_t index) {
  if (samples_ == nullptr || !samples_->takes_equity_only()) return false;
  const market_event* bars = span_events_ + span_done_;
  const size_t n = index - span_done_;
  const cats_bar_event_t& last = bars[n - 1].bar;
  int64_t now = engine_.now();
  if (span_uniform_) {
    // One interval; open times that never go back and closes that always move on.
    if (bars[0].bar.header.exchange_ts_ns <= pending_ts_) return false;
    note_interval(bars[0].bar.interval_ns);
    now = std::max({now, last.open_time_ns, last.header.exchange_ts_ns});
  } else {
    int64_t t = pending_ts_;
    for (size_t k = 0; k < n; ++k) {
      if (bars[k].bar.header.exchange_ts_ns <= t) return false;
      t = bars[k].bar.header.exchange_ts_ns;
    }
    for (size_t k = 0; k < n; ++k) {
      const cats_bar_event_t& b = bars[k].bar;
      note_interval(b.interval_ns);
      now = std::max({now, b.open_time_ns, b.header.exchange_ts_ns});
    }
  }
  const uint32_t id = bars[0].bar.header.instrument_id;  // one instrument per run
  // The sample of the bar before the first (the account is marked there), then each bar's close
  // but the last, whose sample comes with the next bar.
  const int64_t last_sample = bars[n - 2].bar.header.exchange_ts_ns;
  if (!account_.has_exposure() && samples_->takes_flat_runs()) {
    samples_->on_flat_samples(pending_ts_, last_sample, n, account_.equity());
  } else {
    bulk_ts_.resize(n);
    bulk_equity_.resize(n);
    bulk_ts_[0] = pending_ts_;
    bulk_equity_[0] = account_.equity();
    for (size_t k = 1; k < n; ++k) bulk_ts_[k] = bars[k - 1].bar.header.exchange_ts_ns;
    account_.equity_marked_along(id, &bars[0].bar.close, sizeof(market_event), n - 1,
                                 bulk_equity_.data() + 1);
    samples_->on_samples(bulk_ts_.data(), bulk_equity_.data(), n, account_.has_exposure());
  }
  samples_taken_ += n;
  last_sampled_ = last_sample;
  span_open_ = false;
  engine_.set_time(now);
  pending_ts_ = last.header.exchange_ts_ns;
  if (id == options_.primary_instrument && first_open_ == 0) first_open_ = bars[0].bar.open;
  note_price(id, last.open, last.high, last.low, last.close);
  account_.mark(id, last.close);
  return true;
}

uint32_t session::step_span(const market_event* first, size_t count, bool uniform) {
  cats_bar_span_t span{};
  span.struct_size = sizeof span;
  span.count = static_cast<uint32_t>(count);
  span.stride = sizeof(market_event);
  span.first = &first->bar;
  span_events_ = first;
  span_done_ = 0;
  span_uniform_ = uniform;
  struct done_with {
    session& s;
    ~done_with() { s.span_events_ = nullptr; }
  } reset{*this};
  const uint32_t k = engine_.deliver_bars(*span_slot_, span, *this);
  ++span_calls_;
  span_bars_ += k;
  engine_.flush();  // what the strategy's calls caused, as after on_event
  // A strategy that asked for built bars from the last bar counts that bar for them.
  if (engine_.builds_bars()) engine_.build_bars(first[k - 1]);
  return k;
}

// replay_bar_clock for a bar of a run: no timer is pending, nothing is queued and the broker is
// idle, so the bars before `index` only move the clock, the prices, the marks and the samples; the
// broker sees bar `index` alone (what an idle broker keeps of a bar is the last one's prices).
void session::catch_up(uint32_t index) {
  if (span_done_ > index) return;
  if (index > span_done_ + 1 && catch_up_in_bulk(index)) span_done_ = index;
  for (; span_done_ < index; ++span_done_) {
    const cats_bar_event_t& bar = span_events_[span_done_].bar;
    const int64_t close_ts = bar.header.exchange_ts_ns;
    if (close_ts != pending_ts_) take_sample(pending_ts_);
    note_interval(bar.interval_ns);
    pending_ts_ = close_ts;
    engine_.set_time(std::max({close_ts, bar.open_time_ns, engine_.now()}));
    note_price(bar.header.instrument_id, bar.open, bar.high, bar.low, bar.close);
    account_.mark(bar.header.instrument_id, bar.close);
  }
  replay_bar_clock(span_events_[index]);
  span_done_ = index + 1;
}

void session::finish(std::string_view reason, int64_t now) {
  if (options_.wall_clock) {
    engine_.set_time(now);
  } else if (started_ && pending_ts_ != last_sampled_) {
    take_sample(pending_ts_);
  } else if (!started_) {
    engine_.start();  // no events: strategies still get on_start before on_stop
  }
  engine_.stop();
  broker_.finish(reason);
  engine_.flush();
}

}  // namespace cats
