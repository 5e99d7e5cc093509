#include "cats/sim/sim_exchange.hpp"

#include "cats/core/order_request.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <vector>

#include "cats/core/events.hpp"

namespace cats {

double sim_rng::normal() noexcept {
  // Box-Muller, one value per pair of draws: simple and the same everywhere.
  const double u1 = 1.0 - uniform();  // (0, 1]
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

int64_t draw_latency(const latency_model& m, sim_rng& rng) noexcept {
  double v = 0;
  switch (m.type) {
    case latency_model::kind::fixed:
      return m.a_ns;
    case latency_model::kind::uniform:
      if (m.b_ns == m.a_ns) return m.a_ns;
      return m.a_ns + static_cast<int64_t>(rng.next() % static_cast<uint64_t>(m.b_ns - m.a_ns + 1));
    case latency_model::kind::normal:
      v = static_cast<double>(m.a_ns) + static_cast<double>(m.b_ns) * rng.normal();
      break;
    case latency_model::kind::lognormal:
      v = static_cast<double>(m.a_ns) * std::exp(m.sigma * rng.normal());
      break;
  }
  if (!(v > 0)) return 0;
  constexpr double max_ns = 3600e9;
  return static_cast<int64_t>(std::llround(std::min(v, max_ns)));
}

std::string describe_fill_rules(const sim_exchange_config& c, bool tick_data, bool bar_data) {
  auto bps = [](int64_t rate) { return fixed_to_string(rate * 10'000); };
  std::string out =
      "fees: taker " + bps(c.taker_fee_rate) + " bps, maker " + bps(c.maker_fee_rate) + " bps. ";
  if (bar_data || !tick_data) {
    out += std::string("bars: market orders fill at ") +
           (c.fill == fill_model::close ? "the signal bar's close" : "the next bar's open") +
           " with " + bps(c.slippage_rate) +
           " bps slippage; limit and stop orders are live from the next bar; within a bar the "
           "price is assumed to go open -> low -> high -> close when the position is long or "
           "flat and open -> high -> low -> close when short, and orders fill in the order that "
           "path reaches them; a limit fills at its price as maker when the bar trades through "
           "it (at the open as taker after a gap); a stop fills at its price plus slippage as "
           "taker (at the open after a gap); post-only limits marketable at the open are "
           "rejected; no volume limit" +
           std::string(c.latency.is_zero() ? "." : "; latency applies to tick data only.");
    if (!tick_data) return out;
    out += ' ';
  }
  out += "ticks: orders, cancels and amends reach the exchange after a latency of " +
         format_latency(c.latency) +
         (c.latency.type == latency_model::kind::fixed ? std::string()
                                                       : " (seed " + std::to_string(c.seed) + ")") +
         "; market orders take the touch with " + bps(c.slippage_rate) +
         " bps slippage up to its displayed size, the rest (or all, without a quote) fills "
         "against later trades at their prices (no added slippage), each trade giving at most " +
         fixed_to_string(c.participation * 100) +
         " % of its quantity; stops trigger on a trade at or through the stop, then act as "
         "market orders; resting limits fill as maker at their price when the touch reaches "
         "them, when trades print through them, or when trades at their price have used up the "
         "estimated queue ahead (displayed size at the level when joined; unknown when deeper); "
         "post-only limits that would take are rejected.";
  return out;
}

sim_exchange::sim_exchange(engine& eng, sim_exchange_config config)
    : engine_(eng), config_(config), rng_(config.seed) {}

sim_exchange::market_state& sim_exchange::grow_markets(uint32_t instrument_id) {
  markets_.resize(instrument_id + 1);
  return markets_[instrument_id];
}

void sim_exchange::post_update(const order& o, cats_order_status status, std::string reason,
                               bool count) {
  cats_order_update_event_t u{};
  u.header = event_header<cats_order_update_event_t>(CATS_EVENT_ORDER_UPDATE, o.instrument_id,
                                                     engine_.now(), engine_.event_flags());
  u.order_id = o.id;
  u.client_tag = o.client_tag;
  u.side = o.side;
  u.order_type = o.type;
  u.status = status;
  u.time_in_force = o.tif;
  u.quantity = o.quantity;
  u.limit_price = o.limit_price;
  u.filled_quantity = o.filled;
  u.avg_fill_price = o.filled == 0 ? 0 : fixed_div(o.filled_notional, o.filled, rounding::nearest);
  u.stop_price = o.stop_price;
  if (count && status == CATS_ORDER_REJECTED) ++stats_.rejected;
  if (count && status == CATS_ORDER_CANCELED) ++stats_.canceled;
  engine_.post_order_update(o.owner, u, std::move(reason));
}

int64_t sim_exchange::arrival_time(uint32_t instrument_id) {
  const int64_t now = engine_.now();
  // Bars have no latency; neither has a run without one configured.
  if (config_.latency.is_zero() || market(instrument_id).bars) return now;
  // One connection: actions arrive in the order they were sent, whatever each one's draw.
  last_arrival_ = std::max(now + draw_latency(config_.latency, rng_), last_arrival_);
  return last_arrival_;
}

int64_t sim_exchange::participation_qty(int64_t trade_qty, const instrument_info& inst) const {
  if (trade_qty <= 0) return 0;
  const int64_t q = config_.participation == fixed_scale
                        ? trade_qty
                        : fixed_mul(trade_qty, config_.participation, rounding::down);
  return round_to_step(q, inst.lot_size, rounding::down);
}

cats_status_t sim_exchange::submit(uint32_t owner, const cats_order_request_t& r,
                                   uint64_t& order_id, std::string& error) {
  if (const cats_status_t st = check_order_request(engine_.instruments(), r, error); st != CATS_OK)
    return st;
  const instrument_info* inst = engine_.instruments().get(r.instrument_id);
  order o = new_order(owner, r);
  const rounded_order rounded = round_order_request(*inst, r);
  o.tif = rounded.tif;
  o.quantity = rounded.quantity;
  o.limit_price = rounded.limit_price;
  o.stop_price = rounded.stop_price;
  o.arrive_ts = arrival_time(o.instrument_id);
  order_id = o.id;
  ++stats_.orders;

  if (!rounded.refusal.empty()) {
    post_update(o, CATS_ORDER_REJECTED, rounded.refusal);
    return CATS_OK;
  }
  post_update(o, CATS_ORDER_NEW, {});
  const market_state& m = market(o.instrument_id);
  if (o.type == CATS_ORDER_MARKET && config_.fill == fill_model::close && m.has_close &&
      m.close_ts == engine_.now()) {
    execute(o, m.last_close, true, CATS_LIQUIDITY_TAKER);
    return CATS_OK;
  }
  working_.push_back(o);
  return CATS_OK;
}

sim_exchange::order sim_exchange::new_order(uint32_t owner, const cats_order_request_t& r) {
  order o{};
  o.id = engine_.new_order_id();
  o.owner = owner;
  o.instrument_id = r.instrument_id;
  o.side = r.side;
  o.type = r.order_type;
  o.client_tag = r.client_tag;
  o.submitted_ts = engine_.now();
  return o;
}

uint64_t sim_exchange::reject(uint32_t owner, const cats_order_request_t& r, std::string reason) {
  order o = new_order(owner, r);
  o.tif = r.time_in_force;
  o.quantity = r.quantity;
  o.limit_price = r.order_type == CATS_ORDER_LIMIT ? r.limit_price : 0;
  o.stop_price = r.order_type == CATS_ORDER_STOP_MARKET ? r.stop_price : 0;
  post_update(o, CATS_ORDER_REJECTED, std::move(reason), false);  // the risk engine counts it
  return o.id;
}

void sim_exchange::open_orders(std::vector<open_order>& out) const {
  for (const order& o : working_)
    out.push_back({o.id, o.owner, o.instrument_id, o.side, o.quantity - o.filled, o.type,
                   o.quantity, o.type == CATS_ORDER_STOP_MARKET ? o.stop_price : o.limit_price});
}

cats_status_t sim_exchange::cancel(uint32_t owner, uint64_t order_id, std::string& error) {
  for (auto it = working_.begin(); it != working_.end(); ++it) {
    if (it->id == order_id && it->owner == owner) {
      const int64_t at = arrival_time(it->instrument_id);
      if (at > engine_.now()) {
        // On its way: the order keeps matching until the cancel arrives.
        pending_.push_back({at, owner, order_id, true, 0, 0});
        return CATS_OK;
      }
      const order o = *it;
      working_.erase(it);
      post_update(o, CATS_ORDER_CANCELED, "cancelled by the strategy");
      return CATS_OK;
    }
  }
  error = "no working order " + std::to_string(order_id) + " of this strategy";
  return CATS_E_NOT_FOUND;
}

cats_status_t sim_exchange::amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                                  int64_t new_limit_price, std::string& error) {
  const cats_status_t st = apply_amend(owner, order_id, new_quantity, new_limit_price, error, true);
  if (st != CATS_OK) return st;
  uint32_t inst = 0;
  for (const order& o : working_)
    if (o.id == order_id) inst = o.instrument_id;
  const int64_t at = arrival_time(inst);
  if (at > engine_.now()) {
    pending_.push_back({at, owner, order_id, false, new_quantity, new_limit_price});
    return CATS_OK;
  }
  return apply_amend(owner, order_id, new_quantity, new_limit_price, error, false);
}

cats_status_t sim_exchange::apply_amend(uint32_t owner, uint64_t order_id, int64_t quantity,
                                        int64_t price, std::string& error, bool validate_only) {
  auto it = std::find_if(working_.begin(), working_.end(),
                         [&](const order& o) { return o.id == order_id && o.owner == owner; });
  if (it == working_.end()) {
    error = "no working order " + std::to_string(order_id) + " of this strategy";
    return CATS_E_NOT_FOUND;
  }
  order& o = *it;
  if (o.type == CATS_ORDER_MARKET || o.triggered) {
    error = "order " + std::to_string(order_id) +
            (o.triggered ? " is a triggered stop (now a market order)" : " is a market order") +
            ": only working limit and stop orders can be amended";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (quantity < 0 || price < 0 || quantity > max_order_amount || price > max_order_amount) {
    error = "amend: quantity and price must be in [0, 1e9] (0 = keep), got " +
            fixed_to_string(quantity) + " @ " + fixed_to_string(price);
    return CATS_E_INVALID_ARGUMENT;
  }
  const instrument_info& inst = *engine_.instruments().get(o.instrument_id);
  const bool buy = o.side == CATS_SIDE_BUY;
  const bool is_stop = o.type == CATS_ORDER_STOP_MARKET;
  const int64_t new_qty =
      quantity == 0 ? o.quantity : round_to_step(quantity, inst.lot_size, rounding::down);
  const int64_t old_price = is_stop ? o.stop_price : o.limit_price;
  const int64_t new_price =
      price == 0
          ? old_price
          : round_to_step(price, inst.tick_size, (buy != is_stop) ? rounding::down : rounding::up);
  if (new_qty <= o.filled) {
    error = "amend: the new quantity " + fixed_to_string(new_qty) + " must be above the filled " +
            fixed_to_string(o.filled) + " of order " + std::to_string(order_id);
    return CATS_E_INVALID_ARGUMENT;
  }
  if (new_price <= 0) {
    error = "amend: price " + fixed_to_string(price) + " rounds to 0 at tick " +
            fixed_to_string(inst.tick_size);
    return CATS_E_INVALID_ARGUMENT;
  }
  if (validate_only) return CATS_OK;
  const bool price_changed = new_price != old_price;
  const bool back_of_queue = price_changed || new_qty > o.quantity;
  o.quantity = new_qty;
  (is_stop ? o.stop_price : o.limit_price) = new_price;
  o.amended = true;
  if (price_changed && o.type == CATS_ORDER_LIMIT) {
    // A new price is a new arrival: the next market event decides whether it takes (post-only:
    // cancelled instead), rests, and where in the queue.
    o.arrived = false;
    o.resting = false;
    o.queue_ahead = -1;
  } else if (back_of_queue && o.resting) {
    o.queue_ahead = initial_queue(o, market(o.instrument_id));
  }
  post_update(o, o.filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW, "amended", false);
  if (back_of_queue) {
    const order moved = o;
    working_.erase(it);
    working_.push_back(moved);
  }
  return CATS_OK;
}

void sim_exchange::apply_pending(bool bars) {
  if (pending_.empty()) return;
  const int64_t now = engine_.now();
  // Arrival times never decrease: nothing is due unless the first one is (or bars are matched).
  if (!bars && pending_.front().arrive_ts > now) return;
  size_t kept = 0;
  for (size_t i = 0; i < pending_.size(); ++i) {
    const pending_action a = pending_[i];
    auto it = std::find_if(working_.begin(), working_.end(), [&](const order& o) {
      return o.id == a.order_id && o.owner == a.owner;
    });
    if (it == working_.end()) continue;  // filled or cancelled meanwhile: the action lost the race
    // Actions on tick-matched instruments wait for their arrival time; those on bar-matched
    // ones take effect at once. Actions of one order keep their order.
    if (a.arrive_ts > now && !(bars && market(it->instrument_id).bars)) {
      pending_[kept++] = a;
      continue;
    }
    if (a.is_cancel) {
      const order o = *it;
      working_.erase(it);
      post_update(o, CATS_ORDER_CANCELED, "cancelled by the strategy");
      continue;
    }
    std::string error;
    if (apply_amend(a.owner, a.order_id, a.quantity, a.price, error, false) != CATS_OK)
      post_update(*it, it->filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW,
                  "amend refused: " + error, false);
  }
  pending_.resize(kept);
}

void sim_exchange::cancel_all(uint32_t owner, std::string_view reason) {
  std::vector<order> keep;
  for (const order& o : working_) {
    if (o.owner == owner)
      post_update(o, CATS_ORDER_CANCELED, std::string(reason));
    else
      keep.push_back(o);
  }
  working_.swap(keep);
  std::erase_if(pending_, [&](const pending_action& a) { return a.owner == owner; });
}

void sim_exchange::finish(std::string_view reason) {
  std::vector<order> all;
  all.swap(working_);
  pending_.clear();
  for (const order& o : all) post_update(o, CATS_ORDER_CANCELED, std::string(reason));
}

void sim_exchange::on_bar_close(const cats_bar_event_t& bar) {
  const uint32_t inst = bar.header.instrument_id;
  market_state& m = market(inst);
  m.bars = true;
  m.last_close = bar.close;
  m.close_ts = engine_.now();
  m.has_close = true;
  if (config_.fill != fill_model::close || working_.empty()) return;
  match_working(inst, [&](order& o) {
    return o.type == CATS_ORDER_MARKET && execute(o, bar.close, true, CATS_LIQUIDITY_TAKER);
  });
}

void sim_exchange::on_bar_open(const cats_bar_event_t& bar) {
  const uint32_t inst = bar.header.instrument_id;
  market(inst).bars = true;
  // Sent before the first bar was known to be one: bars have no latency.
  if (!pending_.empty()) apply_pending(true);
  if (working_.empty()) return;  // the common case: nothing to match
  // The pessimistic path: long or flat fears the low, so it comes first; short fears the high.
  const bool low_first = engine_.account().position(inst).quantity >= 0;
  const int64_t down = bar.open - bar.low, up = bar.high - bar.open;
  auto falling_to = [&](int64_t price) {  // path length until the price first falls to `price`
    return low_first ? bar.open - price : up + (bar.high - price);
  };
  auto rising_to = [&](int64_t price) {
    return low_first ? down + (price - bar.low) : price - bar.open;
  };
  struct hit {
    int64_t distance;
    uint64_t id;
  };
  std::vector<hit> hits;
  // At the open, in submission order: market orders, IOCs, gaps, post-only checks. Orders
  // submitted while this bar is processed wait.
  match_working(inst, [&](order& o) {
    if (o.submitted_ts > bar.open_time_ns) return false;
    const bool buy = o.side == CATS_SIDE_BUY;
    if (o.type == CATS_ORDER_MARKET) {
      // In close mode market orders wait for the close (on_bar_close).
      return config_.fill == fill_model::next_open &&
             execute(o, bar.open, true, CATS_LIQUIDITY_TAKER);
    }
    if (o.type == CATS_ORDER_STOP_MARKET) {
      if (buy ? bar.open >= o.stop_price : bar.open <= o.stop_price)
        return execute(o, bar.open, true, CATS_LIQUIDITY_TAKER);  // gapped through the stop
      if (buy ? bar.high >= o.stop_price : bar.low <= o.stop_price)
        hits.push_back({buy ? rising_to(o.stop_price) : falling_to(o.stop_price), o.id});
      return false;
    }
    if (o.tif == CATS_TIF_IOC) {
      const bool crosses = buy ? bar.open <= o.limit_price : bar.open >= o.limit_price;
      if (!(crosses && execute(o, bar.open, false, CATS_LIQUIDITY_TAKER)))
        post_update(o, CATS_ORDER_CANCELED, "IOC: not marketable at the open");
      return true;
    }
    const bool post_only = o.tif == CATS_TIF_POST_ONLY;
    if (post_only && !o.arrived) {
      o.arrived = true;
      if (buy ? bar.open <= o.limit_price : bar.open >= o.limit_price) {
        post_update(o, o.amended ? CATS_ORDER_CANCELED : CATS_ORDER_REJECTED,
                    "post-only would take: " + std::string(side_name(o.side)) + " limit " +
                        fixed_to_string(o.limit_price) + (buy ? " >= " : " <= ") + "open " +
                        fixed_to_string(bar.open));
        return true;
      }
    }
    if (buy ? bar.open < o.limit_price : bar.open > o.limit_price) {
      // Gapped through: a resting post-only order was hit at its own price.
      if (post_only) return execute(o, o.limit_price, false, CATS_LIQUIDITY_MAKER);
      return execute(o, bar.open, false, CATS_LIQUIDITY_TAKER);
    }
    if (buy ? bar.low < o.limit_price : bar.high > o.limit_price)
      hits.push_back({buy ? falling_to(o.limit_price) : rising_to(o.limit_price), o.id});
    return false;
  });
  // Then along the path, nearest first; ties in submission order.
  std::stable_sort(hits.begin(), hits.end(),
                   [](const hit& a, const hit& b) { return a.distance < b.distance; });
  for (const hit& h : hits) {
    auto it = std::find_if(working_.begin(), working_.end(),
                           [&](const order& o) { return o.id == h.id; });
    if (it == working_.end()) continue;
    const bool done = it->type == CATS_ORDER_STOP_MARKET
                          ? execute(*it, it->stop_price, true, CATS_LIQUIDITY_TAKER)
                          : execute(*it, it->limit_price, false, CATS_LIQUIDITY_MAKER);
    if (done) working_.erase(it);
  }
}

int64_t sim_exchange::initial_queue(const order& o, const market_state& m) {
  const bool buy = o.side == CATS_SIDE_BUY;
  const int64_t best = buy ? m.bid : m.ask;
  const int64_t size = buy ? m.bid_size : m.ask_size;
  if (best <= 0) return -1;                                         // no quote: unknown
  if (buy ? o.limit_price > best : o.limit_price < best) return 0;  // improves the best
  if (o.limit_price == best) return size > 0 ? size : -1;           // joins the best level
  return -1;                                                        // deeper: unknown
}

bool sim_exchange::take_liquidity(order& o, market_state& m, const cats_trade_event_t* t) {
  const bool buy = o.side == CATS_SIDE_BUY;
  const int64_t touch = buy ? m.ask : m.bid;
  const int64_t touch_size = buy ? m.ask_size : m.bid_size;
  const instrument_info& inst = *engine_.instruments().get(o.instrument_id);
  // On arrival the touch is taken if known; afterwards trades fill at their prices and quotes
  // at the touch.
  if (t != nullptr && o.arrived) {
    const int64_t q = participation_qty(t->quantity, inst);
    return q > 0 && execute(o, t->price, false, CATS_LIQUIDITY_TAKER, q);
  }
  if (touch > 0) {
    // The displayed size less what our orders already took at this price.
    int64_t& taken = buy ? m.ask_taken : m.bid_taken;
    const int64_t left = touch_size > 0 ? std::max<int64_t>(0, touch_size - taken) : -1;
    const int64_t q = left > 0 ? round_to_step(left, inst.lot_size, rounding::down) : left;
    if (q == 0) return false;
    const int64_t before = o.filled;
    const bool done = execute(o, touch, true, CATS_LIQUIDITY_TAKER, q);
    if (touch_size > 0) taken += o.filled - before;
    return done;
  }
  if (t != nullptr) {
    const int64_t q = participation_qty(t->quantity, inst);
    return q > 0 && execute(o, t->price, false, CATS_LIQUIDITY_TAKER, q);
  }
  return false;
}

bool sim_exchange::match_tick(order& o, market_state& m, const cats_trade_event_t* t) {
  if (engine_.now() < o.arrive_ts) return false;  // still on its way
  const bool buy = o.side == CATS_SIDE_BUY;
  const int64_t touch = buy ? m.ask : m.bid;
  if (o.type == CATS_ORDER_STOP_MARKET && !o.triggered) {
    if (t == nullptr || !(buy ? t->price >= o.stop_price : t->price <= o.stop_price)) return false;
    o.triggered = true;
    // A market order from now on: the touch if known, else the trades that follow.
    o.arrived = touch <= 0;
    if (touch <= 0) return false;
    const bool done = take_liquidity(o, m, nullptr);
    o.arrived = true;
    return done;
  }
  if (o.type != CATS_ORDER_LIMIT) {
    if (!o.arrived && touch <= 0 && t == nullptr) return false;  // this side is unknown: wait
    const bool done = take_liquidity(o, m, t);
    o.arrived = true;
    if (!done && o.tif == CATS_TIF_IOC) {
      post_update(o, CATS_ORDER_CANCELED,
                  "IOC: remainder cancelled after the first match, filled " +
                      fixed_to_string(o.filled) + " of " + fixed_to_string(o.quantity));
      return true;
    }
    return done;
  }
  const int64_t px = t != nullptr ? t->price : 0;
  if (!o.arrived) {
    // The touch decides; without a quote the trade price stands in for it.
    const int64_t ref = touch > 0 ? touch : px;
    if (ref <= 0) return false;
    o.arrived = true;
    if (buy ? ref <= o.limit_price : ref >= o.limit_price) {
      if (o.tif == CATS_TIF_POST_ONLY) {
        post_update(o, o.amended ? CATS_ORDER_CANCELED : CATS_ORDER_REJECTED,
                    "post-only would take: " + std::string(side_name(o.side)) + " limit " +
                        fixed_to_string(o.limit_price) + " against " +
                        (touch > 0 ? (buy ? "ask " : "bid ") : "trade ") + fixed_to_string(ref));
        return true;
      }
      return execute(o, ref, false, CATS_LIQUIDITY_TAKER);
    }
    if (o.tif == CATS_TIF_IOC) {
      post_update(
          o, CATS_ORDER_CANCELED,
          touch > 0 ? "IOC: not marketable at the touch" : "IOC: not marketable at the last trade");
      return true;
    }
    o.resting = true;
    o.queue_ahead = initial_queue(o, m);
    return false;
  }
  if (t == nullptr) {
    // The queue ahead cannot be larger than the displayed size of the order's level; a best
    // price behind the order means its level holds nobody else.
    const int64_t best = buy ? m.bid : m.ask;
    const int64_t best_size = buy ? m.bid_size : m.ask_size;
    if (best == o.limit_price && best_size > 0 && (o.queue_ahead < 0 || o.queue_ahead > best_size))
      o.queue_ahead = best_size;
    else if (best > 0 && (buy ? best < o.limit_price : best > o.limit_price))
      o.queue_ahead = 0;
    // The opposite side came to the resting order's price: it was hit there.
    const bool reached = touch > 0 && (buy ? touch <= o.limit_price : touch >= o.limit_price);
    return reached && execute(o, o.limit_price, false, CATS_LIQUIDITY_MAKER);
  }
  const instrument_info& inst = *engine_.instruments().get(o.instrument_id);
  if (buy ? px < o.limit_price : px > o.limit_price) {
    // Traded through the limit: the resting order was reached whatever its queue place.
    const int64_t q = participation_qty(t->quantity, inst);
    return q > 0 && execute(o, o.limit_price, false, CATS_LIQUIDITY_MAKER, q);
  }
  if (px == o.limit_price && o.queue_ahead >= 0) {
    const int64_t excess = t->quantity - o.queue_ahead;
    o.queue_ahead = std::max<int64_t>(0, o.queue_ahead - t->quantity);
    const int64_t q = participation_qty(excess, inst);
    return q > 0 && execute(o, o.limit_price, false, CATS_LIQUIDITY_MAKER, q);
  }
  return false;
}

void sim_exchange::on_quote(uint32_t instrument_id, int64_t bid, int64_t bid_size, int64_t ask,
                            int64_t ask_size) {
  market_state& m = market(instrument_id);
  if (bid != m.bid) m.bid_taken = 0;
  if (ask != m.ask) m.ask_taken = 0;
  m.bid = bid;
  m.ask = ask;
  m.bid_size = bid > 0 ? bid_size : 0;
  m.ask_size = ask > 0 ? ask_size : 0;
  apply_pending(false);
  match_working(instrument_id, [&](order& o) { return match_tick(o, m, nullptr); });
}

void sim_exchange::on_trade(const cats_trade_event_t& t) {
  market_state& m = market(t.header.instrument_id);
  apply_pending(false);
  match_working(t.header.instrument_id, [&](order& o) { return match_tick(o, m, &t); });
}

bool sim_exchange::below_minimums(const order& o, const instrument_info& inst, int64_t qty,
                                  int64_t notional) {
  std::string why;
  if (inst.min_quantity > 0 && qty < inst.min_quantity)
    why = "quantity " + fixed_to_string(qty) + " is below the minimum " +
          fixed_to_string(inst.min_quantity) + " of " + inst.symbol;
  else if (inst.min_notional > 0 && notional < inst.min_notional)
    why = "notional " + fixed_to_string(notional) + " is below the minimum " +
          fixed_to_string(inst.min_notional) + " of " + inst.symbol;
  if (why.empty()) return false;
  post_update(o, o.filled == 0 ? CATS_ORDER_REJECTED : CATS_ORDER_CANCELED, std::move(why));
  return true;
}

bool sim_exchange::execute(order& o, int64_t base_price, bool apply_slippage,
                           cats_liquidity liquidity, int64_t max_qty) {
  const instrument_info& inst = *engine_.instruments().get(o.instrument_id);
  portfolio& acct = engine_.account();
  const int dir = o.side == CATS_SIDE_BUY ? 1 : -1;

  int64_t price = base_price;
  if (apply_slippage && config_.slippage_rate != 0) {
    price = fixed_mul(base_price, fixed_scale + dir * config_.slippage_rate,
                      dir > 0 ? rounding::up : rounding::down);
  }
  price = round_to_step(price, inst.tick_size, dir > 0 ? rounding::up : rounding::down);
  if (price <= 0) price = inst.tick_size > 0 ? inst.tick_size : 1;
  const int64_t fee_rate =
      liquidity == CATS_LIQUIDITY_MAKER ? config_.maker_fee_rate : config_.taker_fee_rate;

  // What the account can afford: reducing a position is always allowed; the opening part is
  // capped so that gross exposure stays within leverage x equity after fees.
  // `remaining` is what this fill may take: a volume limit (trade size, displayed size) caps it.
  const int64_t left = o.quantity - o.filled;
  const bool volume_limited = max_qty >= 0 && max_qty < left;
  const int64_t remaining = volume_limited ? max_qty : left;
  const position_state& pos = acct.position(o.instrument_id);
  int64_t closing = 0;
  if (pos.quantity != 0 && (pos.quantity > 0) != (dir > 0))
    closing = std::min(remaining, abs64(pos.quantity));
  int64_t opening = remaining - closing;
  if (opening > 0) {
    const int64_t pos_value_at_price = fixed_mul(pos.quantity, price, rounding::nearest);
    const int64_t closing_fee =
        fixed_mul(fixed_mul(closing, price, rounding::nearest), fee_rate, rounding::up);
    const int64_t equity_at_price =
        acct.equity() - pos.market_value + pos_value_at_price - closing_fee;
    const int64_t other_gross = acct.gross_exposure() - abs64(pos.market_value);
    const int64_t left_after_close = abs64(pos.quantity) - closing;  // same side as the order
    // In 128 bits: leverage x equity may exceed the int64 range of a single amount.
    const int128_t headroom = div_round(static_cast<int128_t>(config_.leverage) * equity_at_price,
                                        fixed_scale, rounding::down) -
                              other_gross - fixed_mul(left_after_close, price, rounding::up);
    // opening x price x (1 + leverage x fee_rate) <= headroom
    const int128_t unit_cost =
        static_cast<int128_t>(price) *
        (fixed_scale + fixed_mul(config_.leverage, fee_rate, rounding::up));  // scale 10^16
    int64_t affordable = 0;
    if (headroom > 0 && unit_cost > 0) {
      const int128_t q = div_round(headroom * fixed_scale * fixed_scale, unit_cost, rounding::down);
      affordable = q > remaining ? remaining : static_cast<int64_t>(q);
      affordable = round_to_step(affordable, inst.lot_size, rounding::down);
    }
    opening = std::min(opening, affordable);
  }
  const int64_t qty = closing + opening;
  // Written only for an order that buying power cut (most fills need no text): with the equity
  // before the fill.
  const int64_t equity_before = acct.equity();
  auto funds_note = [&] {
    return "insufficient buying power for " + std::string(side_name(o.side)) + " " +
           fixed_to_string(remaining) + " " + inst.symbol + " at " + fixed_to_string(price) +
           " (equity " + fixed_to_string(equity_before) + ")";
  };
  if (qty <= 0) {
    post_update(o, o.filled == 0 ? CATS_ORDER_REJECTED : CATS_ORDER_CANCELED, funds_note());
    return true;
  }
  const int64_t notional = fixed_mul(qty, price, rounding::nearest);
  // Minimums apply to orders that open a position; closing one is always allowed.
  // A fill cut by the volume on offer is part of a larger order: the order met the minimums.
  if (closing == 0 && !volume_limited && below_minimums(o, inst, qty, notional)) return true;
  const int64_t fee = fixed_mul(notional, fee_rate, rounding::up);
  auto closed = acct.apply_fill(o.instrument_id, dir, qty, price, fee, engine_.now(), o.id);
  o.filled += qty;
  o.filled_notional += notional;
  ++stats_.fills;

  cats_fill_event_t f{};
  f.header = event_header<cats_fill_event_t>(CATS_EVENT_FILL, o.instrument_id, engine_.now(),
                                             engine_.event_flags());
  f.order_id = o.id;
  f.client_tag = o.client_tag;
  f.fill_id = engine_.new_fill_id();
  f.side = o.side;
  f.liquidity = liquidity;
  f.price = price;
  f.quantity = qty;
  f.fee = fee;
  f.position_after = acct.position(o.instrument_id).quantity;
  engine_.post_fill(o.owner, f);
  if (listener_ != nullptr && o.owner < engine_.strategies().size()) {
    const strategy_slot& owner = *engine_.strategies()[o.owner];
    listener_->on_fill(owner, inst, f, acct.cash());
    if (closed) {
      engine_.name_reasons(*closed);
      listener_->on_round_trip(owner, inst, *closed);
    }
  }
  if (o.filled == o.quantity) {
    post_update(o, CATS_ORDER_FILLED, {});
    return true;
  }
  if (volume_limited && qty == remaining) {
    post_update(o, CATS_ORDER_PARTIALLY_FILLED, {}, false);
    return false;  // keeps working for the rest
  }
  // Capped, not cancelled by anyone: counted apart so that sizing beyond buying power (common
  // with fraction = 1 and costs) does not read as cancellations in the report.
  ++stats_.capped;
  post_update(
      o, CATS_ORDER_CANCELED,
      funds_note() + "; filled " + fixed_to_string(o.filled) + " of " + fixed_to_string(o.quantity),
      false);
  return true;
}

}  // namespace cats
