#include <utility>  // before Asio: Boost 1.74 with C++20 needs std::exchange declared first

#include "cats/net/http_server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <stdexcept>

namespace cats::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct http_server::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& io, handler h) : acceptor(io), serve(std::move(h)) {}

  tcp::acceptor acceptor;
  handler serve;
  uint16_t port = 0;

  // One request on one connection, then close.
  struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, std::shared_ptr<impl> o) : stream(std::move(s)), owner(std::move(o)) {}
    beast::tcp_stream stream;
    std::shared_ptr<impl> owner;
    beast::flat_buffer buffer{8192};
    http::request_parser<http::empty_body> parser;
    http::response<http::string_body> response;

    void start() {
      parser.header_limit(8192);
      stream.expires_after(std::chrono::seconds(5));
      http::async_read(
          stream, buffer, parser,
          [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
    }
    void on_read(beast::error_code ec) {
      if (ec) return;  // a client that left, a timeout or a malformed request: nothing to say
      const auto& req = parser.get();
      response.version(11);
      response.keep_alive(false);
      response.set(http::field::server, "cats");
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        response.result(http::status::method_not_allowed);
        response.set(http::field::allow, "GET, HEAD");
        response.body() = "read-only endpoint: GET /metrics or /status\n";
      } else {
        std::string_view target(req.target().data(), req.target().size());
        target = target.substr(0, target.find('?'));
        std::optional<http_reply> reply;
        try {
          reply = owner->serve(target);
        } catch (const std::exception& e) {
          reply = http_reply{500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
        }
        if (!reply) reply = http_reply{404, "text/plain; charset=utf-8", "no such path\n"};
        response.result(static_cast<unsigned>(reply->status));
        response.set(http::field::content_type, reply->content_type);
        if (req.method() == http::verb::get) response.body() = std::move(reply->body);
      }
      response.prepare_payload();
      http::async_write(stream, response, [self = shared_from_this()](beast::error_code, size_t) {
        beast::error_code ignored;
        self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    }
  };

  void accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) std::make_shared<session>(std::move(s), self)->start();
      self->accept();
    });
  }
};

http_server::http_server(asio::io_context& io, const std::string& host_port, handler h)
    : impl_(std::make_shared<impl>(io, std::move(h))) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("metrics: '" + host_port + "' is not HOST:PORT");
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const asio::ip::address addr =
      asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    throw std::runtime_error("metrics: '" + host +
                             "' is not an IP address (use 127.0.0.1 for loopback)");
  unsigned long port = 0;
  try {
    port = std::stoul(host_port.substr(colon + 1));
  } catch (const std::exception&) {
    port = 70000;
  }
  if (port > 65535) throw std::runtime_error("metrics: bad port in '" + host_port + "'");
  const tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  tcp::acceptor& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("metrics: cannot listen on " + host_port + ": " + ec.message());
  impl_->port = a.local_endpoint().port();
  if (!addr.is_loopback())
    spdlog::warn(
        "metrics: serving on {} - not a loopback address: anyone who can reach it can "
        "read the run's positions and PnL",
        host_port);
  impl_->accept();
}

http_server::~http_server() {
  close();
}

void http_server::close() {
  // On the io_context's thread or after it stopped: the acceptor is not shared with a handler
  // running at the same time (the caller stops the io_context first or posts this).
  beast::error_code ec;
  impl_->acceptor.close(ec);
}

uint16_t http_server::port() const noexcept {
  return impl_->port;
}

}  // namespace cats::net
