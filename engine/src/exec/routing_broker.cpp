#include "cats/exec/routing_broker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace cats {

routing_broker::routing_broker(engine& eng, broker& paper) : engine_(eng) {
  brokers_.push_back({"paper", &paper});
}

void routing_broker::add(std::string name, broker& b) {
  brokers_.push_back({std::move(name), &b});
}

uint8_t routing_broker::index_of(std::string_view name) const noexcept {
  for (size_t i = 0; i < brokers_.size(); ++i)
    if (brokers_[i].name == name) return static_cast<uint8_t>(i);
  return none;
}

void routing_broker::route_instrument(uint32_t instrument_id, const std::string& name) {
  if (instrument_id >= instrument_route_.size()) instrument_route_.resize(instrument_id + 1, 0);
  const uint8_t i = index_of(name);
  if (i == none) throw std::invalid_argument("no broker named \"" + name + "\" in this run");
  instrument_route_[instrument_id] = i;
}

void routing_broker::bind(uint32_t instrument_id, const std::string& name) {
  const uint8_t i = index_of(name);
  if (i == none) throw std::invalid_argument("no broker named \"" + name + "\" in this run");
  if (instrument_id >= bound_.size()) bound_.resize(instrument_id + 1, none);
  if (bound_[instrument_id] == none) bound_[instrument_id] = i;
}

void routing_broker::track_restored() {
  std::vector<open_order> open;
  for (size_t i = 1; i < brokers_.size(); ++i) {
    open.clear();
    brokers_[i].target->open_orders(open);
    for (const open_order& o : open) where_[o.id] = static_cast<uint8_t>(i);
  }
}

const std::string& routing_broker::target_name(uint32_t owner, uint32_t instrument_id,
                                               std::string& error) {
  uint8_t i = instrument_id < instrument_route_.size() ? instrument_route_[instrument_id] : 0;
  const uint8_t bound = instrument_id < bound_.size() ? bound_[instrument_id] : none;
  const auto& slots = engine_.strategies();
  if (owner >= slots.size()) return brokers_[bound != none ? bound : i].name;  // the host's own
  if (!slots[owner]->broker.empty()) {
    i = index_of(slots[owner]->broker);
    if (i == none) {
      error = "strategy '" + slots[owner]->name + "' routes to " + slots[owner]->broker +
              ", which this run has no broker for";
      return empty_;
    }
  }
  if (bound != none && bound != i) {
    const instrument_info* inst = engine_.instruments().get(instrument_id);
    error = (inst != nullptr ? inst->symbol : "instrument " + std::to_string(instrument_id)) +
            " trades through " + brokers_[bound].name +
            " in this run, and this order would go to " + brokers_[i].name +
            ": one account cannot hold both; route the strategy or the instrument to " +
            brokers_[bound].name;
    return empty_;
  }
  return brokers_[i].name;
}

cats_status_t routing_broker::submit(uint32_t owner, const cats_order_request_t& request,
                                     uint64_t& order_id, std::string& error) {
  std::string why;
  const std::string& name = target_name(owner, request.instrument_id, why);
  if (name.empty()) {
    ++conflicts_;
    // Said once per strategy and instrument; each refusal reaches the strategy as an update.
    if (warned_.insert((uint64_t{owner} << 32) | request.instrument_id).second)
      spdlog::warn("order of strategy '{}' refused: {}",
                   owner < engine_.strategies().size() ? engine_.strategies()[owner]->name : "?",
                   why);
    order_id = brokers_[0].target->reject(owner, request, std::move(why));
    return CATS_OK;
  }
  const uint8_t i = index_of(name);
  broker& target = *brokers_[i].target;
  const size_t working_before = target.open_order_count();
  const int64_t position_before = engine_.account().position(request.instrument_id).quantity;
  const cats_status_t st = target.submit(owner, request, order_id, error);
  if (st != CATS_OK) return st;
  // The instrument is this broker's once an order of it works or fills there (an order refused
  // at once leaves it free).
  const bool took = target.open_order_count() > working_before ||
                    engine_.account().position(request.instrument_id).quantity != position_before;
  if (request.instrument_id >= bound_.size()) bound_.resize(request.instrument_id + 1, none);
  if (took && bound_[request.instrument_id] == none) {
    bound_[request.instrument_id] = i;
    if (const instrument_info* inst = engine_.instruments().get(request.instrument_id))
      spdlog::info("{} trades through {} for the rest of this run", inst->symbol, name);
  }
  where_[order_id] = i;
  if (where_.size() >= prune_at_) prune();
  return CATS_OK;
}

broker* routing_broker::holder(uint64_t id, std::string& error) {
  auto it = where_.find(id);
  if (it == where_.end()) {
    error = "no working order " + std::to_string(id);
    return nullptr;
  }
  return brokers_[it->second].target;
}

cats_status_t routing_broker::cancel(uint32_t owner, uint64_t order_id, std::string& error) {
  broker* b = holder(order_id, error);
  return b == nullptr ? CATS_E_NOT_FOUND : b->cancel(owner, order_id, error);
}

cats_status_t routing_broker::amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                                    int64_t new_limit_price, std::string& error) {
  broker* b = holder(order_id, error);
  return b == nullptr ? CATS_E_NOT_FOUND
                      : b->amend(owner, order_id, new_quantity, new_limit_price, error);
}

void routing_broker::cancel_all(uint32_t owner, std::string_view reason) {
  for (const entry& e : brokers_) e.target->cancel_all(owner, reason);
}

void routing_broker::on_bar_open(const cats_bar_event_t& bar) {
  for (const entry& e : brokers_) e.target->on_bar_open(bar);
}

void routing_broker::on_bar_close(const cats_bar_event_t& bar) {
  for (const entry& e : brokers_) e.target->on_bar_close(bar);
}

void routing_broker::on_quote(uint32_t instrument_id, int64_t bid, int64_t bid_size, int64_t ask,
                              int64_t ask_size) {
  for (const entry& e : brokers_) e.target->on_quote(instrument_id, bid, bid_size, ask, ask_size);
}

void routing_broker::on_trade(const cats_trade_event_t& trade) {
  for (const entry& e : brokers_) e.target->on_trade(trade);
}

void routing_broker::finish(std::string_view reason) {
  for (const entry& e : brokers_) e.target->finish(reason);
}

uint64_t routing_broker::reject(uint32_t owner, const cats_order_request_t& request,
                                std::string reason) {
  std::string why;
  const std::string& name = target_name(owner, request.instrument_id, why);
  return brokers_[name.empty() ? 0 : index_of(name)].target->reject(owner, request,
                                                                    std::move(reason));
}

void routing_broker::open_orders(std::vector<open_order>& out) const {
  for (const entry& e : brokers_) e.target->open_orders(out);
}

size_t routing_broker::open_order_count() const noexcept {
  size_t n = 0;
  for (const entry& e : brokers_) n += e.target->open_order_count();
  return n;
}

void routing_broker::prune() {
  std::vector<open_order> open;
  open_orders(open);
  std::unordered_map<uint64_t, uint8_t> keep;
  keep.reserve(open.size() * 2);
  for (const open_order& o : open)
    if (auto it = where_.find(o.id); it != where_.end()) keep.emplace(o.id, it->second);
  where_.swap(keep);
  prune_at_ = std::max<size_t>(4096, where_.size() * 2);
}

}  // namespace cats
