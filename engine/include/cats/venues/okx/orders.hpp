// OKX v5's private side for spot (cash) trading: signed REST (HMAC-SHA256, base64, over
// timestamp + method + path + body, with the key's passphrase) to place, cancel, amend (in place:
// the client order id stays), query and list orders, read fills and balances; order and fill
// updates from the private WebSocket (`login`, then the `orders` channel), logged in again after
// every reconnect. `demo` sends `x-simulated-trading: 1` (OKX's demo trading).
//
// Stop orders are OKX algo orders and are not sent: they are refused with that reason.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cats/net/ws_client.hpp"
#include "cats/venues/order_gateway.hpp"

namespace boost::asio {
class io_context;
}

namespace cats {

struct okx_symbol {
  std::string inst_id;  ///< "BTC-USDT"
  uint32_t instrument_id = 0;
  std::string base, quote;
};

struct okx_gateway_options {
  std::string rest_url = "https://www.okx.com";
  std::string ws_private_url = "wss://ws.okx.com:8443/ws/v5/private";
  std::string api_key, secret, passphrase;
  bool demo = false;
  int64_t recv_window_ms = 5000;  ///< trade requests carry expTime = timestamp + this
  net::tls_options tls;
  std::chrono::milliseconds timeout{10000};
  /// The private WebSocket's silence limit (venues.okx.read_timeout, at most 25 s); a "ping"
  /// goes out after half of it.
  std::chrono::milliseconds read_timeout{25000};
  std::vector<okx_symbol> symbols;
};

/// Throws std::invalid_argument when a credential is missing (never quoting it).
std::unique_ptr<order_gateway> make_okx_gateway(boost::asio::io_context& io,
                                                okx_gateway_options options);

/// The JSON body of a new order: {"instId":..,"tdMode":"cash","clOrdId":..,"side":..,
/// "ordType":..,"sz":..[,"px":..][,"tgtCcy":"base_ccy"]}, amounts printed from fixed point.
std::string okx_order_body(const venue_order& o);

/// GET /api/v5/public/instruments?instType=SPOT for `inst_ids` (public, blocking, for start-up):
/// tickSz, lotSz, minSz and state ("live").
bool fetch_okx_rules(const std::string& rest_url, const net::tls_options& tls,
                     const std::vector<std::string>& inst_ids, std::vector<venue_rules>& out,
                     std::string& error);

}  // namespace cats
