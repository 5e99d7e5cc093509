// Network sessions on Asio threads: a reconnecting WebSocket client over TLS and an HTTPS GET.
//
// TLS: SNI is sent, the peer certificate is verified against the system trust store (plus an
// optional extra CA file) and the host name is checked. There is no switch to turn verification
// off: a test server is trusted by giving its certificate as `ca_file`.
//
// The client reconnects after any failure with capped exponential backoff and jitter (reset only
// by a connection that stayed up for `stable_after`), except after repeated certificate failures,
// which it names (untrusted, expired, wrong host) and then gives up on. It calls
// `on_open` after every (re)connect so the venue code restores its subscriptions, and logs and
// counts each disconnect with its reason and the time it was down. A read that sees nothing for
// `read_timeout` (pings included) is a stall and also reconnects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace cats::net {

struct url_parts {
  std::string scheme;  ///< "wss" or "https"
  std::string host;
  std::string port;    ///< defaults to 443
  std::string target;  ///< path and query, "/" when empty
};
/// Parses "wss://host[:port]/path?query" or "https://...". False with `error` set otherwise.
bool parse_url(std::string_view url, url_parts& out, std::string& error);

struct tls_options {
  std::filesystem::path ca_file;  ///< extra trusted CA (PEM), on top of the system store
};

struct ws_options {
  std::string name;  ///< for logs: "binance", "okx"
  std::string url;   ///< wss://...
  tls_options tls;
  bool permessage_deflate = false;
  std::chrono::milliseconds read_timeout{20000};  ///< silence (no data, no pong) = stall
  /// After half the read timeout of silence: sent as a text message (OKX wants "ping" and
  /// answers "pong") instead of a WebSocket ping frame; empty = a ping frame.
  std::string keepalive_text;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{30000};
  /// A connection must stay up this long before the backoff starts again from backoff_initial:
  /// a venue that accepts and drops at once is retried ever more slowly, not in a storm.
  std::chrono::milliseconds stable_after{10000};
  /// Consecutive certificate failures (untrusted, expired, wrong host) before the client gives
  /// up: these do not heal by retrying.
  int max_tls_failures = 5;
};

struct ws_stats {
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> disconnects{0};
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<int64_t> downtime_ns{0};  ///< total time without a connection after the first one
  std::atomic<bool> connected{false};
  /// The client stopped retrying (max_tls_failures certificate failures in a row); logged.
  std::atomic<bool> gave_up{false};
};

class ws_client {
 public:
  struct handlers {
    /// Connected (again): send subscriptions with send().
    std::function<void()> on_open;
    /// A text or binary message. `data` is readable for size + 64 bytes (simdjson padding).
    std::function<void(const char* data, size_t size, int64_t local_ts_ns)> on_message;
    /// The connection was lost or could not be made; the client will retry.
    std::function<void(const std::string& reason)> on_disconnect;
  };

  ws_client(boost::asio::io_context& io, ws_options options, handlers h);
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// Starts connecting (call on any thread; work runs on the io_context).
  void start();
  /// Closes the connection and stops reconnecting.
  void stop();
  /// Queues a text message; sent in order while connected, dropped when not connected.
  /// Must be called on the io_context's thread (e.g. from a handler).
  void send(std::string text);
  /// Drops the connection and reconnects (e.g. to recover from a venue-side problem).
  void reconnect(std::string reason);

  const ws_stats& stats() const noexcept { return stats_; }
  const ws_options& options() const noexcept { return options_; }

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
  ws_options options_;
  ws_stats stats_;
};

struct http_response {
  int status = 0;     ///< 0 when the request failed before a response
  std::string body;   ///< padded with 64 spare bytes of capacity beyond size() for simdjson
  std::string error;  ///< transport error, empty on success
};

/// GET `url` over TLS on the io_context; `done` runs on the io_context's thread.
void https_get(boost::asio::io_context& io, const std::string& url, const tls_options& tls,
               std::chrono::milliseconds timeout, std::function<void(http_response)> done);

/// A blocking request ("GET" or "POST" with an empty body) on a private io_context, for tools
/// and tests.
http_response https_request(const std::string& method, const std::string& url,
                            const tls_options& tls, std::chrono::milliseconds timeout);

}  // namespace cats::net
