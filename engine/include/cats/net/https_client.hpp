// A kept-alive HTTPS connection for a venue's REST API: requests go out in order, one at a time,
// on one TLS connection that is re-opened when it fails. Each result says whether the request was
// written whole before anything went wrong: after that point a lost response leaves the outcome
// unknown (an order may exist), before it the request certainly did nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cats/net/ws_client.hpp"

namespace boost::asio {
class io_context;
}

namespace cats::net {

struct http_request {
  std::string method = "GET";  ///< GET, POST, PUT or DELETE
  std::string target;          ///< path and query
  std::string body;
  std::string content_type;  ///< for a body
  std::vector<std::pair<std::string, std::string>> headers;
};

struct http_result {
  int status = 0;     ///< 0 when no response came
  std::string body;   ///< padded with 64 spare bytes of capacity for simdjson
  std::string error;  ///< transport error, empty when a response came
  /// The request was written whole: if no response came, the venue may have acted on it.
  bool written = false;
  int64_t write_ns = 0;  ///< steady clock when the request was handed to the socket
  std::vector<std::pair<std::string, std::string>> headers;  ///< names in lowercase
  /// A response header's value ("" when absent); `name` in lowercase.
  std::string_view header(std::string_view name) const noexcept {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

class https_client {
 public:
  /// `base_url`: https://host[:port] (a path is ignored). Throws std::invalid_argument when it is
  /// not a URL.
  https_client(boost::asio::io_context& io, const std::string& base_url, tls_options tls,
               std::chrono::milliseconds timeout);
  ~https_client();
  https_client(const https_client&) = delete;
  https_client& operator=(const https_client&) = delete;

  /// Queues a request (any thread); `done` runs on the io_context's thread with the outcome.
  void request(http_request req, std::function<void(http_result)> done);
  /// Fails what is queued ("stopped") and closes the connection.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace cats::net
