#include <utility>  // before Asio: Boost 1.74 with C++20 needs std::exchange declared first

#include "cats/net/https_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <deque>
#include <optional>

#include "cats/util/time.hpp"
#include "tls_connect.hpp"

namespace cats::net {

namespace http = boost::beast::http;
using namespace detail;  // NOLINT(google-build-using-namespace): this file's own plumbing

namespace {

// A kept connection idle longer than this is re-opened before use: servers close idle ones, and a
// request written into a connection the server is closing would come back "unknown".
constexpr auto max_idle = std::chrono::seconds(20);

}  // namespace

struct https_client::impl : std::enable_shared_from_this<impl> {
  using stream_t = beast::ssl_stream<beast::tcp_stream>;
  struct item {
    http_request req;
    std::function<void(http_result)> done;
  };

  impl(asio::io_context& io_, url_parts u, tls_options t, std::chrono::milliseconds to)
      : io(io_), url(std::move(u)), ctx(make_context(t)), timeout(to), wake(io_) {}

  asio::io_context& io;
  url_parts url;
  std::shared_ptr<ssl::context> ctx;
  std::chrono::milliseconds timeout;
  asio::steady_timer wake;
  std::deque<item> queue;
  std::unique_ptr<stream_t> stream;
  std::chrono::steady_clock::time_point last_used{};
  bool stopped = false;

  void close() {
    if (!stream) return;
    boost::system::error_code ec;
    beast::get_lowest_layer(*stream).socket().close(ec);
    stream.reset();
  }

  asio::awaitable<void> send(item& it, http_result& r) {
    std::string refused;
    try {
      if (stream && std::chrono::steady_clock::now() - last_used > max_idle) close();
      if (!stream) {
        stream = std::make_unique<stream_t>(io, *ctx);
        co_await connect_tls(*stream, url, timeout, refused);
      }
      http::request<http::string_body> req;
      req.method(http::string_to_verb(it.req.method));
      req.target(it.req.target);
      req.version(11);
      req.set(http::field::host, url.port == "443" ? url.host : url.host + ":" + url.port);
      req.set(http::field::user_agent, "cats");
      for (const auto& [k, v] : it.req.headers) req.set(k, v);
      if (!it.req.content_type.empty()) req.set(http::field::content_type, it.req.content_type);
      req.body() = std::move(it.req.body);
      req.keep_alive(true);
      req.prepare_payload();
      auto& tcp_layer = beast::get_lowest_layer(*stream);
      tcp_layer.expires_after(timeout);
      r.write_ns = steady_clock_ns();
      co_await http::async_write(*stream, req, asio::use_awaitable);
      r.written = true;
      beast::flat_buffer buf;
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      co_await http::async_read(*stream, buf, parser, asio::use_awaitable);
      auto res = parser.release();
      r.status = static_cast<int>(res.result_int());
      for (const auto& f : res) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers.emplace_back(std::move(name), std::string(f.value()));
      }
      r.body = std::move(res.body());
      r.body.reserve(r.body.size() + 64);
      last_used = std::chrono::steady_clock::now();
      if (!res.keep_alive()) close();
    } catch (const boost::system::system_error& e) {
      r.error = refused.empty() ? describe(e) : refused;
      close();
    } catch (const std::exception& e) {
      r.error = e.what();
      close();
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    for (;;) {
      while (queue.empty() && !stopped) {
        boost::system::error_code ec;
        wake.expires_at(std::chrono::steady_clock::time_point::max());
        co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (stopped) break;
      item it = std::move(queue.front());
      queue.pop_front();
      http_result r;
      co_await send(it, r);
      if (it.done) it.done(std::move(r));
    }
    close();
    for (item& it : queue) {
      http_result r;
      r.error = "stopped";
      if (it.done) it.done(std::move(r));
    }
    queue.clear();
  }
};

https_client::https_client(asio::io_context& io, const std::string& base_url, tls_options tls,
                           std::chrono::milliseconds timeout) {
  url_parts url;
  std::string error;
  if (!parse_url(base_url, url, error)) throw std::invalid_argument(error);
  impl_ = std::make_shared<impl>(io, std::move(url), std::move(tls), timeout);
  asio::co_spawn(io, impl_->run(), asio::detached);
}

https_client::~https_client() {
  stop();
}

void https_client::request(http_request req, std::function<void(http_result)> done) {
  asio::post(impl_->io, [i = impl_, it = impl::item{std::move(req), std::move(done)}]() mutable {
    if (i->stopped) {
      http_result r;
      r.error = "stopped";
      if (it.done) it.done(std::move(r));
      return;
    }
    i->queue.push_back(std::move(it));
    i->wake.cancel();
  });
}

void https_client::stop() {
  asio::post(impl_->io, [i = impl_] {
    i->stopped = true;
    i->wake.cancel();
  });
}

}  // namespace cats::net
