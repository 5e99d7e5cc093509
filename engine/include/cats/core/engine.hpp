// The engine loop: strategy instances, the clock, timers and deterministic event delivery.
//
// One thread drives the engine. Market events go to every running strategy in the order the
// strategies were added; events a strategy caused (order updates, fills) are queued and delivered
// after the current event has reached everyone, so no callback is ever re-entered.
#pragma once

#include <cats/sdk.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cats/core/instrument.hpp"
#include "cats/core/portfolio.hpp"
#include "cats/plugin/loader.hpp"
#include "cats/plugin/params.hpp"

namespace cats {
class engine;
}

/// The host side of a strategy instance (opaque to plugins).
struct cats_host_t {
  cats::engine* engine = nullptr;
  uint32_t slot = 0;
  std::string last_error;
};

namespace cats {

/// Sends the strategies' orders to a venue: simulated in backtest, real in live mode.
class order_router {
 public:
  virtual ~order_router() = default;
  /// Validates and accepts an order for strategy `owner`; sets `order_id`, or returns an error
  /// status and explains it in `error`.
  virtual cats_status_t submit(uint32_t owner, const cats_order_request_t& request,
                               uint64_t& order_id, std::string& error) = 0;
  virtual cats_status_t cancel(uint32_t owner, uint64_t order_id, std::string& error) = 0;
  /// Cancels every working order of a strategy (used when it is disabled).
  virtual void cancel_all(uint32_t owner, std::string_view reason) = 0;
};

struct strategy_failure {
  std::string where;  ///< "create", "on_start", "on_event(bar)", ...
  std::string message;
  cats_status_t status = CATS_OK;
  int64_t ts_ns = 0;
};

struct strategy_slot {
  std::string name;                         ///< the instance name from the config
  std::shared_ptr<plugin_library> library;  ///< null for a strategy compiled into the host
  cats_strategy_descriptor_t desc{};        ///< host-side copy, zero-filled beyond struct_size
  param_set params;
  cats_strategy_t* instance = nullptr;
  cats_host_t host;
  bool running = false;
  std::optional<strategy_failure> failure;
  uint64_t events = 0;
  uint64_t orders = 0;
  uint64_t fills = 0;
  cats_status_t (*on_event)(cats_strategy_t*, const cats_event_t*) = nullptr;

  std::string label() const;  ///< "'sma' (ma_crossover 1.0.0)"
  std::string kind() const;   ///< descriptor name, "ma_crossover"
  std::string version() const;
};

class engine {
 public:
  engine(instrument_registry& instruments, portfolio& account);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  void set_router(order_router* router) noexcept { router_ = router; }
  order_router* router() const noexcept { return router_; }
  instrument_registry& instruments() noexcept { return instruments_; }
  portfolio& account() noexcept { return account_; }

  /// Creates an instance of `library` named `name`. On failure returns false and sets `error` to
  /// the strategy's own message.
  bool add_strategy(const std::string& name, std::shared_ptr<plugin_library> library,
                    param_set params, std::string& error);
  /// The same for a strategy linked into the host (tests, built-ins); `desc` must be checked.
  bool add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                    param_set params, std::string& error);

  /// on_start for every strategy; one that fails is disabled.
  void start();
  /// on_stop for every running strategy, then delivers what that caused.
  void stop();
  /// Destroys every instance (before any library is released).
  void destroy_all() noexcept;

  int64_t now() const noexcept { return now_; }
  void set_time(int64_t ts_ns) noexcept { now_ = ts_ns; }

  /// Fires every timer due at or before `ts_ns`, in time order, each at its own time.
  void run_timers_until(int64_t ts_ns) {
    if (!timers_.empty() && timers_.front().at <= ts_ns) fire_timers_until(ts_ns);
  }
  bool has_timers() const noexcept { return !timers_.empty(); }

  /// Delivers a market event to every running strategy, then everything that caused.
  void dispatch(const cats_event_t& event);
  /// Queues an order update or a fill for strategy `owner`.
  void post_order_update(uint32_t owner, const cats_order_update_event_t& event,
                         std::string reason);
  void post_fill(uint32_t owner, const cats_fill_event_t& event);
  /// Delivers queued events until none is left.
  void flush();

  const std::vector<std::unique_ptr<strategy_slot>>& strategies() const noexcept { return slots_; }
  size_t running_count() const noexcept;

  // Used by the host API table.
  uint64_t add_timer(uint32_t owner, int64_t fire_at_ns, uint64_t user_data);
  bool cancel_timer(uint32_t owner, uint64_t timer_id);
  void strategy_log(uint32_t slot, int32_t level, std::string_view message) const;

 private:
  struct timer_entry {
    int64_t at;
    uint64_t id;
    uint32_t owner;
    uint64_t user_data;
    bool operator>(const timer_entry& o) const noexcept {
      return at != o.at ? at > o.at : id > o.id;
    }
  };
  struct pending_event {
    uint32_t owner;
    cats_order_update_event_t update;
    cats_fill_event_t fill;
    bool is_fill;
    std::string reason;
  };

  bool add_strategy(const std::string& name, const cats_strategy_descriptor_t& desc,
                    std::shared_ptr<plugin_library> library, param_set params, std::string& error);
  bool deliver(strategy_slot& slot, const cats_event_t& event);
  void fire_timers_until(int64_t ts_ns);
  void fail(strategy_slot& slot, std::string where, cats_status_t status, std::string message);

  instrument_registry& instruments_;
  portfolio& account_;
  order_router* router_ = nullptr;
  std::vector<std::unique_ptr<strategy_slot>> slots_;
  int64_t now_ = 0;
  std::vector<timer_entry> timers_;  // min-heap
  std::unordered_set<uint64_t> cancelled_timers_;
  uint64_t next_timer_id_ = 1;
  std::vector<pending_event> pending_;
  size_t pending_head_ = 0;
  bool flushing_ = false;
};

/// The host API table handed to every strategy.
const cats_host_api_t& host_api() noexcept;

const char* event_type_name(int32_t type) noexcept;

}  // namespace cats
