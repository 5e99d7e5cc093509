#include "cats/exec/venue_broker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <thread>

#include "cats/core/events.hpp"
#include "cats/core/fixed.hpp"
#include "cats/core/order_request.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace fs = std::filesystem;

namespace {

constexpr int64_t retry_ns = 1'000 * ns_per_ms;  // a failed query or fetch is repeated after this
constexpr int max_fetches = 5;
// Finished orders kept for reports that arrive late (a fill after a cancel raced it), and then
// forgotten: a long run's memory stays bounded.
constexpr size_t kept_finished = 20'000;
// Owner of orders the host finds at the venue but cannot give to a strategy.
constexpr uint32_t unowned = 0xFFFFFFF1u;

// `v` in base 36 (digits, then lowercase letters), at least `width` characters (zero-padded).
std::string base36(uint64_t v, size_t width = 0) {
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  for (; v != 0; v /= 36) out.insert(out.begin(), digits[v % 36]);
  if (out.size() < width) out.insert(0, width - out.size(), '0');
  return out;
}

// The start time in ms: 8 characters until the year 2059, unique per restart.
std::string run_tag() {
  return base36(static_cast<uint64_t>(wall_clock_ns() / ns_per_ms));
}

// Journal fields (a missing one reads empty / 0).
std::string j_str(simdjson::dom::object o, const char* k) {
  std::string_view v;
  return o[k].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}
int64_t j_num(simdjson::dom::object o, const char* k) {
  int64_t v = 0;
  if (o[k].get(v) != simdjson::SUCCESS) v = 0;
  return v;
}
// Amounts are written as strings ("0.00001"): a JSON number would come back through a double.
int64_t j_amount(simdjson::dom::object o, const char* k) {
  std::string_view text;
  int64_t v = 0;
  if (o[k].get(text) != simdjson::SUCCESS || parse_fixed(text, v) != parse_error::ok) return 0;
  return v;
}

bool working(venue_broker::state s) {
  return s != venue_broker::state::filled && s != venue_broker::state::canceled &&
         s != venue_broker::state::rejected;
}

}  // namespace

struct venue_broker::order {
  uint64_t id = 0;
  uint32_t owner = 0;
  uint32_t instrument_id = 0;
  std::string symbol, client_id, strategy;
  int32_t side = 0, type = 0, tif = 0;
  int64_t quantity = 0, price = 0, stop_price = 0;
  uint64_t client_tag = 0;
  state st = state::pending;
  int64_t filled = 0, filled_notional = 0;
  int64_t leg_filled = 0;    ///< executions seen on the current client id
  int64_t venue_cum = 0;     ///< what the venue says is filled on the current client id
  int32_t venue_status = 0;  ///< the venue's last status for the current client id (0: none)
  std::string venue_order_id, reason;
  int64_t sent_ns = 0;    ///< wall clock when the order went out
  int64_t submit_ns = 0;  ///< steady clock at submit(), until its first answer
  int64_t query_at = 0;   ///< ask the venue about it at this time (0: no need)
  int64_t fetch_at = 0;   ///< fetch its executions at this time (0: no need)
  int fetches = 0;
  int query_failures = 0;    ///< queries in a row without an answer (back-off)
  int64_t leg_quantity = 0;  ///< the quantity sent on the current client id
  bool query_inflight = false;
  bool held = false;           ///< waits for its instrument's unknown order to be resolved
  bool cancel_wanted = false;  ///< cancel as soon as it can be sent
  bool cancel_sent = false;
  std::optional<replace_request> replacing;
  int64_t replacement_filled = 0;       ///< executions on the replacement's client id so far
  std::vector<std::string> client_ids;  ///< every id it had (replacements), for forgetting it
};

void venue_broker::track(order& o) {
  working_.insert(o.id);
  if (o.owner == unowned) ++unowned_working_;
  if (o.st == state::unknown) ++unknown_count_[o.instrument_id];
}

void venue_broker::set_state(order& o, state s) {
  if (o.st == state::unknown && unknown_count_[o.instrument_id] > 0)
    --unknown_count_[o.instrument_id];
  if (s == state::unknown) ++unknown_count_[o.instrument_id];
  const bool was = working(o.st);
  o.st = s;
  if (was && !working(s)) retire(o);
}

void venue_broker::retire(order& o) {
  working_.erase(o.id);
  if (o.owner == unowned && unowned_working_ > 0) --unowned_working_;
  finished_.push_back(o.id);
  while (finished_.size() > kept_finished) {
    auto it = orders_.find(finished_.front());
    finished_.pop_front();
    if (it == orders_.end()) continue;
    for (const std::string& cid : it->second->client_ids) by_cid_.erase(cid);
    orders_.erase(it);
  }
}

void venue_broker::rebuild_index() {
  working_.clear();
  unknown_count_.clear();
  unowned_working_ = 0;
  for (auto& [id, o] : orders_)
    if (working(o->st)) track(*o);
}

venue_broker::venue_broker(engine& eng, order_gateway& gateway, venue_broker_options options)
    : engine_(eng), gateway_(gateway), opt_(std::move(options)), run_tag_(run_tag()) {
  // Orders of this journal carry its mark, so that another cats run on the same account (with
  // its own journal) is never taken for ours at reconciliation: 4 base-36 digits of an FNV-1a
  // hash of the journal's absolute path.
  std::error_code ec;
  const std::string where =
      opt_.journal_path.empty()
          ? std::string()
          : fs::weakly_canonical(fs::absolute(opt_.journal_path, ec), ec).string();
  uint64_t h = 1469598103934665603ull;
  for (const char c : where) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  opt_.client_prefix += base36(h % (36ull * 36 * 36 * 36), 4);
  if (!opt_.journal_path.empty())
    journal_ = std::make_unique<journal>(opt_.journal_path, opt_.fsync);
}

venue_broker::~venue_broker() {
  gateway_.stop();
}

void venue_broker::map_instrument(uint32_t instrument_id, std::string symbol) {
  symbols_[instrument_id] = std::move(symbol);
}

std::string venue_broker::next_client_id() {
  return opt_.client_prefix + run_tag_ + std::to_string(next_seq_++);
}

venue_broker::order* venue_broker::by_client_id(const std::string& cid) {
  auto it = by_cid_.find(cid);
  if (it == by_cid_.end()) return nullptr;
  auto o = orders_.find(it->second);
  return o == orders_.end() ? nullptr : o->second.get();
}

venue_broker::order* venue_broker::find(uint32_t owner, uint64_t id, std::string& error) {
  auto it = orders_.find(id);
  if (it == orders_.end() || it->second->owner != owner) {
    error = "no order " + std::to_string(id) + " of this strategy";
    return nullptr;
  }
  if (!working(it->second->st)) {
    error = "order " + std::to_string(id) + " is no longer working";
    return nullptr;
  }
  return it->second.get();
}

// ---- the journal --------------------------------------------------------------------------------

bool venue_broker::journal_line(const std::string& line, bool intent) {
  if (!journal_) return true;
  const bool ok = journal_->append(line, intent);
  stats_.journal_lines = journal_->lines();
  return ok;
}

std::string venue_broker::order_json(const char* kind, const order& o) const {
  json_writer w;
  w.begin_object().key("k").value(kind).key("ts").value(engine_.now()).key("id").value(o.id);
  w.key("cid").value(o.client_id).key("strategy").value(o.strategy).key("sym").value(o.symbol);
  w.key("side").value(o.side).key("type").value(o.type).key("tif").value(o.tif);
  w.key("qty").value(fixed_to_string(o.quantity)).key("px").value(fixed_to_string(o.price));
  w.key("stop").value(fixed_to_string(o.stop_price)).key("tag").value(o.client_tag);
  w.end_object();
  return w.str();
}

// ---- strategies' requests -----------------------------------------------------------------------

cats_status_t venue_broker::submit(uint32_t owner, const cats_order_request_t& r,
                                   uint64_t& order_id, std::string& error) {
  const int64_t started = steady_clock_ns();
  if (!started_) {
    // Before the journal is read and the venue reconciled (a strategy's create()): an order now
    // could be replayed as a second one.
    error = std::string(gateway_.name()) +
            ": orders can be sent from on_start on, once the venue is reconciled";
    return CATS_E_BAD_STATE;
  }
  if (const cats_status_t st = check_order_request(engine_.instruments(), r, error); st != CATS_OK)
    return st;
  const instrument_info& inst = *engine_.instruments().get(r.instrument_id);
  auto sym = symbols_.find(r.instrument_id);
  if (sym == symbols_.end()) {
    error = inst.symbol + " is not traded on " + gateway_.name() + " in this run";
    return CATS_E_INVALID_ARGUMENT;
  }
  const rounded_order rounded = round_order_request(inst, r);
  auto o = std::make_unique<order>();
  o->id = engine_.new_order_id();
  o->owner = owner;
  o->instrument_id = r.instrument_id;
  o->symbol = sym->second;
  o->strategy = owner < engine_.strategies().size() ? engine_.strategies()[owner]->name : "";
  o->side = r.side;
  o->type = r.order_type;
  o->tif = rounded.tif;
  o->quantity = rounded.quantity;
  o->price = rounded.limit_price;
  o->stop_price = rounded.stop_price;
  o->client_tag = r.client_tag;
  order_id = o->id;
  ++stats_.orders;
  order& ref = *o;
  orders_.emplace(o->id, std::move(o));
  track(ref);
  if (!rounded.refusal.empty()) {
    finish_order(ref, state::rejected, CATS_ORDER_REJECTED, rounded.refusal);
    return CATS_OK;
  }
  if (inst.min_notional > 0 && ref.type == CATS_ORDER_LIMIT &&
      fixed_mul(ref.quantity, ref.price, rounding::nearest) < inst.min_notional) {
    finish_order(
        ref, state::rejected, CATS_ORDER_REJECTED,
        "notional below the minimum " + fixed_to_string(inst.min_notional) + " of " + inst.symbol);
    return CATS_OK;
  }
  ref.client_id = next_client_id();
  ref.client_ids.push_back(ref.client_id);
  ref.submit_ns = started;
  by_cid_[ref.client_id] = ref.id;
  // The intent is on disk before the order leaves: a crash after this finds it at restart. An
  // order whose intent cannot be written is not sent.
  if (!journal_line(order_json("intent", ref), true)) {
    finish_order(ref, state::rejected, CATS_ORDER_REJECTED,
                 "not sent: the order journal " + opt_.journal_path.string() +
                     " cannot be written (see the log)");
    return CATS_OK;
  }
  if (instrument_blocked(ref.instrument_id)) {
    ref.held = true;  // sent once the unknown order of this instrument is resolved
    return CATS_OK;
  }
  send_new(ref);
  submit_to_handoff_.record(steady_clock_ns() - started);
  return CATS_OK;
}

void venue_broker::send_new(order& o) {
  venue_order v;
  v.client_id = o.client_id;
  v.instrument_id = o.instrument_id;
  v.symbol = o.symbol;
  v.side = o.side;
  v.type = o.type;
  v.tif = o.tif;
  v.quantity = o.quantity;
  o.leg_quantity = o.quantity;
  v.price = o.price;
  v.stop_price = o.stop_price;
  o.held = false;
  o.sent_ns = wall_clock_ns();
  gateway_.place(v, next_tag_++);
}

cats_status_t venue_broker::cancel(uint32_t owner, uint64_t order_id, std::string& error) {
  order* o = find(owner, order_id, error);
  if (o == nullptr) return CATS_E_NOT_FOUND;
  if (o->held) {
    finish_order(*o, state::canceled, CATS_ORDER_CANCELED, "cancelled before it was sent");
    return CATS_OK;
  }
  if (o->cancel_sent || o->cancel_wanted) return CATS_OK;
  // Sent when the venue has answered about this order, and, when another order of the
  // instrument is unknown, once that one is resolved (nothing goes out for it before).
  if (o->st == state::pending || o->st == state::unknown || o->replacing ||
      instrument_blocked(o->instrument_id)) {
    o->cancel_wanted = true;
    return CATS_OK;
  }
  o->cancel_sent = true;
  json_writer w;
  w.begin_object().key("k").value("cancel").key("ts").value(engine_.now());
  w.key("cid").value(o->client_id).end_object();
  journal_line(w.str());
  gateway_.cancel(o->symbol, o->client_id, next_tag_++);
  return CATS_OK;
}

cats_status_t venue_broker::amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                                  int64_t new_limit_price, std::string& error) {
  order* o = find(owner, order_id, error);
  if (o == nullptr) return CATS_E_NOT_FOUND;
  if (o->type == CATS_ORDER_MARKET) {
    error = "a market order cannot be amended";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (o->st != state::acknowledged && o->st != state::partially_filled) {
    error = "order " + std::to_string(order_id) + " is not acknowledged by the venue yet";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (o->replacing || o->cancel_sent || o->cancel_wanted) {
    error = "order " + std::to_string(order_id) + " is being amended or cancelled";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (new_quantity < 0 || new_limit_price < 0 || new_quantity > max_order_amount ||
      new_limit_price > max_order_amount) {
    error = "amend: quantity and price must be between 0 (keep) and 1e9";
    return CATS_E_INVALID_ARGUMENT;
  }
  const instrument_info& inst = *engine_.instruments().get(o->instrument_id);
  const bool buy = o->side == CATS_SIDE_BUY;
  const bool stop = o->type == CATS_ORDER_STOP_MARKET;
  replace_request rr;
  rr.quantity =
      new_quantity == 0 ? o->quantity : round_to_step(new_quantity, inst.lot_size, rounding::down);
  const int64_t old_price = stop ? o->stop_price : o->price;
  rr.price = new_limit_price == 0 ? old_price
                                  : round_to_step(new_limit_price, inst.tick_size,
                                                  (buy != stop) ? rounding::down : rounding::up);
  if (rr.quantity <= o->filled || rr.price <= 0) {
    error = "amend: the new quantity must exceed the " + fixed_to_string(o->filled) +
            " already filled, and the price be at least one tick";
    return CATS_E_INVALID_ARGUMENT;
  }
  if (gateway_.amends_in_place()) {
    rr.client_id = o->client_id;
    rr.in_place = true;
    json_writer w;
    w.begin_object().key("k").value("amend").key("ts").value(engine_.now()).key("id").value(o->id);
    w.key("cid").value(o->client_id).key("qty").value(fixed_to_string(rr.quantity));
    w.key("px").value(fixed_to_string(rr.price)).end_object();
    if (!journal_line(w.str(), true)) {
      error = "amend not sent: the order journal cannot be written";
      return CATS_E_FAILED;
    }
    o->replacing = rr;
    o->sent_ns = wall_clock_ns();
    gateway_.amend(o->symbol, o->client_id, rr.quantity, rr.price, next_tag_++);
    return CATS_OK;
  }
  rr.client_id = next_client_id();
  venue_order v;
  v.client_id = rr.client_id;
  v.instrument_id = o->instrument_id;
  v.symbol = o->symbol;
  v.side = o->side;
  v.type = o->type;
  v.tif = o->tif;
  v.quantity = rr.quantity - o->filled;
  rr.leg_quantity = v.quantity;
  v.price = stop ? 0 : rr.price;
  v.stop_price = stop ? rr.price : 0;
  json_writer w;
  w.begin_object().key("k").value("replace").key("ts").value(engine_.now()).key("id").value(o->id);
  w.key("cid").value(o->client_id).key("new_cid").value(rr.client_id);
  w.key("qty").value(fixed_to_string(rr.quantity)).key("px").value(fixed_to_string(rr.price));
  w.end_object();
  if (!journal_line(w.str(), true)) {
    error = "amend not sent: the order journal cannot be written";
    return CATS_E_FAILED;
  }
  by_cid_[rr.client_id] = o->id;
  o->client_ids.push_back(rr.client_id);
  o->replacing = rr;
  o->replacement_filled = 0;
  o->sent_ns = wall_clock_ns();
  gateway_.replace(o->client_id, v, next_tag_++);
  return CATS_OK;
}

void venue_broker::cancel_all(uint32_t owner, std::string_view reason) {
  std::vector<uint64_t> ids;
  for (uint64_t id : working_)
    if (orders_[id]->owner == owner) ids.push_back(id);
  for (uint64_t id : ids) {
    std::string error;
    order& o = *orders_[id];
    if (o.held) {
      finish_order(o, state::canceled, CATS_ORDER_CANCELED, std::string(reason));
      continue;
    }
    o.reason = std::string(reason);
    cancel(owner, id, error);
  }
}

uint64_t venue_broker::reject(uint32_t owner, const cats_order_request_t& r, std::string reason) {
  auto o = std::make_unique<order>();
  o->id = engine_.new_order_id();
  o->owner = owner;
  o->instrument_id = r.instrument_id;
  o->side = r.side;
  o->type = r.order_type;
  o->tif = r.time_in_force;
  o->quantity = r.quantity;
  o->price = r.order_type == CATS_ORDER_LIMIT ? r.limit_price : 0;
  o->stop_price = r.order_type == CATS_ORDER_STOP_MARKET ? r.stop_price : 0;
  o->client_tag = r.client_tag;
  o->st = state::rejected;
  const uint64_t id = o->id;
  post(*o, CATS_ORDER_REJECTED, std::move(reason));  // the risk engine counts it
  return id;
}

void venue_broker::open_orders(std::vector<open_order>& out) const {
  for (uint64_t id : working_) {
    const order& o = *orders_.at(id);
    if (o.owner == unowned) continue;
    out.push_back({o.id, o.owner, o.instrument_id, o.side, o.quantity - o.filled, o.type,
                   o.quantity, o.type == CATS_ORDER_STOP_MARKET ? o.stop_price : o.price});
  }
}

size_t venue_broker::open_order_count() const noexcept {
  return working_.size() - unowned_working_;
}

// ---- what the venue says ------------------------------------------------------------------------

void venue_broker::post(const order& o, int32_t status, std::string reason) {
  if (o.owner >= engine_.strategies().size()) return;  // restored, its strategy is gone
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
  u.limit_price = o.price;
  u.filled_quantity = o.filled;
  u.avg_fill_price = o.filled == 0 ? 0 : fixed_div(o.filled_notional, o.filled, rounding::nearest);
  u.stop_price = o.stop_price;
  engine_.post_order_update(o.owner, u, std::move(reason));
}

void venue_broker::finish_order(order& o, state s, int32_t status, std::string reason) {
  if (!working(o.st)) return;
  const bool was_unknown = o.st == state::unknown;
  set_state(o, s);
  o.query_at = o.fetch_at = 0;
  if (s == state::rejected) ++stats_.rejected;
  if (s == state::canceled) ++stats_.canceled;
  if (s == state::filled) ++stats_.filled;
  json_writer w;
  w.begin_object().key("k").value("final").key("ts").value(engine_.now());
  w.key("cid").value(o.client_id).key("status").value(status).key("reason").value(reason);
  w.end_object();
  journal_line(w.str());
  post(o, status, std::move(reason));
  if (was_unknown) release_held(o.instrument_id);
}

bool venue_broker::instrument_blocked(uint32_t instrument_id) const {
  auto it = unknown_count_.find(instrument_id);
  return it != unknown_count_.end() && it->second > 0;
}

void venue_broker::release_held(uint32_t instrument_id) {
  if (instrument_blocked(instrument_id)) return;
  std::vector<uint64_t> ids, cancels;
  for (uint64_t id : working_) {
    const order& o = *orders_[id];
    if (o.instrument_id != instrument_id) continue;
    if (o.held)
      ids.push_back(id);
    else if (o.cancel_wanted)
      cancels.push_back(id);
  }
  for (uint64_t id : ids) send_new(*orders_[id]);
  for (uint64_t id : cancels) follow_up(*orders_[id]);
}

void venue_broker::poll(int64_t now) {
  // Called after every market event: nothing to do is the common case, and costs one load.
  if (!has_reports_.load(std::memory_order_acquire) && now < next_scan_) return;
  if (has_reports_.exchange(false, std::memory_order_acq_rel)) {
    {
      const std::lock_guard<std::mutex> lock(inbox_mutex_);
      work_.swap(inbox_);
    }
    for (order_report& r : work_) apply(r, now);
    work_.clear();
  }
  if (now < next_scan_) return;
  next_scan_ = now + 5 * ns_per_ms;
  for (uint64_t id : working_) {
    order& o = *orders_[id];
    if (o.replacing && o.replacing->in_place && o.query_at == 0 && !o.query_inflight &&
        now - o.sent_ns > 5'000 * ns_per_ms)
      o.query_at = now;  // an amend with no outcome for 5 s: ask the venue
    if (o.query_at != 0 && now >= o.query_at && !o.query_inflight) {
      o.query_at = 0;
      o.query_inflight = true;
      gateway_.query(o.symbol, o.replacing ? o.replacing->client_id : o.client_id, next_tag_++);
    }
    if (o.fetch_at != 0 && o.venue_cum <= o.leg_filled) o.fetch_at = 0;  // the stream caught up
    if (o.fetch_at != 0 && now >= o.fetch_at && !o.venue_order_id.empty()) {
      o.fetch_at = ++o.fetches < max_fetches ? now + retry_ns * o.fetches : 0;
      gateway_.fetch_fills(o.symbol, o.client_id, o.venue_order_id, next_tag_++);
    }
  }
}

void venue_broker::apply(order_report& r, int64_t now) {
  using kind = order_report::kind;
  if (r.what == kind::resync) {
    // The user stream is back: what happened while it was down is asked of the venue.
    for (uint64_t id : working_) {
      order& o = *orders_[id];
      if (!o.held && o.owner != unowned) o.query_at = now;
    }
    return;
  }
  if (r.listing) {
    apply_listing(r);
    return;
  }
  order* o = by_client_id(r.client_id);
  if (o != nullptr && r.wire_ns != 0 && o->submit_ns != 0) {
    submit_to_wire_.record(r.wire_ns - o->submit_ns);
    o->submit_ns = 0;
  }
  if (o == nullptr) {
    if (r.what == kind::fill || r.what == kind::state)
      spdlog::warn("{}: a report about order {} that this run does not know (ignored)",
                   gateway_.name(), r.client_id);
    return;
  }
  switch (r.what) {
    case kind::state:
      o->query_inflight = false;
      o->query_failures = 0;
      apply_state(*o, r, now);
      break;
    case kind::fill:
      apply_fill(*o, r);
      break;
    case kind::rejected:
      o->query_inflight = false;
      if (o->replacing && !o->replacing->in_place && r.client_id == o->replacing->client_id) {
        const bool gone = o->replacing->old_done;
        by_cid_.erase(o->replacing->client_id);
        o->replacing.reset();
        if (gone)
          finish_order(*o, state::canceled, CATS_ORDER_CANCELED, "amend failed: " + r.reason);
        break;
      }
      if (r.client_id == o->client_id && o->st != state::acknowledged &&
          o->st != state::partially_filled)
        finish_order(*o, state::rejected, CATS_ORDER_REJECTED, r.reason);
      break;
    case kind::amended:
      if (o->replacing && o->replacing->in_place && working(o->st)) {
        o->quantity = o->replacing->quantity;
        (o->type == CATS_ORDER_STOP_MARKET ? o->stop_price : o->price) = o->replacing->price;
        o->replacing.reset();
        json_writer w;
        w.begin_object().key("k").value("amended").key("ts").value(engine_.now());
        w.key("id").value(o->id).key("cid").value(o->client_id).end_object();
        journal_line(w.str());
        post(*o, o->filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW, "amended");
        settle(*o);
      }
      break;
    case kind::cancel_rejected:
      if (o->replacing && o->replacing->in_place) {
        o->replacing.reset();
        if (working(o->st))
          post(*o, o->filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW,
               "amend refused: " + r.reason);
        follow_up(*o);  // an amend refused, not a cancel: a waiting cancel may go now
      } else if (o->replacing && r.client_id == o->client_id) {
        by_cid_.erase(o->replacing->client_id);
        o->replacing.reset();
        post(*o, o->filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW,
             "amend refused: " + r.reason);
        follow_up(*o);
      } else {
        // Refused (rate limit, a transport error, the order already done): the venue's answer to
        // a query says where the order stands, and the cancel is sent again while it works.
        o->cancel_sent = false;
        o->cancel_wanted = true;
        spdlog::warn("{}: cancel of {} refused: {}", gateway_.name(), r.client_id, r.reason);
        if (o->query_at == 0 && !o->query_inflight)
          o->query_at = now + retry_ns * (o->query_failures + 1);
      }
      break;
    case kind::not_found:
      o->query_inflight = false;
      apply_not_found(*o, r, now);
      break;
    case kind::unknown:
      if (std::exchange(o->query_inflight, false)) {
        // A query that got no answer: asked again later, and later each time (at most 10 s).
        o->query_failures = std::min(o->query_failures + 1, 10);
        o->query_at = now + retry_ns * o->query_failures;
        break;
      }
      apply_unknown(*o, r, now);
      break;
    case kind::resync:
      break;
  }
  // A waiting cancel goes out once the venue has said where the order stands (not right after a
  // refusal: that would resend it in a loop).
  if (r.what != kind::cancel_rejected && r.what != kind::unknown) follow_up(*o);
}

// A cancel the strategy asked for while it could not be sent (the order unacknowledged, an amend
// on its way, a refused cancel) goes out as soon as it can.
void venue_broker::follow_up(order& o) {
  if (!o.cancel_wanted || o.cancel_sent || o.replacing || !working(o.st) || o.held ||
      (o.st != state::acknowledged && o.st != state::partially_filled))
    return;
  o.cancel_wanted = false;
  std::string error;
  cancel(o.owner, o.id, error);
}

void venue_broker::apply_state(order& o, const order_report& r, int64_t now) {
  if (o.replacing && !o.replacing->in_place && r.client_id == o.replacing->client_id) {
    if (r.status == CATS_ORDER_REJECTED) return;  // handled as a rejection
    // The replacement exists: it is the order from now on.
    o.client_id = o.replacing->client_id;
    o.quantity = o.replacing->quantity;
    o.leg_quantity = o.replacing->leg_quantity;
    (o.type == CATS_ORDER_STOP_MARKET ? o.stop_price : o.price) = o.replacing->price;
    o.leg_filled = o.replacement_filled;
    o.venue_cum = 0;
    o.venue_order_id.clear();
    o.replacing.reset();
    json_writer w;
    w.begin_object().key("k").value("replaced").key("ts").value(engine_.now());
    w.key("id").value(o.id).key("cid").value(o.client_id).end_object();
    journal_line(w.str());
    post(o, o.filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW, "amended");
  } else if (o.replacing && !o.replacing->in_place && r.client_id == o.client_id) {
    if (r.status == CATS_ORDER_CANCELED) o.replacing->old_done = true;
    if (r.cum_quantity > o.venue_cum) o.venue_cum = r.cum_quantity;
    return;
  } else if (r.client_id != o.client_id) {
    return;  // an earlier leg of a replaced order
  }
  o.venue_status = r.status;
  if (r.cum_quantity > o.venue_cum) o.venue_cum = r.cum_quantity;
  if (o.replacing && o.replacing->in_place && r.request_tag != 0 && r.quantity_ordered > 0) {
    // A query while an in-place amend's outcome is unknown: the venue's size and price are the
    // outcome.
    const bool done = r.quantity_ordered == o.replacing->quantity &&
                      (r.limit_price == 0 || r.limit_price == o.replacing->price);
    o.replacing.reset();
    o.quantity = r.quantity_ordered;
    if (r.limit_price > 0)
      (o.type == CATS_ORDER_STOP_MARKET ? o.stop_price : o.price) = r.limit_price;
    json_writer w;
    w.begin_object().key("k").value("amended").key("ts").value(engine_.now());
    w.key("id").value(o.id).key("cid").value(o.client_id).end_object();
    journal_line(w.str());
    if (working(o.st) && r.status != CATS_ORDER_CANCELED && r.status != CATS_ORDER_FILLED)
      post(o, o.filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW,
           done ? "amended" : "amend refused: the venue kept the order as it was");
  }
  // A venue that amends in place reports the order's total quantity and price as they are now:
  // after a restart with an amend in flight, that is its outcome.
  if (gateway_.amends_in_place() && r.request_tag != 0 && r.quantity_ordered > 0 &&
      !(o.replacing && o.replacing->in_place)) {
    o.quantity = r.quantity_ordered;
    if (r.limit_price > 0)
      (o.type == CATS_ORDER_STOP_MARKET ? o.stop_price : o.price) = r.limit_price;
  }
  if (!r.venue_order_id.empty()) o.venue_order_id = r.venue_order_id;
  if (!r.reason.empty() && o.reason.empty()) o.reason = r.reason;
  if (o.st == state::pending || o.st == state::unknown) {
    if (r.status == CATS_ORDER_REJECTED) {
      finish_order(o, state::rejected, CATS_ORDER_REJECTED,
                   r.reason.empty() ? "rejected by the venue" : r.reason);
      return;
    }
    const bool was_unknown = o.st == state::unknown;
    set_state(o, state::acknowledged);
    ++stats_.acknowledged;
    if (was_unknown) ++stats_.unknown_resolved;
    json_writer w;
    w.begin_object().key("k").value("ack").key("ts").value(engine_.now());
    w.key("cid").value(o.client_id).key("vid").value(o.venue_order_id).end_object();
    journal_line(w.str());
    post(o, CATS_ORDER_NEW, {});
    if (was_unknown) release_held(o.instrument_id);
  }
  // More filled than the executions seen: fetch them (at once when the answer came from a query,
  // else after a second, in case the stream brings them first).
  if (o.venue_cum > o.leg_filled && o.fetch_at == 0 && o.fetches < max_fetches)
    o.fetch_at = r.request_tag != 0 ? now : now + retry_ns;
  settle(o);
}

void venue_broker::settle(order& o) {
  if (!working(o.st) || o.venue_cum > o.leg_filled) return;
  if (o.venue_status == CATS_ORDER_CANCELED || o.venue_status == CATS_ORDER_REJECTED) {
    std::string why = o.reason.empty() ? "cancelled" : o.reason;
    finish_order(o, state::canceled, CATS_ORDER_CANCELED, std::move(why));
  } else if (o.venue_status == CATS_ORDER_FILLED && o.filled < o.quantity) {
    // The venue filled less than asked (the quantity was rounded there): the order is done.
    finish_order(o, state::filled, CATS_ORDER_FILLED, {});
  }
}

void venue_broker::apply_fill(order& o, const order_report& r) {
  // Keyed by side too: the two sides of a self-trade share a trade id.
  if (!r.trade_id.empty() &&
      !trades_seen_.insert(o.symbol + "/" + r.trade_id + "/" + std::to_string(o.side)).second) {
    ++stats_.duplicate_fills;
    return;
  }
  if (r.quantity <= 0 || r.price <= 0) return;
  if (o.st == state::pending || o.st == state::unknown) {
    order_report ack;
    ack.client_id = r.client_id;
    ack.venue_order_id = r.venue_order_id;
    ack.status = CATS_ORDER_NEW;
    apply_state(o, ack, 0);
  }
  o.filled += r.quantity;
  o.filled_notional += fixed_mul(r.quantity, r.price, rounding::nearest);
  if (r.client_id == o.client_id)
    o.leg_filled += r.quantity;
  else if (o.replacing && r.client_id == o.replacing->client_id)
    o.replacement_filled += r.quantity;
  ++stats_.fills;
  const int dir = o.side == CATS_SIDE_BUY ? 1 : -1;
  portfolio& acct = engine_.account();
  // A fee paid in the base asset comes off the position: a buy receives that much less, a sell
  // delivers that much more; the cash moves by the traded notional (the fee, converted, makes up
  // the difference).
  const int64_t position_qty = r.quantity - dir * r.fee_base;
  auto closed =
      acct.apply_fill(o.instrument_id, dir, position_qty, r.price, r.fee, engine_.now(), o.id);
  json_writer w;
  w.begin_object().key("k").value("fill").key("ts").value(engine_.now()).key("id").value(o.id);
  w.key("cid").value(r.client_id).key("sym").value(o.symbol).key("tid").value(r.trade_id);
  w.key("side").value(o.side).key("px").value(fixed_to_string(r.price));
  w.key("qty").value(fixed_to_string(r.quantity)).key("fee").value(fixed_to_string(r.fee));
  w.key("fee_base").value(fixed_to_string(r.fee_base)).key("maker").value(r.maker).end_object();
  journal_line(w.str());
  if (o.owner < engine_.strategies().size()) {
    cats_fill_event_t f{};
    f.header = event_header<cats_fill_event_t>(CATS_EVENT_FILL, o.instrument_id, engine_.now(),
                                               engine_.event_flags());
    f.order_id = o.id;
    f.client_tag = o.client_tag;
    f.fill_id = engine_.new_fill_id();
    f.side = o.side;
    f.liquidity = r.maker ? CATS_LIQUIDITY_MAKER : CATS_LIQUIDITY_TAKER;
    f.price = r.price;
    f.quantity = r.quantity;
    f.fee = r.fee;
    f.position_after = acct.position(o.instrument_id).quantity;
    engine_.post_fill(o.owner, f);
    if (listener_ != nullptr) {
      const strategy_slot& owner = *engine_.strategies()[o.owner];
      const instrument_info& inst = *engine_.instruments().get(o.instrument_id);
      listener_->on_fill(owner, inst, f, acct.cash());
      if (closed) {
        engine_.name_reasons(*closed);
        listener_->on_round_trip(owner, inst, *closed);
      }
    }
  }
  if (!working(o.st)) return;
  if (o.filled >= o.quantity) {
    // Fills of the old order that landed while an amend was on its way can complete the order
    // with a replacement still open at the venue: that remainder is cancelled.
    if (o.replacing && !o.replacing->in_place) {
      spdlog::warn("{}: order {} is filled; cancelling its replacement {}", gateway_.name(), o.id,
                   o.replacing->client_id);
      gateway_.cancel(o.symbol, o.replacing->client_id, next_tag_++);
    } else if (o.client_ids.size() > 1 && o.leg_filled < o.leg_quantity) {
      spdlog::warn("{}: order {} is filled; cancelling the rest of {} at the venue",
                   gateway_.name(), o.id, o.client_id);
      gateway_.cancel(o.symbol, o.client_id, next_tag_++);
    }
    finish_order(o, state::filled, CATS_ORDER_FILLED, {});
    return;
  }
  set_state(o, state::partially_filled);
  post(o, CATS_ORDER_PARTIALLY_FILLED, {});
  settle(o);
}

void venue_broker::apply_unknown(order& o, const order_report& r, int64_t now) {
  if (!working(o.st)) return;
  spdlog::warn("{}: no answer about order {} ({}); asking the venue", gateway_.name(), r.client_id,
               r.reason);
  if (o.st == state::pending) {
    set_state(o, state::unknown);
    ++stats_.unknown;
  }
  o.query_at = now;
}

void venue_broker::apply_not_found(order& o, const order_report& r, int64_t now) {
  if (o.replacing && !o.replacing->in_place && r.client_id == o.replacing->client_id) {
    // The replacement never arrived; the old order's fate comes from its own reports.
    if (now < o.sent_ns + (opt_.recv_window_ms + 1000) * ns_per_ms) {
      o.query_at = o.sent_ns + (opt_.recv_window_ms + 1000) * ns_per_ms;
      return;
    }
    by_cid_.erase(o.replacing->client_id);
    o.replacing.reset();
    o.query_at = now;
    return;
  }
  if (o.st != state::unknown && o.st != state::pending) {
    if (working(o.st))
      finish_order(o, state::canceled, CATS_ORDER_CANCELED, "the venue no longer knows the order");
    return;
  }
  // A request still on its way may reach the venue until its recvWindow has passed.
  const int64_t deadline = o.sent_ns + (opt_.recv_window_ms + 1000) * ns_per_ms;
  if (now < deadline) {
    o.query_at = deadline;
    return;
  }
  if (o.st == state::unknown) ++stats_.unknown_resolved;
  finish_order(o, state::rejected, CATS_ORDER_REJECTED,
               "lost: the venue has no order " + o.client_id + " (the request never arrived)");
}

void venue_broker::apply_listing(const order_report& r) {
  if (r.client_id.empty()) {  // the end of one symbol's listing
    if (listings_pending_ > 0) --listings_pending_;
    if (!r.reason.empty())
      spdlog::error("{}: open orders of {} could not be listed: {}", gateway_.name(), r.symbol,
                    r.reason);
    return;
  }
  if (order* o = by_client_id(r.client_id)) {
    order_report copy = r;
    copy.listing = false;
    copy.request_tag = 1;
    apply_state(*o, copy, wall_clock_ns());
    return;
  }
  ++stats_.reconcile_differences;
  if (!r.client_id.starts_with(opt_.client_prefix)) {
    spdlog::warn(
        "{}: open order {} on {} was not placed from this journal (left alone): {} {} @ {}",
        gateway_.name(), r.client_id, r.symbol, side_name(r.side),
        fixed_to_string(r.quantity_ordered), fixed_to_string(r.limit_price));
    return;
  }
  // Ours, but the journal never recorded it (a crash before the line reached the disk): no
  // strategy knows it, so it is cancelled.
  spdlog::warn("{}: open order {} on {} is not in the journal; cancelling it", gateway_.name(),
               r.client_id, r.symbol);
  auto o = std::make_unique<order>();
  o->id = engine_.new_order_id();
  o->owner = unowned;
  o->instrument_id = r.instrument_id;
  o->symbol = r.symbol;
  o->client_id = r.client_id;
  o->side = r.side;
  o->type = r.type;
  o->tif = r.tif;
  o->quantity = r.quantity_ordered;
  o->price = r.limit_price;
  o->st = state::acknowledged;
  o->venue_order_id = r.venue_order_id;
  o->venue_cum = r.cum_quantity;
  by_cid_[o->client_id] = o->id;
  o->client_ids.push_back(o->client_id);
  order& ref = *o;
  orders_.emplace(o->id, std::move(o));
  track(ref);
  ref.cancel_sent = true;
  gateway_.cancel(ref.symbol, ref.client_id, next_tag_++);
}

// ---- start and stop -----------------------------------------------------------------------------

// An `intent` line: the order as it was sent, unknown until the venue says otherwise.
bool venue_broker::replay_intent(simdjson::dom::object j,
                                 const std::unordered_map<std::string, uint32_t>& slots,
                                 std::string& why) {
  const std::string cid = j_str(j, "cid");
  auto o = std::make_unique<order>();
  // Ids are the run's own (the journal's are from the run that wrote it): a fresh one, in journal
  // order.
  o->id = engine_.new_order_id();
  o->client_id = cid;
  o->strategy = j_str(j, "strategy");
  o->symbol = j_str(j, "sym");
  auto slot = slots.find(o->strategy);
  o->owner = slot == slots.end() ? unowned : slot->second;
  o->instrument_id = 0;
  for (const auto& [id, s] : symbols_)
    if (s == o->symbol) o->instrument_id = id;
  if (o->instrument_id == 0) {
    why = "order " + cid + " is on " + o->symbol + ", which this run does not trade; " +
          "add the instrument or settle the order by hand";
    return false;
  }
  o->side = static_cast<int32_t>(j_num(j, "side"));
  o->type = static_cast<int32_t>(j_num(j, "type"));
  o->tif = static_cast<int32_t>(j_num(j, "tif"));
  o->quantity = j_amount(j, "qty");
  o->price = j_amount(j, "px");
  o->stop_price = j_amount(j, "stop");
  o->client_tag = static_cast<uint64_t>(j_num(j, "tag"));
  o->sent_ns = j_num(j, "ts");  // the engine clock is the wall clock in live runs
  o->leg_quantity = o->quantity;
  o->st = state::unknown;  // until the venue says otherwise
  by_cid_[cid] = o->id;
  o->client_ids.push_back(cid);
  orders_[o->id] = std::move(o);
  return true;
}

bool venue_broker::replay_journal(std::string& error) {
  if (opt_.journal_path.empty()) return true;
  std::unordered_map<std::string, uint32_t> slots;
  for (uint32_t i = 0; i < engine_.strategies().size(); ++i)
    slots[engine_.strategies()[i]->name] = i;
  uint64_t restored_fills = 0;
  const bool ok = journal::read(
      opt_.journal_path,
      [&](simdjson::dom::object j, size_t, std::string& why) {
        const std::string k = j_str(j, "k"), cid = j_str(j, "cid");
        if (k == "intent") return replay_intent(j, slots, why);
        order* o = by_client_id(cid);
        if (o == nullptr) return true;
        if (k == "ack") {
          o->st = state::acknowledged;
          o->venue_order_id = j_str(j, "vid");
        } else if (k == "fill") {
          trades_seen_.insert(o->symbol + "/" + j_str(j, "tid") + "/" + std::to_string(o->side));
          const int64_t qty = j_amount(j, "qty"), px = j_amount(j, "px");
          o->filled += qty;
          o->filled_notional += fixed_mul(qty, px, rounding::nearest);
          if (cid == o->client_id) o->leg_filled += qty;
          const int dir = o->side == CATS_SIDE_BUY ? 1 : -1;
          const int64_t position_qty = qty - dir * j_amount(j, "fee_base");
          engine_.account().apply_fill(o->instrument_id, dir, position_qty, px, j_amount(j, "fee"),
                                       j_num(j, "ts"), o->id);
          if (o->owner < engine_.strategies().size())
            // The strategy's share books what was traded, as the fill event it got said.
            engine_.strategies()[o->owner]->ledger.apply_fill(o->instrument_id, dir, qty, px,
                                                              j_amount(j, "fee"), j_num(j, "ts"));
          ++restored_fills;
          if (o->st == state::unknown) o->st = state::partially_filled;
        } else if (k == "replace") {
          by_cid_[j_str(j, "new_cid")] = o->id;
          o->client_ids.push_back(j_str(j, "new_cid"));
          o->replacing =
              replace_request{j_str(j, "new_cid"), j_amount(j, "qty"), j_amount(j, "px")};
        } else if (k == "amend") {
          replace_request rr{cid, j_amount(j, "qty"), j_amount(j, "px")};
          rr.in_place = true;
          o->replacing = rr;
        } else if (k == "amended") {
          if (o->replacing) {
            o->quantity = o->replacing->quantity;
            (o->type == CATS_ORDER_STOP_MARKET ? o->stop_price : o->price) = o->replacing->price;
          }
          o->replacing.reset();
        } else if (k == "replaced") {
          order& r = *o;  // found by the new client id, which "replace" named
          r.client_id = cid;
          if (r.replacing) {
            r.quantity = r.replacing->quantity;
            (r.type == CATS_ORDER_STOP_MARKET ? r.stop_price : r.price) = r.replacing->price;
          }
          r.replacing.reset();
          r.leg_filled = 0;
        } else if (k == "final") {
          const int64_t status = j_num(j, "status");
          o->st = status == CATS_ORDER_FILLED     ? state::filled
                  : status == CATS_ORDER_REJECTED ? state::rejected
                                                  : state::canceled;
        }
        return true;
      },
      error);
  if (!ok) return false;
  for (auto& [id, o] : orders_) {
    // An in-place amend in flight at the crash: the venue's answer to the start-up query says
    // what the order is now.
    if (o->replacing && o->replacing->in_place) o->replacing.reset();
  }
  rebuild_index();
  size_t open = 0;
  for (const auto& [id, o] : orders_) open += working(o->st) ? 1 : 0;
  if (!orders_.empty())
    spdlog::info("{}: journal {}: {} order(s), {} still open, {} fill(s) restored", gateway_.name(),
                 opt_.journal_path.string(), orders_.size(), open, restored_fills);
  return true;
}

bool venue_broker::start(int64_t timeout_ms, std::string& error) {
  if (!replay_journal(error)) return false;
  gateway_.start([this](order_report&& r) {
    {
      const std::lock_guard<std::mutex> lock(inbox_mutex_);
      inbox_.push_back(std::move(r));
    }
    has_reports_.store(true, std::memory_order_release);
    if (opt_.wake) opt_.wake();
  });
  const int64_t deadline = wall_clock_ns() + timeout_ms * ns_per_ms;
  // The user stream first, so that nothing that happens during reconciliation is missed.
  while (!gateway_.stats().stream_up.load() && wall_clock_ns() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (!gateway_.stats().stream_up.load()) {
    error = std::string(gateway_.name()) + ": the user stream did not come up within " +
            std::to_string(timeout_ms) + " ms";
    return false;
  }
  const int64_t now = wall_clock_ns();
  for (uint64_t id : working_) {
    orders_[id]->query_at = now;
    restored_.push_back(id);
  }
  std::unordered_set<std::string> listed;
  for (const auto& [id, sym] : symbols_) {
    if (!listed.insert(sym).second) continue;
    ++listings_pending_;
    gateway_.open_orders(sym, next_tag_++);
  }
  auto busy = [this] {
    if (listings_pending_ > 0) return true;
    for (uint64_t id : working_) {
      const order& o = *orders_[id];
      if (o.query_at != 0 || o.query_inflight || (o.fetch_at != 0 && o.venue_cum > o.leg_filled))
        return true;
    }
    return false;
  };
  do {
    engine_.set_time(wall_clock_ns());
    poll(wall_clock_ns());
    if (!busy()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  } while (wall_clock_ns() < deadline);
  if (busy()) {
    error = std::string(gateway_.name()) + ": reconciliation did not finish within " +
            std::to_string(timeout_ms) + " ms (the venue did not answer every query)";
    return false;
  }
  check_balances();
  started_ = true;
  return true;
}

std::vector<uint32_t> venue_broker::instruments_in_use() const {
  std::vector<uint32_t> out;
  for (uint64_t id : working_) out.push_back(orders_.at(id)->instrument_id);
  for (const auto& [instrument_id, symbol] : symbols_)
    if (engine_.account().position(instrument_id).quantity != 0) out.push_back(instrument_id);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void venue_broker::check_balances() {
  std::string error;
  const std::vector<venue_balance> balances = gateway_.balances(error);
  if (!error.empty()) {
    spdlog::warn("{}: balances could not be read: {}", gateway_.name(), error);
    return;
  }
  for (const venue_balance& b : balances)
    spdlog::info("{}: balance {} {} free, {} locked", gateway_.name(), b.asset,
                 fixed_to_string(b.free), fixed_to_string(b.locked));
  balances_ = balances;
}

void venue_broker::announce_restored() {
  for (uint64_t id : restored_) {
    auto it = orders_.find(id);
    if (it == orders_.end() || !working(it->second->st)) continue;
    post(*it->second, it->second->filled > 0 ? CATS_ORDER_PARTIALLY_FILLED : CATS_ORDER_NEW,
         "restored: working at the venue since before this start");
  }
  restored_.clear();
}

void venue_broker::finish(std::string_view reason) {
  if (!cancel_on_stop_) return;
  for (uint32_t owner = 0; owner < engine_.strategies().size(); ++owner) cancel_all(owner, reason);
  // Wait a moment for the venue to confirm, so the summary shows what is still working.
  const int64_t deadline = wall_clock_ns() + 3'000 * ns_per_ms;
  while (open_order_count() > 0 && wall_clock_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    engine_.set_time(wall_clock_ns());
    poll(wall_clock_ns());
    engine_.flush();
  }
  if (open_order_count() > 0)
    spdlog::warn("{}: {} order(s) may still be working at the venue", gateway_.name(),
                 open_order_count());
}

void venue_broker::stop() {
  gateway_.stop();
}

}  // namespace cats
