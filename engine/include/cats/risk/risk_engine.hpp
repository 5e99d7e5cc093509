// The risk engine: every order of every strategy passes it, in backtest, paper and live alike. It
// sits between the engine and the broker (it is a broker that forwards to the real one), so the
// market step and the strategies see no difference until a limit says no.
//
// Pre-trade checks ([risk] in the config; docs/risk.md): order quantity and notional, position
// after the order and the working orders on its side, open orders, a price band around the last
// price, order and cancel rates (token buckets on the engine clock). An order that fails one gets
// an order id and a CATS_ORDER_REJECTED update naming the limit, as a venue refusal would, and is
// counted. Account-wide loss limits (daily loss, drawdown from the peak) move the trading state
// from `active` to `reducing` (only orders that shrink a position) or `halted` (none); the kill
// switch cancels every working order, optionally flattens every position, and halts.
#pragma once

#include <cats/sdk.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/engine.hpp"
#include "cats/core/fixed.hpp"

namespace cats {

enum class trading_state : uint8_t { active, reducing, halted };
const char* trading_state_name(trading_state s) noexcept;

/// Why an order was refused; the counters are kept per reason.
enum class risk_reason : uint8_t {
  halted,
  reducing,
  order_quantity,
  order_notional,
  position,
  open_orders,
  price_band,
  no_price,
  order_rate,
  order_loop,
  count_  // number of reasons
};
const char* risk_reason_name(risk_reason r) noexcept;

struct risk_stats {
  std::array<uint64_t, static_cast<size_t>(risk_reason::count_)> refused{};
  uint64_t cancels_refused = 0;  ///< over the cancel rate
  uint64_t kills = 0;
  uint64_t breaches = 0;  ///< loss-limit breaches that changed the trading state
  uint64_t flatten_orders = 0;
  uint64_t refused_total() const noexcept {
    uint64_t n = 0;
    for (uint64_t v : refused) n += v;
    return n;
  }
};

class risk_engine final : public broker {
 public:
  /// `inner` matches or routes the orders that pass. Strategy and instrument names in `config`
  /// are resolved against the engine's strategies and instruments when the first order arrives.
  risk_engine(engine& eng, broker& inner, risk_section config);

  cats_status_t submit(uint32_t owner, const cats_order_request_t& request, uint64_t& order_id,
                       std::string& error) override;
  cats_status_t cancel(uint32_t owner, uint64_t order_id, std::string& error) override;
  cats_status_t amend(uint32_t owner, uint64_t order_id, int64_t new_quantity,
                      int64_t new_limit_price, std::string& error) override;
  void cancel_all(uint32_t owner, std::string_view reason) override {
    inner_.cancel_all(owner, reason);
  }

  void on_bar_open(const cats_bar_event_t& bar) override { inner_.on_bar_open(bar); }
  void on_bar_close(const cats_bar_event_t& bar) override {
    inner_.on_bar_close(bar);
    if (loss_limits_) check_losses();
  }
  void on_quote(uint32_t instrument_id, int64_t bid, int64_t bid_size, int64_t ask,
                int64_t ask_size) override {
    if (bid > 0 && ask > 0) note_price(instrument_id, bid + (ask - bid) / 2);
    inner_.on_quote(instrument_id, bid, bid_size, ask, ask_size);
    if (loss_limits_) check_losses();
  }
  void on_trade(const cats_trade_event_t& trade) override {
    inner_.on_trade(trade);
    if (loss_limits_) check_losses();
  }
  void finish(std::string_view reason) override { inner_.finish(reason); }
  uint64_t reject(uint32_t owner, const cats_order_request_t& request,
                  std::string reason) override {
    return inner_.reject(owner, request, std::move(reason));
  }
  void open_orders(std::vector<open_order>& out) const override { inner_.open_orders(out); }
  size_t open_order_count() const noexcept override { return inner_.open_order_count(); }

  /// Whether a limit needs to see the market (loss limits; a price band or notional limit, which
  /// need quote mids where no trade marks the account). When none does, the session's market calls
  /// go straight to the broker and only orders pass through here: the market step pays nothing.
  bool watches_market() const noexcept { return watches_market_; }

  /// The kill switch: cancels every working order of every strategy, closes every position with
  /// market orders when flatten_on_kill is set, and halts trading. `why` is logged and reported.
  void kill(const std::string& why);
  /// Loss limits: checked on every market event when configured; also callable at any time.
  void check_losses();

  trading_state state() const noexcept { return state_; }
  const std::string& state_reason() const noexcept { return state_reason_; }
  const risk_stats& stats() const noexcept { return stats_; }

  /// The owner id of the orders the kill switch sends to flatten (no strategy receives them).
  static constexpr uint32_t risk_owner = 0xFFFFFFF0u;
  /// Working orders one strategy may hold, whatever [risk] says.
  static constexpr int64_t hard_max_strategy_open_orders = 10'000;

 private:
  struct bucket {
    int64_t rate_milli = 0;  // tokens per 1000 s
    int64_t burst = 0;
    int128_t credit = -1;  // tokens x 1e12; -1 = full on first use
    int64_t at_ns = 0;
    /// Refills up to `now_ns`; true if a token is there (always, without a rate).
    bool ready(int64_t now_ns);
    void take() { credit -= rate_milli == 0 ? 0 : 1'000'000'000'000; }
  };
  // The working orders as the checks see them: counted in one pass over the broker's list, then
  // kept up to date with what this engine accepted since. Recounted when the clock has moved or
  // the broker holds fewer orders than that (a fill or cancel in between): a strategy sending
  // thousands of orders at one instant costs one pass, not one per order.
  struct order_counts {
    int64_t at = INT64_MIN;
    size_t expected = 0;  // the broker's count if nothing left since the pass
    std::vector<uint32_t> by_owner, by_instrument;
    std::vector<std::array<int64_t, 2>> remaining;  // by instrument: [buy, sell] not yet filled
    uint32_t owner(uint32_t slot) const { return slot < by_owner.size() ? by_owner[slot] : 0; }
    uint32_t instrument(uint32_t id) const {
      return id < by_instrument.size() ? by_instrument[id] : 0;
    }
    int64_t working(uint32_t id, int32_t side) const {
      return id < remaining.size() ? remaining[id][side == CATS_SIDE_BUY ? 0 : 1] : 0;
    }
    void add(const open_order& o, int sign);
  };
  struct limit_set {
    enum class kind : uint8_t { account, instrument, strategy } of = kind::account;
    risk_limits limits;
    std::string scope;  // "[risk]", "[risk.instrument.\"X\"]", ...
    bucket orders, cancels;
  };

  void resolve();
  void refresh_counts(bool force);
  void note_price(uint32_t id, int64_t price) {
    if (id >= last_price_.size()) last_price_.resize(id + 1, 0);
    last_price_[id] = price;
  }
  /// The account's mark (the last trade or bar close), else the last quote mid (0: none known).
  int64_t last_price(uint32_t id) const noexcept;
  /// The limit sets that apply to an order of `owner` in `instrument_id` (account, instrument,
  /// strategy), at most three.
  size_t applicable(uint32_t owner, uint32_t instrument_id, std::array<limit_set*, 3>& out);
  /// Checks one request (`amend`: it replaces a working order, already taken out of the counts);
  /// returns "" or the refusal and sets `reason`. Takes the rate tokens only when all else passed.
  std::string check(uint32_t owner, const cats_order_request_t& r, bool amend, risk_reason& reason);
  std::string check_set(const limit_set& set, uint32_t owner, const cats_order_request_t& r,
                        int64_t price, bool amend, risk_reason& reason) const;
  std::string check_state(const cats_order_request_t& r, risk_reason& reason) const;
  std::string refuse(uint32_t owner, const cats_order_request_t& r, const std::string& why,
                     risk_reason reason);
  void enter(trading_state s, const std::string& why);

  engine& engine_;
  broker& inner_;
  risk_section config_;
  size_t resolved_for_ = SIZE_MAX;  // strategies resolved so far (SIGHUP can add more)
  bool loss_limits_ = false;
  bool watches_market_ = false;
  limit_set account_;
  std::vector<limit_set> by_instrument_;  // index = instrument id; scope empty = none
  std::vector<limit_set> by_strategy_;    // index = slot; scope empty = none
  std::vector<int64_t> last_price_;       // index = instrument id
  std::vector<uint32_t> submits_now_;     // index = slot: orders sent at engine time `now_`
  int64_t now_ = INT64_MIN;
  std::vector<open_order> scratch_;
  order_counts counts_;
  trading_state state_ = trading_state::active;
  std::string state_reason_;
  int64_t peak_ = 0;
  int64_t day_start_equity_ = 0;
  int64_t day_ = INT64_MIN;
  risk_stats stats_;
};

}  // namespace cats
