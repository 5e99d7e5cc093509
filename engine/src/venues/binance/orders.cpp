#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "cats/venues/binance/orders.hpp"

#include <cats/sdk.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "../dom_fields.hpp"
#include "../gateway_base.hpp"
#include "cats/core/fixed.hpp"
#include "cats/net/https_client.hpp"
#include "cats/net/signing.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

using kind = order_report::kind;
using venues::decimal;
using venues::integer;
using venues::text_of;

const char* side_text(int32_t side) {
  return side == CATS_SIDE_BUY ? "BUY" : "SELL";
}

int32_t status_from(std::string_view s, std::string& reason) {
  if (s == "NEW" || s == "PENDING_NEW") return CATS_ORDER_NEW;
  if (s == "PARTIALLY_FILLED") return CATS_ORDER_PARTIALLY_FILLED;
  if (s == "FILLED") return CATS_ORDER_FILLED;
  if (s == "REJECTED") return CATS_ORDER_REJECTED;
  if (s == "EXPIRED" || s == "EXPIRED_IN_MATCH") {
    if (reason.empty()) reason = "expired by the venue (" + std::string(s) + ")";
    return CATS_ORDER_CANCELED;
  }
  return CATS_ORDER_CANCELED;  // CANCELED, PENDING_CANCEL
}

int32_t type_from(std::string_view t) {
  if (t == "MARKET") return CATS_ORDER_MARKET;
  if (t == "STOP_LOSS") return CATS_ORDER_STOP_MARKET;
  return CATS_ORDER_LIMIT;  // LIMIT, LIMIT_MAKER
}

}  // namespace

std::string binance_order_params(const venue_order& o) {
  std::string q = "symbol=" + o.symbol + "&side=" + side_text(o.side) + "&type=";
  if (o.type == CATS_ORDER_MARKET) {
    q += "MARKET";
  } else if (o.type == CATS_ORDER_STOP_MARKET) {
    q += "STOP_LOSS&stopPrice=" + fixed_to_string(o.stop_price);
  } else if (o.tif == CATS_TIF_POST_ONLY) {
    q += "LIMIT_MAKER&price=" + fixed_to_string(o.price);
  } else {
    q += std::string("LIMIT&timeInForce=") + (o.tif == CATS_TIF_IOC ? "IOC" : "GTC") +
         "&price=" + fixed_to_string(o.price);
  }
  q += "&quantity=" + fixed_to_string(o.quantity) + "&newClientOrderId=" + o.client_id;
  return q;
}

namespace {

class binance_gateway final : public venues::gateway_base {
 public:
  binance_gateway(boost::asio::io_context& io, binance_gateway_options o)
      : gateway_base(io, o.rest_url, o.tls, o.timeout), opt_(std::move(o)) {
    std::string error;
    signer_ =
        net::signer::make(opt_.ed25519 ? net::signer::kind::ed25519 : net::signer::kind::hmac_hex,
                          opt_.secret, error);
    net::wipe(opt_.secret);
    if (!signer_) throw std::invalid_argument("binance: API secret: " + error);
    if (opt_.api_key.empty()) throw std::invalid_argument("binance: the API key is empty");
    for (const binance_symbol& s : opt_.symbols)
      symbols_[s.symbol] = {s.instrument_id, s.base, s.quote};
  }
  ~binance_gateway() override { stop(); }

  void start(report_sink sink) override {
    sink_ = std::move(sink);
    sync_time();
    net::ws_options wo;
    wo.name = "binance user stream";
    wo.url = opt_.ws_api_url;
    wo.tls = opt_.tls;
    // A quiet account sends nothing for long: the venue's pings keep the read alive.
    wo.read_timeout = std::chrono::minutes(10);
    open_stream(std::move(wo), [this] { subscribe(); });
  }

  void place(const venue_order& o, uint64_t tag) override {
    signed_request("POST", "/api/v3/order", binance_order_params(o) + "&newOrderRespType=RESULT",
                   [this, cid = o.client_id, id = o.instrument_id, sym = o.symbol,
                    tag](net::http_result r) { on_new_order(r, cid, id, sym, tag); });
  }

  void cancel(const std::string& symbol, const std::string& client_id, uint64_t tag) override {
    signed_request("DELETE", "/api/v3/order",
                   "symbol=" + symbol + "&origClientOrderId=" + client_id,
                   [this, cid = client_id, symbol, tag](net::http_result r) {
                     on_cancel(r, cid, symbol, tag);
                   });
  }

  void replace(const std::string& old_client_id, const venue_order& o, uint64_t tag) override {
    signed_request(
        "POST", "/api/v3/order/cancelReplace",
        binance_order_params(o) +
            "&cancelReplaceMode=STOP_ON_FAILURE&cancelOrigClientOrderId=" + old_client_id,
        [this, old_client_id, o, tag](net::http_result r) {
          on_replace(r, old_client_id, o, tag);
        });
  }

  void query(const std::string& symbol, const std::string& client_id, uint64_t tag) override {
    signed_request("GET", "/api/v3/order", "symbol=" + symbol + "&origClientOrderId=" + client_id,
                   [this, cid = client_id, symbol, tag](net::http_result r) {
                     on_query(r, cid, symbol, tag);
                   });
  }

  void fetch_fills(const std::string& symbol, const std::string& client_id,
                   const std::string& venue_order_id, uint64_t tag) override {
    trades_page(symbol, client_id, venue_order_id, tag, 0);
  }

  // An order's trades, 1000 at a time from trade id `from_id` on (0: the first page).
  void trades_page(const std::string& symbol, const std::string& client_id,
                   const std::string& venue_order_id, uint64_t tag, uint64_t from_id) {
    signed_request(
        "GET", "/api/v3/myTrades",
        "symbol=" + symbol + "&orderId=" + venue_order_id + "&limit=1000" +
            (from_id == 0 ? "" : "&fromId=" + std::to_string(from_id)),
        [this, cid = client_id, symbol, venue_order_id, tag, from_id](net::http_result r) {
          const auto [count, last] = on_trades(r, cid, symbol, tag);
          // A full page asks for the next one, which must start past this one.
          if (count >= 1000 && last + 1 > from_id)
            trades_page(symbol, cid, venue_order_id, tag, last + 1);
        });
  }

  void open_orders(const std::string& symbol, uint64_t tag) override {
    signed_request("GET", "/api/v3/openOrders", "symbol=" + symbol,
                   [this, symbol, tag](net::http_result r) { on_open_orders(r, symbol, tag); });
  }

  std::vector<venue_balance> balances(std::string& error) override {
    const net::http_result r = await(
        [this](std::function<void(net::http_result)> done) {
          signed_request("GET", "/api/v3/account", "omitZeroBalances=true", std::move(done));
        },
        error);
    if (!error.empty()) return {};
    std::vector<venue_balance> out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array list;
    if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
        doc["balances"].get(list) != simdjson::SUCCESS) {
      error = describe_failure(r);
      return {};
    }
    for (simdjson::dom::element b : list)
      out.push_back({text_of(b, "asset"), decimal(b, "free"), decimal(b, "locked")});
    return out;
  }

  const char* name() const noexcept override { return "binance"; }

 private:
  // Signs `params` (+ recvWindow and timestamp on the venue's clock) and queues the request.
  void signed_request(const char* method, const char* path, std::string params,
                      std::function<void(net::http_result)> done) {
    const int64_t now_ms = wall_clock_ns() / 1'000'000;
    if (const int64_t until = stats_.blocked_until_ns.load(); until > now_ms * 1'000'000) {
      net::http_result r;
      r.error = blocked_reason();
      done(std::move(r));
      return;
    }
    params += "&recvWindow=" + std::to_string(opt_.recv_window_ms) +
              "&timestamp=" + std::to_string(now_ms + stats_.clock_offset_ms.load());
    std::string sig = signer_->sign(params);
    if (signer_->type() != net::signer::kind::hmac_hex) sig = net::url_encode(sig);
    net::http_request req;
    req.method = method;
    req.target = std::string(path) + "?" + params + "&signature=" + sig;
    req.headers.emplace_back("X-MBX-APIKEY", opt_.api_key);
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    rest_.request(std::move(req), [this, done = std::move(done)](net::http_result r) {
      note_limits(r);
      done(std::move(r));
    });
  }

  // Weight and order-count headers; 429 and 418 block sending until Retry-After has passed.
  void note_limits(const net::http_result& r) {
    for (const auto& [k, v] : r.headers) {
      if (k.starts_with("x-mbx-used-weight-"))
        stats_.used_weight.store(std::atoll(v.c_str()), std::memory_order_relaxed);
      else if (k.starts_with("x-mbx-order-count-"))
        stats_.order_count.store(std::atoll(v.c_str()), std::memory_order_relaxed);
    }
    if (r.status != 429 && r.status != 418) return;
    int64_t retry_s = std::atoll(std::string(r.header("retry-after")).c_str());
    if (retry_s <= 0) retry_s = r.status == 418 ? 120 : 10;
    stats_.blocked_until_ns.store(wall_clock_ns() + retry_s * 1'000'000'000);
    blocked_status_.store(r.status);
    blocked_secs_.store(retry_s);
    if (r.status == 418) {
      stats_.banned.fetch_add(1);
      spdlog::error("ALARM binance: {}: the request rate went on after a 429", blocked_reason());
    } else {
      stats_.throttled.fetch_add(1);
      spdlog::warn("binance: {}", blocked_reason());
    }
  }

  // Why nothing is sent now (any thread: built from atomics).
  std::string blocked_reason() const {
    return (blocked_status_.load() == 418 ? "the IP is banned (418)" : "rate limited (429)") +
           std::string("; nothing is sent for ") + std::to_string(blocked_secs_.load()) + " s";
  }

  // "binance -2010: Account has insufficient balance" or the transport error.
  static std::string describe_failure(const net::http_result& r) {
    if (r.status == 0) return "binance: " + r.error;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::string_view msg;
    int64_t code = 0;
    if (parser.parse(r.body).get(doc) == simdjson::SUCCESS && doc["msg"].get(msg) == 0 &&
        doc["code"].get(code) == 0)
      return "binance " + std::to_string(code) + ": " + std::string(msg);
    return "binance: HTTP " + std::to_string(r.status);
  }
  static int64_t error_code(const net::http_result& r) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    int64_t code = 0;
    if (parser.parse(r.body).get(doc) == simdjson::SUCCESS && doc["code"].get(code) == 0)
      return code;
    return 0;
  }
  // The venue may have acted on the request: no response, a 5xx or a 408, or one of the codes
  // Binance documents as "execution status unknown" (-1000 unknown error, -1006 unexpected
  // response, -1007 timeout waiting for the backend).
  static bool outcome_unknown(const net::http_result& r) {
    if ((r.status == 0 && r.written) || r.status >= 500 || r.status == 408) return true;
    const int64_t code = r.status >= 400 ? error_code(r) : 0;
    return code == -1000 || code == -1006 || code == -1007;
  }

  // An order object (REST responses, queries, listings) as a state report.
  order_report state_of(simdjson::dom::element o, uint64_t tag) {
    order_report rep = base(kind::state, text_of(o, "clientOrderId"), text_of(o, "symbol"), tag);
    rep.venue_order_id = text_of(o, "orderId");
    rep.status = status_from(text_of(o, "status"), rep.reason);
    rep.cum_quantity = decimal(o, "executedQty");
    rep.cum_quote = decimal(o, "cummulativeQuoteQty");
    rep.side = text_of(o, "side") == "BUY" ? CATS_SIDE_BUY : CATS_SIDE_SELL;
    rep.type = type_from(text_of(o, "type"));
    rep.tif = text_of(o, "type") == "LIMIT_MAKER"  ? CATS_TIF_POST_ONLY
              : text_of(o, "timeInForce") == "IOC" ? CATS_TIF_IOC
                                                   : CATS_TIF_GTC;
    rep.quantity_ordered = decimal(o, "origQty");
    rep.limit_price =
        rep.type == CATS_ORDER_STOP_MARKET ? decimal(o, "stopPrice") : decimal(o, "price");
    int64_t t = integer(o, "updateTime");
    if (t == 0) t = integer(o, "transactTime");
    rep.venue_ts_ns = t * 1'000'000;
    return rep;
  }

  // A failed request about `cid`: the venue's refusal as `refused`, a lost answer as unknown.
  void failed(const net::http_result& r, kind refused, const std::string& cid,
              const std::string& symbol, uint64_t tag, int64_t wire_ns = 0) {
    if (outcome_unknown(r)) {
      stats_.unknown.fetch_add(1);
      order_report rep = base(kind::unknown, cid, symbol, tag);
      rep.reason = describe_failure(r);
      rep.wire_ns = wire_ns;
      emit(std::move(rep));
      return;
    }
    if (error_code(r) == -1021) {
      spdlog::warn("binance: timestamp outside recvWindow; measuring the venue clock again");
      sync_time();
    }
    order_report rep = base(refused, cid, symbol, tag);
    rep.reason = describe_failure(r);
    rep.wire_ns = wire_ns;
    emit(std::move(rep));
  }

  void on_new_order(const net::http_result& r, const std::string& cid, uint32_t,
                    const std::string& sym, uint64_t tag) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (r.status == 200 && parser.parse(r.body).get(doc) == simdjson::SUCCESS) {
      order_report rep = state_of(doc, tag);
      rep.wire_ns = r.write_ns;
      emit(std::move(rep));
      return;
    }
    if (r.status != 0 || !r.written) stats_.rejected.fetch_add(1);
    failed(r, kind::rejected, cid, sym, tag, r.written ? r.write_ns : 0);
  }

  void on_cancel(const net::http_result& r, const std::string& cid, const std::string& sym,
                 uint64_t tag) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (r.status == 200 && parser.parse(r.body).get(doc) == simdjson::SUCCESS) {
      order_report rep = state_of(doc, tag);
      rep.client_id = text_of(doc, "origClientOrderId");
      if (rep.client_id.empty()) rep.client_id = cid;
      emit(std::move(rep));
      return;
    }
    failed(r, kind::cancel_rejected, cid, sym, tag);
  }

  void on_replace(const net::http_result& r, const std::string& old_cid, const venue_order& o,
                  uint64_t tag) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (r.status == 0 || r.status >= 500 || parser.parse(r.body).get(doc) != simdjson::SUCCESS) {
      failed(r, kind::cancel_rejected, old_cid, o.symbol, tag);
      if (outcome_unknown(r)) emit(base(kind::unknown, o.client_id, o.symbol, tag));
      return;
    }
    simdjson::dom::element body = doc, data;
    if (doc["data"].get(data) == simdjson::SUCCESS) body = data;
    simdjson::dom::element cancel, fresh;
    const bool cancelled =
        body["cancelResponse"].get(cancel) == simdjson::SUCCESS && text_of(cancel, "code").empty();
    if (cancelled) {
      order_report rep = state_of(cancel, tag);
      rep.client_id = text_of(cancel, "origClientOrderId");
      emit(std::move(rep));
    } else {
      order_report rep = base(kind::cancel_rejected, old_cid, o.symbol, tag);
      rep.reason = cancel.is_object() && !text_of(cancel, "msg").empty()
                       ? "binance " + text_of(cancel, "code") + ": " + text_of(cancel, "msg")
                       : describe_failure(r);
      emit(std::move(rep));
    }
    if (body["newOrderResponse"].get(fresh) == simdjson::SUCCESS &&
        text_of(fresh, "code").empty()) {
      emit(state_of(fresh, tag));
    } else {
      order_report rep = base(kind::rejected, o.client_id, o.symbol, tag);
      rep.reason = fresh.is_object() && !text_of(fresh, "msg").empty()
                       ? "binance " + text_of(fresh, "code") + ": " + text_of(fresh, "msg")
                       : "not placed: the cancel of " + old_cid + " failed";
      emit(std::move(rep));
    }
  }

  void on_query(const net::http_result& r, const std::string& cid, const std::string& sym,
                uint64_t tag) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (r.status == 200 && parser.parse(r.body).get(doc) == simdjson::SUCCESS) {
      emit(state_of(doc, tag));
      return;
    }
    if (error_code(r) == -2013) {
      emit(base(kind::not_found, cid, sym, tag));
      return;
    }
    order_report rep = base(kind::unknown, cid, sym, tag);
    rep.reason = describe_failure(r);
    emit(std::move(rep));
  }

  // Emits the trades of a myTrades page; returns how many there were and the last trade id.
  std::pair<size_t, uint64_t> on_trades(const net::http_result& r, const std::string& cid,
                                        const std::string& sym, uint64_t tag) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array list;
    if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
        doc.get(list) != simdjson::SUCCESS) {
      spdlog::warn("binance: the fills of {} could not be fetched: {}", cid, describe_failure(r));
      return {0, 0};
    }
    size_t count = 0;
    uint64_t last = 0;
    for (simdjson::dom::element t : list) {
      ++count;
      if (uint64_t id = 0; t["id"].get(id) == simdjson::SUCCESS) last = id;
      order_report rep = base(kind::fill, cid, sym, tag);
      rep.venue_order_id = text_of(t, "orderId");
      rep.trade_id = text_of(t, "id");
      rep.price = decimal(t, "price");
      rep.quantity = decimal(t, "qty");
      bool maker = false;
      if (t["isMaker"].get(maker) == simdjson::SUCCESS) rep.maker = maker;
      set_fee(rep, sym, decimal(t, "commission", true), text_of(t, "commissionAsset"));
      rep.venue_ts_ns = integer(t, "time") * 1'000'000;
      emit(std::move(rep));
    }
    return {count, last};
  }

  void on_open_orders(const net::http_result& r, const std::string& sym, uint64_t tag) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array list;
    order_report end = base(kind::state, {}, sym, tag);
    end.listing = true;
    if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
        doc.get(list) != simdjson::SUCCESS) {
      end.reason = describe_failure(r);
      emit(std::move(end));
      return;
    }
    for (simdjson::dom::element o : list) {
      order_report rep = state_of(o, tag);
      rep.listing = true;
      emit(std::move(rep));
    }
    emit(std::move(end));
  }

  void sync_time() {
    measure_clock("/api/v3/time",
                  [](simdjson::dom::element doc) { return integer(doc, "serverTime"); });
  }

  // On the stream's network thread after every (re)connect.
  void subscribe() {
    const std::string ts =
        std::to_string(wall_clock_ns() / 1'000'000 + stats_.clock_offset_ms.load());
    const std::string payload = "apiKey=" + opt_.api_key + "&timestamp=" + ts;
    std::string msg = R"({"id":"cats-sub-)" + std::to_string(++subscriptions_) +
                      R"(","method":"userDataStream.subscribe.signature","params":{"apiKey":")" +
                      opt_.api_key + R"(","timestamp":)" + ts + R"(,"signature":")" +
                      signer_->sign(payload) + "\"}}";
    stream_->send(std::move(msg));
  }

  void on_stream(const char* data, size_t size) override {
    simdjson::dom::element doc, event;
    if (stream_parser_.parse(data, size).get(doc) != simdjson::SUCCESS) {
      spdlog::warn("binance user stream: unreadable message ({} bytes)", size);
      return;
    }
    if (doc["event"].get(event) == simdjson::SUCCESS) {
      on_event(event);
      return;
    }
    int64_t status = 0;
    if (doc["status"].get(status) == simdjson::SUCCESS) {
      if (status == 200) {
        stream_ready();
      } else {
        simdjson::dom::element err;
        std::string why = doc["error"].get(err) == simdjson::SUCCESS
                              ? text_of(err, "code") + ": " + text_of(err, "msg")
                              : std::to_string(status);
        spdlog::error("binance user stream: subscription refused ({}); retrying", why);
        stream_->reconnect("subscription refused");
      }
    }
  }

  void on_event(simdjson::dom::element e) {
    const std::string type = text_of(e, "e");
    if (type == "eventStreamTerminated") {
      stats_.stream_up.store(false);
      stream_->reconnect("the venue ended the user stream");
      return;
    }
    if (type != "executionReport") return;
    const std::string sym = text_of(e, "s"), exec = text_of(e, "x");
    std::string cid = text_of(e, "c");
    // A cancel's report names the cancel request in "c" and the order in "C".
    if (const std::string orig = text_of(e, "C"); !orig.empty()) cid = orig;
    order_report rep = base(kind::state, cid, sym, 0);
    rep.venue_order_id = text_of(e, "i");
    rep.venue_ts_ns = integer(e, "T") * 1'000'000;
    if (exec == "TRADE") {
      rep.what = kind::fill;
      rep.trade_id = text_of(e, "t");
      rep.price = decimal(e, "L");
      rep.quantity = decimal(e, "l");
      bool maker = false;
      if (e["m"].get(maker) == simdjson::SUCCESS) rep.maker = maker;
      set_fee(rep, sym, decimal(e, "n", true), text_of(e, "N"));
      emit(std::move(rep));
      return;
    }
    if (exec == "REJECTED") {
      rep.what = kind::rejected;
      rep.reason = "binance: " + text_of(e, "r");
      emit(std::move(rep));
      return;
    }
    rep.status = status_from(text_of(e, "X"), rep.reason);
    rep.cum_quantity = decimal(e, "z");
    rep.cum_quote = decimal(e, "Z");
    emit(std::move(rep));
  }

  binance_gateway_options opt_;
  std::unique_ptr<net::signer> signer_;
  std::atomic<int> blocked_status_{0};
  std::atomic<int64_t> blocked_secs_{0};
  simdjson::dom::parser stream_parser_;
  uint64_t subscriptions_ = 0;
};

}  // namespace

bool fetch_binance_rules(const std::string& rest_url, const net::tls_options& tls,
                         const std::vector<std::string>& symbols, std::vector<venue_rules>& out,
                         std::string& error) {
  std::string list = "[";
  for (const std::string& s : symbols) list += (list.size() > 1 ? ",\"" : "\"") + s + "\"";
  list += "]";
  const net::http_response r =
      net::https_request("GET", rest_url + "/api/v3/exchangeInfo?symbols=" + net::url_encode(list),
                         tls, std::chrono::seconds(10));
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array list_of;
  if (r.status != 200 || parser.parse(r.body).get(doc) != simdjson::SUCCESS ||
      doc["symbols"].get(list_of) != simdjson::SUCCESS) {
    error =
        r.status == 0 ? r.error : "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
    return false;
  }
  for (simdjson::dom::element sym : list_of) {
    venue_rules v;
    v.symbol = text_of(sym, "symbol");
    v.status = text_of(sym, "status");
    simdjson::dom::array filters;
    if (sym["filters"].get(filters) == simdjson::SUCCESS) {
      for (simdjson::dom::element f : filters) {
        const std::string type = text_of(f, "filterType");
        if (type == "PRICE_FILTER") {
          v.tick_size = decimal(f, "tickSize");
        } else if (type == "LOT_SIZE") {
          v.lot_size = decimal(f, "stepSize");
          v.min_quantity = decimal(f, "minQty");
        } else if (type == "NOTIONAL" || type == "MIN_NOTIONAL") {
          v.min_notional = decimal(f, "minNotional");
        }
      }
    }
    out.push_back(std::move(v));
  }
  return true;
}

std::unique_ptr<order_gateway> make_binance_gateway(boost::asio::io_context& io,
                                                    binance_gateway_options options) {
  return std::make_unique<binance_gateway>(io, std::move(options));
}

}  // namespace cats
