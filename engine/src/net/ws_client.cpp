// The only translation unit that includes Beast on the client side (it is slow to compile).
#include <utility>  // before Asio: Boost 1.74 with C++20 needs std::exchange declared first

#include "cats/net/ws_client.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <random>

#include "cats/util/time.hpp"
#include "tls_connect.hpp"

namespace cats::net {

using detail::connect_tls;
using detail::describe;
using detail::make_context;

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

bool parse_url(std::string_view url, url_parts& out, std::string& error) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    error = "'" + std::string(url) + "' is not a URL (expected wss://host[:port]/path)";
    return false;
  }
  out.scheme = std::string(url.substr(0, sep));
  if (out.scheme != "wss" && out.scheme != "https") {
    error = "'" + std::string(url) + "': scheme must be wss or https (TLS only), got '" +
            out.scheme + "'";
    return false;
  }
  std::string_view rest = url.substr(sep + 3);
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!out.target.empty() && out.target.front() == '?') out.target.insert(0, "/");
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  } else {
    out.host = std::string(authority);
    out.port = "443";
  }
  if (out.host.empty()) {
    error = "'" + std::string(url) + "' has no host";
    return false;
  }
  if (out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos ||
      out.port.size() > 5 || std::stoi(out.port) > 65535 || std::stoi(out.port) == 0) {
    error = "'" + std::string(url) + "' has a bad port '" + out.port + "'";
    return false;
  }
  return true;
}

// ---- WebSocket client ---------------------------------------------------------------------------

struct ws_client::impl : std::enable_shared_from_this<impl> {
  using ws_stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

  impl(asio::io_context& io_, const ws_options& o, handlers h_, ws_stats& s)
      : io(io_), opt(o), h(std::move(h_)), stats(s), timer(io_), rng(std::random_device{}()) {}

  asio::io_context& io;
  ws_options opt;
  handlers h;
  ws_stats& stats;
  asio::steady_timer timer;
  std::mt19937_64 rng;
  url_parts url;
  std::shared_ptr<ssl::context> ctx;
  std::unique_ptr<ws_stream> ws;
  std::deque<std::string> outbox;
  bool writing = false;
  bool open = false;
  bool stopped = false;
  std::string forced_reason;
  std::atomic<int64_t> last_rx{0};  // steady-clock time of the last frame received (ns)
  uint64_t connection_id = 0;

  std::string cert_refused;  // why the last handshake refused the peer's certificate

  asio::awaitable<void> session() {
    ws = std::make_unique<ws_stream>(io, *ctx);
    co_await connect_tls(ws->next_layer(), url, opt.connect_timeout, cert_refused);
    beast::get_lowest_layer(*ws).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = opt.connect_timeout;
    // Beast's own idle timeout re-arms a timer (a timerfd system call) on every read; the
    // watchdog below checks the time of the last frame a few times per timeout instead.
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws->set_option(t);
    ws->control_callback([this](websocket::frame_type, beast::string_view) {
      last_rx.store(steady_clock_ns(), std::memory_order_relaxed);
    });
    if (opt.permessage_deflate) {
      websocket::permessage_deflate pmd;
      pmd.client_enable = true;
      ws->set_option(pmd);
    }
    ws->set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set(http::field::user_agent, "cats"); }));
    std::string host = url.host;
    if (url.port != "443") host += ":" + url.port;
    co_await ws->async_handshake(host, url.target, asio::use_awaitable);
    ws->read_message_max(64 << 20);
    co_return;
  }

  // Pings after half the read timeout of silence; closes the connection (a stall) after the whole
  // timeout without any frame, pong included.
  asio::awaitable<void> watchdog(uint64_t generation) {
    auto self = shared_from_this();
    const int64_t timeout_ns = static_cast<int64_t>(opt.read_timeout.count()) * 1'000'000;
    asio::steady_timer t(io);
    bool pinged = false;
    while (!stopped && open && generation == connection_id) {
      t.expires_after(opt.read_timeout / 8);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopped || !open || generation != connection_id) break;
      const int64_t silent = steady_clock_ns() - last_rx.load(std::memory_order_relaxed);
      if (silent >= timeout_ns) {
        forced_reason = "no data for " + std::to_string(silent / 1'000'000) + " ms (read timeout " +
                        std::to_string(opt.read_timeout.count()) + " ms): the connection stalled";
        close_socket();
        break;
      }
      if (silent >= timeout_ns / 2 && !pinged) {
        pinged = true;
        if (opt.keepalive_text.empty())
          ws->async_ping({}, [](const boost::system::error_code&) {});
        else
          enqueue(opt.keepalive_text);
      } else if (silent < timeout_ns / 2) {
        pinged = false;
      }
    }
  }

  asio::awaitable<void> read_loop() {
    beast::flat_buffer buf;
    for (;;) {
      co_await ws->async_read(buf, asio::use_awaitable);
      const int64_t ts = wall_clock_ns();
      last_rx.store(steady_clock_ns(), std::memory_order_relaxed);
      const size_t n = buf.size();
      buf.reserve(n + 64);  // simdjson reads up to 64 bytes past the end
      stats.messages.fetch_add(1, std::memory_order_relaxed);
      stats.bytes.fetch_add(n, std::memory_order_relaxed);
      h.on_message(static_cast<const char*>(buf.data().data()), n, ts);
      buf.consume(n);
    }
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    int attempt = 0, tls_failures = 0;
    int64_t down_since = 0, opened_at = 0;
    while (!stopped) {
      std::string reason;
      bool was_open = false;
      try {
        co_await session();
        open = true;
        was_open = true;
        tls_failures = 0;
        opened_at = steady_clock_ns();
        stats.connected.store(true);
        stats.connects.fetch_add(1, std::memory_order_relaxed);
        if (down_since != 0) {
          const int64_t down = wall_clock_ns() - down_since;
          stats.downtime_ns.fetch_add(down, std::memory_order_relaxed);
          spdlog::info("{}: reconnected to {} after {:.3f} s down", opt.name, opt.url,
                       static_cast<double>(down) / 1e9);
        } else {
          spdlog::info("{}: connected to {}", opt.name, opt.url);
        }
        last_rx.store(steady_clock_ns(), std::memory_order_relaxed);
        ++connection_id;
        asio::co_spawn(io, watchdog(connection_id), asio::detached);
        if (h.on_open) h.on_open();
        co_await read_loop();
      } catch (const boost::system::system_error& e) {
        reason = describe(e);
      } catch (const std::exception& e) {
        reason = e.what();
      }
      open = false;
      stats.connected.store(false);
      ++connection_id;  // the watchdog and writer of the lost connection end
      writing = false;
      outbox.clear();
      if (ws) {
        boost::system::error_code ec;
        beast::get_lowest_layer(*ws).socket().close(ec);
      }
      if (stopped) break;
      if (!forced_reason.empty()) {
        reason = forced_reason;
        forced_reason.clear();
      }
      if (was_open) {
        stats.disconnects.fetch_add(1, std::memory_order_relaxed);
        down_since = wall_clock_ns();
        spdlog::warn("{}: disconnected from {}: {}", opt.name, opt.url, reason);
        // Only a connection that lasted resets the backoff.
        if (steady_clock_ns() - opened_at >=
            std::chrono::duration_cast<std::chrono::nanoseconds>(opt.stable_after).count())
          attempt = 0;
      } else if (!cert_refused.empty()) {
        spdlog::error("{}: cannot connect to {}: {} (attempt {} of {})", opt.name, opt.url,
                      cert_refused, tls_failures + 1, opt.max_tls_failures);
        if (++tls_failures >= opt.max_tls_failures) {
          spdlog::critical(
              "{}: giving up on {}: the certificate was refused {} times in a row ({})", opt.name,
              opt.url, tls_failures, cert_refused);
          stats.gave_up.store(true);
          if (h.on_disconnect) h.on_disconnect(cert_refused);
          break;
        }
      } else {
        tls_failures = 0;  // "in a row": another kind of failure breaks the run of refusals
        spdlog::warn("{}: cannot connect to {}: {}", opt.name, opt.url, reason);
      }
      if (h.on_disconnect) h.on_disconnect(reason);
      // Capped exponential backoff with +-25 % jitter, so many clients do not retry in step.
      const double base = std::min<double>(static_cast<double>(opt.backoff_max.count()),
                                           static_cast<double>(opt.backoff_initial.count()) *
                                               static_cast<double>(1u << std::min(attempt, 16)));
      std::uniform_real_distribution<double> jitter(0.75, 1.25);
      const auto delay = std::chrono::microseconds(static_cast<int64_t>(base * jitter(rng) * 1000));
      ++attempt;
      timer.expires_after(delay);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Queues a text message for the writer (io thread).
  void enqueue(std::string text) {
    outbox.push_back(std::move(text));
    // One writer at a time (Beast allows one write in flight): set before the coroutine first
    // runs, or a second message right after this one would start another.
    if (!writing) {
      writing = true;
      asio::co_spawn(io, write_loop(connection_id), asio::detached);
    }
  }

  // Drains the outbox on the connection it was started for; a later connection starts its own.
  asio::awaitable<void> write_loop(uint64_t generation) {
    auto self = shared_from_this();
    ws_stream* stream = ws.get();
    try {
      while (open && generation == connection_id && !outbox.empty()) {
        // Owned here while Beast reads it: a disconnect clears the outbox meanwhile.
        const std::string message = std::move(outbox.front());
        outbox.pop_front();
        co_await stream->async_write(asio::buffer(message), asio::use_awaitable);
      }
    } catch (const boost::system::system_error& e) {
      if (generation == connection_id) spdlog::warn("{}: send failed: {}", opt.name, describe(e));
    }
    if (generation == connection_id) writing = false;
  }

  void close_socket() {
    if (!ws) return;
    boost::system::error_code ec;
    beast::get_lowest_layer(*ws).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(*ws).socket().close(ec);
  }
};

ws_client::ws_client(asio::io_context& io, ws_options options, handlers h)
    : options_(std::move(options)) {
  impl_ = std::make_shared<impl>(io, options_, std::move(h), stats_);
  std::string error;
  if (!parse_url(options_.url, impl_->url, error)) throw std::invalid_argument(error);
  if (impl_->url.scheme != "wss")
    throw std::invalid_argument(options_.name + ": WebSocket URL must start with wss://, got '" +
                                options_.url + "'");
  try {
    impl_->ctx = make_context(options_.tls);
  } catch (const boost::system::system_error& e) {
    throw std::invalid_argument(options_.name + ": cannot load CA file '" +
                                options_.tls.ca_file.string() + "': " + e.code().message());
  }
}

ws_client::~ws_client() = default;

void ws_client::start() {
  asio::co_spawn(impl_->io, impl_->run(), asio::detached);
}

void ws_client::stop() {
  auto p = impl_;
  asio::post(p->io, [p] {
    p->stopped = true;
    p->timer.cancel();
    p->close_socket();
  });
}

void ws_client::send(std::string text) {
  if (!impl_->open) return;
  impl_->enqueue(std::move(text));
}

void ws_client::reconnect(std::string reason) {
  auto p = impl_;
  asio::post(p->io, [p, reason = std::move(reason)]() mutable {
    if (!p->open) return;
    p->forced_reason = std::move(reason);
    p->close_socket();
  });
}

// ---- HTTPS GET ----------------------------------------------------------------------------------

namespace {

asio::awaitable<void> do_request(http::verb verb, std::string url_text, tls_options tls,
                                 std::chrono::milliseconds timeout,
                                 std::function<void(http_response)> done) {
  http_response out;
  std::string refused;  // outlives the stream whose verify callback writes it
  try {
    url_parts url;
    std::string error;
    if (!parse_url(url_text, url, error)) throw std::invalid_argument(error);
    auto ctx = make_context(tls);
    auto ex = co_await asio::this_coro::executor;
    beast::ssl_stream<beast::tcp_stream> stream(ex, *ctx);
    co_await connect_tls(stream, url, timeout, refused);
    http::request<http::empty_body> req{verb, url.target, 11};
    req.set(http::field::host, url.port == "443" ? url.host : url.host + ":" + url.port);
    req.set(http::field::user_agent, "cats");
    req.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(timeout);
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    co_await http::async_read(stream, buf, parser, asio::use_awaitable);
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    out.body.reserve(out.body.size() + 64);
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
  } catch (const boost::system::system_error& e) {
    out.error = refused.empty() ? describe(e) : refused;
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  done(std::move(out));
}

}  // namespace

void https_get(asio::io_context& io, const std::string& url, const tls_options& tls,
               std::chrono::milliseconds timeout, std::function<void(http_response)> done) {
  asio::co_spawn(io, do_request(http::verb::get, url, tls, timeout, std::move(done)),
                 asio::detached);
}

http_response https_request(const std::string& method, const std::string& url,
                            const tls_options& tls, std::chrono::milliseconds timeout) {
  asio::io_context io;
  http_response out;
  const http::verb verb = method == "POST" ? http::verb::post : http::verb::get;
  asio::co_spawn(io,
                 do_request(verb, url, tls, timeout, [&](http_response r) { out = std::move(r); }),
                 asio::detached);
  io.run();
  return out;
}

}  // namespace cats::net
