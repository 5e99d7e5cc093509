// A small read-only HTTP endpoint (the live run's /metrics and /status): plain HTTP/1.1 on an
// Asio io_context the caller runs. It answers GET (and HEAD) with what the handler returns for the
// path; every connection serves one request and is closed; a request header over 8 KiB, or one
// that takes more than 5 s to arrive, is dropped. The handler runs on the io_context's thread:
// it must not touch state another thread owns (the live run hands it a published copy).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace cats::net {

struct http_reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class http_server {
 public:
  using handler = std::function<std::optional<http_reply>(std::string_view path)>;
  /// Listens on "HOST:PORT" (PORT 0: any free port). Throws std::runtime_error with the reason
  /// when it cannot (bad address, port in use).
  http_server(boost::asio::io_context& io, const std::string& host_port, handler h);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  uint16_t port() const noexcept;
  /// Stops accepting (the io_context's thread finishes the connections it has).
  void close();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace cats::net
