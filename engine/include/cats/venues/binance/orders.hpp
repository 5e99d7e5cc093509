// Binance spot's private side: signed REST orders (HMAC-SHA256 or Ed25519 keys; `timestamp` with
// the venue's clock offset measured and applied, `recvWindow`), and order and fill events from the
// user-data stream as Binance documents it today: a WebSocket API connection subscribed with
// `userDataStream.subscribe.signature` (no listenKey), resubscribed after every reconnect.
//
// Rate limits: the used weight and order count headers are kept in gateway_stats; a 429 blocks
// sending until its Retry-After has passed, a 418 (the IP is banned) until its Retry-After too,
// and raises an alarm. Orders refused meanwhile are rejected by the host with that reason.
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

struct binance_symbol {
  std::string symbol;  ///< "BTCUSDT"
  uint32_t instrument_id = 0;
  std::string base, quote;  ///< "BTC", "USDT": fees paid in the base asset are converted
};

struct binance_gateway_options {
  std::string rest_url = "https://api.binance.com";
  std::string ws_api_url = "wss://ws-api.binance.com:443/ws-api/v3";
  std::string api_key;
  std::string secret;  ///< the HMAC secret, or an Ed25519 private key in PEM
  bool ed25519 = false;
  int64_t recv_window_ms = 5000;
  net::tls_options tls;
  std::chrono::milliseconds timeout{10000};
  std::vector<binance_symbol> symbols;
};

/// Throws std::invalid_argument when the key cannot be used (the message never holds the secret).
std::unique_ptr<order_gateway> make_binance_gateway(boost::asio::io_context& io,
                                                    binance_gateway_options options);

/// GET /api/v3/exchangeInfo for `symbols` (public, unsigned; blocking, for start-up). Symbols the
/// venue does not list are missing from the result. False with `error` when the venue could not
/// be asked or answered something unreadable.
bool fetch_binance_rules(const std::string& rest_url, const net::tls_options& tls,
                         const std::vector<std::string>& symbols, std::vector<venue_rules>& out,
                         std::string& error);

/// The query string of a new order (without timestamp, recvWindow and signature), e.g.
/// "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000.5&
/// newClientOrderId=...": amounts printed from fixed-point.
std::string binance_order_params(const venue_order& o);

}  // namespace cats
