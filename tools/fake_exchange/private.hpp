// The fake exchange's private side, Binance spot dialect: signed REST orders checked as the venue
// checks them (API key header, HMAC-SHA256 over the query string and body, timestamp within
// recvWindow of its clock), an account with balances, orders matched against the generated book,
// and the executionReport events of the WebSocket API user-data stream.
//
// Matching: a market order, and the marketable part of a limit, takes the book's levels at their
// prices (taker); a limit that rests fills (maker, at its price) each time the opposite touch
// reaches it, at most the touch's quantity per market event, so large orders fill in parts; a
// stop-loss triggers when a generated trade reaches its price. The generated book is not changed
// by these fills. Fees: 0.1% taker, 0.08% maker, paid in the quote asset.
//
// No networking here: server.cpp routes requests in and publishes the events it returns.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "market.hpp"

namespace cats::fake {

struct private_options {
  std::string api_key = "cats-fake-key";
  std::string api_secret = "cats-fake-secret";
  std::string passphrase = "cats-fake-passphrase";  ///< OKX
};

/// The OKX request headers that carry the signature.
struct okx_auth {
  std::string_view key, sign, timestamp, passphrase;
};

struct private_reply {
  int status = 200;
  std::string body;
  int retry_after = 0;  ///< seconds, for 429/418
  bool drop = false;    ///< close the connection without answering (the order was processed)
};

class private_side {
 public:
  /// `publish` sends one user-stream event (a complete JSON text) to every session of that venue
  /// subscribed to it (Binance user streams, OKX `orders` channels).
  private_side(private_options opt, market& mkt,
               std::function<void(venue, const std::string&)> publish);

  /// A REST request to /api/v3/{order,openOrders,myTrades,account,order/cancelReplace}.
  private_reply handle(std::string_view method, std::string_view path, std::string_view query,
                       std::string_view body, std::string_view api_key);
  /// `userDataStream.subscribe.signature` params: true when the key and signature are right.
  bool check_subscription(std::string_view api_key, int64_t timestamp, std::string_view signature,
                          std::string& error) const;
  /// OKX's REST dialect: /api/v5/trade/{order,cancel-order,amend-order,orders-pending,fills},
  /// /api/v5/account/balance; `path` with its query, as signed.
  private_reply handle_okx(std::string_view method, std::string_view path, std::string_view body,
                           const okx_auth& auth);
  /// OKX private WebSocket `login` args: true when the key, passphrase and sign are right.
  bool check_okx_login(std::string_view key, std::string_view passphrase,
                       std::string_view timestamp, std::string_view sign, std::string& error) const;
  /// After market events: resting orders against the new touch, stops against the last trade.
  void match();

  // Faults, armed by the control API.
  void fault_reject(int n) { reject_next_ = n; }
  void fault_drop(int n) { drop_next_ = n; }
  void fault_status(int code, int n, int retry_after) {
    status_code_ = code;
    status_next_ = n;
    status_retry_ = retry_after;
  }
  void fault_duplicate_fills(int n) { duplicate_next_ = n; }
  /// The next `n` new orders send no user-stream events (their state is learnt by query only).
  void fault_mute_stream(int n) { mute_next_ = n; }
  void set_skew_ms(int64_t ms) { skew_ms_ = ms; }
  int64_t skew_ms() const noexcept { return skew_ms_; }
  /// Fills up to `qty` of a working order now, at its limit price (or the touch), as maker.
  bool force_fill(const std::string& client_id, int64_t qty, std::string& error);
  /// Orders, trades and balances as JSON (for tests).
  std::string state_json() const;
  uint64_t requests() const noexcept { return requests_; }

 private:
  struct order {
    uint64_t id = 0;
    std::string client_id, symbol;
    int symbol_index = -1;
    bool buy = true;
    std::string type = "LIMIT", tif = "GTC";
    int64_t quantity = 0, price = 0, stop = 0;
    int64_t executed = 0, quote = 0;
    std::string status = "NEW";
    int64_t time_ms = 0, update_ms = 0;
    bool triggered = false;
    bool muted = false;  ///< no user-stream events
    bool okx = false;    ///< placed through the OKX dialect
    // The last execution, for OKX's order pushes.
    int64_t last_px = 0, last_qty = 0, last_fee = 0;
    uint64_t last_trade = 0;
    bool last_maker = false;
  };
  struct trade {
    uint64_t id = 0, order_id = 0;
    std::string symbol;
    int64_t price = 0, qty = 0, commission = 0;
    std::string asset;
    int64_t time_ms = 0;
    bool buyer = false, maker = false;
  };

  private_reply error(int status, int code, std::string_view msg) const;
  private_reply new_order(const std::map<std::string, std::string>& p,
                          venue where = venue::binance);
  private_reply cancel_order(const std::map<std::string, std::string>& p,
                             const std::string& orig_key = "origClientOrderId");
  private_reply cancel_replace(const std::map<std::string, std::string>& p);
  std::string order_json(const order& o) const;
  std::string okx_order_json(const order& o, const char* amend_result = "") const;
  private_reply okx_reply(const std::string& data, const std::string& code = "0",
                          const std::string& msg = "") const;
  private_reply okx_item(const order* o, const std::string& cid, const std::string& scode,
                         const std::string& smsg) const;
  private_reply okx_trade(std::string_view path, const std::map<std::string, std::string>& p);
  void report(const order& o, const char* exec, const trade* t, const std::string& orig = {});
  /// Takes the book for `o` (up to its limit when it has one); returns the quantity filled.
  void take(order& o);
  void execute(order& o, int64_t price, int64_t qty, bool maker);
  int64_t now_ms() const;
  std::pair<std::string, std::string> assets(const std::string& symbol) const;

  private_options opt_;
  market& mkt_;
  std::function<void(venue, const std::string&)> publish_;
  std::map<std::string, order> orders_;  // by client id
  std::set<std::string> working_;        // client ids of NEW / PARTIALLY_FILLED orders
  std::vector<trade> trades_;
  std::map<std::string, std::deque<int64_t>> okx_placed_;  // instId -> times (ms) of recent places
  std::map<std::string, std::pair<int64_t, int64_t>> balances_;  // asset -> free, locked
  uint64_t next_order_id_ = 1000, next_trade_id_ = 5000;
  int reject_next_ = 0, drop_next_ = 0, status_next_ = 0, status_code_ = 429, status_retry_ = 1;
  int duplicate_next_ = 0, mute_next_ = 0;
  int64_t skew_ms_ = 0;
  uint64_t requests_ = 0;
};

}  // namespace cats::fake
