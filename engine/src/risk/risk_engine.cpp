#include "cats/risk/risk_engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "cats/core/events.hpp"
#include "cats/core/fixed.hpp"
#include "cats/util/time.hpp"

namespace cats {

const char* trading_state_name(trading_state s) noexcept {
  switch (s) {
    case trading_state::active:
      return "active";
    case trading_state::reducing:
      return "reducing";
    case trading_state::halted:
      return "halted";
  }
  return "?";
}

const char* risk_reason_name(risk_reason r) noexcept {
  static constexpr const char* names[] = {
      "halted",          "reducing",   "max_order_quantity", "max_order_notional", "max_position",
      "max_open_orders", "price_band", "no_price",           "order_rate",         "order_loop"};
  static_assert(std::size(names) == static_cast<size_t>(risk_reason::count_));
  return names[static_cast<size_t>(r)];
}

// The bucket holds tokens x 1e12 (rate_milli tokens per 1000 s = rate_milli per 1e12 ns), so a
// refill is dt_ns x rate_milli exactly, with no rounding to lose between two looks. The clock is
// the engine's (replay time in a backtest, the wall clock live): a backtest is refused exactly as
// live trading would be.
bool risk_engine::bucket::ready(int64_t now_ns) {
  if (rate_milli == 0) return true;
  constexpr int128_t one = 1'000'000'000'000;
  const int128_t cap = static_cast<int128_t>(burst) * one;
  if (credit < 0) {
    credit = cap;
    at_ns = now_ns;
  }
  if (now_ns > at_ns) {
    credit = std::min(cap, credit + static_cast<int128_t>(now_ns - at_ns) * rate_milli);
    at_ns = now_ns;
  }
  return credit >= one;
}

void risk_engine::order_counts::add(const open_order& o, int sign) {
  if (o.owner < risk_owner) {
    if (o.owner >= by_owner.size()) by_owner.resize(o.owner + 1, 0);
    by_owner[o.owner] += static_cast<uint32_t>(sign);
  }
  if (o.instrument_id >= by_instrument.size()) {
    by_instrument.resize(o.instrument_id + 1, 0);
    remaining.resize(o.instrument_id + 1, {0, 0});
  }
  by_instrument[o.instrument_id] += static_cast<uint32_t>(sign);
  remaining[o.instrument_id][o.side == CATS_SIDE_BUY ? 0 : 1] += sign * o.remaining;
  expected += static_cast<size_t>(sign);
}

void risk_engine::refresh_counts(bool force) {
  const int64_t now = engine_.now();
  if (!force && now == counts_.at && inner_.open_order_count() == counts_.expected) return;
  counts_.at = now;
  counts_.expected = 0;
  std::fill(counts_.by_owner.begin(), counts_.by_owner.end(), 0);
  std::fill(counts_.by_instrument.begin(), counts_.by_instrument.end(), 0);
  std::fill(counts_.remaining.begin(), counts_.remaining.end(), std::array<int64_t, 2>{0, 0});
  scratch_.clear();
  inner_.open_orders(scratch_);
  for (const open_order& o : scratch_) counts_.add(o, 1);
}

risk_engine::risk_engine(engine& eng, broker& inner, risk_section config)
    : engine_(eng), inner_(inner), config_(std::move(config)) {
  loss_limits_ = config_.max_daily_loss > 0 || config_.max_drawdown > 0;
  auto priced = [](const risk_limits& l) { return l.price_band > 0 || l.max_order_notional > 0; };
  watches_market_ = loss_limits_ || priced(config_.limits);
  for (const auto& [name, l] : config_.instruments) watches_market_ = watches_market_ || priced(l);
  for (const auto& [name, l] : config_.strategies) watches_market_ = watches_market_ || priced(l);
  account_.limits = config_.limits;
  account_.scope = "[risk]";
  // The account-wide cap on working orders holds even without [risk]: a runaway strategy cannot
  // fill memory with orders.
  if (account_.limits.max_open_orders == 0 ||
      account_.limits.max_open_orders > config_.hard_max_open_orders)
    account_.limits.max_open_orders = config_.hard_max_open_orders;
  account_.orders.rate_milli = account_.limits.order_rate_milli;
  account_.orders.burst = account_.limits.order_burst;
  account_.cancels.rate_milli = account_.limits.cancel_rate_milli;
  account_.cancels.burst = account_.limits.cancel_burst;
}

// Names become ids once the strategies and instruments exist (the first order), and again when a
// strategy has been added since (SIGHUP).
void risk_engine::resolve() {
  resolved_for_ = engine_.strategies().size();
  by_instrument_.clear();
  auto make = [](const risk_limits& l, std::string scope, limit_set::kind of) {
    limit_set s;
    s.of = of;
    s.limits = l;
    s.scope = std::move(scope);
    s.orders.rate_milli = l.order_rate_milli;
    s.orders.burst = l.order_burst;
    s.cancels.rate_milli = l.cancel_rate_milli;
    s.cancels.burst = l.cancel_burst;
    return s;
  };
  for (const auto& [symbol, limits] : config_.instruments) {
    const instrument_info* i = engine_.instruments().find(symbol);
    if (i == nullptr) {
      spdlog::warn("risk: [risk.instrument.\"{}\"] names no instrument of this run; ignored",
                   symbol);
      continue;
    }
    if (i->id >= by_instrument_.size()) by_instrument_.resize(i->id + 1);
    by_instrument_[i->id] =
        make(limits, "[risk.instrument.\"" + symbol + "\"]", limit_set::kind::instrument);
  }
  const auto& slots = engine_.strategies();
  by_strategy_.assign(slots.size(), limit_set{});
  for (const auto& [name, limits] : config_.strategies)
    for (const auto& s : slots)
      if (s->name == name)
        by_strategy_[s->host->slot] =
            make(limits, "[risk.strategy." + name + "]", limit_set::kind::strategy);
}

int64_t risk_engine::last_price(uint32_t id) const noexcept {
  if (const int64_t mark = engine_.account().position(id).mark_price; mark != 0) return mark;
  return id < last_price_.size() ? last_price_[id] : 0;
}

size_t risk_engine::applicable(uint32_t owner, uint32_t instrument_id,
                               std::array<limit_set*, 3>& out) {
  size_t n = 0;
  out[n++] = &account_;
  if (instrument_id < by_instrument_.size() && !by_instrument_[instrument_id].scope.empty())
    out[n++] = &by_instrument_[instrument_id];
  if (owner < by_strategy_.size() && !by_strategy_[owner].scope.empty())
    out[n++] = &by_strategy_[owner];
  return n;
}

std::string risk_engine::check_state(const cats_order_request_t& r, risk_reason& reason) const {
  if (state_ == trading_state::active) return {};
  if (state_ == trading_state::halted) {
    reason = risk_reason::halted;
    return "trading is halted (" + state_reason_ + ")";
  }
  // Reducing: only orders that shrink the position; with the working orders on the same side,
  // no more than its size.
  const int64_t pos = engine_.account().position(r.instrument_id).quantity;
  const int64_t working = counts_.working(r.instrument_id, r.side);
  const bool shrinks =
      pos != 0 && (pos > 0) == (r.side == CATS_SIDE_SELL) && r.quantity + working <= abs64(pos);
  if (shrinks) return {};
  reason = risk_reason::reducing;
  return "trading is reducing-only (" + state_reason_ + "): a " + side_name(r.side) + " of " +
         fixed_to_string(r.quantity) +
         (working != 0 ? " (with " + fixed_to_string(working) + " working on that side)"
                       : std::string()) +
         " does not shrink the position " + fixed_to_string(pos);
}

std::string risk_engine::check_set(const limit_set& set, uint32_t owner,
                                   const cats_order_request_t& r, int64_t price, bool amend,
                                   risk_reason& reason) const {
  const risk_limits& l = set.limits;
  const std::string& sc = set.scope;
  if (l.max_order_quantity > 0 && r.quantity > l.max_order_quantity) {
    reason = risk_reason::order_quantity;
    return "quantity " + fixed_to_string(r.quantity) + " is above " + sc + " max_order_quantity " +
           fixed_to_string(l.max_order_quantity);
  }
  if (l.max_order_notional > 0) {
    if (price <= 0) {
      reason = risk_reason::no_price;
      return "no price known yet for the notional check of " + sc;
    }
    const int64_t notional = fixed_mul(r.quantity, price, rounding::up);
    if (notional > l.max_order_notional) {
      reason = risk_reason::order_notional;
      return "notional " + fixed_to_string(notional) + " is above " + sc + " max_order_notional " +
             fixed_to_string(l.max_order_notional);
    }
  }
  if (l.price_band > 0 && r.order_type != CATS_ORDER_MARKET) {
    const int64_t ref = last_price(r.instrument_id);
    const int64_t p = r.order_type == CATS_ORDER_LIMIT ? r.limit_price : r.stop_price;
    if (ref <= 0) {
      reason = risk_reason::no_price;
      return "no last price yet for the price band of " + sc;
    }
    const int64_t width = fixed_mul(ref, l.price_band, rounding::down);
    if (p < ref - width || p > ref + width) {
      reason = risk_reason::price_band;
      return "price " + fixed_to_string(p) + " is outside " + sc + " price_band " +
             fixed_to_string(l.price_band) + " around the last price " + fixed_to_string(ref);
    }
  }
  const int64_t open = set.of == limit_set::kind::account      ? counts_.expected
                       : set.of == limit_set::kind::instrument ? counts_.instrument(r.instrument_id)
                                                               : counts_.owner(owner);
  if (!amend && l.max_open_orders > 0 && open >= l.max_open_orders) {
    reason = risk_reason::open_orders;
    return std::to_string(open) + " orders are working, " + sc + " max_open_orders is " +
           std::to_string(l.max_open_orders);
  }
  if (l.max_position > 0) {
    // The account's position once this order and the working ones on its side have filled.
    const int64_t pos = engine_.account().position(r.instrument_id).quantity;
    const int64_t same_side = counts_.working(r.instrument_id, r.side);
    const int dir = r.side == CATS_SIDE_BUY ? 1 : -1;
    const int64_t before = pos + dir * same_side;
    const int64_t after = before + dir * r.quantity;
    // An order that brings the position closer to flat is always allowed.
    if (abs64(after) > l.max_position && abs64(after) >= abs64(before)) {
      reason = risk_reason::position;
      return "position would reach " + fixed_to_string(after) + " (now " + fixed_to_string(pos) +
             ", working on this side " + fixed_to_string(same_side) + "), above " + sc +
             " max_position " + fixed_to_string(l.max_position);
    }
  }
  return {};
}

std::string risk_engine::check(uint32_t owner, const cats_order_request_t& r, bool amend,
                               risk_reason& reason) {
  if (std::string why = check_state(r, reason); !why.empty()) return why;
  // Whatever [risk] says: no strategy holds more than 10,000 working orders, the account no more
  // than hard_max_open_orders (so one strategy cannot lock the others out).
  if (!amend && static_cast<int64_t>(counts_.owner(owner)) >= hard_max_strategy_open_orders) {
    reason = risk_reason::open_orders;
    return "this strategy has " + std::to_string(counts_.owner(owner)) +
           " working orders, the most one strategy may hold";
  }
  std::array<limit_set*, 3> sets{};
  const size_t n = applicable(owner, r.instrument_id, sets);
  int64_t price = r.order_type == CATS_ORDER_LIMIT         ? r.limit_price
                  : r.order_type == CATS_ORDER_STOP_MARKET ? r.stop_price
                                                           : 0;
  if (price <= 0) price = last_price(r.instrument_id);
  for (size_t i = 0; i < n; ++i)
    if (std::string why = check_set(*sets[i], owner, r, price, amend, reason); !why.empty())
      return why;
  // Rates last, and all or nothing: a refused order spends no token of any bucket.
  const int64_t now = engine_.now();
  for (size_t i = 0; i < n; ++i) {
    bucket& b = amend ? sets[i]->cancels : sets[i]->orders;
    if (!b.ready(now)) {
      const risk_limits& l = sets[i]->limits;
      const int64_t rate = amend ? l.cancel_rate_milli : l.order_rate_milli;
      reason = risk_reason::order_rate;
      return "over " + sets[i]->scope + (amend ? " cancel_rate " : " order_rate ") +
             fixed_to_string(rate * (fixed_scale / 1000)) + "/s (burst " +
             std::to_string(amend ? l.cancel_burst : l.order_burst) + ")";
    }
  }
  for (size_t i = 0; i < n; ++i) (amend ? sets[i]->cancels : sets[i]->orders).take();
  return {};
}

std::string risk_engine::refuse(uint32_t owner, const cats_order_request_t& r,
                                const std::string& why, risk_reason reason) {
  ++stats_.refused[static_cast<size_t>(reason)];
  const uint64_t n = stats_.refused[static_cast<size_t>(reason)];
  // The first refusals of each kind are logged, then every 1000th: a strategy retrying in a loop
  // must not flood the log.
  if (n <= 3 || n % 1000 == 0)
    spdlog::warn("risk: refused a {} of {} from strategy {}: {} ({} refusal{} of this kind)",
                 side_name(r.side), fixed_to_string(r.quantity),
                 owner < engine_.strategies().size() ? engine_.strategies()[owner]->label() : "?",
                 why, n, n == 1 ? "" : "s");
  return "risk: " + why;
}

cats_status_t risk_engine::submit(uint32_t owner, const cats_order_request_t& r, uint64_t& order_id,
                                  std::string& error) {
  if (resolved_for_ != engine_.strategies().size()) resolve();
  // Out-of-range values are the broker's to refuse, with its own message; the checks below
  // assume amounts a fixed-point product can hold.
  if (r.quantity <= 0 || r.quantity > max_order_amount || r.limit_price < 0 ||
      r.limit_price > max_order_amount || r.stop_price < 0 || r.stop_price > max_order_amount)
    return inner_.submit(owner, r, order_id, error);
  // An order loop: one strategy sending order after order without the clock moving.
  const int64_t now = engine_.now();
  if (now != now_) {
    std::fill(submits_now_.begin(), submits_now_.end(), 0);
    now_ = now;
  }
  if (owner >= submits_now_.size()) submits_now_.resize(owner + 1, 0);
  if (++submits_now_[owner] > config_.max_orders_per_event) {
    ++stats_.refused[static_cast<size_t>(risk_reason::order_loop)];
    engine_.disable(owner, "submit_order",
                    "sent more than " + std::to_string(config_.max_orders_per_event) +
                        " orders at one instant (an order loop? [risk] max_orders_per_event)");
    error = "this strategy is disabled: too many orders at one instant";
    return CATS_E_REJECTED;
  }
  refresh_counts(false);
  risk_reason reason{};
  const std::string why = check(owner, r, false, reason);
  if (!why.empty()) {
    order_id = inner_.reject(owner, r, refuse(owner, r, why, reason));
    return CATS_OK;
  }
  const size_t before = inner_.open_order_count();
  const cats_status_t st = inner_.submit(owner, r, order_id, error);
  // A working order now (not filled or refused at once): counted until the next pass.
  if (st == CATS_OK && inner_.open_order_count() == before + 1)
    counts_.add({order_id, owner, r.instrument_id, r.side, r.quantity, r.order_type, r.quantity, 0},
                1);
  return st;
}

cats_status_t risk_engine::cancel(uint32_t owner, uint64_t order_id, std::string& error) {
  if (resolved_for_ != engine_.strategies().size()) resolve();
  // The account's and the strategy's cancel buckets (a cancel names no instrument); a cancel is
  // never refused in any trading state.
  limit_set* sets[] = {&account_, owner < by_strategy_.size() && !by_strategy_[owner].scope.empty()
                                      ? &by_strategy_[owner]
                                      : nullptr};
  for (limit_set* set : sets) {
    if (set != nullptr && !set->cancels.ready(engine_.now())) {
      ++stats_.cancels_refused;
      error = "over " + set->scope + " cancel_rate; the order is still working";
      return CATS_E_REJECTED;
    }
  }
  for (limit_set* set : sets)
    if (set != nullptr) set->cancels.take();
  return inner_.cancel(owner, order_id, error);
}

// An amend is checked as the order it would become: its quantity, price and side against every
// limit (not the open-order counts: it adds no order), with the working orders counted without
// it; it spends a cancel token. In a reducing state it may only shrink.
cats_status_t risk_engine::amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                                 int64_t new_limit_price, std::string& error) {
  if (resolved_for_ != engine_.strategies().size()) resolve();
  refresh_counts(true);
  const open_order* o = nullptr;
  for (const open_order& w : scratch_)
    if (w.id == order_id && w.owner == owner) o = &w;
  if (o == nullptr || new_quantity < 0 || new_limit_price < 0 || new_quantity > max_order_amount ||
      new_limit_price > max_order_amount)
    return inner_.amend(owner, order_id, new_quantity, new_limit_price, error);  // its message
  cats_order_request_t r{};
  r.struct_size = sizeof r;
  r.instrument_id = o->instrument_id;
  r.side = o->side;
  r.order_type = o->type;
  const int64_t filled = o->quantity - o->remaining;
  r.quantity = new_quantity > 0 ? std::max<int64_t>(new_quantity - filled, 0) : o->remaining;
  const int64_t price = new_limit_price > 0 ? new_limit_price : o->price;
  (o->type == CATS_ORDER_STOP_MARKET ? r.stop_price : r.limit_price) = price;
  const open_order taken = *o;
  counts_.add(taken, -1);
  risk_reason reason{};
  const std::string why = check(owner, r, true, reason);
  counts_.add(taken, 1);
  if (!why.empty()) {
    error = refuse(owner, r, why, reason) + "; the order is unchanged";
    return CATS_E_REJECTED;
  }
  return inner_.amend(owner, order_id, new_quantity, new_limit_price, error);
}

void risk_engine::enter(trading_state s, const std::string& why) {
  if (s == state_ && s != trading_state::active) return;
  state_ = s;
  state_reason_ = why;
  spdlog::error("risk: trading is now {}: {}; every working order is cancelled",
                trading_state_name(s), why);
  for (const auto& slot : engine_.strategies())
    inner_.cancel_all(slot->host->slot, "risk: trading " + std::string(trading_state_name(s)));
  inner_.cancel_all(risk_owner, "risk: trading " + std::string(trading_state_name(s)));
}

void risk_engine::check_losses() {
  if (state_ == trading_state::halted) return;
  const int64_t equity = engine_.account().equity();
  const int64_t now = engine_.now();
  const int64_t day = now >= 0 ? now / ns_per_day : (now + 1) / ns_per_day - 1;
  if (day != day_) {
    day_ = day;
    day_start_equity_ = equity;
  }
  if (equity > peak_) peak_ = equity;
  std::string why;
  const int64_t lost = day_start_equity_ - equity;
  if (config_.max_daily_loss > 0 && lost > config_.max_daily_loss) {
    why = "the loss since the UTC day began, " + fixed_to_string(lost) +
          ", is above max_daily_loss " + fixed_to_string(config_.max_daily_loss);
  } else if (config_.max_drawdown > 0 && peak_ > 0) {
    const int64_t dd = fixed_div(peak_ - equity, peak_, rounding::down);
    if (dd > config_.max_drawdown)
      why = "the drawdown from the peak equity " + fixed_to_string(peak_) + " is " +
            fixed_to_string(dd) + ", above max_drawdown " + fixed_to_string(config_.max_drawdown);
  }
  if (why.empty()) return;
  const trading_state next = config_.breach_halts ? trading_state::halted : trading_state::reducing;
  if (next == state_) return;
  ++stats_.breaches;
  enter(next, why);
}

void risk_engine::kill(const std::string& why) {
  if (resolved_for_ != engine_.strategies().size()) resolve();
  ++stats_.kills;
  spdlog::error("risk: KILL SWITCH ({}): cancelling every working order{}", why,
                config_.flatten_on_kill ? " and closing every position" : "");
  state_ = trading_state::halted;
  state_reason_ = "kill switch: " + why;
  for (const auto& slot : engine_.strategies())
    inner_.cancel_all(slot->host->slot, "risk: kill switch");
  inner_.cancel_all(risk_owner, "risk: kill switch");
  if (!config_.flatten_on_kill) return;
  for (const instrument_info& i : engine_.instruments().all()) {
    const int64_t pos = engine_.account().position(i.id).quantity;
    if (pos == 0) continue;
    cats_order_request_t r{};
    r.struct_size = sizeof r;
    r.instrument_id = i.id;
    r.side = pos > 0 ? CATS_SIDE_SELL : CATS_SIDE_BUY;
    r.order_type = CATS_ORDER_MARKET;
    r.time_in_force = CATS_TIF_GTC;
    r.quantity = abs64(pos);
    uint64_t id = 0;
    std::string err;
    // Named before it is sent: a fill inside submit closes its trade with the reason.
    const uint64_t expected = engine_.peek_order_id();
    engine_.set_order_reason(expected, "kill switch");
    const cats_status_t st = inner_.submit(risk_owner, r, id, err);
    if (st != CATS_OK || id != expected) engine_.set_order_reason(expected, {});
    if (st == CATS_OK) {
      engine_.set_order_reason(id, "kill switch");
      ++stats_.flatten_orders;
      spdlog::error("risk: kill switch: {} {} {} at market (order {})", side_name(r.side),
                    fixed_to_string(r.quantity), i.symbol, id);
    } else {
      spdlog::error("risk: kill switch: cannot close {} {}: {}", fixed_to_string(pos), i.symbol,
                    err);
    }
  }
}

}  // namespace cats
