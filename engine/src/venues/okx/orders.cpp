#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "cats/venues/okx/orders.hpp"

#include <cats/sdk.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <mutex>

#include <future>
#include <stdexcept>
#include <unordered_map>

#include "../dom_fields.hpp"
#include "../gateway_base.hpp"
#include "cats/core/fixed.hpp"
#include "cats/net/https_client.hpp"
#include "cats/net/signing.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

using kind = order_report::kind;
using venues::decimal;
using venues::integer;
using venues::signed_decimal;
using venues::text_of;

int32_t status_from(std::string_view s) {
  if (s == "live") return CATS_ORDER_NEW;
  if (s == "partially_filled") return CATS_ORDER_PARTIALLY_FILLED;
  if (s == "filled") return CATS_ORDER_FILLED;
  return CATS_ORDER_CANCELED;  // canceled, mmp_canceled
}

// "2020-12-08T09:08:57.715Z": OKX wants milliseconds.
std::string okx_timestamp(int64_t ns) {
  char buf[32];
  format_iso8601_seconds(ns, buf);
  char out[32];
  std::snprintf(out, sizeof out, "%.19s.%03dZ", buf, static_cast<int>((ns / 1'000'000) % 1000));
  return out;
}

// `s` as a quoted JSON string (the writer's escaping: quotes, backslashes, control characters).
std::string json_string(std::string_view s) {
  std::string out;
  json_writer::escape(s, out);
  return out;
}

}  // namespace

std::string okx_order_body(const venue_order& o) {
  std::string type = o.type == CATS_ORDER_MARKET   ? "market"
                     : o.tif == CATS_TIF_POST_ONLY ? "post_only"
                     : o.tif == CATS_TIF_IOC       ? "ioc"
                                                   : "limit";
  std::string b = "{\"instId\":" + json_string(o.symbol) +
                  ",\"tdMode\":\"cash\",\"clOrdId\":" + json_string(o.client_id) + ",\"side\":\"" +
                  (o.side == CATS_SIDE_BUY ? "buy" : "sell") + "\",\"ordType\":\"" + type +
                  "\",\"sz\":\"" + fixed_to_string(o.quantity) + "\"";
  if (o.type == CATS_ORDER_MARKET)
    b += ",\"tgtCcy\":\"base_ccy\"";  // sz in the base currency
  else
    b += ",\"px\":\"" + fixed_to_string(o.price) + "\"";
  return b + "}";
}

bool fetch_okx_rules(const std::string& rest_url, const net::tls_options& tls,
                     const std::vector<std::string>& inst_ids, std::vector<venue_rules>& out,
                     std::string& error) {
  for (const std::string& id : inst_ids) {
    const net::http_response r = net::https_request(
        "GET", rest_url + "/api/v5/public/instruments?instType=SPOT&instId=" + id, tls,
        std::chrono::seconds(10));
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array data;
    if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
        doc["data"].get(data) != simdjson::SUCCESS) {
      error = r.status == 0 ? r.error
                            : "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
      return false;
    }
    for (simdjson::dom::element i : data) {
      venue_rules v;
      v.symbol = text_of(i, "instId");
      v.tick_size = decimal(i, "tickSz");
      v.lot_size = decimal(i, "lotSz");
      v.min_quantity = decimal(i, "minSz");
      const std::string state = text_of(i, "state");
      v.status = state == "live" ? "TRADING" : state;
      out.push_back(std::move(v));
    }
  }
  return true;
}

namespace {

class okx_gateway final : public venues::gateway_base {
 public:
  okx_gateway(boost::asio::io_context& io, okx_gateway_options o)
      : gateway_base(io, o.rest_url, o.tls, o.timeout), opt_(std::move(o)) {
    if (opt_.api_key.empty() || opt_.passphrase.empty())
      throw std::invalid_argument("okx: the API key and its passphrase are needed");
    std::string error;
    signer_ = net::signer::make(net::signer::kind::hmac_base64, opt_.secret, error);
    net::wipe(opt_.secret);
    if (!signer_) throw std::invalid_argument("okx: API secret: " + error);
    for (const okx_symbol& s : opt_.symbols)
      symbols_[s.inst_id] = {s.instrument_id, s.base, s.quote};
  }
  ~okx_gateway() override { stop(); }

  void start(report_sink sink) override {
    sink_ = std::move(sink);
    sync_time();
    net::ws_options wo;
    wo.name = "okx private";
    wo.url = opt_.ws_private_url;
    wo.tls = opt_.tls;
    // OKX closes a connection silent for 30 s: a "ping" text after half the read timeout of
    // silence keeps it open (the venue's read_timeout, at most 25 s).
    wo.read_timeout = std::min(opt_.read_timeout, std::chrono::milliseconds(25000));
    wo.keepalive_text = "ping";
    open_stream(std::move(wo), [this] { login(); });
  }

  void place(const venue_order& o, uint64_t tag) override {
    if (o.type == CATS_ORDER_STOP_MARKET) {
      order_report rep = base(kind::rejected, o.client_id, o.symbol, tag);
      rep.reason = "okx: stop orders are algo orders there, which cats does not send yet";
      emit(std::move(rep));
      return;
    }
    request("POST", "/api/v5/trade/order", okx_order_body(o),
            [this, cid = o.client_id, sym = o.symbol, tag](net::http_result r) {
              on_place(r, cid, sym, tag);
            });
  }

  void cancel(const std::string& symbol, const std::string& client_id, uint64_t tag) override {
    request("POST", "/api/v5/trade/cancel-order",
            "{\"instId\":" + json_string(symbol) + ",\"clOrdId\":" + json_string(client_id) + "}",
            [this, client_id, symbol, tag](net::http_result r) {
              on_ack(r, kind::cancel_rejected, client_id, symbol, tag);
            });
  }

  void replace(const std::string& old_client_id, const venue_order& o, uint64_t tag) override {
    order_report rep = base(kind::cancel_rejected, old_client_id, o.symbol, tag);
    rep.reason = "okx amends orders in place";
    emit(std::move(rep));
  }

  bool amends_in_place() const noexcept override { return true; }
  void amend(const std::string& symbol, const std::string& client_id, int64_t new_quantity,
             int64_t new_price, uint64_t tag) override {
    std::string body =
        "{\"instId\":" + json_string(symbol) + ",\"clOrdId\":" + json_string(client_id);
    if (new_quantity > 0) body += ",\"newSz\":\"" + fixed_to_string(new_quantity) + "\"";
    if (new_price > 0) body += ",\"newPx\":\"" + fixed_to_string(new_price) + "\"";
    // An accepted request is not yet an amended order: the outcome comes in the orders
    // channel's push (`amendResult`), or from a query.
    request("POST", "/api/v5/trade/amend-order", body + "}",
            [this, client_id, symbol, tag](net::http_result r) {
              std::string reason;
              if (item_ok(r, reason)) return;
              failed(r, kind::cancel_rejected, client_id, symbol, tag, reason);
            });
  }

  void query(const std::string& symbol, const std::string& client_id, uint64_t tag) override {
    request("GET", "/api/v5/trade/order?instId=" + symbol + "&clOrdId=" + client_id, {},
            [this, client_id, symbol, tag](net::http_result r) {
              simdjson::dom::parser parser;
              simdjson::dom::element doc, first;
              if (r.status == 200 && parser.parse(r.body).get(doc) == simdjson::SUCCESS &&
                  text_of(doc, "code") == "0" && doc["data"].at(0).get(first) == 0) {
                emit(state_of(first, tag));
                return;
              }
              const std::string code = parser.parse(r.body).get(doc) == simdjson::SUCCESS
                                           ? text_of(doc, "code")
                                           : std::string();
              if (code == "51603") {  // order does not exist
                emit(base(kind::not_found, client_id, symbol, tag));
                return;
              }
              order_report rep = base(kind::unknown, client_id, symbol, tag);
              rep.reason = describe_failure(r);
              emit(std::move(rep));
            });
  }

  void fetch_fills(const std::string& symbol, const std::string& client_id,
                   const std::string& venue_order_id, uint64_t tag) override {
    fills_page(symbol, client_id, venue_order_id, tag, {});
  }

  void open_orders(const std::string& symbol, uint64_t tag) override {
    pending_page(symbol, tag, {});
  }

  // OKX lists a page of at most 100 rows, newest first; a full page asks for the rows older than
  // its last one (`after`) until a page comes back short.
  static constexpr size_t okx_page = 100;

  // Whether a page of `rows` ending at id `last` (asked for with `after`) calls for the next: a
  // full page that moved on. A venue that ignores `after` (the same last id again, or a newer
  // one) ends the listing with a warning instead of asking forever.
  static bool more_pages(size_t rows, const std::string& last, const std::string& after,
                         const std::string& what) {
    if (rows < okx_page || last.empty()) return false;
    auto older = [](const std::string& a, const std::string& b) {  // decimal ids
      return a.size() != b.size() ? a.size() < b.size() : a < b;
    };
    if (after.empty() || older(last, after)) return true;
    spdlog::warn("okx: {}: the next page did not move past id {}; the listing ends here", what,
                 after);
    return false;
  }

  void fills_page(const std::string& symbol, const std::string& client_id,
                  const std::string& venue_order_id, uint64_t tag, const std::string& after) {
    request("GET",
            "/api/v5/trade/fills?instType=SPOT&instId=" + symbol + "&ordId=" + venue_order_id +
                (after.empty() ? "" : "&after=" + after),
            {}, [this, client_id, symbol, venue_order_id, tag, after](net::http_result r) {
              simdjson::dom::parser parser;
              simdjson::dom::element doc;
              simdjson::dom::array data;
              if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
                  doc["data"].get(data) != simdjson::SUCCESS) {
                spdlog::warn("okx: the fills of {} could not be fetched: {}", client_id,
                             describe_failure(r));
                return;
              }
              std::string last;
              for (simdjson::dom::element f : data) {
                last = text_of(f, "billId");
                emit(fill_of(f, client_id, symbol, tag));
              }
              if (more_pages(data.size(), last, after, "the fills of " + client_id))
                fills_page(symbol, client_id, venue_order_id, tag, last);
            });
  }

  void pending_page(const std::string& symbol, uint64_t tag, const std::string& after) {
    request("GET",
            "/api/v5/trade/orders-pending?instType=SPOT&instId=" + symbol +
                (after.empty() ? "" : "&after=" + after),
            {}, [this, symbol, tag, after](net::http_result r) {
              simdjson::dom::parser parser;
              simdjson::dom::element doc;
              simdjson::dom::array data;
              order_report end = base(kind::state, {}, symbol, tag);
              end.listing = true;
              if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
                  doc["data"].get(data) != simdjson::SUCCESS) {
                end.reason = describe_failure(r);
                emit(std::move(end));
                return;
              }
              std::string last;
              for (simdjson::dom::element o : data) {
                order_report rep = state_of(o, tag);
                rep.listing = true;
                last = rep.venue_order_id;
                emit(std::move(rep));
              }
              // The listing ends with the last page.
              if (more_pages(data.size(), last, after, "the open orders of " + symbol))
                pending_page(symbol, tag, last);
              else
                emit(std::move(end));
            });
  }

  std::vector<venue_balance> balances(std::string& error) override {
    const net::http_result r = await(
        [this](std::function<void(net::http_result)> done) {
          request("GET", "/api/v5/account/balance", {}, std::move(done));
        },
        error);
    if (!error.empty()) return {};
    simdjson::dom::parser parser;
    simdjson::dom::element doc, first;
    simdjson::dom::array details;
    if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
        doc["data"].at(0).get(first) != simdjson::SUCCESS ||
        first["details"].get(details) != simdjson::SUCCESS) {
      error = describe_failure(r);
      return {};
    }
    std::vector<venue_balance> out;
    for (simdjson::dom::element d : details)
      out.push_back({text_of(d, "ccy"), decimal(d, "availBal"), decimal(d, "frozenBal")});
    return out;
  }

  const char* name() const noexcept override { return "okx"; }

 private:
  // OKX's documented limits (requests per 2 s): placing, cancelling and amending per
  // instrument, the rest per account. A request goes out when fewer than `limit` of its kind are
  // in flight or were answered in the last 2 s (an answer comes after the venue counted the
  // request, so this never runs ahead of the venue's own count, however the connection delays
  // them); else it waits its turn, in order, and is counted (paced). Nothing is refused here.
  struct pace_state {
    size_t limit = 0;
    size_t in_flight = 0;
    std::deque<int64_t> answered;  // steady-clock times of recent answers
    std::deque<std::function<void()>> waiting;
    bool timer_armed = false;
  };
  static constexpr int64_t pace_window = 2'000'000'000;

  // The limit and the key of a request (0: not limited).
  static size_t pace_key(const char* method, const std::string& path, const std::string& body,
                         std::string& key) {
    const std::string_view route = std::string_view(path).substr(0, path.find('?'));
    const bool post = std::string_view(method) == "POST";
    size_t limit = 0;
    if (post && (route == "/api/v5/trade/order" || route == "/api/v5/trade/cancel-order" ||
                 route == "/api/v5/trade/amend-order"))
      limit = 60;
    else if (route == "/api/v5/trade/order" || route == "/api/v5/trade/orders-pending" ||
             route == "/api/v5/trade/fills")
      limit = 60;
    else if (route == "/api/v5/account/balance")
      limit = 10;
    key = std::string(method) + std::string(route);
    if (post) {
      // Per instrument: the body's "instId":"...".
      const size_t at = body.find("\"instId\":\"");
      if (at != std::string::npos) key += body.substr(at + 10, body.find('"', at + 10) - at - 10);
    }
    return limit;
  }

  // Sends what may go of `key`'s waiting requests; arms a timer for the rest. pace_mutex_ held.
  void release_paced(const std::string& key, pace_state& ps) {
    const int64_t now = steady_clock_ns();
    while (!ps.answered.empty() && ps.answered.front() <= now - pace_window)
      ps.answered.pop_front();
    while (!ps.waiting.empty() && ps.in_flight + ps.answered.size() < ps.limit) {
      ++ps.in_flight;
      boost::asio::post(io_, std::move(ps.waiting.front()));
      ps.waiting.pop_front();
    }
    // Nothing in flight frees a place by answering: the oldest answer leaving the window will.
    if (ps.waiting.empty() || ps.timer_armed || ps.answered.empty()) return;
    ps.timer_armed = true;
    auto timer = std::make_shared<boost::asio::steady_timer>(
        io_, std::chrono::nanoseconds(ps.answered.front() + pace_window - now + 1'000'000));
    timer->async_wait([this, timer, key](const boost::system::error_code&) {
      const std::lock_guard<std::mutex> lock(pace_mutex_);
      pace_state& st = pace_[key];
      st.timer_armed = false;
      release_paced(key, st);
    });
  }

  void request(const char* method, const std::string& path, std::string body,
               std::function<void(net::http_result)> done) {
    std::string key;
    const size_t limit = pace_key(method, path, body, key);
    if (limit == 0) return send(method, path, std::move(body), std::move(done));
    // The answer frees the place (whatever it is: the venue counted the request).
    auto answered = [this, key, done = std::move(done)](net::http_result r) {
      {
        const std::lock_guard<std::mutex> lock(pace_mutex_);
        pace_state& ps = pace_[key];
        --ps.in_flight;
        ps.answered.push_back(steady_clock_ns());
        release_paced(key, ps);
      }
      done(std::move(r));
    };
    {
      const std::lock_guard<std::mutex> lock(pace_mutex_);
      pace_state& ps = pace_[key];
      ps.limit = limit;
      const int64_t now = steady_clock_ns();
      while (!ps.answered.empty() && ps.answered.front() <= now - pace_window)
        ps.answered.pop_front();
      if (!ps.waiting.empty() || ps.in_flight + ps.answered.size() >= limit) {
        stats_.paced.fetch_add(1, std::memory_order_relaxed);
        ps.waiting.push_back(
            [this, method, path, body = std::move(body), answered = std::move(answered)]() mutable {
              send(method, path, std::move(body), std::move(answered));
            });
        release_paced(key, ps);
        return;
      }
      ++ps.in_flight;
    }
    send(method, path, std::move(body), std::move(answered));  // at once, on this thread
  }

  void send(const char* method, const std::string& path, std::string body,
            std::function<void(net::http_result)> done) {
    if (const int64_t until = stats_.blocked_until_ns.load(); until > wall_clock_ns()) {
      net::http_result r;
      r.error =
          "rate limited (429); nothing is sent for " + std::to_string(blocked_secs_.load()) + " s";
      done(std::move(r));
      return;
    }
    const std::string ts =
        okx_timestamp(wall_clock_ns() + stats_.clock_offset_ms.load() * 1'000'000);
    net::http_request req;
    req.method = method;
    req.target = path;
    req.headers.emplace_back("OK-ACCESS-KEY", opt_.api_key);
    req.headers.emplace_back("OK-ACCESS-SIGN", signer_->sign(ts + method + path + body));
    req.headers.emplace_back("OK-ACCESS-TIMESTAMP", ts);
    req.headers.emplace_back("OK-ACCESS-PASSPHRASE", opt_.passphrase);
    if (opt_.demo) req.headers.emplace_back("x-simulated-trading", "1");
    // A trade request that reaches OKX after this is refused, so a lost one cannot come alive
    // after the broker has given it up (the broker waits recv_window + 1 s).
    if (path.starts_with("/api/v5/trade/") && std::string_view(method) == "POST")
      req.headers.emplace_back(
          "expTime", std::to_string(wall_clock_ns() / 1'000'000 + stats_.clock_offset_ms.load() +
                                    opt_.recv_window_ms));
    if (!body.empty()) req.content_type = "application/json";
    req.body = std::move(body);
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    rest_.request(std::move(req), [this, done = std::move(done)](net::http_result r) {
      if (r.status == 429) {
        stats_.throttled.fetch_add(1);
        blocked_secs_.store(1);
        stats_.blocked_until_ns.store(wall_clock_ns() + 1'000'000'000);
        spdlog::warn("okx: rate limited (429); nothing is sent for 1 s");
      }
      done(std::move(r));
    });
  }

  // The first item of a trade answer is accepted ("code":"0" and "sCode":"0"); else `reason`.
  static bool item_ok(const net::http_result& r, std::string& reason) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc, first;
    if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS) {
      reason = describe_failure(r);
      return false;
    }
    const bool has_item = doc["data"].at(0).get(first) == simdjson::SUCCESS;
    const std::string scode = has_item ? text_of(first, "sCode") : std::string();
    if (text_of(doc, "code") == "0" && (scode.empty() || scode == "0")) return true;
    reason = has_item && !scode.empty() && scode != "0"
                 ? "okx " + scode + ": " + text_of(first, "sMsg")
                 : "okx " + text_of(doc, "code") + ": " + text_of(doc, "msg");
    return false;
  }

  static std::string describe_failure(const net::http_result& r) {
    if (r.status == 0) return "okx: " + r.error;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r.body).get(doc) == simdjson::SUCCESS && !text_of(doc, "code").empty())
      return "okx " + text_of(doc, "code") + ": " + text_of(doc, "msg");
    return "okx: HTTP " + std::to_string(r.status);
  }

  void failed(const net::http_result& r, kind refused, const std::string& cid,
              const std::string& symbol, uint64_t tag, std::string reason, int64_t wire_ns = 0) {
    // No answer, a 5xx or 408, or the codes OKX documents as "neither success nor failure"
    // (50004 endpoint request timeout, 50013 system busy): the venue may have acted on it.
    if ((r.status == 0 && r.written) || r.status >= 500 || r.status == 408 ||
        reason.starts_with("okx 50004") || reason.starts_with("okx 50013")) {
      stats_.unknown.fetch_add(1);
      order_report rep = base(kind::unknown, cid, symbol, tag);
      rep.reason = std::move(reason);
      rep.wire_ns = wire_ns;
      emit(std::move(rep));
      return;
    }
    if (reason.find("okx 50102") != std::string::npos) {  // timestamp expired
      spdlog::warn("okx: the request timestamp was refused; measuring the venue clock again");
      sync_time();
    }
    order_report rep = base(refused, cid, symbol, tag);
    rep.reason = std::move(reason);
    rep.wire_ns = wire_ns;
    emit(std::move(rep));
  }

  void on_place(const net::http_result& r, const std::string& cid, const std::string& sym,
                uint64_t tag) {
    std::string reason;
    if (item_ok(r, reason)) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc, first;
      order_report rep = base(kind::state, cid, sym, tag);
      rep.status = CATS_ORDER_NEW;
      if (parser.parse(r.body).get(doc) == simdjson::SUCCESS && doc["data"].at(0).get(first) == 0)
        rep.venue_order_id = text_of(first, "ordId");
      rep.wire_ns = r.write_ns;
      emit(std::move(rep));
      return;
    }
    if (r.status != 0 || !r.written) stats_.rejected.fetch_add(1);
    failed(r, kind::rejected, cid, sym, tag, reason, r.written ? r.write_ns : 0);
  }

  // A cancel's answer: success says nothing more (the orders channel brings the new state).
  void on_ack(const net::http_result& r, kind refused, const std::string& cid,
              const std::string& sym, uint64_t tag) {
    std::string reason;
    if (item_ok(r, reason)) return;
    failed(r, refused, cid, sym, tag, reason);
  }

  order_report state_of(simdjson::dom::element o, uint64_t tag) {
    order_report rep = base(kind::state, text_of(o, "clOrdId"), text_of(o, "instId"), tag);
    rep.venue_order_id = text_of(o, "ordId");
    rep.status = status_from(text_of(o, "state"));
    rep.cum_quantity = decimal(o, "accFillSz");
    rep.cum_quote = fixed_mul(rep.cum_quantity, decimal(o, "avgPx"), rounding::nearest);
    rep.side = text_of(o, "side") == "buy" ? CATS_SIDE_BUY : CATS_SIDE_SELL;
    const std::string type = text_of(o, "ordType");
    rep.type = type == "market" ? CATS_ORDER_MARKET : CATS_ORDER_LIMIT;
    rep.tif = type == "post_only" ? CATS_TIF_POST_ONLY
              : type == "ioc"     ? CATS_TIF_IOC
                                  : CATS_TIF_GTC;
    rep.quantity_ordered = decimal(o, "sz");
    rep.limit_price = decimal(o, "px");
    rep.venue_ts_ns = integer(o, "uTime") * 1'000'000;
    if (rep.status == CATS_ORDER_CANCELED) rep.reason = "cancelled";
    return rep;
  }

  // A fill from /trade/fills (`fee`, `feeCcy`: this fill's) or from an orders-channel push
  // (`stream`: `fillFee`, `fillFeeCcy`; there `fee` is the order's total so far).
  order_report fill_of(simdjson::dom::element f, const std::string& cid, const std::string& sym,
                       uint64_t tag, bool stream = false) {
    order_report rep = base(kind::fill, cid, sym, tag);
    rep.venue_order_id = text_of(f, "ordId");
    rep.trade_id = text_of(f, "tradeId");
    rep.price = decimal(f, "fillPx");
    rep.quantity = decimal(f, "fillSz");
    rep.maker = text_of(f, "execType") == "M";
    // OKX writes a charged fee as a negative number.
    set_fee(rep, sym, -signed_decimal(f, stream ? "fillFee" : "fee"),
            text_of(f, stream ? "fillFeeCcy" : "feeCcy"));
    rep.venue_ts_ns = integer(f, "ts") * 1'000'000;
    if (rep.venue_ts_ns == 0) rep.venue_ts_ns = integer(f, "fillTime") * 1'000'000;
    return rep;
  }

  void sync_time() {
    measure_clock("/api/v5/public/time", [](simdjson::dom::element doc) {
      simdjson::dom::element first;
      return doc["data"].at(0).get(first) == simdjson::SUCCESS ? integer(first, "ts") : 0;
    });
  }

  void login() {
    const std::string ts =
        std::to_string((wall_clock_ns() / 1'000'000 + stats_.clock_offset_ms.load()) / 1000);
    stream_->send("{\"op\":\"login\",\"args\":[{\"apiKey\":" + json_string(opt_.api_key) +
                  ",\"passphrase\":" + json_string(opt_.passphrase) + ",\"timestamp\":\"" + ts +
                  "\",\"sign\":\"" + signer_->sign(ts + "GET/users/self/verify") + "\"}]}");
  }

  void on_stream(const char* data, size_t size) override {
    if (size == 4 && std::string_view(data, 4) == "pong") return;
    simdjson::dom::element doc;
    if (stream_parser_.parse(data, size).get(doc) != simdjson::SUCCESS) {
      spdlog::warn("okx private: unreadable message ({} bytes)", size);
      return;
    }
    const std::string event = text_of(doc, "event");
    if (event == "login") {
      if (text_of(doc, "code") == "0") {
        stream_->send(R"({"op":"subscribe","args":[{"channel":"orders","instType":"SPOT"}]})");
      } else {
        spdlog::error("okx private: login refused ({} {}); retrying", text_of(doc, "code"),
                      text_of(doc, "msg"));
        stream_->reconnect("login refused");
      }
      return;
    }
    if (event == "subscribe") {
      stream_ready();
      return;
    }
    if (event == "error") {
      // A refused login comes as an error (60009, 60006, 60024...): log in again later.
      spdlog::error("okx private: {} {}", text_of(doc, "code"), text_of(doc, "msg"));
      if (!stats_.stream_up.load()) stream_->reconnect("login refused");
      return;
    }
    simdjson::dom::array list;
    if (doc["data"].get(list) != simdjson::SUCCESS) return;
    for (simdjson::dom::element o : list) {
      const std::string cid = text_of(o, "clOrdId"), sym = text_of(o, "instId");
      // An amend's outcome: "0" done (the push carries the new size and price), "-1" failed, "1"
      // failed and the venue cancelled the order (its state says so).
      if (const std::string amend = text_of(o, "amendResult"); !amend.empty()) {
        order_report rep = base(amend == "0" ? kind::amended : kind::cancel_rejected, cid, sym, 0);
        rep.quantity_ordered = decimal(o, "sz");
        rep.limit_price = decimal(o, "px");
        if (amend != "0") rep.reason = "okx: the amend failed (amendResult " + amend + ")";
        emit(std::move(rep));
      }
      if (!text_of(o, "tradeId").empty() && decimal(o, "fillSz") > 0)
        emit(fill_of(o, cid, sym, 0, true));
      emit(state_of(o, 0));
    }
  }

  okx_gateway_options opt_;
  std::unique_ptr<net::signer> signer_;
  std::atomic<int64_t> blocked_secs_{0};
  std::mutex pace_mutex_;  // request() runs on the engine thread and the network thread
  std::unordered_map<std::string, pace_state> pace_;
  simdjson::dom::parser stream_parser_;
};

}  // namespace

std::unique_ptr<order_gateway> make_okx_gateway(boost::asio::io_context& io,
                                                okx_gateway_options options) {
  return std::make_unique<okx_gateway>(io, std::move(options));
}

}  // namespace cats
