// Several brokers in one live run: paper trading and one live broker per venue, each order sent
// to the broker its strategy or its instrument is routed to.
//
// Routes: a strategy's own (`[[strategy]] broker`) wins; else the instrument's (`[[instrument]]
// broker`, else `live.broker`). One account holds every position of the run, so an instrument
// trades through one broker only: the broker that holds a position or working order in it at
// start, else the first broker that takes an order for it (the order still working or filled),
// keeps it for the run, and an order that would put a second broker's position on it is refused
// with the reason, before it reaches any venue. Orders of the host itself (the kill switch's
// flattening) go to the broker that holds the instrument.
//
// Order ids come from the engine (unique across brokers); the router remembers which broker holds
// each working order, for cancels and amends. Market events reach every broker (paper trading
// matches on them). Engine thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cats/core/engine.hpp"

namespace cats {

class routing_broker final : public broker {
 public:
  /// `paper` simulates fills for everything routed to "paper"; it is broker 0.
  routing_broker(engine& eng, broker& paper);

  /// Adds a broker for routes that name it ("binance", "okx").
  void add(std::string name, broker& b);
  /// Orders for `instrument_id` go to broker `name` unless their strategy names another.
  /// Instruments not routed here go to "paper".
  void route_instrument(uint32_t instrument_id, const std::string& name);
  /// At start: `instrument_id` holds a position or working orders at broker `name` (a venue
  /// broker's restored state), so it trades through `name` for the run.
  void bind(uint32_t instrument_id, const std::string& name);
  /// At start, after the brokers restored their orders: cancels and amends of those find them.
  void track_restored();

  /// The broker an order of `owner` for `instrument_id` goes to; empty with `error` when the
  /// routes lead nowhere or the instrument is another broker's.
  const std::string& target_name(uint32_t owner, uint32_t instrument_id, std::string& error);

  cats_status_t submit(uint32_t owner, const cats_order_request_t& request, uint64_t& order_id,
                       std::string& error) override;
  cats_status_t cancel(uint32_t owner, uint64_t order_id, std::string& error) override;
  cats_status_t amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                      int64_t new_limit_price, std::string& error) override;
  void cancel_all(uint32_t owner, std::string_view reason) override;
  void on_bar_open(const cats_bar_event_t& bar) override;
  void on_bar_close(const cats_bar_event_t& bar) override;
  void on_quote(uint32_t instrument_id, int64_t bid, int64_t bid_size, int64_t ask,
                int64_t ask_size) override;
  void on_trade(const cats_trade_event_t& trade) override;
  void finish(std::string_view reason) override;
  uint64_t reject(uint32_t owner, const cats_order_request_t& request, std::string reason) override;
  void open_orders(std::vector<open_order>& out) const override;
  size_t open_order_count() const noexcept override;

  /// Orders refused because their instrument was another broker's.
  uint64_t refused_conflicts() const noexcept { return conflicts_; }

 private:
  static constexpr uint8_t none = 0xFF;
  struct entry {
    std::string name;
    broker* target;
  };
  /// Index of the broker named `name`; `none` if there is none.
  uint8_t index_of(std::string_view name) const noexcept;
  /// The broker holding working order `id`; null with `error` if none does.
  broker* holder(uint64_t id, std::string& error);
  /// Forgets orders that are no longer working, when the map has grown well past them.
  void prune();

  engine& engine_;
  std::vector<entry> brokers_;
  std::vector<uint8_t> instrument_route_;        ///< by instrument id; paper (0) where unset
  std::vector<uint8_t> bound_;                   ///< by instrument id: the broker that trades it
  std::unordered_map<uint64_t, uint8_t> where_;  ///< order id -> broker index
  size_t prune_at_ = 4096;
  uint64_t conflicts_ = 0;
  std::unordered_set<uint64_t> warned_;  ///< (owner << 32 | instrument) refused and logged
  std::string empty_;
};

}  // namespace cats
