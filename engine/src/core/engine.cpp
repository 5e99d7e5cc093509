#include "cats/core/engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>

#include "cats/core/events.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

// A strategy that keeps producing events from its own callbacks would never let the loop advance;
// this bounds one flush.
constexpr size_t max_events_per_flush = 10'000'000;

}  // namespace

const char* event_type_name(int32_t type) noexcept {
  switch (type) {
    case CATS_EVENT_TRADE:
      return "trade";
    case CATS_EVENT_QUOTE:
      return "quote";
    case CATS_EVENT_BAR:
      return "bar";
    case CATS_EVENT_ORDER_UPDATE:
      return "order_update";
    case CATS_EVENT_FILL:
      return "fill";
    case CATS_EVENT_BOOK:
      return "book";
    case CATS_EVENT_TIMER:
      return "timer";
    default:
      return "event";
  }
}

std::string strategy_slot::kind() const {
  return plugin_name;
}
std::string strategy_slot::version() const {
  return plugin_version;
}
std::string strategy_slot::label() const {
  return "'" + name + "' (" + kind() + " " + version() + ")";
}

namespace {
// The slot table never reallocates, so that a strategy being created off the engine thread
// (hot reload) can log through its slot while the engine thread adds another strategy.
constexpr size_t max_strategies = 256;
}  // namespace

engine::engine(instrument_registry& instruments, portfolio& account)
    : instruments_(instruments), account_(account) {
  slots_.reserve(max_strategies);
}

strategy_candidate& strategy_candidate::operator=(strategy_candidate&& o) noexcept {
  if (this != &o) {
    if (instance != nullptr) desc.destroy(instance);
    slot = o.slot;
    name = std::move(o.name);
    library = std::move(o.library);
    desc = o.desc;
    params = std::move(o.params);
    host = std::move(o.host);
    instance = std::exchange(o.instance, nullptr);
    ready_ns = o.ready_ns;
  }
  return *this;
}

strategy_candidate::~strategy_candidate() {
  if (instance != nullptr) desc.destroy(instance);
}

bool engine::prepare_candidate(uint32_t slot, const std::string& name,
                               std::shared_ptr<strategy_module> library, param_set params,
                               strategy_candidate& out, std::string& error) {
  out = strategy_candidate{};
  out.slot = slot;
  out.name = name;
  out.desc = library->descriptor();
  out.library = std::move(library);
  out.params = std::move(params);
  out.host = std::make_unique<cats_host_t>();
  out.host->engine = this;
  out.host->slot = slot;
  out.host->name = name;
  out.host->detached = true;
  char message[1024] = {0};
  cats_strategy_t* instance = nullptr;
  const cats_status_t st = out.desc.create(&host_api(), out.host.get(), out.params.c_params(),
                                           &instance, message, sizeof message);
  message[sizeof message - 1] = '\0';
  if (st != CATS_OK || instance == nullptr) {
    error = "'" + name + "' (" + out.library->name() + " " + out.library->version() +
            ") refused to start: " +
            (message[0] != '\0' ? std::string(message) : std::string("create() failed")) +
            " (status " + std::to_string(st) + ")";
    if (instance != nullptr) out.desc.destroy(instance);
    return false;
  }
  out.instance = instance;
  return true;
}

namespace {
// Collects save_state's bytes.
cats_status_t append_state(void* context, const void* data, uint64_t size) {
  try {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data),
                                               static_cast<size_t>(size));
    return CATS_OK;
  } catch (...) {
    return CATS_E_FAILED;
  }
}
}  // namespace

bool engine::swap_in(strategy_candidate& c, std::shared_ptr<strategy_module>& retired,
                     swap_timing& timing, std::string& error) {
  const auto t0 = std::chrono::steady_clock::now();
  if (c.slot >= slots_.size() || c.instance == nullptr) {
    error = "no strategy to replace";
    return false;
  }
  strategy_slot& slot = *slots_[c.slot];
  const std::string next_label =
      "'" + slot.name + "' (" + c.library->name() + " " + c.library->version() + ")";
  // The state, as an opaque versioned blob.
  std::string blob;
  uint32_t version = 0;
  // A failed or stopped strategy has no state worth handing over: the new build starts fresh.
  if (slot.instance != nullptr && slot.running && slot.desc.save_state != nullptr) {
    cats_state_sink_t sink{};
    sink.struct_size = sizeof sink;
    sink.context = &blob;
    sink.write = append_state;
    const cats_status_t st = slot.desc.save_state(slot.instance, &sink, &version);
    if (st != CATS_OK) {
      error = "strategy " + slot.label() +
              " could not save its state: " + to_string(slot.desc.last_error(slot.instance)) +
              " (status " + std::to_string(st) + "); it keeps running";
      return false;
    }
  }
  c.host->detached = false;  // from here on the engine thread owns it
  if (!blob.empty() || version != 0) {
    if (c.desc.load_state == nullptr) {
      error = "new version " + next_label + " cannot load state (no load_state) but " +
              slot.label() + " saved " + std::to_string(blob.size()) + " bytes (version " +
              std::to_string(version) + "); the old version keeps running";
      return false;
    }
    const cats_status_t st = c.desc.load_state(c.instance, version, blob.data(), blob.size());
    if (st != CATS_OK) {
      error = "new version " + next_label + " refused the state of " + slot.label() + " (" +
              std::to_string(blob.size()) + " bytes, version " + std::to_string(version) +
              "): " + to_string(c.desc.last_error(c.instance)) + " (status " + std::to_string(st) +
              "); the old version keeps running";
      return false;
    }
  }
  // The swap: the old instance goes, its library is handed back for unloading elsewhere.
  cats_strategy_t* old = slot.instance;
  const cats_strategy_descriptor_t old_desc = slot.desc;
  std::unique_ptr<cats_host_t> old_host = std::move(slot.host);
  retired = std::move(slot.library);
  slot.instance = std::exchange(c.instance, nullptr);
  slot.desc = c.desc;
  slot.plugin_name = to_string(c.desc.name);
  slot.plugin_version = to_string(c.desc.version);
  slot.on_event = c.desc.on_event;
  slot.library = std::move(c.library);
  slot.host = std::move(c.host);
  slot.params = std::move(c.params);
  ++slot.generation;
  if (old != nullptr) old_desc.destroy(old);
  old_host.reset();
  // A strategy that had failed (or was stopped) runs again in its new version.
  slot.failure.reset();
  slot.running = true;
  start_one(c.slot);
  timing.pause_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  return true;
}

void engine::retire(uint32_t slot_index, std::string_view reason,
                    std::shared_ptr<strategy_module>& retired) {
  if (slot_index >= slots_.size()) return;
  strategy_slot& slot = *slots_[slot_index];
  if (slot.running && slot.desc.on_stop != nullptr) {
    const cats_status_t st = slot.desc.on_stop(slot.instance);
    if (st != CATS_OK) fail(slot, "on_stop", st, to_string(slot.desc.last_error(slot.instance)));
  }
  flush();
  slot.running = false;
  if (router_ != nullptr) router_->cancel_all(slot_index, reason);
  flush();
  if (slot.instance != nullptr) {
    slot.desc.destroy(slot.instance);
    slot.instance = nullptr;
  }
  retired = std::move(slot.library);
  spdlog::info("strategy '{}' stopped: {}", slot.name, reason);
}

engine::~engine() {
  destroy_all();
}

void engine::destroy_all() noexcept {
  for (auto& s : slots_) {
    if (s->instance != nullptr) {
      s->desc.destroy(s->instance);
      s->instance = nullptr;
    }
    s->running = false;
  }
}

bool engine::add_strategy(const std::string& name, std::shared_ptr<strategy_module> library,
                          param_set params, std::string& error) {
  const cats_strategy_descriptor_t desc = library->descriptor();
  return add_strategy(name, desc, std::move(library), std::move(params), error);
}

bool engine::add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                          param_set params, std::string& error) {
  return add_strategy(name, desc, nullptr, std::move(params), error);
}

bool engine::add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                          std::shared_ptr<strategy_module> library, param_set params,
                          std::string& error) {
  auto owned = std::make_unique<strategy_slot>();
  strategy_slot& slot = *owned;
  slot.name = name;
  slot.library = std::move(library);
  slot.desc = desc;
  slot.plugin_name = to_string(desc.name);
  slot.plugin_version = to_string(desc.version);
  slot.params = std::move(params);
  if (slots_.size() >= max_strategies) {
    error = "at most " + std::to_string(max_strategies) + " strategies per engine";
    return false;
  }
  for (const auto& other : slots_) {
    if (other->name == name) {
      error = "a strategy named '" + name + "' already exists";
      return false;
    }
  }
  slot.host = std::make_unique<cats_host_t>();
  slot.host->engine = this;
  slot.host->slot = static_cast<uint32_t>(slots_.size());
  slot.host->name = name;
  if (slot.library) slot.source = slot.library->source();
  // In the list before create() so that logging from the constructor is attributed.
  slots_.push_back(std::move(owned));
  const cats_strategy_descriptor_t& d = slot.desc;
  char message[1024] = {0};
  cats_strategy_t* instance = nullptr;
  const cats_status_t st = d.create(&host_api(), slot.host.get(), slot.params.c_params(), &instance,
                                    message, sizeof message);
  message[sizeof message - 1] = '\0';
  if (st != CATS_OK || instance == nullptr) {
    error = "strategy " + slot.label() + " refused to start: " +
            (message[0] != '\0' ? std::string(message) : std::string("create() failed")) +
            " (status " + std::to_string(st) + ")";
    if (instance != nullptr) d.destroy(instance);
    slots_.pop_back();
    return false;
  }
  slot.instance = instance;
  slot.on_event = d.on_event;
  slot.running = true;
  return true;
}

size_t engine::running_count() const noexcept {
  return static_cast<size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->running; }));
}

void engine::fail(strategy_slot& slot, std::string where, cats_status_t status,
                  std::string message) {
  if (message.empty()) message = "no message";
  spdlog::error("strategy {} failed in {} at {}: {} (status {}); it is disabled, the run goes on",
                slot.label(), where, format_iso8601(now_), message, status);
  slot.failure = strategy_failure{std::move(where), std::move(message), status, now_};
  slot.running = false;
  if (router_ != nullptr) router_->cancel_all(slot.host->slot, "strategy disabled after a failure");
}

bool engine::deliver(strategy_slot& slot, const cats_event_t& event) {
  ++slot.events;
  const cats_status_t st = slot.on_event(slot.instance, &event);
  if (st == CATS_OK) [[likely]]
    return true;
  fail(slot, std::string("on_event(") + event_type_name(event.type) + ")", st,
       to_string(slot.desc.last_error(slot.instance)));
  return false;
}

void engine::start() {
  // Every strategy starts before any of them sees what the others caused.
  for (auto& s : slots_) call_on_start(*s);
  flush();
}

void engine::start_one(uint32_t slot) {
  call_on_start(*slots_.at(slot));
  flush();
}

void engine::call_on_start(strategy_slot& s) {
  if (!s.running || s.desc.on_start == nullptr) return;
  const cats_status_t st = s.desc.on_start(s.instance);
  if (st != CATS_OK) fail(s, "on_start", st, to_string(s.desc.last_error(s.instance)));
}

void engine::stop() {
  for (auto& s : slots_) {
    if (!s->running) continue;
    const auto on_stop = s->desc.on_stop;
    if (on_stop != nullptr) {
      const cats_status_t st = on_stop(s->instance);
      if (st != CATS_OK) {
        fail(*s, "on_stop", st, to_string(s->desc.last_error(s->instance)));
        continue;
      }
    }
  }
  flush();
  for (auto& s : slots_) s->running = false;
}

void engine::dispatch(const cats_event_t& event) {
  // Plugins built for ABI 1.0 do not know book events: they are never sent one.
  const bool book = event.type == CATS_EVENT_BOOK;
  for (auto& s : slots_) {
    if (s->running && (!book || s->desc.abi_minor >= 1)) deliver(*s, event);
  }
  flush();
}

void engine::post_order_update(uint32_t owner, const cats_order_update_event_t& event,
                               std::string reason) {
  pending_event p{};
  p.owner = owner;
  p.update = event;
  p.is_fill = false;
  p.reason = std::move(reason);
  pending_.push_back(std::move(p));
}

void engine::post_fill(uint32_t owner, const cats_fill_event_t& event) {
  pending_event p{};
  p.owner = owner;
  p.fill = event;
  p.is_fill = true;
  pending_.push_back(std::move(p));
  if (owner < slots_.size()) ++slots_[owner]->fills;
}

void engine::flush_pending() {
  flushing_ = true;
  size_t delivered = 0;
  while (pending_head_ < pending_.size()) {
    pending_event p = std::move(pending_[pending_head_++]);
    if (p.owner >= slots_.size()) continue;
    strategy_slot& s = *slots_[p.owner];
    if (!s.running) continue;
    if (p.is_fill) {
      deliver(s, p.fill.header);
    } else {
      p.update.reason = {p.reason.data(), p.reason.size()};
      deliver(s, p.update.header);
    }
    if (++delivered > max_events_per_flush) {
      fail(s, "event delivery", CATS_E_FAILED,
           "more than " + std::to_string(max_events_per_flush) +
               " order events without time advancing (an order loop?)");
    }
  }
  pending_.clear();
  pending_head_ = 0;
  flushing_ = false;
}

uint64_t engine::add_timer(uint32_t owner, int64_t fire_at_ns, uint64_t user_data) {
  const uint64_t id = next_timer_id_++;
  timers_.push_back({fire_at_ns, id, owner, user_data});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
  return id;
}

bool engine::cancel_timer(uint32_t owner, uint64_t timer_id) {
  for (const timer_entry& t : timers_) {
    if (t.id == timer_id && t.owner == owner) return cancelled_timers_.insert(timer_id).second;
  }
  return false;
}

void engine::fire_timers_until(int64_t ts_ns) {
  // A strategy that re-arms a timer for "now" from on_timer would never let time move on; one
  // that fires this many timers in a single step is stopped.
  constexpr uint64_t max_timers_per_step = 1'000'000;
  uint64_t fired = 0;
  while (!timers_.empty() && timers_.front().at <= ts_ns) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
    const timer_entry t = timers_.back();
    timers_.pop_back();
    if (cancelled_timers_.erase(t.id) != 0) continue;
    if (t.owner >= slots_.size() || !slots_[t.owner]->running) continue;
    if (t.at > now_) now_ = t.at;
    cats_timer_event_t ev{};
    ev.header = event_header<cats_timer_event_t>(CATS_EVENT_TIMER, 0, now_, 0);
    ev.timer_id = t.id;
    ev.user_data = t.user_data;
    ev.scheduled_ts_ns = t.at;
    deliver(*slots_[t.owner], ev.header);
    flush();
    if (++fired > max_timers_per_step && slots_[t.owner]->running)
      fail(*slots_[t.owner], "on_event(timer)", CATS_E_FAILED,
           "more than " + std::to_string(max_timers_per_step) +
               " timers fired without time advancing (a timer re-armed for the past?)");
  }
}

void log_as(const std::string& name, int64_t now, int32_t level, std::string_view message) {
  spdlog::level::level_enum lvl = spdlog::level::info;
  switch (level) {
    case CATS_LOG_TRACE:
      lvl = spdlog::level::trace;
      break;
    case CATS_LOG_DEBUG:
      lvl = spdlog::level::debug;
      break;
    case CATS_LOG_INFO:
      lvl = spdlog::level::info;
      break;
    case CATS_LOG_WARN:
      lvl = spdlog::level::warn;
      break;
    default:
      lvl = spdlog::level::err;
      break;
  }
  if (!spdlog::should_log(lvl)) return;
  if (now == 0)
    spdlog::log(lvl, "[{}] {}", name, message);
  else
    spdlog::log(lvl, "[{} {}] {}", name, format_iso8601(now), message);
}

void engine::strategy_log(uint32_t slot, int32_t level, std::string_view message) const {
  static const std::string none;
  log_as(slot < slots_.size() ? slots_[slot]->name : none, now_, level, message);
}

// ------------------------------------------------------------------------------------------------
// The host API table. Every function is noexcept in practice: nothing may unwind into a plugin.
// ------------------------------------------------------------------------------------------------

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
    if (engine* e = eng(h))
      e->strategy_log(h->slot, level, std::string_view(message.data, message.size));
  } catch (...) {
  }
}

int64_t api_now(cats_host_t* h) noexcept {
  if (h != nullptr && h->detached) return wall_clock_ns();
  engine* e = eng(h);
  return e != nullptr ? e->now() : 0;
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
  if (e == nullptr || out == nullptr || out->struct_size < sizeof(uint32_t) * 2 || bad_str(symbol))
    return CATS_E_INVALID_ARGUMENT;
  try {
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
  } catch (...) {
    return CATS_E_FAILED;
  }
}

cats_status_t api_get_instrument(cats_host_t* h, uint32_t id, cats_instrument_t* out) noexcept {
  engine* e = eng(h);
  if (e == nullptr || out == nullptr || out->struct_size < sizeof(uint32_t) * 2)
    return CATS_E_INVALID_ARGUMENT;
  const instrument_info* i = e->instruments().get(id);
  if (i == nullptr) {
    try {
      return error_out(h, CATS_E_NOT_FOUND, "no instrument with id " + std::to_string(id));
    } catch (...) {
      return CATS_E_NOT_FOUND;
    }
  }
  cats_instrument_t full;
  fill_instrument(*i, full);
  copy_out(full, out);
  return CATS_OK;
}

cats_status_t api_submit_order(cats_host_t* h, const cats_order_request_t* request,
                               uint64_t* out_order_id) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "submit_order", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  try {
    if (request == nullptr || out_order_id == nullptr)
      return error_out(h, CATS_E_INVALID_ARGUMENT, "request and out_order_id must not be NULL");
    if (request->struct_size < offsetof(cats_order_request_t, client_tag) + sizeof(uint64_t))
      return error_out(
          h, CATS_E_INVALID_ARGUMENT,
          "order request struct_size " + std::to_string(request->struct_size) +
              " is smaller than ABI 1.0's " +
              std::to_string(offsetof(cats_order_request_t, client_tag) + sizeof(uint64_t)));
    if (e->router() == nullptr)
      return error_out(h, CATS_E_UNSUPPORTED, "this run has no order routing");
    cats_order_request_t req{};
    std::memcpy(&req, request, std::min<size_t>(request->struct_size, sizeof req));
    // Fields beyond the plugin's struct stay zero; a stop needs the 1.2 field that carries it.
    if (req.order_type == CATS_ORDER_STOP_MARKET &&
        !CATS_HAS_FIELD(request, cats_order_request_t, stop_price))
      return error_out(
          h, CATS_E_INVALID_ARGUMENT,
          "a stop-market order needs ABI 1.2's stop_price, but the request's "
          "struct_size is " +
              std::to_string(request->struct_size) + " (1.2 needs " +
              std::to_string(offsetof(cats_order_request_t, stop_price) + sizeof(cats_fixed_t)) +
              ")");
    std::string err;
    const cats_status_t st = e->router()->submit(h->slot, req, *out_order_id, err);
    if (st != CATS_OK) return error_out(h, st, std::move(err));
    ++e->strategies()[h->slot]->orders;
    return CATS_OK;
  } catch (const std::exception& ex) {
    return error_out(h, CATS_E_FAILED, ex.what());
  } catch (...) {
    return CATS_E_FAILED;
  }
}

cats_status_t api_cancel_order(cats_host_t* h, uint64_t order_id) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "cancel_order", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  try {
    if (e->router() == nullptr)
      return error_out(h, CATS_E_UNSUPPORTED, "this run has no order routing");
    std::string err;
    const cats_status_t st = e->router()->cancel(h->slot, order_id, err);
    return st == CATS_OK ? CATS_OK : error_out(h, st, std::move(err));
  } catch (const std::exception& ex) {
    return error_out(h, CATS_E_FAILED, ex.what());
  } catch (...) {
    return CATS_E_FAILED;
  }
}

cats_status_t api_amend_order(cats_host_t* h, uint64_t order_id, cats_fixed_t new_quantity,
                              cats_fixed_t new_limit_price) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "amend_order", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  try {
    if (e->router() == nullptr)
      return error_out(h, CATS_E_UNSUPPORTED, "this run has no order routing");
    std::string err;
    const cats_status_t st =
        e->router()->amend(h->slot, order_id, new_quantity, new_limit_price, err);
    return st == CATS_OK ? CATS_OK : error_out(h, st, std::move(err));
  } catch (const std::exception& ex) {
    return error_out(h, CATS_E_FAILED, ex.what());
  } catch (...) {
    return CATS_E_FAILED;
  }
}

cats_status_t api_get_position(cats_host_t* h, uint32_t instrument_id,
                               cats_position_t* out) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "get_position", st)) return st;
  if (e == nullptr || out == nullptr || out->struct_size < sizeof(uint32_t) * 2)
    return CATS_E_INVALID_ARGUMENT;
  if (e->instruments().get(instrument_id) == nullptr) {
    try {
      return error_out(h, CATS_E_NOT_FOUND,
                       "no instrument with id " + std::to_string(instrument_id));
    } catch (...) {
      return CATS_E_NOT_FOUND;
    }
  }
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
}

cats_status_t api_get_account(cats_host_t* h, cats_account_t* out) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "get_account", st)) return st;
  if (e == nullptr || out == nullptr || out->struct_size < sizeof(uint32_t) * 2)
    return CATS_E_INVALID_ARGUMENT;
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
  try {
    const uint64_t id = e->add_timer(h->slot, fire_at_ns, user_data);
    if (out_timer_id != nullptr) *out_timer_id = id;
    return CATS_OK;
  } catch (const std::exception& ex) {
    return error_out(h, CATS_E_FAILED, ex.what());
  } catch (...) {
    return CATS_E_FAILED;
  }
}

cats_status_t api_cancel_timer(cats_host_t* h, uint64_t timer_id) noexcept {
  engine* e = eng(h);
  if (cats_status_t st; refused_while_detached(h, "cancel_timer", st)) return st;
  if (e == nullptr) return CATS_E_INVALID_ARGUMENT;
  try {
    if (e->cancel_timer(h->slot, timer_id)) return CATS_OK;
    return error_out(h, CATS_E_NOT_FOUND,
                     "no pending timer " + std::to_string(timer_id) + " of this strategy");
  } catch (...) {
    return CATS_E_FAILED;
  }
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
    return a;
  }();
  return api;
}

}  // namespace cats
