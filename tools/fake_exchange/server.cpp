// Boost 1.74's Asio uses std::exchange without including <utility> when compiled as C++20 with
// GCC 12; it has to come first.
#include <utility>

#include "server.hpp"

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cats/core/fixed.hpp"
#include "cats/venues/okx/book_sync.hpp"
#include "market.hpp"
#include "private.hpp"
#include "render.hpp"
#include "script.hpp"

namespace cats::fake {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using ws_stream = websocket::stream<tls_stream>;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;
using steady = std::chrono::steady_clock;

// A connection further behind than this many events is dropped, as a venue drops slow readers;
// the log it pins would otherwise grow without bound (about 270 bytes an event, so ~135 MB).
constexpr uint64_t max_lag_events = 500'000;
// The generator wakes at most this often; at high rates each wake-up emits a batch.
constexpr auto tick = std::chrono::microseconds(200);
constexpr uint64_t max_batch = 20'000;

int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The steady clock in ns: --paced schedules and measures lateness on it (a wall clock step must
// not shift the figures).
int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <typename... Args>
void note(const char* fmt, Args... args) noexcept {
  std::fprintf(stderr, "fake_exchange: ");
  std::fprintf(stderr, fmt, args...);
  std::fputc('\n', stderr);
}

void log_exception(std::exception_ptr e, const char* what) noexcept {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    note("%s: %s", what, x.what());
  } catch (...) {
    note("%s: unknown exception", what);
  }
}

bool parse_uint(std::string_view text, uint64_t& out) noexcept {
  if (text.empty()) return false;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc{} && r.ptr == text.data() + text.size();
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 &&
               hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The path and query parameters of a request target.
struct target {
  std::string path;
  std::map<std::string, std::string> params;

  explicit target(std::string_view t) {
    const size_t q = t.find('?');
    path = url_decode(t.substr(0, q));
    if (q == std::string_view::npos) return;
    std::string_view rest = t.substr(q + 1);
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      const size_t eq = pair.find('=');
      if (!pair.empty()) {
        params[url_decode(pair.substr(0, eq))] =
            eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
      }
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  const std::string* get(const std::string& name) const {
    const auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  }
};

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t p = s.find(sep);
    if (p != 0) out.emplace_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s = s.substr(p + 1);
  }
  return out;
}

response make_response(const request& req, http::status status, std::string body) {
  response res{status, req.version()};
  res.set(http::field::server, "cats-fake-exchange");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string error_json(std::string_view msg) {
  std::string out = "{\"error\":";
  append_json_string(out, msg);
  out += '}';
  return out;
}

class server;

// One WebSocket connection: a reader that handles subscriptions and pings, and a writer that
// walks the market log from its own cursor and renders what this connection subscribed to.
//
// Beast does the upgrade handshake only. After it, frames are read and written directly on the
// TLS stream: Beast writes one TLS record (and one send) per message, which at 100k messages/s
// costs more CPU than everything else; here every message that is due goes into one buffer and
// out in one write. The reader answers pings itself, so nothing else writes to the stream.
class ws_session : public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(server& srv, ws_stream ws, venue where, bool combined);
  ~ws_session();
  ws_session(const ws_session&) = delete;
  ws_session& operator=(const ws_session&) = delete;

  /// Accepts the upgrade, then serves until the connection ends.
  asio::awaitable<void> run(request req, std::vector<subscription> initial);
  /// New events or control messages are waiting.
  void wake();
  /// Closes the TCP connection without a WebSocket close frame.
  void drop();
  void set_malformed(int n) { malformed_left_ = n; }
  /// The WebSocket API endpoint (/ws-api/v3): requests, and user-stream events once subscribed.
  void set_user_api() { user_api_ = true; }
  /// Queues a text message (a user-stream event).
  void push_text(std::string_view msg) { send_control(msg); }
  uint64_t cursor() const noexcept { return cursor_; }
  bool closed() const noexcept { return closed_; }

 private:
  enum opcode : uint8_t { op_text = 1, op_close = 8, op_ping = 9, op_pong = 10 };
  static constexpr size_t batch_bytes = 64 * 1024;  // one write; TLS splits it into records
  static constexpr size_t max_message = 1 << 20;

  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  /// Parses the complete frames at the start of in_; false on a protocol violation.
  bool parse_frames();
  void on_message(std::string_view text);
  void on_binance_text(std::string_view text);
  void on_user_api(simdjson::dom::element doc, const std::string& id);
  void on_okx_private(simdjson::dom::element doc);
  bool logged_in_ = false;
  void on_okx_text(std::string_view text);
  void add_subscription(subscription sub);
  void send_control(std::string_view msg, uint8_t op = op_text);
  static void append_frame(std::string& out, uint8_t op, std::string_view payload);

  server& srv_;
  ws_stream ws_;  // after the handshake only its next layer is used
  venue venue_;
  bool combined_;
  std::string conn_id_;
  std::vector<subscription> subs_;
  std::string control_;   // framed replies, snapshots and pongs; sent before more market data
  bool closing_ = false;  // a close frame is queued: send it, then hang up
  uint64_t cursor_ = 0;   // next log index to render
  int malformed_left_ = 0;
  int malformed_variant_ = 0;
  bool user_api_ = false;
  asio::steady_timer wake_;
  bool waiting_ = false;
  bool closed_ = false;
  std::string out_;      // one rendered message
  std::string batch_;    // framed messages for one write
  std::string in_;       // received bytes not yet parsed
  std::string message_;  // a fragmented message being assembled
};

class server {
 public:
  server(const options& opt, market& mkt, ssl::context& ctx, std::vector<script_line> script)
      : opt_(opt),
        mkt_(mkt),
        ctx_(ctx),
        script_(std::move(script)),
        private_(private_options{opt.api_key, opt.api_secret, opt.api_passphrase}, mkt,
                 [this](venue v, const std::string& e) {
                   for (ws_session* s : v == venue::okx ? okx_streams_ : user_streams_)
                     s->push_text(e);
                 }) {}

  /// Binds, writes the port file, and spawns the acceptor, the generator and the signal handler.
  bool start(asio::io_context& ioc);

  market& mkt() noexcept { return mkt_; }
  const options& opts() const noexcept { return opt_; }
  bool script_mode() const noexcept { return !opt_.script_file.empty(); }
  const std::vector<script_line>& script() const noexcept { return script_; }
  steady::time_point stall_until() const noexcept { return stall_until_; }
  simdjson::dom::parser& json() noexcept { return json_; }

  void add(ws_session* s) { sessions_.insert(s); }
  void remove(ws_session* s) {
    sessions_.erase(s);
    user_streams_.erase(s);
    okx_streams_.erase(s);
  }
  void add_user_stream(ws_session* s) { user_streams_.insert(s); }
  void add_okx_stream(ws_session* s) { okx_streams_.insert(s); }
  private_side& priv() noexcept { return private_; }
  /// Starts the generator (or the script) at the first subscription, unless told otherwise.
  void on_subscribed();
  void start_generator();
  uint64_t* counter(venue v, const std::string& key) { return &sent_[static_cast<int>(v)][key]; }
  void count_message() noexcept { ++messages_sent_; }
  /// --paced: a message of an event due at `due_ns` went out at `sent_ns`.
  void count_lateness(int64_t due_ns, int64_t sent_ns) {
    if (lateness_ns_.size() < (1u << 24)) lateness_ns_.push_back(sent_ns - due_ns);
  }
  /// --paced: the distribution of send lateness, one line.
  std::string lateness_report();
  void count_malformed() noexcept { ++malformed_sent_; }
  void count_text_ping() noexcept { ++text_pings_; }
  std::string next_conn_id() {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", 0x5eed0000u + ++connections_accepted_);
    return buf;
  }
  void shutdown();

 private:
  asio::awaitable<void> accept_loop(tcp::acceptor acceptor);
  asio::awaitable<void> serve(tcp::socket socket);
  asio::awaitable<void> upgrade(tls_stream stream, request req);
  asio::awaitable<void> generate_loop();
  asio::awaitable<void> paced_loop(asio::steady_timer& timer);
  asio::awaitable<void> script_loop();
  asio::awaitable<void> wait_for_start(asio::steady_timer& timer);
  void after_events();
  response handle(const request& req, bool& shutdown_after);
  response binance_depth(const request& req, const target& t);
  response binance_exchange_info(const request& req, const target& t);
  response okx_books(const request& req, const target& t);
  response control(const request& req, const target& t, bool& shutdown_after);
  response private_control(const request& req, const target& t, const std::string& action);
  std::string stats_json() const;

  const options& opt_;
  market& mkt_;
  ssl::context& ctx_;
  std::vector<script_line> script_;
  asio::io_context* ioc_ = nullptr;
  std::set<ws_session*> sessions_;
  std::set<ws_session*> user_streams_;
  std::set<ws_session*> okx_streams_;  // subscribed to the private `orders` channel
  private_side private_;
  bool drop_response_ = false;  // the request was processed; hang up without answering
  // /control/data: the next cut_times_ /data/ bodies stop after cut_bytes_ bytes.
  uint64_t cut_bytes_ = 0, cut_times_ = 0;
  size_t cut_now_ = SIZE_MAX;  // the response being sent is cut after this many body bytes
  response public_data(const request& req, const target& t);
  // /control/status: the next public_status_n_ public REST requests get this status.
  int public_status_code_ = 0, public_status_n_ = 0, public_status_retry_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  asio::steady_timer* start_timer_ = nullptr;  // the generator's timer while it waits to start
  steady::time_point stall_until_{};
  simdjson::dom::parser json_;
  std::map<std::string, uint64_t> sent_[2];  // per venue: stream key -> messages
  uint64_t messages_sent_ = 0;
  std::vector<int64_t> lateness_ns_;  // --paced: sent - due per message
  uint64_t malformed_sent_ = 0;
  uint64_t text_pings_ = 0;  // OKX's "ping" text keep-alives received
  uint64_t dropped_ = 0;
  uint32_t connections_accepted_ = 0;
  uint64_t http_requests_ = 0;
};

// ---- ws_session -------------------------------------------------------------------------------

ws_session::ws_session(server& srv, ws_stream ws, venue where, bool combined)
    : srv_(srv),
      ws_(std::move(ws)),
      venue_(where),
      combined_(combined),
      conn_id_(srv.next_conn_id()),
      wake_(ws_.get_executor()) {}

ws_session::~ws_session() {
  srv_.remove(this);
}

void ws_session::wake() {
  if (waiting_) wake_.cancel();
}

void ws_session::drop() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
  beast::get_lowest_layer(ws_).socket().close(ec);
  wake_.cancel();
}

void ws_session::append_frame(std::string& out, uint8_t op, std::string_view payload) {
  char header[10];
  size_t n = 0;
  header[n++] = static_cast<char>(0x80 | op);  // FIN: never fragmented
  const uint64_t len = payload.size();
  if (len < 126) {
    header[n++] = static_cast<char>(len);
  } else if (len < 65536) {
    header[n++] = 126;
    header[n++] = static_cast<char>(len >> 8);
    header[n++] = static_cast<char>(len & 0xff);
  } else {
    header[n++] = 127;
    for (int shift = 56; shift >= 0; shift -= 8) {
      header[n++] = static_cast<char>((len >> shift) & 0xff);
    }
  }
  out.append(header, n);
  out.append(payload);
}

void ws_session::send_control(std::string_view msg, uint8_t op) {
  append_frame(control_, op, msg);
  wake();
}

void ws_session::add_subscription(subscription sub) {
  sub.since = srv_.mkt().log_end();
  sub.sent = srv_.counter(sub.where, sub.key);
  for (auto& s : subs_) {
    if (s.key == sub.key) {
      s = std::move(sub);
      srv_.on_subscribed();
      return;
    }
  }
  subs_.push_back(std::move(sub));
  srv_.on_subscribed();
}

asio::awaitable<void> ws_session::run(request req, std::vector<subscription> initial) {
  auto self = shared_from_this();
  // The TCP stream's own timeout covers the handshake; Beast's websocket timer stays off
  // because Beast does not read or write this stream after the handshake.
  ws_.set_option(websocket::stream_base::timeout{websocket::stream_base::none(),
                                                 websocket::stream_base::none(), false});
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "cats-fake-exchange"); }));
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
  beast::error_code ec;
  co_await ws_.async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
  beast::get_lowest_layer(ws_).expires_never();
  if (ec) co_return;
  srv_.add(this);
  cursor_ = srv_.mkt().log_end();
  for (auto& s : initial) add_subscription(std::move(s));
  asio::co_spawn(
      ws_.get_executor(), [self]() { return self->write_loop(); },
      [](std::exception_ptr e) { log_exception(e, "websocket writer"); });
  co_await read_loop();
  if (!closing_) drop();
}

asio::awaitable<void> ws_session::read_loop() {
  beast::error_code ec;
  char buf[16384];
  while (!closed_ && !closing_) {
    const size_t n = co_await ws_.next_layer().async_read_some(
        asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    in_.append(buf, n);
    if (!parse_frames()) {
      // RFC 6455 7.4.1: 1002 protocol error.
      send_control(std::string_view("\x03\xea", 2), op_close);
      closing_ = true;
      break;
    }
  }
}

bool ws_session::parse_frames() {
  size_t pos = 0;
  for (;;) {
    const size_t avail = in_.size() - pos;
    if (avail < 2) break;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + pos);
    const bool fin = (p[0] & 0x80) != 0;
    const uint8_t op = p[0] & 0x0f;
    const bool masked = (p[1] & 0x80) != 0;
    if ((p[0] & 0x70) != 0 || !masked) return false;  // no extensions; clients must mask
    uint64_t len = p[1] & 0x7f;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t{p[2]} << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (len > max_message) return false;
    if (avail < header + 4 + len) break;
    const unsigned char* mask = p + header;
    std::string payload(reinterpret_cast<const char*>(p + header + 4), len);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= static_cast<char>(mask[i % 4]);
    pos += header + 4 + len;
    switch (op) {
      case 0:  // continuation
        message_ += payload;
        if (message_.size() > max_message) return false;
        if (fin) on_message(std::exchange(message_, std::string()));
        break;
      case 1:
      case 2:
        if (fin) {
          on_message(payload);
        } else {
          message_ = std::move(payload);
        }
        break;
      case op_close:
        // Echo the status code and hang up once the writer has sent it.
        send_control(std::string_view(payload).substr(0, std::min<size_t>(payload.size(), 2)),
                     op_close);
        closing_ = true;
        in_.clear();
        return true;
      case op_ping:
        send_control(payload, op_pong);
        break;
      case op_pong:
        break;
      default:
        return false;
    }
    if (closed_) return true;
  }
  in_.erase(0, pos);
  return true;
}

void ws_session::on_message(std::string_view text) {
  if (venue_ == venue::binance) {
    on_binance_text(text);
  } else {
    on_okx_text(text);
  }
}

asio::awaitable<void> ws_session::write_loop() {
  auto self = shared_from_this();
  beast::error_code ec;       // of writes: ends the loop
  beast::error_code wait_ec;  // of timer waits: cancelled on purpose by wake()
  market& m = srv_.mkt();
  render_options opt;
  opt.combined = combined_;
  opt.stamp_ns = srv_.opts().stamp_ns;
  while (!closed_) {
    if (srv_.stall_until() > steady::now()) {
      waiting_ = true;
      wake_.expires_at(srv_.stall_until());
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
      waiting_ = false;
      continue;
    }
    batch_.clear();
    if (!control_.empty()) batch_.swap(control_);
    // Everything that is due, up to one batch. Events stay in the log while this connection's
    // cursor has not passed them, so `e` stays valid (nothing below suspends).
    while (!closing_ && batch_.size() < batch_bytes && cursor_ < m.log_end()) {
      const market_event& e = m.at(cursor_);
      for (const subscription& sub : subs_) {
        if (sub.since > cursor_) continue;
        const bool malformed = malformed_left_ > 0;
        const int variant = malformed ? malformed_variant_ % 3 : -1;
        opt.omit_field = variant == 2;
        const bool have = e.kind == event_kind::script
                              ? render_script(srv_.script()[e.aux], sub, combined_, out_)
                              : render_event(m, e, sub, opt, now_ns(), out_);
        if (!have) continue;
        if (malformed) {
          --malformed_left_;
          ++malformed_variant_;
          if (variant != 2 || e.kind == event_kind::script) corrupt(out_, variant == 1 ? 1 : 0);
          srv_.count_malformed();
        }
        ++*sub.sent;
        srv_.count_message();
        if (e.due_ns != 0) srv_.count_lateness(e.due_ns, steady_ns());
        append_frame(batch_, op_text, out_);
      }
      ++cursor_;
    }
    if (!batch_.empty()) {
      co_await asio::async_write(ws_.next_layer(), asio::buffer(batch_),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      continue;
    }
    if (closing_) break;  // the close frame went out with the last batch
    waiting_ = true;
    wake_.expires_at(steady::time_point::max());
    co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
    waiting_ = false;
  }
  drop();
}

void ws_session::on_binance_text(std::string_view text) {
  std::string id = "null";
  auto reply_error = [&](int code, std::string_view msg) {
    std::string out = "{\"error\":{\"code\":";
    append_int(out, code);
    out += ",\"msg\":";
    append_json_string(out, msg);
    out += "},\"id\":";
    out += id;
    out += '}';
    send_control(std::move(out));
  };
  simdjson::dom::element doc;
  if (srv_.json().parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS) {
    reply_error(3, "Invalid JSON: expected value at line 1 column 1");
    return;
  }
  if (simdjson::dom::element idv; doc["id"].get(idv) == simdjson::SUCCESS) {
    if (!idv.is_int64() && !idv.is_uint64() && !idv.is_string() && !idv.is_null()) {
      reply_error(1, "Invalid value type: expected u64 or string");
      return;
    }
    id = simdjson::minify(idv);
  }
  if (user_api_) {
    on_user_api(doc, id);
    return;
  }
  std::string_view method;
  if (doc["method"].get(method) != simdjson::SUCCESS) {
    reply_error(2, "Invalid request: missing field `method`");
    return;
  }
  if (method == "LIST_SUBSCRIPTIONS") {
    std::string out = "{\"result\":[";
    for (size_t i = 0; i < subs_.size(); ++i) {
      if (i != 0) out += ',';
      append_json_string(out, subs_[i].name);
    }
    out += "],\"id\":" + id + "}";
    send_control(std::move(out));
    return;
  }
  if (method != "SUBSCRIBE" && method != "UNSUBSCRIBE") {
    reply_error(2, "Invalid request: unknown variant `" + std::string(method) +
                       "`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`");
    return;
  }
  simdjson::dom::array params;
  if (doc["params"].get(params) != simdjson::SUCCESS) {
    reply_error(2, "Invalid request: missing field `params`");
    return;
  }
  std::vector<subscription> parsed;
  for (auto p : params) {
    std::string_view name;
    std::string error;
    subscription sub;
    if (p.get(name) != simdjson::SUCCESS) {
      reply_error(1, "Invalid value type: expected string");
      return;
    }
    if (!parse_binance_stream(name, srv_.mkt(), srv_.script_mode(), sub, error)) {
      reply_error(2, "Invalid request: " + error);
      return;
    }
    parsed.push_back(std::move(sub));
  }
  // The reply goes out before any data of the new streams, as on Binance.
  send_control("{\"result\":null,\"id\":" + id + "}");
  for (auto& sub : parsed) {
    if (method == "SUBSCRIBE") {
      add_subscription(std::move(sub));
    } else {
      std::erase_if(subs_, [&](const subscription& s) { return s.key == sub.key; });
    }
  }
}

// The WebSocket API: only the user-data stream subscription is served.
void ws_session::on_user_api(simdjson::dom::element doc, const std::string& id) {
  std::string_view method, key, sig;
  int64_t ts = 0;
  simdjson::dom::element params;
  std::string error = "Unsupported method.";
  int code = -1000;
  if (doc["method"].get(method) == simdjson::SUCCESS &&
      method == "userDataStream.subscribe.signature") {
    error.clear();
    if (doc["params"].get(params) != simdjson::SUCCESS || params["apiKey"].get(key) != 0 ||
        params["timestamp"].get(ts) != 0 || params["signature"].get(sig) != 0) {
      error = "Mandatory parameter was not sent, was empty/null, or malformed.";
      code = -1102;
    } else if (!srv_.priv().check_subscription(key, ts, sig, error)) {
      code = -1022;
    }
  }
  std::string out = "{\"id\":" + id;
  if (error.empty()) {
    out += ",\"status\":200,\"result\":{\"subscriptionId\":0}}";
    srv_.add_user_stream(this);
  } else {
    out += ",\"status\":400,\"error\":{\"code\":" + std::to_string(code) + ",\"msg\":";
    append_json_string(out, error);
    out += "}}";
  }
  send_control(out);
}

// OKX's private WebSocket: `login`, then the `orders` channel.
void ws_session::on_okx_private(simdjson::dom::element doc) {
  std::string_view op, key, pass, ts, sign, channel;
  if (doc["op"].get(op) != simdjson::SUCCESS) op = {};
  simdjson::dom::element arg;
  const bool has_arg = doc["args"].at(0).get(arg) == simdjson::SUCCESS;
  if (op == "login") {
    std::string error = "Invalid request";
    const bool ok = has_arg && arg["apiKey"].get(key) == 0 && arg["passphrase"].get(pass) == 0 &&
                    arg["timestamp"].get(ts) == 0 && arg["sign"].get(sign) == 0 &&
                    srv_.priv().check_okx_login(key, pass, ts, sign, error);
    logged_in_ = ok;
    std::string out = std::string("{\"event\":\"") + (ok ? "login" : "error") + "\",\"code\":\"" +
                      (ok ? "0" : "60009") + "\",\"msg\":";
    append_json_string(out, ok ? "" : error);
    send_control(out + ",\"connId\":\"" + conn_id_ + "\"}");
    return;
  }
  if (op == "subscribe" && has_arg && arg["channel"].get(channel) == 0 && channel == "orders" &&
      logged_in_) {
    srv_.add_okx_stream(this);
    send_control(
        "{\"event\":\"subscribe\",\"arg\":{\"channel\":\"orders\",\"instType\":"
        "\"SPOT\"},\"connId\":\"" +
        conn_id_ + "\"}");
    return;
  }
  send_control("{\"event\":\"error\",\"code\":\"60011\",\"msg\":\"Please log in\",\"connId\":\"" +
               conn_id_ + "\"}");
}

void ws_session::on_okx_text(std::string_view text) {
  if (text == "ping") {
    srv_.count_text_ping();
    send_control("pong");
    return;
  }
  auto reply_error = [&](const char* code, std::string_view msg) {
    std::string out = "{\"event\":\"error\",\"code\":\"";
    out += code;
    out += "\",\"msg\":";
    append_json_string(out, msg);
    out += ",\"connId\":\"" + conn_id_ + "\"}";
    send_control(std::move(out));
  };
  simdjson::dom::element doc;
  std::string_view op;
  simdjson::dom::array args;
  if (srv_.json().parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS ||
      doc["op"].get(op) != simdjson::SUCCESS) {
    reply_error("60012", "Invalid request: " + std::string(text.substr(0, 200)));
    return;
  }
  if (user_api_) {
    on_okx_private(doc);
    return;
  }
  if (op != "subscribe" && op != "unsubscribe") {
    reply_error("60012", "Invalid request: " + std::string(text.substr(0, 200)));
    return;
  }
  if (doc["args"].get(args) != simdjson::SUCCESS) {
    reply_error("60012", "Invalid request: " + std::string(text.substr(0, 200)));
    return;
  }
  for (auto a : args) {
    std::string_view channel_name, inst;
    if (a["channel"].get(channel_name) != simdjson::SUCCESS ||
        a["instId"].get(inst) != simdjson::SUCCESS) {
      reply_error("60012", "Invalid request: " + std::string(text.substr(0, 200)));
      continue;
    }
    subscription sub;
    std::string error;
    if (!parse_okx_channel(channel_name, inst, srv_.mkt(), srv_.script_mode(), sub, error)) {
      reply_error("60018", error);
      continue;
    }
    std::string reply = "{\"event\":\"" + std::string(op) + "\",\"arg\":{\"channel\":";
    append_json_string(reply, sub.name);
    reply += ",\"instId\":";
    append_json_string(reply, sub.inst);
    reply += "},\"connId\":\"" + conn_id_ + "\"}";
    send_control(std::move(reply));
    if (op == "unsubscribe") {
      std::erase_if(subs_, [&](const subscription& s) { return s.key == sub.key; });
      continue;
    }
    if (sub.ch == channel::okx_books && sub.symbol >= 0 && !srv_.script_mode()) {
      // The snapshot is the book as of the log's end: exactly the updates after it follow.
      std::string snapshot;
      render_okx_book_snapshot(srv_.mkt().symbols()[static_cast<size_t>(sub.symbol)], sub, now_ns(),
                               snapshot);
      send_control(std::move(snapshot));
    }
    add_subscription(std::move(sub));
  }
}

// ---- server -----------------------------------------------------------------------------------

bool server::start(asio::io_context& ioc) {
  ioc_ = &ioc;
  beast::error_code ec;
  tcp::acceptor acceptor(ioc);
  const asio::ip::address_v4 addr = asio::ip::make_address_v4(opt_.bind, ec);
  if (ec) {
    note("--bind %s: not an IPv4 address", opt_.bind.c_str());
    return false;
  }
  const tcp::endpoint ep(addr, opt_.port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    note("cannot listen on %s:%u: %s", opt_.bind.c_str(), static_cast<unsigned>(opt_.port),
         ec.message().c_str());
    return false;
  }
  const unsigned port = acceptor.local_endpoint().port();
  if (!opt_.port_file.empty()) {
    // Readers poll for the file: write it under another name and rename, so it appears whole.
    const std::string tmp = opt_.port_file + ".tmp." + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << port << "\n";
      if (!out) {
        note("cannot write %s", tmp.c_str());
        return false;
      }
    }
    std::error_code fec;
    std::filesystem::rename(tmp, opt_.port_file, fec);
    if (fec) {
      note("cannot rename %s to %s: %s", tmp.c_str(), opt_.port_file.c_str(),
           fec.message().c_str());
      return false;
    }
  }
  std::printf("listening on %s:%u\n", opt_.bind.c_str(), port);
  std::fflush(stdout);

  auto on_error = [](const char* what) {
    return [what](std::exception_ptr e) { log_exception(e, what); };
  };
  asio::co_spawn(ioc, accept_loop(std::move(acceptor)), on_error("acceptor"));
  if (script_mode()) {
    asio::co_spawn(ioc, script_loop(), on_error("script"));
  } else {
    asio::co_spawn(ioc, generate_loop(), on_error("generator"));
  }
  if (opt_.start == options::start_mode::now) started_ = true;
  asio::co_spawn(
      ioc,
      [this]() -> asio::awaitable<void> {
        asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
        beast::error_code sec;
        co_await signals.async_wait(asio::redirect_error(asio::use_awaitable, sec));
        if (!sec) shutdown();
      },
      on_error("signals"));
  return true;
}

void server::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  ioc_->stop();
}

void server::on_subscribed() {
  if (opt_.start == options::start_mode::on_subscribe) start_generator();
}

void server::start_generator() {
  if (started_) return;
  started_ = true;
  if (start_timer_ != nullptr) start_timer_->cancel();
}

asio::awaitable<void> server::accept_loop(tcp::acceptor acceptor) {
  for (;;) {
    beast::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      note("accept: %s", ec.message().c_str());
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)),
                   [](std::exception_ptr e) { log_exception(e, "connection"); });
  }
}

asio::awaitable<void> server::serve(tcp::socket socket) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  tls_stream stream(std::move(socket), ctx_);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
  co_await stream.async_handshake(ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1 << 16);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec.category() == beast::error_code(http::error::end_of_stream).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        // Unparseable: answer 400 instead of just hanging up.
        request dummy;
        response res = make_response(dummy, http::status::bad_request,
                                     error_json("bad HTTP request: " + ec.message()));
        res.keep_alive(false);
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      }
      break;
    }
    request req = parser.release();
    if (websocket::is_upgrade(req)) {
      beast::get_lowest_layer(stream).expires_never();
      co_await upgrade(std::move(stream), std::move(req));
      co_return;
    }
    ++http_requests_;
    bool shutdown_after = false;
    response res;
    try {
      res = handle(req, shutdown_after);
    } catch (const std::exception& x) {
      res = make_response(req, http::status::internal_server_error, error_json(x.what()));
    }
    if (std::exchange(drop_response_, false)) {
      beast::get_lowest_layer(stream).socket().close(ec);  // processed, never answered
      co_return;
    }
    if (const size_t cut = std::exchange(cut_now_, SIZE_MAX); cut != SIZE_MAX) {
      // The whole header (with the full length), part of the body, then the line goes dead.
      http::response_serializer<http::string_body> sr{res};
      co_await http::async_write_header(stream, sr, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec)
        co_await asio::async_write(stream, asio::buffer(res.body().data(), cut),
                                   asio::redirect_error(asio::use_awaitable, ec));
      beast::get_lowest_layer(stream).socket().close(ec);
      co_return;
    }
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (shutdown_after) {
      shutdown();
      co_return;
    }
    if (ec || !res.keep_alive()) break;
  }
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> server::upgrade(tls_stream stream, request req) {
  const target t(req.target());
  venue where = venue::binance;
  bool combined = false;
  std::vector<std::string> streams;
  bool user_api = false;
  if (t.path == "/ws/v5/public" || t.path == "/ws/v5/business") {
    where = venue::okx;
  } else if (t.path == "/ws-api/v3") {
    user_api = true;
  } else if (t.path == "/ws/v5/private") {
    where = venue::okx;
    user_api = true;
  } else if (t.path == "/stream") {
    combined = true;
    if (const std::string* s = t.get("streams")) streams = split(*s, '/');
  } else if (t.path == "/ws" || t.path.starts_with("/ws/")) {
    if (t.path.size() > 4) streams = split(std::string_view(t.path).substr(4), '/');
  } else {
    response res = make_response(req, http::status::not_found,
                                 error_json("no WebSocket endpoint at " + t.path));
    res.keep_alive(false);
    beast::error_code ec;
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
  std::vector<subscription> initial;
  for (const auto& name : streams) {
    subscription sub;
    std::string error;
    if (!parse_binance_stream(name, mkt_, script_mode(), sub, error)) {
      std::string body = "{\"code\":-1121,\"msg\":";
      append_json_string(body, error);
      body += '}';
      response res = make_response(req, http::status::bad_request, std::move(body));
      res.keep_alive(false);
      beast::error_code ec;
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    initial.push_back(std::move(sub));
  }
  auto session = std::make_shared<ws_session>(*this, ws_stream(std::move(stream)), where, combined);
  if (user_api) session->set_user_api();
  co_await session->run(std::move(req), std::move(initial));
}

asio::awaitable<void> server::wait_for_start(asio::steady_timer& timer) {
  start_timer_ = &timer;
  while (!started_) {
    beast::error_code ec;
    timer.expires_at(steady::time_point::max());
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  start_timer_ = nullptr;
}

asio::awaitable<void> server::generate_loop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  if (opt_.rate <= 0 || opt_.count == 0 || mkt_.symbols().empty()) co_return;
  co_await wait_for_start(timer);
  if (opt_.paced) {
    co_await paced_loop(timer);
    co_return;
  }
  const auto start = steady::now();
  const double period_ns = 1e9 / opt_.rate;
  uint64_t done = 0;
  while (done < opt_.count) {
    const auto now = steady::now();
    // Event k (0-based) is due at start + k * period: absolute deadlines, so no drift.
    const double elapsed = static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count());
    uint64_t due = static_cast<uint64_t>(elapsed / period_ns) + 1;
    if (due > opt_.count) due = opt_.count;
    if (due > done) {
      const uint64_t n = std::min(due - done, max_batch);
      const int64_t wall_ms = now_ns() / 1000000;
      for (uint64_t i = 0; i < n; ++i) mkt_.generate(wall_ms);
      done += n;
      after_events();
      if (done < due) {
        // Behind by more than a batch: let the writers run, then go on at once.
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        continue;
      }
    }
    if (done >= opt_.count) break;
    const auto next_event =
        start +
        std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(done) * period_ns));
    timer.expires_at(std::max(next_event, now + tick));
    beast::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  note("generated %llu events; idle", static_cast<unsigned long long>(done));
}

// --paced: event k is generated at start + k * period exactly (a timer to 30 us before, then a
// spin on the clock), and the writers run before the next one: each message goes out alone, and
// its lateness (render time - due time) is recorded. Nothing else on this thread runs during a
// spin, so at high rates it takes a core.
asio::awaitable<void> server::paced_loop(asio::steady_timer& timer) {
  const auto start = steady::now();
  const int64_t start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
  const double period_ns = 1e9 / opt_.rate;
  for (uint64_t k = 0; k < opt_.count; ++k) {
    const auto offset =
        std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(k) * period_ns));
    const auto due = start + offset;
    if (due - steady::now() > std::chrono::microseconds(60)) {
      timer.expires_at(due - std::chrono::microseconds(30));
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    while (steady::now() < due) {
    }
    mkt_.generate(now_ns() / 1000000, start_ns + offset.count());
    after_events();
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  }
  note("generated %llu events, paced; idle", static_cast<unsigned long long>(opt_.count));
}

std::string server::lateness_report() {
  if (lateness_ns_.empty()) return "paced: no messages sent";
  std::sort(lateness_ns_.begin(), lateness_ns_.end());
  auto q = [&](double p) {
    const size_t i = std::min(lateness_ns_.size() - 1,
                              static_cast<size_t>(p * static_cast<double>(lateness_ns_.size())));
    return static_cast<double>(lateness_ns_[i]) / 1e3;
  };
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "paced: %zu messages, send lateness p50 %.1f us p99 %.1f us p99.9 %.1f us max "
                "%.1f us",
                lateness_ns_.size(), q(0.5), q(0.99), q(0.999),
                static_cast<double>(lateness_ns_.back()) / 1e3);
  return buf;
}

asio::awaitable<void> server::script_loop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  if (script_.empty()) co_return;
  co_await wait_for_start(timer);
  auto deadline = steady::now();
  for (size_t i = 0; i < script_.size(); ++i) {
    deadline += std::chrono::microseconds(script_[i].delay_us);
    if (deadline > steady::now()) {
      timer.expires_at(deadline);
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    market_event e;
    e.kind = event_kind::script;
    e.aux = static_cast<uint32_t>(i);
    e.seq = i + 1;
    mkt_.push(e);
    after_events();
  }
  note("script replayed (%zu lines); idle", script_.size());
}

void server::after_events() {
  private_.match();
  uint64_t min_cursor = mkt_.log_end();
  std::vector<ws_session*> slow;
  for (ws_session* s : sessions_) {
    if (!s->closed() && mkt_.log_end() - s->cursor() > max_lag_events) {
      slow.push_back(s);
      continue;
    }
    min_cursor = std::min(min_cursor, s->cursor());
    s->wake();
  }
  for (ws_session* s : slow) {
    note("dropping a connection %llu events behind",
         static_cast<unsigned long long>(mkt_.log_end() - s->cursor()));
    ++dropped_;
    s->drop();
    min_cursor = std::min(min_cursor, s->cursor());  // its writer may still hold an event
  }
  mkt_.trim(min_cursor);
}

// ---- HTTP -------------------------------------------------------------------------------------

// A file of the public-data folder, whole or from the offset of a "Range: bytes=N-" header.
response server::public_data(const request& req, const target& t) {
  // The folder mirrors the site's root: /data/spot/... is DIR/data/spot/...
  const std::string_view rel = std::string_view(t.path).substr(1);
  if (req.method() != http::verb::get)
    return make_response(req, http::status::method_not_allowed, error_json("use GET"));
  if (rel.size() <= 5 || rel.find("..") != std::string_view::npos || rel[5] == '/')
    return make_response(req, http::status::not_found, error_json("no such file"));
  const std::string file = opt_.data_dir + "/" + std::string(rel);
  std::error_code fs_ec;
  std::ifstream in(file, std::ios::binary);
  if (!std::filesystem::is_regular_file(file, fs_ec) || !in)
    return make_response(req, http::status::not_found, error_json("no such file"));
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t size = body.size();
  uint64_t from = 0;
  const std::string_view range = req[http::field::range];
  if (range.starts_with("bytes=") && range.ends_with("-") &&
      parse_uint(std::string(range.substr(6, range.size() - 7)), from)) {
    if (from >= size) {
      response res = make_response(req, http::status::range_not_satisfiable, "");
      res.set(http::field::content_range, "bytes */" + std::to_string(size));
      return res;
    }
  } else {
    from = 0;
  }
  response res = make_response(req, from > 0 ? http::status::partial_content : http::status::ok,
                               body.substr(static_cast<size_t>(from)));
  res.set(http::field::content_type, rel.ends_with(".CHECKSUM") ? "text/plain" : "application/zip");
  res.set(http::field::accept_ranges, "bytes");
  if (from > 0)
    res.set(http::field::content_range, "bytes " + std::to_string(from) + "-" +
                                            std::to_string(size - 1) + "/" + std::to_string(size));
  if (cut_times_ > 0 && !rel.ends_with(".CHECKSUM") && res.body().size() > cut_bytes_) {
    --cut_times_;
    cut_now_ = static_cast<size_t>(cut_bytes_);
    note("data: %s cut after %llu bytes", std::string(rel).c_str(),
         static_cast<unsigned long long>(cut_bytes_));
  }
  return res;
}

response server::handle(const request& req, bool& shutdown_after) {
  const target t(req.target());
  if (t.path.starts_with("/control/")) return control(req, t, shutdown_after);
  if (t.path.starts_with("/data/") && !opt_.data_dir.empty()) return public_data(req, t);
  if (t.path.starts_with("/api/v5/trade/") || t.path == "/api/v5/account/balance") {
    const okx_auth auth{req["OK-ACCESS-KEY"], req["OK-ACCESS-SIGN"], req["OK-ACCESS-TIMESTAMP"],
                        req["OK-ACCESS-PASSPHRASE"]};
    private_reply r =
        private_.handle_okx(std::string_view(req.method_string()), req.target(), req.body(), auth);
    drop_response_ = r.drop;
    response res = make_response(req, static_cast<http::status>(r.status), std::move(r.body));
    if (r.retry_after > 0) res.set(http::field::retry_after, std::to_string(r.retry_after));
    return res;
  }
  if (t.path == "/api/v3/order" || t.path == "/api/v3/openOrders" || t.path == "/api/v3/myTrades" ||
      t.path == "/api/v3/account" || t.path == "/api/v3/order/cancelReplace") {
    const std::string_view raw = req.target();
    const size_t q = raw.find('?');
    private_reply r = private_.handle(std::string_view(req.method_string()), t.path,
                                      q == std::string_view::npos ? "" : raw.substr(q + 1),
                                      req.body(), req["X-MBX-APIKEY"]);
    drop_response_ = r.drop;
    response res = make_response(req, static_cast<http::status>(r.status), std::move(r.body));
    if (r.retry_after > 0) res.set(http::field::retry_after, std::to_string(r.retry_after));
    res.set("X-MBX-USED-WEIGHT-1M", std::to_string(private_.requests()));
    return res;
  }
  if (req.method() != http::verb::get) {
    return make_response(req, http::status::method_not_allowed, error_json("use GET"));
  }
  if (t.path == "/api/v3/ping") return make_response(req, http::status::ok, "{}");
  if (t.path == "/api/v3/time") {
    std::string body = "{\"serverTime\":";
    append_int(body, now_ns() / 1000000 + private_.skew_ms());
    body += '}';
    return make_response(req, http::status::ok, std::move(body));
  }
  if (public_status_n_ > 0 &&
      (t.path == "/api/v3/depth" || t.path == "/api/v3/exchangeInfo" ||
       t.path == "/api/v5/market/books" || t.path == "/api/v5/public/instruments")) {
    --public_status_n_;
    note("public %s answered %d", std::string(t.path).c_str(), public_status_code_);
    const bool okx = t.path.starts_with("/api/v5/");
    response res =
        make_response(req, static_cast<http::status>(public_status_code_),
                      okx ? "{\"code\":\"50011\",\"msg\":\"Too Many Requests\",\"data\":[]}"
                          : "{\"code\":-1003,\"msg\":\"Too many requests.\"}");
    res.set(http::field::retry_after, std::to_string(public_status_retry_));
    return res;
  }
  if (t.path == "/api/v3/depth") return binance_depth(req, t);
  if (t.path == "/api/v3/exchangeInfo") return binance_exchange_info(req, t);
  if (t.path == "/api/v5/market/books") return okx_books(req, t);
  if (t.path == "/api/v5/public/time") {
    std::string body = "{\"code\":\"0\",\"msg\":\"\",\"data\":[{\"ts\":\"";
    append_int(body, now_ns() / 1000000 + private_.skew_ms());
    body += "\"}]}";
    return make_response(req, http::status::ok, std::move(body));
  }
  if (t.path == "/api/v5/public/instruments") {
    const std::string* id = t.get("instId");
    std::string data;
    for (const auto& sym : mkt_.symbols()) {
      if (sym.where != venue::okx || (id != nullptr && *id != sym.name)) continue;
      if (!data.empty()) data += ',';
      data += "{\"instType\":\"SPOT\",\"instId\":\"" + sym.name + "\",\"tickSz\":\"";
      append_fixed_short(data, sym.tick);
      data += "\",\"lotSz\":\"0.00001\",\"minSz\":\"0.00001\",\"state\":\"live\"}";
    }
    if (id != nullptr && data.empty())
      return make_response(
          req, http::status::ok,
          "{\"code\":\"51001\",\"msg\":\"Instrument ID does not exist\",\"data\":[]}");
    return make_response(req, http::status::ok,
                         "{\"code\":\"0\",\"msg\":\"\",\"data\":[" + data + "]}");
  }
  return make_response(req, http::status::not_found, error_json("no such endpoint: " + t.path));
}

response server::binance_depth(const request& req, const target& t) {
  const std::string* symbol = t.get("symbol");
  if (symbol == nullptr || symbol->empty()) {
    return make_response(req, http::status::bad_request,
                         "{\"code\":-1102,\"msg\":\"Mandatory parameter 'symbol' was not sent, "
                         "was empty/null, or malformed.\"}");
  }
  const int idx = mkt_.find(venue::binance, *symbol);
  if (idx < 0) {
    return make_response(req, http::status::bad_request,
                         "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
  }
  uint64_t limit = 100;
  if (const std::string* l = t.get("limit");
      l != nullptr && (!parse_uint(*l, limit) || limit == 0)) {
    return make_response(req, http::status::bad_request,
                         "{\"code\":-1100,\"msg\":\"Illegal characters found in parameter "
                         "'limit'; legal range is '^[0-9]{1,20}$'.\"}");
  }
  limit = std::min<uint64_t>(limit, 5000);
  symbol_state& s = mkt_.symbols()[static_cast<size_t>(idx)];
  uint64_t id = s.update_id;
  const order_book* book = &s.book;
  if (s.stale_snapshots > 0) {
    --s.stale_snapshots;
    const auto& stale = mkt_.stale_book(s);
    id = stale.first;
    book = &stale.second;
    note("stale snapshot for %s: lastUpdateId %llu (current %llu)", s.name.c_str(),
         static_cast<unsigned long long>(id), static_cast<unsigned long long>(s.update_id));
  }
  std::string body = "{\"lastUpdateId\":";
  append_uint(body, id);
  body += ',';
  append_levels(body, *book, limit, level_format::binance);
  body += '}';
  return make_response(req, http::status::ok, std::move(body));
}

// The trading rules of the asked symbols (?symbols=["A","B"] or ?symbol=A; all without either):
// tick 0.01, lot and minimum quantity 0.00001, minimum notional 5.
response server::binance_exchange_info(const request& req, const target& t) {
  std::vector<std::string> wanted;
  if (const std::string* one = t.get("symbol")) wanted.push_back(*one);
  if (const std::string* many = t.get("symbols")) {
    for (std::string item : split(*many, ',')) {
      std::erase_if(item, [](char c) { return c == '[' || c == ']' || c == '"' || c == ' '; });
      if (!item.empty()) wanted.push_back(item);
    }
  }
  if (wanted.empty())
    for (const auto& sym : mkt_.symbols())
      if (sym.where == venue::binance) wanted.push_back(sym.name);
  std::string body = "{\"timezone\":\"UTC\",\"serverTime\":";
  append_int(body, now_ns() / 1000000);
  body += ",\"symbols\":[";
  for (size_t i = 0; i < wanted.size(); ++i) {
    const int idx = mkt_.find(venue::binance, wanted[i]);
    if (idx < 0)
      return make_response(req, http::status::bad_request,
                           "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
    const symbol_state& sym = mkt_.symbols()[static_cast<size_t>(idx)];
    if (i != 0) body += ',';
    body += "{\"symbol\":\"" + sym.name + "\",\"status\":\"TRADING\",\"filters\":[";
    body +=
        "{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"0.01000000\",\"maxPrice\":"
        "\"1000000.00000000\",\"tickSize\":\"";
    append_fixed8(body, sym.tick);
    body +=
        "\"},{\"filterType\":\"LOT_SIZE\",\"minQty\":\"0.00001000\",\"maxQty\":"
        "\"9000.00000000\",\"stepSize\":\"0.00001000\"},{\"filterType\":\"NOTIONAL\","
        "\"minNotional\":\"5.00000000\",\"applyMinToMarket\":true}]}";
  }
  body += "]}";
  return make_response(req, http::status::ok, std::move(body));
}

response server::okx_books(const request& req, const target& t) {
  const std::string* inst = t.get("instId");
  const int idx = inst == nullptr ? -1 : mkt_.find(venue::okx, *inst);
  if (idx < 0) {
    return make_response(req, http::status::ok,
                         "{\"code\":\"51001\",\"msg\":\"Instrument ID does not exist\","
                         "\"data\":[]}");
  }
  uint64_t sz = 1;
  if (const std::string* v = t.get("sz"); v != nullptr && (!parse_uint(*v, sz) || sz == 0)) {
    return make_response(req, http::status::bad_request,
                         "{\"code\":\"51000\",\"msg\":\"Parameter sz error\",\"data\":[]}");
  }
  const symbol_state& s = mkt_.symbols()[static_cast<size_t>(idx)];
  std::string body = "{\"code\":\"0\",\"msg\":\"\",\"data\":[{";
  // OKX lists asks first; append_levels writes bids first, which JSON readers do not mind.
  append_levels(body, s.book, std::min<uint64_t>(sz, 400), level_format::okx);
  body += ",\"ts\":\"";
  append_int(body, now_ns() / 1000000);
  body += "\"}]}";
  return make_response(req, http::status::ok, std::move(body));
}

response server::control(const request& req, const target& t, bool& shutdown_after) {
  if (req.method() != http::verb::get && req.method() != http::verb::post) {
    return make_response(req, http::status::method_not_allowed, error_json("use GET or POST"));
  }
  const std::string action = t.path.substr(9);
  auto bad = [&](std::string msg) {
    return make_response(req, http::status::bad_request, error_json(msg));
  };
  auto ok = [&](std::string body) { return make_response(req, http::status::ok, std::move(body)); };

  // Symbols named by ?venue=&symbol= (the venue defaults from the spelling: "-" means OKX); no
  // symbol means every symbol of the venue.
  auto select = [&](std::optional<venue> forced, std::vector<symbol_state*>& out,
                    std::string& error) {
    const std::string* v = t.get("venue");
    const std::string* sym = t.get("symbol");
    std::optional<venue> where = forced;
    if (v != nullptr) {
      if (*v == "binance") {
        where = venue::binance;
      } else if (*v == "okx") {
        where = venue::okx;
      } else {
        error = "venue must be binance or okx";
        return false;
      }
      if (forced && *where != *forced) {
        error = std::string("this fault applies to ") + venue_name(*forced) + " only";
        return false;
      }
    }
    if (sym != nullptr && !sym->empty()) {
      if (!where) where = sym->find('-') != std::string::npos ? venue::okx : venue::binance;
      const int idx = mkt_.find(*where, *sym);
      if (idx < 0) {
        error = "unknown " + std::string(venue_name(*where)) + " symbol " + *sym;
        return false;
      }
      out.push_back(&mkt_.symbols()[static_cast<size_t>(idx)]);
      return true;
    }
    if (!where) {
      error = "give venue= or symbol=";
      return false;
    }
    for (auto& s : mkt_.symbols()) {
      if (s.where == *where) out.push_back(&s);
    }
    return true;
  };
  auto armed_json = [](const std::vector<symbol_state*>& syms) {
    std::string out = "{\"armed\":[";
    for (size_t i = 0; i < syms.size(); ++i) {
      if (i != 0) out += ',';
      append_json_string(out, syms[i]->name);
    }
    out += "]}";
    return out;
  };

  if (action.starts_with("private/")) return private_control(req, t, action.substr(8));
  if (action == "drop") {
    const std::vector<ws_session*> all(sessions_.begin(), sessions_.end());
    for (ws_session* s : all) s->drop();
    note("control: dropped %zu connections", all.size());
    return ok("{\"dropped\":" + std::to_string(all.size()) + "}");
  }
  if (action == "stall") {
    uint64_t ms = 0;
    const std::string* v = t.get("ms");
    if (v == nullptr || !parse_uint(*v, ms) || ms > 3'600'000) {
      return bad("stall needs ms=N (0..3600000)");
    }
    stall_until_ = steady::now() + std::chrono::milliseconds(ms);
    for (ws_session* s : sessions_) s->wake();
    note("control: stall %llu ms", static_cast<unsigned long long>(ms));
    return ok("{\"stall_ms\":" + std::to_string(ms) + "}");
  }
  if (action == "data") {
    uint64_t cut = 0, times = 1;
    const std::string *c = t.get("cut"), *k = t.get("times");
    if (c == nullptr || !parse_uint(*c, cut) || (k != nullptr && !parse_uint(*k, times)))
      return bad("data takes cut=BYTES and times=N");
    cut_bytes_ = cut;
    cut_times_ = times;
    note("control: the next %llu /data/ bodies are cut after %llu bytes",
         static_cast<unsigned long long>(times), static_cast<unsigned long long>(cut));
    return ok("{\"cut\":" + std::to_string(cut) + ",\"times\":" + std::to_string(times) + "}");
  }
  if (action == "status") {
    uint64_t code = 429, n = 1, retry = 1;
    const std::string *c = t.get("code"), *k = t.get("n"), *r = t.get("retry_after");
    if ((c != nullptr && (!parse_uint(*c, code) || code < 400 || code > 599)) ||
        (k != nullptr && (!parse_uint(*k, n) || n > 1'000'000)) ||
        (r != nullptr && (!parse_uint(*r, retry) || retry > 3600)))
      return bad("status takes code=400..599, n=0..1000000, retry_after=0..3600");
    public_status_code_ = static_cast<int>(code);
    public_status_n_ = static_cast<int>(n);
    public_status_retry_ = static_cast<int>(retry);
    note("control: next %d public requests answer %d", public_status_n_, public_status_code_);
    return ok("{\"code\":" + std::to_string(code) + ",\"n\":" + std::to_string(n) + "}");
  }
  if (action == "malformed") {
    uint64_t n = 0;
    const std::string* v = t.get("n");
    if (v == nullptr || !parse_uint(*v, n) || n > 1'000'000) {
      return bad("malformed needs n=K (0..1000000)");
    }
    for (ws_session* s : sessions_) s->set_malformed(static_cast<int>(n));
    note("control: next %llu messages malformed on %zu connections",
         static_cast<unsigned long long>(n), sessions_.size());
    return ok("{\"n\":" + std::to_string(n) +
              ",\"connections\":" + std::to_string(sessions_.size()) + "}");
  }
  if (action == "skip_seq" || action == "bad_checksum" || action == "stale_snapshot") {
    std::optional<venue> forced;
    if (action == "bad_checksum") forced = venue::okx;
    if (action == "stale_snapshot") forced = venue::binance;
    std::vector<symbol_state*> syms;
    std::string error;
    if (!select(forced, syms, error)) return bad(error);
    for (symbol_state* s : syms) {
      if (action == "skip_seq") s->skip_next = true;
      if (action == "bad_checksum") s->bad_checksum_next = true;
      if (action == "stale_snapshot") ++s->stale_snapshots;
    }
    note("control: %s armed for %zu symbols", action.c_str(), syms.size());
    return ok(armed_json(syms));
  }
  if (action == "book") {
    std::vector<symbol_state*> syms;
    std::string error;
    if (t.get("symbol") == nullptr) return bad("book needs symbol=");
    if (!select(std::nullopt, syms, error)) return bad(error);
    uint64_t depth = market::levels * 100;
    if (const std::string* d = t.get("depth"); d != nullptr && !parse_uint(*d, depth)) {
      return bad("depth must be a number");
    }
    const symbol_state& s = *syms.front();
    std::string body = "{\"symbol\":";
    append_json_string(body, s.name);
    body += ",\"venue\":\"";
    body += venue_name(s.where);
    body += "\",";
    append_levels(body, s.book, depth,
                  s.where == venue::binance ? level_format::binance : level_format::okx_pair);
    body += ",\"last_update_id\":";
    append_uint(body, s.update_id);
    if (s.where == venue::okx) {
      body += ",\"checksum\":";
      append_int(body, okx_checksum(s.book));
    }
    body += ",\"last_trade_id\":";
    append_uint(body, s.trade_id);
    body += '}';
    return ok(std::move(body));
  }
  if (action == "stats") return ok(stats_json());
  if (action == "start") {
    const bool was = started_;
    start_generator();
    return ok(was ? "{\"started\":true,\"already\":true}" : "{\"started\":true}");
  }
  if (action == "shutdown") {
    shutdown_after = true;
    note("control: shutdown");
    return ok("{\"shutdown\":true}");
  }
  return make_response(req, http::status::not_found,
                       error_json("unknown control action: " + action));
}

// /control/private/<action>: faults and views of the private side.
response server::private_control(const request& req, const target& t, const std::string& action) {
  auto n_param = [&](const char* name, uint64_t dflt) {
    uint64_t v = dflt;
    if (const std::string* s = t.get(name); s != nullptr && !parse_uint(*s, v)) v = dflt;
    return v;
  };
  auto ok = [&](std::string body) { return make_response(req, http::status::ok, std::move(body)); };
  const int n = static_cast<int>(n_param("n", 1));
  if (action == "state") return ok(private_.state_json());
  if (action == "reject")
    private_.fault_reject(n);
  else if (action == "drop_response")
    private_.fault_drop(n);
  else if (action == "duplicate_fills")
    private_.fault_duplicate_fills(n);
  else if (action == "mute_stream")
    private_.fault_mute_stream(n);
  else if (action == "status")
    private_.fault_status(static_cast<int>(n_param("code", 429)), n,
                          static_cast<int>(n_param("retry_after", 1)));
  else if (action == "skew") {
    const std::string* ms = t.get("ms");
    private_.set_skew_ms(ms == nullptr ? 0 : std::stoll(*ms));
  } else if (action == "user_stream_drop") {
    const std::vector<ws_session*> all(user_streams_.begin(), user_streams_.end());
    for (ws_session* s : all) s->drop();
    return ok("{\"dropped\":" + std::to_string(all.size()) + "}");
  } else if (action == "fill") {
    const std::string* cid = t.get("cid");
    const std::string* qty = t.get("qty");
    int64_t q = 0;
    std::string error;
    if (cid == nullptr || qty == nullptr || parse_fixed(*qty, q) != parse_error::ok)
      return make_response(req, http::status::bad_request, error_json("give cid= and qty="));
    // parts=K: K executions of qty each.
    for (uint64_t i = 0, parts = n_param("parts", 1); i < parts; ++i)
      if (!private_.force_fill(*cid, q, error))
        return make_response(req, http::status::bad_request, error_json(error));
  } else {
    return make_response(req, http::status::not_found,
                         error_json("unknown private control " + action));
  }
  return ok("{\"armed\":true}");
}

std::string server::stats_json() const {
  std::string out = "{\"connections\":";
  append_uint(out, sessions_.size());
  out += ",\"generated\":";
  append_uint(out, mkt_.generated());
  out += ",\"started\":";
  out += started_ ? "true" : "false";
  out += ",\"messages_sent\":";
  append_uint(out, messages_sent_);
  out += ",\"malformed_sent\":";
  append_uint(out, malformed_sent_);
  out += ",\"slow_dropped\":";
  append_uint(out, dropped_);
  out += ",\"http_requests\":";
  append_uint(out, http_requests_);
  out += ",\"text_pings\":";
  append_uint(out, text_pings_);
  out += ",\"log\":{\"begin\":";
  append_uint(out, mkt_.log_begin());
  out += ",\"end\":";
  append_uint(out, mkt_.log_end());
  out += "},\"sent\":{";
  for (int v = 0; v < 2; ++v) {
    if (v != 0) out += ',';
    out += v == 0 ? "\"binance\":{" : "\"okx\":{";
    bool first = true;
    for (const auto& [key, n] : sent_[v]) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, key);
      out += ':';
      append_uint(out, n);
    }
    out += '}';
  }
  out += "},\"trades\":{";
  bool first = true;
  for (const auto& s : mkt_.symbols()) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, s.name);
    out += ':';
    append_uint(out, s.trade_id);
  }
  out += "},\"update_ids\":{";
  first = true;
  for (const auto& s : mkt_.symbols()) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, s.name);
    out += ':';
    append_uint(out, s.update_id);
  }
  out += "}}";
  return out;
}

}  // namespace

int run_server(const options& opt) {
  market mkt(opt.seed, opt.binance_symbols, opt.okx_symbols);
  mkt.set_trades_only(opt.trades_only);
  std::vector<script_line> script;
  if (!opt.script_file.empty()) {
    std::string error;
    if (!load_script(opt.script_file, mkt, script, error)) {
      note("%s", error.c_str());
      return 2;
    }
  }
  for (const std::string* f : {&opt.cert_file, &opt.key_file}) {
    std::ifstream probe(*f);
    if (!probe) {
      note("cannot read %s", f->c_str());
      return 2;
    }
  }
  ssl::context ctx(ssl::context::tls_server);
  try {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3);
    ctx.use_certificate_chain_file(opt.cert_file);
    ctx.use_private_key_file(opt.key_file, ssl::context::pem);
  } catch (const std::exception& e) {
    note("TLS setup (--cert %s --key %s): %s", opt.cert_file.c_str(), opt.key_file.c_str(),
         e.what());
    return 2;
  }
  // The server outlives the io_context: coroutine frames destroyed with the io_context still
  // refer to it.
  server srv(opt, mkt, ctx, std::move(script));
  asio::io_context ioc(1);
  if (!srv.start(ioc)) return 1;
  ioc.run();
  if (opt.paced) note("%s", srv.lateness_report().c_str());
  note("shut down");
  return 0;
}

}  // namespace cats::fake
