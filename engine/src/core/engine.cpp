#include "cats/core/engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>

#include "callback_scope.hpp"
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

const callback_probe* current_callback_probe() noexcept {
  return current_probe;
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

engine::~engine() {
  destroy_all();
}

void engine::destroy_all() noexcept {
  for (auto& s : slots_) {
    if (s->instance != nullptr) {
      const callback_scope in(*this, *s, "destroy");
      s->desc.destroy(s->instance);
      s->instance = nullptr;
    }
    s->running = false;
  }
}

bool engine::add_strategy(const std::string& name, std::shared_ptr<strategy_module> library,
                          param_set params, std::string& error, std::string broker) {
  const cats_strategy_descriptor_t desc = library->descriptor();
  return add_strategy(name, desc, std::move(library), std::move(params), error, std::move(broker));
}

bool engine::add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                          param_set params, std::string& error) {
  return add_strategy(name, desc, nullptr, std::move(params), error, {});
}

bool engine::add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                          std::shared_ptr<strategy_module> library, param_set params,
                          std::string& error, std::string broker) {
  auto owned = std::make_unique<strategy_slot>();
  strategy_slot& slot = *owned;
  slot.name = name;
  slot.broker = std::move(broker);
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
  cats_status_t st = CATS_OK;
  {
    const callback_scope in(*this, slot, "create");
    st = d.create(&host_api(), slot.host.get(), slot.params.c_params(), &instance, message,
                  sizeof message);
  }
  message[sizeof message - 1] = '\0';
  if (st != CATS_OK || instance == nullptr) {
    error = "strategy " + slot.label() + " refused to start: " +
            (message[0] != '\0' ? std::string(message) : std::string("create() failed")) +
            " (status " + std::to_string(st) + ")";
    if (instance != nullptr) d.destroy(instance);
    timeframes_.unsubscribe(slot.host->slot);  // the next strategy may get this slot
    // Kept, not freed: the watchdog may still be reading the name the probe pointed at.
    refused_.push_back(std::move(slots_.back()));
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

void engine::disable(uint32_t slot, std::string where, std::string message) {
  if (slot < slots_.size() && slots_[slot]->running)
    fail(*slots_[slot], std::move(where), CATS_E_REJECTED, std::move(message));
}

void engine::overran(strategy_slot& slot, const char* where) {
  fail(slot, where, CATS_E_FAILED,
       "the callback ran longer than engine.callback_timeout (reported by the watchdog)");
}

bool engine::deliver(strategy_slot& slot, const cats_event_t& event) {
  ++slot.events;
  cats_status_t st;
  {
    const callback_scope in(*this, slot, callback_name(event.type));
    st = slot.on_event(slot.instance, &event);
    if (in.overran()) [[unlikely]] {
      overran(slot, callback_name(event.type));
      return false;
    }
  }
  if (st == CATS_OK) [[likely]]
    return true;
  fail(slot, std::string("on_event(") + event_type_name(event.type) + ")", st,
       to_string(slot.desc.last_error(slot.instance)));
  return false;
}

void engine::start() {
  started_ = true;
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
  const callback_scope in(*this, s, "on_start");
  const cats_status_t st = s.desc.on_start(s.instance);
  if (in.overran()) return overran(s, "on_start");
  if (st != CATS_OK) fail(s, "on_start", st, to_string(s.desc.last_error(s.instance)));
}

void engine::stop() {
  for (auto& s : slots_) {
    if (!s->running) continue;
    const auto on_stop = s->desc.on_stop;
    if (on_stop != nullptr) {
      const callback_scope in(*this, *s, "on_stop");
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

strategy_slot* engine::bar_span_slot() noexcept {
  if (pending_head_ != pending_.size() || !timers_.empty() || builds_bars_) return nullptr;
  strategy_slot* only = nullptr;
  for (auto& s : slots_) {
    if (!s->running) continue;
    if (only != nullptr) return nullptr;  // each bar goes to every strategy before the next one
    only = s.get();
  }
  return only != nullptr && only->desc.on_bars != nullptr ? only : nullptr;
}

uint32_t engine::deliver_bars(strategy_slot& slot, cats_bar_span_t& span, bar_span_host& host) {
  span_ = &span;
  span_host_ = &host;
  span_error_ = nullptr;
  span_stop_at_ = UINT32_MAX;
  span_synced_ = 0;
  span_broken_.clear();
  uint32_t handled = 0;
  cats_status_t st;
  bool over;
  {
    const callback_scope in(*this, slot, callback_name(CATS_EVENT_BAR));
    st = slot.desc.on_bars(slot.instance, &span, &handled);
    over = in.overran();
  }
  span_ = nullptr;
  span_host_ = nullptr;
  if (span_error_) std::rethrow_exception(std::exchange(span_error_, nullptr));
  // What it may report: at least the bars its calls caught up (at least 1), at most the bar it
  // was asked to stop at. Otherwise it broke the contract: it is disabled, and the bars it
  // should not have seen yet are stepped without it.
  const uint32_t low = std::max<uint32_t>(1, host.caught_up());
  const uint32_t high = span_stop_at_ != UINT32_MAX ? span_stop_at_ + 1 : span.count;
  if (span_broken_.empty() && (handled < low || handled > high))
    span_broken_ = "on_bars reported " + std::to_string(handled) + " of " +
                   std::to_string(span.count) + " bars handled; " +
                   (handled > high && span_stop_at_ != UINT32_MAX
                        ? "it was asked to stop after bar " + std::to_string(span_stop_at_ + 1)
                        : "expected " + std::to_string(low) + " to " + std::to_string(high));
  const uint32_t done = std::clamp(handled, low, std::max(low, high));
  slot.events += done;
  host.catch_up(done - 1);
  const char* where = callback_name(CATS_EVENT_BAR);
  if (over) {
    overran(slot, where);
  } else if (!span_broken_.empty()) {
    fail(slot, where, CATS_E_FAILED, span_broken_);
  } else if (st != CATS_OK) {
    fail(slot, where, st, to_string(slot.desc.last_error(slot.instance)));
  }
  return done;
}

bool engine::sync_span_now(bool stop) noexcept {
  if (!span_broken_.empty() || span_error_) return false;
  const uint32_t at = span_->current;
  if (at >= span_->count || at < span_synced_ ||
      (span_stop_at_ != UINT32_MAX && at > span_stop_at_)) {
    try {
      span_broken_ =
          at >= span_->count || at < span_synced_
              ? "on_bars called the host from bar " + std::to_string(at + 1) + " of " +
                    std::to_string(span_->count) + " after bar " + std::to_string(span_synced_ + 1)
              : "on_bars called the host from bar " + std::to_string(at + 1) + " of a run of " +
                    std::to_string(span_->count) + " after it was asked to stop after bar " +
                    std::to_string(span_stop_at_ + 1);
    } catch (...) {
      span_broken_ = "on_bars broke its contract";
    }
    span_->stop = 1;
    return false;
  }
  span_synced_ = at;
  if (stop && span_stop_at_ == UINT32_MAX) span_stop_at_ = at;
  if (stop) span_->stop = 1;
  try {
    span_host_->catch_up(at);
  } catch (...) {
    // Rethrown when the strategy returns (the run fails); no more catching up until then.
    span_error_ = std::current_exception();
    span_->stop = 1;
    return false;
  }
  return true;
}

void engine::set_order_reason(uint64_t order_id, std::string_view reason) {
  // Ids are handed out in sequence, so the table grows with the orders of the run.
  if (reason.empty()) {
    if (order_id < order_reason_.size()) order_reason_[order_id] = 0;
    return;
  }
  if (order_id == 0 || order_id >= next_order_id_ + 1'000'000) return;
  // A strategy that writes a new text on every order ("stop at 101.25") keeps at most this many;
  // later new ones read as one marker, so memory stays bounded (4 bytes per order beyond that).
  auto it = reason_index_.find(reason);
  if (it == reason_index_.end()) {
    if (reasons_.size() >= max_order_reasons) {
      reason = "(more distinct order reasons than kept)";
      it = reason_index_.find(reason);
    }
    if (it == reason_index_.end()) {
      it = reason_index_.emplace(std::string(reason), static_cast<uint32_t>(reasons_.size())).first;
      reasons_.emplace_back(reason);
    }
  }
  if (order_reason_.size() <= order_id) order_reason_.resize(order_id + 1, 0);
  order_reason_[order_id] = it->second + 1;
}

std::string_view engine::order_reason(uint64_t order_id) const noexcept {
  if (order_id >= order_reason_.size() || order_reason_[order_id] == 0) return {};
  return reasons_[order_reason_[order_id] - 1];
}

cats_status_t engine::subscribe_bars(uint32_t owner, uint32_t instrument_id, int64_t interval_ns,
                                     std::string& error) {
  if (instruments_.get(instrument_id) == nullptr) {
    error = "subscribe_bars: no instrument with id " + std::to_string(instrument_id);
    return CATS_E_NOT_FOUND;
  }
  error = bar_timeframes::check_interval(interval_ns);
  if (!error.empty()) {
    error = "subscribe_bars: " + error;
    return CATS_E_INVALID_ARGUMENT;
  }
  if (std::string why = timeframes_.subscribe(owner, instrument_id, interval_ns, started_);
      !why.empty()) {
    error = "subscribe_bars: " + instruments_.get(instrument_id)->symbol + ": " + why;
    return CATS_E_INVALID_ARGUMENT;
  }
  builds_bars_ = true;
  return CATS_OK;
}

void engine::build_bars(const market_event& e) {
  if (e.type == market_event::kind::bar) {
    // Bars the replay built from trades are not the feed's: the trades are the source; only a
    // subscription to their own interval is told that they exist (it has nothing to build).
    if (e.built) return timeframes_.note_built(e.bar);
    timeframes_.on_bar(e.bar, built_, bar_failures_);
  } else if (e.type == market_event::kind::trade) {
    const cats_trade_event_t& t = e.trade;
    timeframes_.on_trade(t, fixed_mul(t.price, t.quantity, rounding::nearest), built_);
  } else {
    return;
  }
  if (!built_.empty() || !bar_failures_.empty()) deliver_built();
}

void engine::close_built_bars(int64_t now) {
  timeframes_.close_due(now, built_);
  if (!built_.empty()) deliver_built();
}

void engine::deliver_built() {
  for (const bar_timeframes::failure& f : bar_failures_) {
    for (uint32_t slot : timeframes_.subscribers(f.builder)) {
      if (slot >= slots_.size() || !slots_[slot]->running) continue;
      const instrument_info* inst = instruments_.get(f.instrument_id);
      disable(slot, "subscribe_bars",
              (inst != nullptr ? inst->symbol + ": " : std::string()) + f.message);
    }
  }
  bar_failures_.clear();
  for (bar_timeframes::built& b : built_) {
    b.bar.header.flags |= event_flags_;
    // By index: a strategy may subscribe to more bars from this very callback.
    for (size_t k = 0; k < timeframes_.subscribers(b.builder).size(); ++k) {
      const uint32_t slot = timeframes_.subscribers(b.builder)[k];
      if (slot < slots_.size() && slots_[slot]->running) deliver(*slots_[slot], b.bar.header);
    }
    flush();
  }
  built_.clear();
}

void engine::post_order_update(uint32_t owner, const cats_order_update_event_t& event,
                               std::string reason) {
  if (owner < slots_.size() && event.status == CATS_ORDER_REJECTED) ++slots_[owner]->rejected;
  if (order_observer_ != nullptr)
    order_observer_->on_order_update(owner < slots_.size() ? slots_[owner]->name : "(host)", event,
                                     reason);
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
  if (owner < slots_.size()) {
    strategy_slot& s = *slots_[owner];
    ++s.fills;
    s.ledger.apply_fill(event.header.instrument_id, event.side == CATS_SIDE_BUY ? 1 : -1,
                        event.quantity, event.price, event.fee, event.header.exchange_ts_ns);
  }
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
  if (owner < slots_.size()) {
    if (slots_[owner]->timers >= max_timers_per_strategy) return 0;
    ++slots_[owner]->timers;
  }
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
    if (t.owner < slots_.size()) --slots_[t.owner]->timers;
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

std::string sanitize_log_text(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  static constexpr char hex[] = "0123456789abcdef";
  size_t i = 0;
  for (; i < text.size() && out.size() < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {  // ESC and the other controls: never reach a terminal
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < text.size()) out += " ... (" + std::to_string(text.size() - i) + " more bytes cut)";
  return out;
}

void log_as(const std::string& name, int64_t now, int32_t level, std::string_view raw) {
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
  // A strategy's text can neither forge a log line (newlines) nor drive the terminal (escapes),
  // nor flood the log with one message.
  const std::string message = sanitize_log_text(raw, max_strategy_log_bytes);
  if (now == 0)
    spdlog::log(lvl, "[{}] {}", name, message);
  else
    spdlog::log(lvl, "[{} {}] {}", name, format_iso8601(now), message);
}

void engine::strategy_log(uint32_t slot, int32_t level, std::string_view message) const {
  static const std::string none;
  log_as(slot < slots_.size() ? slots_[slot]->name : none, now_, level, message);
}

namespace {

// A series or panel name: 1..64 printable ASCII bytes (it becomes a CSV field and a chart label).
bool plot_name_ok(std::string_view name, bool may_be_empty) {
  if (name.empty()) return may_be_empty;
  if (name.size() > engine::max_plot_name) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

cats_status_t engine::plot(uint32_t owner, std::string_view series, std::string_view panel,
                           double value, std::string& error) {
  if (owner >= slots_.size()) return CATS_E_INVALID_ARGUMENT;
  if (!plot_name_ok(series, false) || !plot_name_ok(panel, true)) {
    error = "plot: series and panel names are 1-" + std::to_string(max_plot_name) +
            " printable characters (the panel may be empty), got series '" +
            sanitize_log_text(series, 80) + "' panel '" + sanitize_log_text(panel, 80) + "'";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (now_ == 0) {
    error = "plot: the engine has no time yet; plot from on_start or an event";
    return CATS_E_REJECTED;
  }
  strategy_slot& s = *slots_[owner];
  auto it = std::find_if(s.plot_series.begin(), s.plot_series.end(),
                         [&](const auto& p) { return p.first == series; });
  if (it == s.plot_series.end()) {
    if (s.plot_series.size() >= max_plot_series) {
      error = "plot: a strategy may draw at most " + std::to_string(max_plot_series) +
              " series; '" + std::string(series) + "' would be one more";
      return CATS_E_REJECTED;
    }
    s.plot_series.emplace_back(std::string(series), std::string(panel));
    it = std::prev(s.plot_series.end());
  } else if (it->second != panel) {
    error = "plot: series '" + std::string(series) + "' is drawn in panel '" + it->second +
            "', not '" + std::string(panel) + "'";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (plot_listener_ != nullptr)
    plot_listener_->on_plot(s.name, static_cast<uint32_t>(it - s.plot_series.begin()), it->first,
                            it->second, now_, value);
  return CATS_OK;
}

}  // namespace cats
