// The host API table handed to every strategy (sdk.h's cats_host_api_t). Every function is
// noexcept: nothing may unwind into a plugin, so each body runs inside guard(). A strategy that is
// handling a run of bars (on_bars) may call from any bar of it: each call first brings the market
// to that bar (engine::sync_span), and a call that needs the host before the next bar (orders,
// timers, subscriptions) ends the run after it.
#include <algorithm>
#include <cstring>

#include "cats/core/engine.hpp"
#include "cats/core/events.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

engine* eng(cats_host_t* h) noexcept {
  return h != nullptr ? h->engine : nullptr;
}

cats_status_t error_out(cats_host_t* h, cats_status_t st, std::string message) noexcept {
  try {
    h->last_error = std::move(message);
  } catch (...) {
  }
  return st;
}

// Runs the body of a host API call: an exception becomes CATS_E_FAILED with its message as the
// instance's last error.
template <class Body>
cats_status_t guard(cats_host_t* h, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& ex) {
    return error_out(h, CATS_E_FAILED, ex.what());
  } catch (...) {
    return error_out(h, CATS_E_FAILED, "unexpected failure in the host");
  }
}

// Copies a host-side struct into a caller struct of possibly different (older or newer) size.
template <class T>
void copy_out(const T& full, T* out) noexcept {
  const uint32_t want = out->struct_size;
  const size_t n = std::min<size_t>(want, sizeof(T));
  std::memcpy(out, &full, n);
  // A newer plugin's struct is larger: the fields this host does not know are zero.
  if (want > n) std::memset(reinterpret_cast<char*>(out) + n, 0, want - n);
  out->struct_size = static_cast<uint32_t>(n);
}

bool bad_str(cats_str_t s) noexcept {
  return s.data == nullptr && s.size != 0;
}

// A caller struct must at least hold its struct_size and the id that follows it.
template <class T>
bool too_small(const T* out) noexcept {
  return out == nullptr || out->struct_size < sizeof(uint32_t) * 2;
}

void fill_instrument(const instrument_info& i, cats_instrument_t& out) noexcept {
  out = {};
  out.struct_size = sizeof out;
  out.instrument_id = i.id;
  out.symbol = {i.symbol.data(), i.symbol.size()};
  out.venue = {i.venue.data(), i.venue.size()};
  out.base = {i.base.data(), i.base.size()};
  out.quote = {i.quote.data(), i.quote.size()};
  out.tick_size = i.tick_size;
  out.lot_size = i.lot_size;
  out.min_quantity = i.min_quantity;
  out.min_notional = i.min_notional;
}

void api_log(cats_host_t* h, int32_t level, cats_str_t message) noexcept {
  if (bad_str(message)) return;
  try {
    if (h != nullptr && h->detached) {
      log_as(h->name, 0, level, std::string_view(message.data, message.size));
      return;
    }
    if (engine* e = eng(h)) {
      (void)e->sync_span(false);
      e->strategy_log(h->slot, level, std::string_view(message.data, message.size));
    }
  } catch (...) {
  }
}

int64_t api_now(cats_host_t* h) noexcept {
  if (h != nullptr && h->detached) return wall_clock_ns();
  engine* e = eng(h);
  if (e == nullptr) return 0;
  (void)e->sync_span(false);
  return e->now();
}

// A call from a strategy that broke its run of bars' contract, or after the host failed in it.
cats_status_t span_refused(cats_host_t* h, const engine& e) noexcept {
  return error_out(h, CATS_E_REJECTED,
                   e.span_refusal().empty()
                       ? std::string("the host failed while bringing the market to this bar")
                       : e.span_refusal());
}

// Calls that touch orders, positions, the account or timers belong to the engine thread; a
// strategy created off it for a hot reload gets them from on_start on.
bool refused_while_detached(cats_host_t* h, const char* what, cats_status_t& st) noexcept {
  if (h == nullptr || !h->detached) return false;
  st = error_out(h, CATS_E_UNSUPPORTED,
                 std::string(what) +
                     " is not available in create() during a hot reload; call it from on_start");
  return true;
}

cats_status_t api_find_instrument(cats_host_t* h, cats_str_t symbol,
                                  cats_instrument_t* out) noexcept {
  engine* e = eng(h);
  if (e == nullptr || too_small(out) || bad_str(symbol)) return CATS_E_INVALID_ARGUMENT;
  return guard(h, [&]() -> cats_status_t {
    const std::string_view name(symbol.data, symbol.size);
    const instrument_info* i = e->instruments().find(name);
    if (i == nullptr) {
      std::string known;
      for (const instrument_info& x : e->instruments().all())
        known += (known.empty() ? "" : ", ") + x.symbol;
      return error_out(h, CATS_E_NOT_FOUND,
                       "no instrument '" + std::string(name) +
                           "' in this run (known: " + (known.empty() ? "none" : known) + ")");
    }
    cats_instrument_t full;
    fill_instrument(*i, full);
    copy_out(full, out);
    return CATS_OK;
  });
}

cats_status_t api_get_instrument(cats_host_t* h, uint32_t id, cats_instrument_t* out) noexcept {
  engine* e = eng(h);
  if (e == nullptr || too_small(out)) return CATS_E_INVALID_ARGUMENT;
  return guard(h, [&]() -> cats_status_t {
    const instrument_info* i = e->instruments().get(id);
    if (i == nullptr)
      return error_out(h, CATS_E_NOT_FOUND, "no instrument with id " + std::to_string(id));
    cats_instrument_t full;
    fill_instrument(*i, full);
    copy_out(full, out);
    return CATS_OK;
  });
}

constexpr size_t request_1_0 = offsetof(cats_order_request_t, client_tag) + sizeof(uint64_t);
constexpr uint64_t max_order_reason = 64;

// The request as this host reads it: fields beyond the plugin's struct stay zero; a stop needs
// the 1.2 field that carries its price.
cats_status_t read_request(cats_host_t* h, const cats_order_request_t* request,
                           cats_order_request_t& req) {
  std::memcpy(&req, request, std::min<size_t>(request->struct_size, sizeof req));
  if (req.order_type == CATS_ORDER_STOP_MARKET &&
      !CATS_HAS_FIELD(request, cats_order_request_t, stop_price))
    return error_out(
        h, CATS_E_INVALID_ARGUMENT,
        "a stop-market order needs ABI 1.2's stop_price, but the request's struct_size is " +
            std::to_string(request->struct_size) + " (1.2 needs " +
            std::to_string(offsetof(cats_order_request_t, stop_price) + sizeof(cats_fixed_t)) +
            ")");
  // A struct that ends inside the 1.4 reason has none.
  if (!CATS_HAS_FIELD(request, cats_order_request_t, reason)) req.reason = {};
  const cats_str_t why = req.reason;
  if (why.size == 0) return CATS_OK;
  if (why.data == nullptr || why.size > max_order_reason)
    return error_out(h, CATS_E_INVALID_ARGUMENT,
                     "an order's reason is at most " + std::to_string(max_order_reason) +
                         " bytes with a non-null pointer (got " + std::to_string(why.size) +
                         " bytes)");
  for (uint64_t i = 0; i < why.size; ++i) {
    const auto c = static_cast<unsigned char>(why.data[i]);
    if (c < 0x20 || c == 0x7f)
      return error_out(h, CATS_E_INVALID_ARGUMENT,
                       "an order's reason has a control character (byte " + std::to_string(c) +
                           " at offset " + std::to_string(i) + "); printable text only");
  }
  return CATS_OK;
}

cats_status_t api_submit_order(cats_host_t* h, const cats_order_request_t* request,
                               uint64_t* out_order_id) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "submit_order", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(true)) return span_refused(h, *e);
  return guard(h, [&]() -> cats_status_t {
    if (request == nullptr || out_order_id == nullptr)
      return error_out(h, CATS_E_INVALID_ARGUMENT, "request and out_order_id must not be NULL");
    if (request->struct_size < request_1_0)
      return error_out(h, CATS_E_INVALID_ARGUMENT,
                       "order request struct_size " + std::to_string(request->struct_size) +
                           " is smaller than ABI 1.0's " + std::to_string(request_1_0));
    if (e->router() == nullptr)
      return error_out(h, CATS_E_UNSUPPORTED, "this run has no order routing");
    if (e->strategies()[h->slot]->failure)
      return error_out(h, CATS_E_REJECTED, "this strategy is disabled; it cannot send orders");
    cats_order_request_t req{};
    if (const cats_status_t st = read_request(h, request, req); st != CATS_OK) return st;
    std::string err;
    // The reason is known before the broker runs: a fill at the bar's close happens inside
    // submit, and its round trip and orders.csv row already name it.
    const std::string_view why(req.reason.data, req.reason.size);
    const uint64_t expected = e->peek_order_id();
    if (!why.empty()) e->set_order_reason(expected, why);
    const cats_status_t st = e->router()->submit(h->slot, req, *out_order_id, err);
    if (!why.empty() && (st != CATS_OK || *out_order_id != expected)) {
      e->set_order_reason(expected, {});
      if (st == CATS_OK) e->set_order_reason(*out_order_id, why);
    }
    if (st != CATS_OK) return error_out(h, st, std::move(err));
    ++e->strategies()[h->slot]->orders;
    return CATS_OK;
  });
}

cats_status_t api_cancel_order(cats_host_t* h, uint64_t order_id) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "cancel_order", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(true)) return span_refused(h, *e);
  return guard(h, [&]() -> cats_status_t {
    if (e->router() == nullptr)
      return error_out(h, CATS_E_UNSUPPORTED, "this run has no order routing");
    std::string err;
    const cats_status_t st = e->router()->cancel(h->slot, order_id, err);
    return st == CATS_OK ? CATS_OK : error_out(h, st, std::move(err));
  });
}

cats_status_t api_amend_order(cats_host_t* h, uint64_t order_id, cats_fixed_t new_quantity,
                              cats_fixed_t new_limit_price) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "amend_order", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(true)) return span_refused(h, *e);
  return guard(h, [&]() -> cats_status_t {
    if (e->router() == nullptr)
      return error_out(h, CATS_E_UNSUPPORTED, "this run has no order routing");
    std::string err;
    const cats_status_t st =
        e->router()->amend(h->slot, order_id, new_quantity, new_limit_price, err);
    return st == CATS_OK ? CATS_OK : error_out(h, st, std::move(err));
  });
}

cats_status_t api_get_position(cats_host_t* h, uint32_t instrument_id,
                               cats_position_t* out) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "get_position", st)) return st;
  if (e == nullptr || too_small(out)) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(false)) return span_refused(h, *e);
  return guard(h, [&]() -> cats_status_t {
    if (e->instruments().get(instrument_id) == nullptr)
      return error_out(h, CATS_E_NOT_FOUND,
                       "no instrument with id " + std::to_string(instrument_id));
    const position_state& p = e->account().position(instrument_id);
    cats_position_t full{};
    full.struct_size = sizeof full;
    full.instrument_id = instrument_id;
    full.quantity = p.quantity;
    full.avg_entry_price = p.avg_entry_price();
    full.realized_pnl = p.realized_pnl;
    full.unrealized_pnl = p.unrealized_pnl();
    full.mark_price = p.mark_price;
    copy_out(full, out);
    return CATS_OK;
  });
}

cats_status_t api_get_account(cats_host_t* h, cats_account_t* out) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "get_account", st)) return st;
  if (e == nullptr || too_small(out)) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(false)) return span_refused(h, *e);
  const portfolio& a = e->account();
  cats_account_t full{};
  full.struct_size = sizeof full;
  full.cash = a.cash();
  full.equity = a.equity();
  full.fees_paid = a.fees_paid();
  full.currency = {a.currency().data(), a.currency().size()};
  copy_out(full, out);
  return CATS_OK;
}

cats_status_t api_set_timer(cats_host_t* h, int64_t fire_at_ns, uint64_t user_data,
                            uint64_t* out_timer_id) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "set_timer", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(true)) return span_refused(h, *e);
  return guard(h, [&]() -> cats_status_t {
    const uint64_t id = e->add_timer(h->slot, fire_at_ns, user_data);
    if (id == 0)
      return error_out(h, CATS_E_REJECTED,
                       "this strategy already has " +
                           std::to_string(engine::max_timers_per_strategy) + " pending timers");
    if (out_timer_id != nullptr) *out_timer_id = id;
    return CATS_OK;
  });
}

cats_status_t api_cancel_timer(cats_host_t* h, uint64_t timer_id) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "cancel_timer", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(true)) return span_refused(h, *e);
  return guard(h, [&]() -> cats_status_t {
    if (e->cancel_timer(h->slot, timer_id)) return CATS_OK;
    return error_out(h, CATS_E_NOT_FOUND,
                     "no pending timer " + std::to_string(timer_id) + " of this strategy");
  });
}

cats_status_t api_plot(cats_host_t* h, cats_str_t series, cats_str_t panel, double value) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "plot", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  if (!e->sync_span(false)) return span_refused(h, *e);
  if (bad_str(series) || bad_str(panel))
    return error_out(h, CATS_E_INVALID_ARGUMENT, "plot: a name is null with a non-zero size");
  return guard(h, [&]() -> cats_status_t {
    std::string err;
    const cats_status_t st = e->plot(h->slot, std::string_view(series.data, series.size),
                                     std::string_view(panel.data, panel.size), value, err);
    return st == CATS_OK ? CATS_OK : error_out(h, st, std::move(err));
  });
}

cats_status_t api_subscribe_bars(cats_host_t* h, uint32_t instrument_id,
                                 int64_t interval_ns) noexcept {
  engine* e = eng(h);
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  // Off the engine thread there is no span to stop.
  if (!h->detached && !e->sync_span(true)) return span_refused(h, *e);
  return guard(h, [&]() -> cats_status_t {
    if (h->detached) {
      // A new version being created off the engine thread: checked now, applied at the swap.
      if (e->instruments().get(instrument_id) == nullptr)
        return error_out(h, CATS_E_NOT_FOUND,
                         "subscribe_bars: no instrument with id " + std::to_string(instrument_id));
      if (std::string why = bar_timeframes::check_interval(interval_ns); !why.empty())
        return error_out(h, CATS_E_INVALID_ARGUMENT, "subscribe_bars: " + why);
      h->bar_requests.emplace_back(instrument_id, interval_ns);
      return CATS_OK;
    }
    std::string err;
    const cats_status_t st = e->subscribe_bars(h->slot, instrument_id, interval_ns, err);
    return st == CATS_OK ? CATS_OK : error_out(h, st, std::move(err));
  });
}

cats_str_t api_last_error(cats_host_t* h) noexcept {
  if (h == nullptr) return {nullptr, 0};
  return {h->last_error.data(), h->last_error.size()};
}

}  // namespace

const cats_host_api_t& host_api() noexcept {
  static const cats_host_api_t api = [] {
    cats_host_api_t a{};
    a.struct_size = sizeof a;
    a.abi_major = CATS_ABI_MAJOR;
    a.abi_minor = CATS_ABI_MINOR;
    a.log = api_log;
    a.now_ns = api_now;
    a.find_instrument = api_find_instrument;
    a.get_instrument = api_get_instrument;
    a.submit_order = api_submit_order;
    a.cancel_order = api_cancel_order;
    a.get_position = api_get_position;
    a.get_account = api_get_account;
    a.set_timer = api_set_timer;
    a.cancel_timer = api_cancel_timer;
    a.last_error = api_last_error;
    a.amend_order = api_amend_order;
    a.plot = api_plot;
    a.subscribe_bars = api_subscribe_bars;
    return a;
  }();
  return api;
}

}  // namespace cats
