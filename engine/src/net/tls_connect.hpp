// TLS client plumbing shared by the WebSocket client and the HTTPS client (net/ only; it
// includes Beast, which compiles slowly).
#pragma once

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "cats/net/ws_client.hpp"

namespace cats::net::detail {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using tcp = boost::asio::ip::tcp;

inline std::shared_ptr<ssl::context> make_context(const tls_options& tls) {
  // A trust store replaced through the environment changes whom the engine trusts: say so, once.
  static std::atomic<bool> told{false};
  for (const char* var : {"SSL_CERT_FILE", "SSL_CERT_DIR"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0' && !told.exchange(true))
      spdlog::warn("TLS: the system trust store is overridden by {}={}", var, v);
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_default_verify_paths();
  if (!tls.ca_file.empty()) ctx->load_verify_file(tls.ca_file.string());
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

inline bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Connects TCP + TLS (SNI, verified certificate and host name) with a deadline. A refused
// certificate is explained in `refused` (why, and whose certificate).
template <class SslStream>
asio::awaitable<void> connect_tls(SslStream& stream, const url_parts& url,
                                  std::chrono::milliseconds timeout, std::string& refused) {
  refused.clear();
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  const auto results = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(timeout);
  co_await tcp_layer.async_connect(results, asio::use_awaitable);
  tcp_layer.socket().set_option(tcp::no_delay(true));
  if (!is_ip_literal(url.host) &&
      !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    throw boost::system::system_error(
        beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
        "SNI");
  }
  stream.set_verify_callback([&refused, check = ssl::host_name_verification(url.host),
                              host = url.host](bool preverified, ssl::verify_context& vc) mutable {
    X509_STORE_CTX* c = vc.native_handle();
    X509* cert = X509_STORE_CTX_get_current_cert(c);
    char subject[256] = "?";
    if (cert != nullptr) X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    if (!preverified) {
      const int err = X509_STORE_CTX_get_error(c);
      refused = std::string("certificate refused: ") + X509_verify_cert_error_string(err) +
                (err == X509_V_ERR_CERT_HAS_EXPIRED ? " (expired)" : "") + " [" + subject + "]";
      return false;
    }
    if (!check(preverified, vc)) {
      refused = "certificate refused: it is not valid for host " + host + " [" + subject + "]";
      return false;
    }
    return true;
  });
  tcp_layer.expires_after(timeout);
  co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
}

inline std::string describe(const boost::system::system_error& e) {
  std::string what = e.code().message();
  if (e.code().category() == asio::error::get_ssl_category()) {
    char buf[256];
    ERR_error_string_n(static_cast<unsigned long>(e.code().value()), buf, sizeof buf);
    what = std::string("TLS: ") + buf;
  }
  return what;
}

}  // namespace cats::net::detail
