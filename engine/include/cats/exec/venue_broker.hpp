// The live broker: the strategies' orders as real orders at a venue, through an order_gateway,
// with an order state machine, the journal and reconciliation.
//
// States: pending (sent, no answer yet) -> acknowledged -> partially filled -> filled / cancelled
// / rejected (expired reads as cancelled with the venue's reason), and `unknown` when a request
// was written but its answer was lost. An unknown order is resolved by querying the venue by its
// client id before anything else is sent for that instrument (orders and cancels for it wait); a
// query that finds nothing is repeated once the venue's recvWindow has passed (a late request is
// refused by the venue after that), and only then is the order taken as never placed. Orders are
// never re-sent, so a retry can never create a second order.
//
// Fills come from the venue's executions (user stream or the order's trade list), deduplicated by
// trade id; a status that reports more filled quantity than the executions seen so far fetches
// the trade list. Strategies see order updates and fills exactly as the simulated exchange posts
// them.
//
// Threads: every method but the gateway's report sink runs on the engine thread; reports queue
// under a mutex and are applied by poll().
#pragma once

#include <cats/sdk.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cats/core/engine.hpp"
#include "cats/exec/journal.hpp"
#include "cats/sim/sim_exchange.hpp"
#include "cats/util/histogram.hpp"
#include "cats/venues/order_gateway.hpp"

namespace cats {

struct venue_broker_options {
  std::filesystem::path journal_path;  ///< empty: no journal (tests only)
  journal_fsync fsync = journal_fsync::intents;
  int64_t recv_window_ms = 5000;  ///< how long a lost order may still reach the venue
  /// Client ids are "<prefix><journal mark><run tag><seq>": alphanumeric, at most 32 characters
  /// (both venues); the mark (4 characters from the journal's path) tells this journal's orders
  /// from those of another cats run on the same account.
  std::string client_prefix = "cats";
  std::function<void()> wake;  ///< called (any thread) when reports are waiting
};

struct venue_broker_stats {
  uint64_t orders = 0, acknowledged = 0, fills = 0, rejected = 0, canceled = 0, filled = 0;
  uint64_t unknown = 0;                ///< orders whose answer was lost
  uint64_t unknown_resolved = 0;       ///< of those, resolved by a query
  uint64_t duplicate_fills = 0;        ///< executions seen twice (ignored)
  uint64_t reconcile_differences = 0;  ///< what the venue said that the journal did not know
  uint64_t journal_lines = 0;
};

class venue_broker final : public broker {
 public:
  venue_broker(engine& eng, order_gateway& gateway, venue_broker_options options);
  ~venue_broker() override;

  /// The symbol a venue knows an instrument by.
  void map_instrument(uint32_t instrument_id, std::string symbol);

  /// Before the strategies start: reads the journal (orders and fills, positions restored),
  /// starts the gateway, then reconciles with the venue (open orders, the journal's unfinished
  /// orders, their executions, balances), waiting up to `timeout_ms`. False with `error` when the
  /// journal is damaged or the venue cannot be reached.
  bool start(int64_t timeout_ms, std::string& error);
  /// Instruments this broker holds working orders (anyone's) or a position of the account in,
  /// after start: they trade through it for the rest of the run.
  std::vector<uint32_t> instruments_in_use() const;
  /// After the strategies started: every working order restored from the journal reaches its
  /// strategy as an order update.
  void announce_restored();
  /// Engine thread: applies what the venue said and sends what waited. `now`: the wall clock.
  void poll(int64_t now);
  void stop();

  cats_status_t submit(uint32_t owner, const cats_order_request_t& request, uint64_t& order_id,
                       std::string& error) override;
  cats_status_t cancel(uint32_t owner, uint64_t order_id, std::string& error) override;
  cats_status_t amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                      int64_t new_limit_price, std::string& error) override;
  void cancel_all(uint32_t owner, std::string_view reason) override;
  // The venue matches: nothing to do on market events.
  void on_bar_open(const cats_bar_event_t&) override {}
  void on_bar_close(const cats_bar_event_t&) override {}
  void on_quote(uint32_t, int64_t, int64_t, int64_t, int64_t) override {}
  void on_trade(const cats_trade_event_t&) override {}
  /// The run ends: working orders stay at the venue unless `cancel_on_stop` (live.cancel_on_stop).
  void finish(std::string_view reason) override;
  uint64_t reject(uint32_t owner, const cats_order_request_t& request, std::string reason) override;
  void open_orders(std::vector<open_order>& out) const override;
  size_t open_order_count() const noexcept override;

  void set_cancel_on_stop(bool on) noexcept { cancel_on_stop_ = on; }
  /// Receives every fill and closed round trip (fills.csv and trades.csv of a live run).
  void set_listener(fill_listener* l) noexcept { listener_ = l; }
  const venue_broker_stats& stats() const noexcept { return stats_; }
  /// From submit() (the risk checks passed) to the signed request handed to the socket, per
  /// order (engine thread: read it there).
  const latency_histogram& submit_to_wire() const noexcept { return submit_to_wire_; }
  /// The engine thread's part of that: from submit() to the request queued for the network
  /// thread (journal line, checks, client id, query string, signature).
  const latency_histogram& submit_to_handoff() const noexcept { return submit_to_handoff_; }
  const order_gateway& gateway() const noexcept { return gateway_; }
  /// The account's balances at the venue as read at start (empty if they could not be read).
  const std::vector<venue_balance>& start_balances() const noexcept { return balances_; }

  enum class state : uint8_t {
    pending,
    acknowledged,
    partially_filled,
    filled,
    canceled,
    rejected,
    unknown
  };

 private:
  struct order;
  struct replace_request {
    std::string client_id;            ///< of the replacement
    int64_t quantity = 0, price = 0;  ///< the order's new total quantity and price
    bool old_done = false;            ///< the old client id is cancelled
    bool in_place = false;            ///< an in-place amend (same client id)
    int64_t leg_quantity = 0;         ///< what the replacement was sent for
  };

  order* find(uint32_t owner, uint64_t id, std::string& error);
  order* by_client_id(const std::string& cid);
  std::string next_client_id();
  void send_new(order& o);
  void apply(order_report& r, int64_t now);
  void apply_state(order& o, const order_report& r, int64_t now);
  void apply_fill(order& o, const order_report& r);
  void apply_listing(const order_report& r);
  void apply_unknown(order& o, const order_report& r, int64_t now);
  void apply_not_found(order& o, const order_report& r, int64_t now);
  void settle(order& o);
  void finish_order(order& o, state s, int32_t status, std::string reason);
  void post(const order& o, int32_t status, std::string reason);
  void release_held(uint32_t instrument_id);
  bool instrument_blocked(uint32_t instrument_id) const;
  /// Moves `o` to `s`, keeping the indexes (working orders, unknown ones per instrument) right.
  void set_state(order& o, state s);
  /// A new order joins the working set.
  void track(order& o);
  /// Finished orders are kept for late reports, up to `kept_finished` of them.
  void retire(order& o);
  void rebuild_index();
  /// False when the line could not be written (logged by the journal).
  bool journal_line(const std::string& line, bool intent = false);
  void follow_up(order& o);
  std::string order_json(const char* kind, const order& o) const;
  bool replay_journal(std::string& error);
  bool replay_intent(simdjson::dom::object j,
                     const std::unordered_map<std::string, uint32_t>& slots, std::string& why);
  void check_balances();

  engine& engine_;
  order_gateway& gateway_;
  venue_broker_options opt_;
  std::unique_ptr<journal> journal_;
  std::unordered_map<uint32_t, std::string> symbols_;
  std::unordered_map<uint64_t, std::unique_ptr<order>> orders_;
  std::unordered_map<std::string, uint64_t> by_cid_;
  std::set<uint64_t> working_;                            ///< ids of working orders, in id order
  std::unordered_map<uint32_t, uint32_t> unknown_count_;  ///< unknown orders per instrument
  size_t unowned_working_ = 0;
  std::deque<uint64_t> finished_;  ///< ids of finished orders still kept, oldest first
  std::unordered_set<std::string> trades_seen_;  ///< "symbol/trade id"
  std::string run_tag_;
  uint64_t next_seq_ = 1, next_tag_ = 1;
  std::mutex inbox_mutex_;
  std::vector<order_report> inbox_, work_;
  std::atomic<bool> has_reports_{false};
  int64_t next_scan_ = 0;  ///< poll() looks for due queries and fetches at most this often
  size_t listings_pending_ = 0;
  std::vector<uint64_t> restored_;
  bool cancel_on_stop_ = false;
  bool started_ = false;  ///< start() is done: orders may be sent
  fill_listener* listener_ = nullptr;
  venue_broker_stats stats_;
  std::vector<venue_balance> balances_;
  latency_histogram submit_to_wire_, submit_to_handoff_;
};

}  // namespace cats
