// Hot swap: a new build of a strategy is created off the engine thread (prepare_candidate), then
// swapped in between two events with its predecessor's state (swap_in); a strategy can also be
// stopped for good (retire). Libraries are handed back to be unloaded off the engine thread.
#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "callback_scope.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/events.hpp"

namespace cats {

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
  cats_status_t st = CATS_OK;
  {
    // Off the engine thread: a probe of this call's own, for the crash handler.
    callback_probe probe;
    const callback_scope in(probe, name.c_str(), "create (hot reload)");
    st = out.desc.create(&host_api(), out.host.get(), out.params.c_params(), &instance, message,
                         sizeof message);
  }
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
    cats_status_t st;
    {
      const callback_scope in(*this, slot, "save_state");
      st = slot.desc.save_state(slot.instance, &sink, &version);
    }
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
    cats_status_t st;
    {
      const callback_scope in(*this, slot, "load_state");
      st = c.desc.load_state(c.instance, version, blob.data(), blob.size());
    }
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
  if (old != nullptr) {
    const callback_scope in(*this, slot, "destroy");
    old_desc.destroy(old);
  }
  old_host.reset();
  // A strategy that had failed (or was stopped) runs again in its new version.
  slot.failure.reset();
  slot.running = true;
  // Bars the new version asked for in create(); the old version's subscriptions stay.
  for (const auto& [id, interval] : slot.host->bar_requests) {
    std::string why;
    if (subscribe_bars(c.slot, id, interval, why) != CATS_OK)
      spdlog::warn("strategy '{}': {}", slot.name, why);  // checked when asked for; since broken
  }
  slot.host->bar_requests.clear();
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
    const callback_scope in(*this, slot, "on_stop");
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

}  // namespace cats
