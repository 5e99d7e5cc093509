#include "private.hpp"

#include <simdjson.h>

#include <algorithm>
#include <chrono>

#include "cats/core/fixed.hpp"
#include "cats/core/instrument.hpp"
#include "cats/net/signing.hpp"
#include "cats/util/time.hpp"
#include "render.hpp"

namespace cats::fake {

namespace {

constexpr int64_t taker_fee = 100'000;  // 0.001 in fixed point
constexpr int64_t maker_fee = 80'000;   // 0.0008

std::map<std::string, std::string> parse_params(std::string_view text) {
  std::map<std::string, std::string> out;
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    const size_t eq = pair.find('=');
    if (!pair.empty())
      out[std::string(pair.substr(0, eq))] =
          eq == std::string_view::npos ? std::string() : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    text = text.substr(amp + 1);
  }
  return out;
}

bool amount(const std::map<std::string, std::string>& p, const char* key, int64_t& out) {
  auto it = p.find(key);
  return it != p.end() && parse_fixed(it->second, out) == parse_error::ok && out > 0;
}

const std::string& get(const std::map<std::string, std::string>& p, const char* key) {
  static const std::string none;
  auto it = p.find(key);
  return it == p.end() ? none : it->second;
}

}  // namespace

private_side::private_side(private_options opt, market& mkt,
                           std::function<void(venue, const std::string&)> publish)
    : opt_(std::move(opt)), mkt_(mkt), publish_(std::move(publish)) {
  for (const symbol_state& s : mkt_.symbols()) {
    const auto [base, quote] = assets(s.name);
    balances_[base] = {100 * fixed_scale, 0};
    balances_[quote] = {1'000'000 * fixed_scale, 0};
  }
}

int64_t private_side::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() + skew_ms_;
}

std::pair<std::string, std::string> private_side::assets(const std::string& symbol) const {
  std::string base, quote;
  guess_base_quote(symbol, base, quote);
  return {base, quote};
}

private_reply private_side::error(int status, int code, std::string_view msg) const {
  private_reply r;
  r.status = status;
  r.body = "{\"code\":" + std::to_string(code) + ",\"msg\":";
  append_json_string(r.body, msg);
  r.body += '}';
  return r;
}

bool private_side::check_subscription(std::string_view api_key, int64_t timestamp,
                                      std::string_view signature, std::string& err) const {
  if (api_key != opt_.api_key) {
    err = "Invalid API-key, IP, or permissions for action.";
    return false;
  }
  const std::string payload =
      "apiKey=" + std::string(api_key) + "&timestamp=" + std::to_string(timestamp);
  if (net::hmac_sha256_hex(opt_.api_secret, payload) != signature) {
    err = "Signature for this request is not valid.";
    return false;
  }
  return true;
}

private_reply private_side::handle(std::string_view method, std::string_view path,
                                   std::string_view query, std::string_view body,
                                   std::string_view api_key) {
  ++requests_;
  if (status_next_ > 0) {
    --status_next_;
    private_reply r = error(status_code_, status_code_ == 418 ? -1003 : -1003,
                            status_code_ == 418 ? "Way too many requests; IP banned."
                                                : "Too many requests; please use the websocket.");
    r.retry_after = status_retry_;
    return r;
  }
  if (api_key != opt_.api_key)
    return error(401, -2015, "Invalid API-key, IP, or permissions for action.");
  // totalParams = query string + body; the signature is the last parameter.
  const size_t sig_at = query.rfind("&signature=");
  if (sig_at == std::string_view::npos)
    return error(400, -1102,
                 "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
  const std::string_view signed_part = query.substr(0, sig_at);
  const std::string_view signature = query.substr(sig_at + 11);
  if (net::hmac_sha256_hex(opt_.api_secret, std::string(signed_part) + std::string(body)) !=
      signature)
    return error(400, -1022, "Signature for this request is not valid.");
  auto p = parse_params(signed_part);
  for (auto& [k, v] : parse_params(body)) p[k] = v;
  int64_t ts = 0, window = 5000;
  try {
    ts = std::stoll(get(p, "timestamp"));
    if (!get(p, "recvWindow").empty()) window = std::stoll(get(p, "recvWindow"));
  } catch (const std::exception&) {
    return error(400, -1102,
                 "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
  }
  const int64_t server = now_ms();
  if (ts > server + 1000 || server - ts > window)
    return error(400, -1021, "Timestamp for this request is outside of the recvWindow.");
  if (path == "/api/v3/order" && method == "POST") {
    if (reject_next_ > 0) {
      --reject_next_;
      return error(400, -2010, "Account has insufficient balance for requested action.");
    }
    private_reply r = new_order(p);
    if (drop_next_ > 0 && r.status == 200) {
      --drop_next_;
      r.drop = true;
    }
    return r;
  }
  if (path == "/api/v3/order" && method == "DELETE") return cancel_order(p);
  if (path == "/api/v3/order" && method == "GET") {
    auto it = orders_.find(get(p, "origClientOrderId"));
    if (it == orders_.end()) return error(400, -2013, "Order does not exist.");
    return {200, order_json(it->second)};
  }
  if (path == "/api/v3/order/cancelReplace" && method == "POST") return cancel_replace(p);
  if (path == "/api/v3/openOrders") {
    std::string out = "[";
    for (const auto& [cid, o] : orders_) {
      if (o.symbol != get(p, "symbol") || (o.status != "NEW" && o.status != "PARTIALLY_FILLED"))
        continue;
      if (out.size() > 1) out += ',';
      out += order_json(o);
    }
    return {200, out + "]"};
  }
  if (path == "/api/v3/myTrades") {
    // Oldest first from `fromId` on, at most `limit` (default 500, at most 1000), as Binance.
    uint64_t from = 0, limit = 500, n = 0;
    if (!get(p, "fromId").empty()) from = std::stoull(get(p, "fromId"));
    if (!get(p, "limit").empty()) limit = std::min<uint64_t>(1000, std::stoull(get(p, "limit")));
    std::string out = "[";
    for (const trade& t : trades_) {
      if (t.symbol != get(p, "symbol") || std::to_string(t.order_id) != get(p, "orderId") ||
          t.id < from || n == limit)
        continue;
      ++n;
      if (out.size() > 1) out += ',';
      out += "{\"symbol\":\"" + t.symbol + "\",\"id\":" + std::to_string(t.id) +
             ",\"orderId\":" + std::to_string(t.order_id) + ",\"price\":\"" +
             fixed_to_string(t.price, 8) + "\",\"qty\":\"" + fixed_to_string(t.qty, 8) +
             "\",\"commission\":\"" + fixed_to_string(t.commission, 8) +
             "\",\"commissionAsset\":\"" + t.asset + "\",\"time\":" + std::to_string(t.time_ms) +
             ",\"isBuyer\":" + (t.buyer ? "true" : "false") +
             ",\"isMaker\":" + (t.maker ? "true" : "false") + "}";
    }
    return {200, out + "]"};
  }
  if (path == "/api/v3/account") {
    std::string out = "{\"canTrade\":true,\"balances\":[";
    bool first = true;
    for (const auto& [asset, b] : balances_) {
      out += std::string(first ? "" : ",") + "{\"asset\":\"" + asset + "\",\"free\":\"" +
             fixed_to_string(b.first, 8) + "\",\"locked\":\"" + fixed_to_string(b.second, 8) +
             "\"}";
      first = false;
    }
    return {200, out + "]}"};
  }
  return error(404, -1000, "no such private endpoint");
}

private_reply private_side::new_order(const std::map<std::string, std::string>& p, venue where) {
  order o;
  o.okx = where == venue::okx;
  o.symbol = get(p, "symbol");
  o.symbol_index = mkt_.find(where, o.symbol);
  if (o.symbol_index < 0) return error(400, -1121, "Invalid symbol.");
  o.client_id = get(p, "newClientOrderId");
  if (o.client_id.empty() || o.client_id.size() > 36)
    return error(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.");
  if (auto it = orders_.find(o.client_id);
      it != orders_.end() &&
      (it->second.status == "NEW" || it->second.status == "PARTIALLY_FILLED"))
    return error(400, -2010, "Duplicate order sent.");
  o.buy = get(p, "side") == "BUY";
  if (!o.buy && get(p, "side") != "SELL") return error(400, -1100, "Illegal side.");
  o.type = get(p, "type");
  if (!amount(p, "quantity", o.quantity)) return error(400, -1100, "Illegal quantity.");
  if (o.type == "LIMIT" || o.type == "LIMIT_MAKER") {
    if (!amount(p, "price", o.price)) return error(400, -1100, "Illegal price.");
    o.tif = o.type == "LIMIT" ? get(p, "timeInForce") : "GTC";
    if (o.tif != "GTC" && o.tif != "IOC") return error(400, -1100, "Illegal timeInForce.");
  } else if (o.type == "STOP_LOSS") {
    if (!amount(p, "stopPrice", o.stop)) return error(400, -1100, "Illegal stopPrice.");
  } else if (o.type != "MARKET") {
    return error(400, -1116, "Invalid orderType.");
  }
  const order_book& book = mkt_.symbols()[static_cast<size_t>(o.symbol_index)].book;
  if (o.type == "LIMIT_MAKER") {
    const auto& side = o.buy ? book.asks() : book.bids();
    if (!side.empty() && (o.buy ? side.front().price <= o.price : side.front().price >= o.price))
      return error(400, -2010, "Order would immediately match and take.");
  }
  o.id = next_order_id_++;
  o.time_ms = o.update_ms = now_ms();
  if (mute_next_ > 0) {
    --mute_next_;
    o.muted = true;
  }
  order& ref = orders_[o.client_id] = o;
  working_.insert(ref.client_id);
  report(ref, "NEW", nullptr);
  if (ref.type != "STOP_LOSS") take(ref);
  if ((ref.type == "MARKET" || ref.tif == "IOC") && ref.status != "FILLED") {
    ref.status = "EXPIRED";
    report(ref, "EXPIRED", nullptr);
  }
  return {200, order_json(ref)};
}

private_reply private_side::cancel_order(const std::map<std::string, std::string>& p,
                                         const std::string& orig_key) {
  auto it = orders_.find(get(p, orig_key.c_str()));
  if (it == orders_.end() || it->second.symbol != get(p, "symbol"))
    return error(400, -2011, "Unknown order sent.");
  order& o = it->second;
  if (o.status != "NEW" && o.status != "PARTIALLY_FILLED")
    return error(400, -2011, "Unknown order sent.");
  o.status = "CANCELED";
  o.update_ms = now_ms();
  report(o, "CANCELED", nullptr, o.client_id);
  std::string body = order_json(o);
  body.insert(1, "\"origClientOrderId\":\"" + o.client_id + "\",");
  return {200, body};
}

private_reply private_side::cancel_replace(const std::map<std::string, std::string>& p) {
  private_reply cancelled = cancel_order(p, "cancelOrigClientOrderId");
  if (cancelled.status != 200) {
    private_reply r = error(400, -2022, "Order cancel-replace failed.");
    r.body.pop_back();
    r.body +=
        ",\"data\":{\"cancelResult\":\"FAILURE\",\"newOrderResult\":\"NOT_ATTEMPTED\","
        "\"cancelResponse\":" +
        cancelled.body + ",\"newOrderResponse\":null}}";
    return r;
  }
  private_reply fresh = new_order(p);
  if (fresh.status != 200) {
    private_reply r = error(409, -2021, "Order cancel-replace partially failed.");
    r.body.pop_back();
    r.body +=
        ",\"data\":{\"cancelResult\":\"SUCCESS\",\"newOrderResult\":\"FAILURE\","
        "\"cancelResponse\":" +
        cancelled.body + ",\"newOrderResponse\":" + fresh.body + "}}";
    return r;
  }
  return {200, "{\"cancelResult\":\"SUCCESS\",\"newOrderResult\":\"SUCCESS\",\"cancelResponse\":" +
                   cancelled.body + ",\"newOrderResponse\":" + fresh.body + "}"};
}

std::string private_side::order_json(const order& o) const {
  return "{\"symbol\":\"" + o.symbol + "\",\"orderId\":" + std::to_string(o.id) +
         ",\"orderListId\":-1,\"clientOrderId\":\"" + o.client_id +
         "\",\"transactTime\":" + std::to_string(o.update_ms) + ",\"price\":\"" +
         fixed_to_string(o.price, 8) + "\",\"origQty\":\"" + fixed_to_string(o.quantity, 8) +
         "\",\"executedQty\":\"" + fixed_to_string(o.executed, 8) +
         "\",\"cummulativeQuoteQty\":\"" + fixed_to_string(o.quote, 8) + "\",\"status\":\"" +
         o.status + "\",\"timeInForce\":\"" + o.tif + "\",\"type\":\"" + o.type + "\",\"side\":\"" +
         (o.buy ? "BUY" : "SELL") + "\",\"stopPrice\":\"" + fixed_to_string(o.stop, 8) +
         "\",\"time\":" + std::to_string(o.time_ms) +
         ",\"updateTime\":" + std::to_string(o.update_ms) + "}";
}

void private_side::report(const order& o, const char* exec, const trade* t,
                          const std::string& orig) {
  if (o.muted) return;
  if (o.okx) {
    // One push per state change, carrying the last execution when `t` is one.
    order copy = o;
    if (t == nullptr) copy.last_trade = 0;
    const std::string e =
        "{\"arg\":{\"channel\":\"orders\",\"instType\":\"SPOT\",\"uid\":\"1\"},"
        "\"data\":[" +
        okx_order_json(copy) + "]}";
    publish_(venue::okx, e);
    if (t != nullptr && duplicate_next_ > 0) {
      --duplicate_next_;
      publish_(venue::okx, e);
    }
    return;
  }
  std::string e =
      "{\"subscriptionId\":0,\"event\":{\"e\":\"executionReport\",\"E\":" +
      std::to_string(now_ms()) + ",\"s\":\"" + o.symbol + "\",\"c\":\"" +
      (orig.empty() ? o.client_id : "web_cancel" + std::to_string(o.id)) + "\",\"S\":\"" +
      (o.buy ? "BUY" : "SELL") + "\",\"o\":\"" + o.type + "\",\"f\":\"" + o.tif + "\",\"q\":\"" +
      fixed_to_string(o.quantity, 8) + "\",\"p\":\"" + fixed_to_string(o.price, 8) + "\",\"P\":\"" +
      fixed_to_string(o.stop, 8) + "\",\"x\":\"" + exec + "\",\"X\":\"" + o.status +
      "\",\"r\":\"NONE\",\"i\":" + std::to_string(o.id) + ",\"l\":\"" +
      fixed_to_string(t ? t->qty : 0, 8) + "\",\"z\":\"" + fixed_to_string(o.executed, 8) +
      "\",\"L\":\"" + fixed_to_string(t ? t->price : 0, 8) + "\",\"n\":\"" +
      fixed_to_string(t ? t->commission : 0, 8) +
      "\",\"N\":" + (t ? "\"" + t->asset + "\"" : std::string("null")) +
      ",\"T\":" + std::to_string(o.update_ms) +
      ",\"t\":" + std::to_string(t ? static_cast<int64_t>(t->id) : -1) +
      ",\"m\":" + (t && t->maker ? "true" : "false") + ",\"Z\":\"" + fixed_to_string(o.quote, 8) +
      "\",\"C\":\"" + orig + "\"}}";
  publish_(venue::binance, e);
  if (t != nullptr && duplicate_next_ > 0) {
    --duplicate_next_;
    publish_(venue::binance, e);
  }
}

void private_side::execute(order& o, int64_t price, int64_t qty, bool maker) {
  trade t;
  t.id = next_trade_id_++;
  t.order_id = o.id;
  t.symbol = o.symbol;
  t.price = price;
  t.qty = qty;
  const auto [base, quote] = assets(o.symbol);
  const int64_t notional = fixed_mul(qty, price, rounding::nearest);
  t.commission = fixed_mul(notional, maker ? maker_fee : taker_fee, rounding::up);
  t.asset = quote;
  t.time_ms = now_ms();
  t.buyer = o.buy;
  t.maker = maker;
  o.executed += qty;
  o.quote += notional;
  o.update_ms = t.time_ms;
  o.status = o.executed >= o.quantity ? "FILLED" : "PARTIALLY_FILLED";
  auto& b = balances_[base];
  auto& q = balances_[quote];
  b.first += o.buy ? qty : -qty;
  q.first += (o.buy ? -notional : notional) - t.commission;
  trades_.push_back(t);
  o.last_px = price;
  o.last_qty = qty;
  o.last_fee = t.commission;
  o.last_trade = t.id;
  o.last_maker = maker;
  report(o, "TRADE", &trades_.back());
}

void private_side::take(order& o) {
  const order_book& book = mkt_.symbols()[static_cast<size_t>(o.symbol_index)].book;
  const auto& levels = o.buy ? book.asks() : book.bids();
  for (const book_level& l : levels) {
    if (o.executed >= o.quantity) break;
    if (o.type != "MARKET" && o.type != "STOP_LOSS" &&
        (o.buy ? l.price > o.price : l.price < o.price))
      break;
    execute(o, l.price, std::min(l.quantity, o.quantity - o.executed), false);
  }
}

void private_side::match() {
  // Only working orders: a long benchmark leaves the account with 100k finished ones.
  const std::vector<std::string> ids(working_.begin(), working_.end());
  for (const std::string& cid : ids) {
    order& o = orders_[cid];
    if (o.status != "NEW" && o.status != "PARTIALLY_FILLED") {
      working_.erase(cid);
      continue;
    }
    const symbol_state& s = mkt_.symbols()[static_cast<size_t>(o.symbol_index)];
    if (o.type == "STOP_LOSS") {
      if (s.last_px == 0 || (o.buy ? s.last_px < o.stop : s.last_px > o.stop)) continue;
      take(o);
      if (o.status != "FILLED") {
        o.status = "EXPIRED";
        report(o, "EXPIRED", nullptr);
      }
      continue;
    }
    const auto& side = o.buy ? s.book.asks() : s.book.bids();
    if (side.empty()) continue;
    const book_level& touch = side.front();
    if (o.buy ? touch.price > o.price : touch.price < o.price) continue;
    execute(o, o.price, std::min(touch.quantity, o.quantity - o.executed), true);
  }
}

bool private_side::force_fill(const std::string& client_id, int64_t qty, std::string& err) {
  auto it = orders_.find(client_id);
  if (it == orders_.end() ||
      (it->second.status != "NEW" && it->second.status != "PARTIALLY_FILLED")) {
    err = "no working order " + client_id;
    return false;
  }
  order& o = it->second;
  qty = std::min(qty, o.quantity - o.executed);
  if (qty <= 0) {
    err = "nothing left to fill";
    return false;
  }
  execute(o, o.price > 0 ? o.price : mkt_.symbols()[static_cast<size_t>(o.symbol_index)].last_px,
          qty, true);
  return true;
}

std::string private_side::state_json() const {
  std::string out = "{\"orders\":[";
  bool first = true;
  for (const auto& [cid, o] : orders_) {
    out += (first ? "" : ",") + order_json(o);
    first = false;
  }
  out += "],\"trades\":[";
  first = true;
  for (const trade& t : trades_) {
    out += std::string(first ? "" : ",") + "{\"id\":" + std::to_string(t.id) +
           ",\"orderId\":" + std::to_string(t.order_id) + ",\"symbol\":\"" + t.symbol +
           "\",\"price\":\"" + fixed_to_string(t.price) + "\",\"qty\":\"" + fixed_to_string(t.qty) +
           "\",\"commission\":\"" + fixed_to_string(t.commission) +
           "\",\"isBuyer\":" + (t.buyer ? "true" : "false") + "}";
    first = false;
  }
  out += "],\"balances\":{";
  first = true;
  for (const auto& [asset, b] : balances_) {
    out += std::string(first ? "" : ",") + "\"" + asset + "\":\"" + fixed_to_string(b.first) + "\"";
    first = false;
  }
  return out + "},\"requests\":" + std::to_string(requests_) + "}";
}

// ---- OKX dialect
// ---------------------------------------------------------------------------------

namespace {

const char* okx_state(const std::string& status) {
  if (status == "NEW") return "live";
  if (status == "PARTIALLY_FILLED") return "partially_filled";
  if (status == "FILLED") return "filled";
  return "canceled";
}

// OKX writes amounts in their short form ("0.01"), fees negative.
std::string okx_amount(int64_t v) {
  return fixed_to_string(v);
}

}  // namespace

bool private_side::check_okx_login(std::string_view key, std::string_view passphrase,
                                   std::string_view timestamp, std::string_view sign,
                                   std::string& error) const {
  if (key != opt_.api_key || passphrase != opt_.passphrase) {
    error = "Invalid OK-ACCESS-KEY or passphrase";
    return false;
  }
  if (net::hmac_sha256_base64(opt_.api_secret, std::string(timestamp) + "GET/users/self/verify") !=
      sign) {
    error = "Invalid Sign";
    return false;
  }
  return true;
}

std::string private_side::okx_order_json(const order& o, const char* amend_result) const {
  const std::string type = o.type == "MARKET"        ? "market"
                           : o.type == "LIMIT_MAKER" ? "post_only"
                           : o.tif == "IOC"          ? "ioc"
                                                     : "limit";
  const int64_t avg = o.executed == 0 ? 0 : fixed_div(o.quote, o.executed, rounding::nearest);
  const auto [base, quote] = assets(o.symbol);
  std::string j = "{\"instType\":\"SPOT\",\"instId\":\"" + o.symbol + "\",\"ordId\":\"" +
                  std::to_string(o.id) + "\",\"clOrdId\":\"" + o.client_id + "\",\"px\":\"" +
                  (o.price > 0 ? okx_amount(o.price) : std::string()) + "\",\"sz\":\"" +
                  okx_amount(o.quantity) + "\",\"ordType\":\"" + type + "\",\"side\":\"" +
                  (o.buy ? "buy" : "sell") + "\",\"tdMode\":\"cash\",\"state\":\"" +
                  okx_state(o.status) + "\",\"accFillSz\":\"" + okx_amount(o.executed) +
                  "\",\"avgPx\":\"" + (avg > 0 ? okx_amount(avg) : std::string()) + "\"";
  if (o.last_trade != 0)
    j += ",\"tradeId\":\"" + std::to_string(o.last_trade) + "\",\"fillPx\":\"" +
         okx_amount(o.last_px) + "\",\"fillSz\":\"" + okx_amount(o.last_qty) +
         "\",\"fillFee\":\"-" + okx_amount(o.last_fee) + "\",\"fillFeeCcy\":\"" + quote +
         "\",\"execType\":\"" + (o.last_maker ? "M" : "T") + "\"";
  else
    j += ",\"tradeId\":\"\",\"fillPx\":\"\",\"fillSz\":\"0\"";
  return j + ",\"amendResult\":\"" + amend_result + "\",\"cTime\":\"" + std::to_string(o.time_ms) +
         "\",\"uTime\":\"" + std::to_string(o.update_ms) + "\"}";
}

private_reply private_side::okx_reply(const std::string& data, const std::string& code,
                                      const std::string& msg) const {
  private_reply r;
  r.body = "{\"code\":\"" + code + "\",\"msg\":";
  append_json_string(r.body, msg);
  r.body += ",\"data\":[" + data + "]}";
  return r;
}

private_reply private_side::okx_item(const order* o, const std::string& cid,
                                     const std::string& scode, const std::string& smsg) const {
  std::string item = "{\"clOrdId\":\"" + cid + "\",\"ordId\":\"" +
                     (o != nullptr ? std::to_string(o->id) : std::string()) +
                     "\",\"tag\":\"\",\"sCode\":\"" + scode + "\",\"sMsg\":";
  append_json_string(item, smsg);
  item += "}";
  return okx_reply(item, scode == "0" ? "0" : "1", scode == "0" ? "" : "Operation failed.");
}

private_reply private_side::handle_okx(std::string_view method, std::string_view path,
                                       std::string_view body, const okx_auth& auth) {
  ++requests_;
  if (status_next_ > 0) {
    --status_next_;
    private_reply r = okx_reply(
        "", "50011",
        "Rate limit reached. Please refer to API documentation and throttle requests accordingly.");
    r.status = status_code_;
    r.retry_after = status_retry_;
    return r;
  }
  auto refuse = [&](const char* code, const char* msg) {
    private_reply r = okx_reply("", code, msg);
    r.status = 401;
    return r;
  };
  if (auth.key != opt_.api_key) return refuse("50111", "Invalid OK-ACCESS-KEY.");
  if (auth.passphrase != opt_.passphrase) return refuse("50105", "OK-ACCESS-PASSPHRASE incorrect.");
  if (net::hmac_sha256_base64(opt_.api_secret, std::string(auth.timestamp) + std::string(method) +
                                                   std::string(path) + std::string(body)) !=
      auth.sign)
    return refuse("50113", "Invalid Sign.");
  // "2020-12-08T09:08:57.715Z": the seconds, then the milliseconds.
  const size_t dot = auth.timestamp.find('.');
  auto ts = parse_iso8601(auth.timestamp.substr(0, dot));
  if (ts && dot != std::string_view::npos && auth.timestamp.size() >= dot + 4)
    *ts += std::stoll(std::string(auth.timestamp.substr(dot + 1, 3))) * 1'000'000;
  if (!ts || std::llabs(*ts / 1'000'000 - now_ms()) > 30'000)
    return refuse("50102", "Timestamp request expired.");
  const size_t q = path.find('?');
  const std::string_view route = path.substr(0, q);
  std::map<std::string, std::string> p =
      parse_params(q == std::string_view::npos ? std::string_view() : path.substr(q + 1));
  if (!body.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(body.data(), body.size()).get(obj) != simdjson::SUCCESS)
      return okx_reply("", "50002", "JSON syntax error");
    for (auto field : obj) {
      std::string_view v;
      if (field.value.get(v) == simdjson::SUCCESS) p[std::string(field.key)] = std::string(v);
    }
  }
  return okx_trade(route, p);
}

private_reply private_side::okx_trade(std::string_view route,
                                      const std::map<std::string, std::string>& p) {
  const std::string& cid = get(p, "clOrdId");
  auto working_order = [&]() -> order* {
    auto it = orders_.find(cid);
    return it == orders_.end() || !it->second.okx ||
                   (it->second.status != "NEW" && it->second.status != "PARTIALLY_FILLED")
               ? nullptr
               : &it->second;
  };
  if (route == "/api/v5/trade/order" && !get(p, "ordType").empty()) {
    // OKX's limit on placing orders: 60 requests per 2 s per instrument.
    std::deque<int64_t>& sent = okx_placed_[get(p, "instId")];
    const int64_t now = now_ms();
    while (!sent.empty() && sent.front() <= now - 2000) sent.pop_front();
    if (sent.size() >= 60) {
      private_reply r = okx_reply("", "50011", "Too Many Requests");
      r.status = 429;
      return r;
    }
    sent.push_back(now);
    if (reject_next_ > 0) {
      --reject_next_;
      return okx_item(nullptr, cid, "51008", "Order failed. Insufficient USDT balance in account.");
    }
    const std::string& t = get(p, "ordType");
    std::map<std::string, std::string> b = {{"symbol", get(p, "instId")},
                                            {"newClientOrderId", cid},
                                            {"side", get(p, "side") == "buy" ? "BUY" : "SELL"},
                                            {"quantity", get(p, "sz")}};
    b["type"] = t == "market" ? "MARKET" : t == "post_only" ? "LIMIT_MAKER" : "LIMIT";
    if (t != "market") b["price"] = get(p, "px");
    b["timeInForce"] = t == "ioc" ? "IOC" : "GTC";
    if (t == "market" && get(p, "tgtCcy") != "base_ccy")
      return okx_item(nullptr, cid, "51000", "this fake sizes market orders in base_ccy only");
    private_reply r = new_order(b, venue::okx);
    if (r.status != 200) {
      simdjson::dom::parser parser;
      simdjson::dom::element e;
      std::string_view msg = "rejected";
      if (parser.parse(r.body).get(e) != simdjson::SUCCESS ||
          e["msg"].get(msg) != simdjson::SUCCESS)
        msg = "rejected";
      return okx_item(nullptr, cid, "51000", std::string(msg));
    }
    private_reply ok = okx_item(&orders_[cid], cid, "0", "Order placed");
    if (drop_next_ > 0) {
      --drop_next_;
      ok.drop = true;
    }
    return ok;
  }
  if (route == "/api/v5/trade/cancel-order") {
    order* o = working_order();
    if (o == nullptr)
      return okx_item(nullptr, cid, "51400",
                      "Order cancellation failed as the order has been filled, canceled or does "
                      "not exist.");
    o->status = "CANCELED";
    o->update_ms = now_ms();
    working_.erase(cid);
    report(*o, "CANCELED", nullptr);
    return okx_item(o, cid, "0", "");
  }
  if (route == "/api/v5/trade/amend-order") {
    order* o = working_order();
    int64_t sz = 0, px = 0;
    if (o == nullptr)
      return okx_item(nullptr, cid, "51503",
                      "Order modification failed as the order does not exist.");
    if ((!get(p, "newSz").empty() &&
         (parse_fixed(get(p, "newSz"), sz) != parse_error::ok || sz <= o->executed)) ||
        (!get(p, "newPx").empty() && parse_fixed(get(p, "newPx"), px) != parse_error::ok))
      return okx_item(o, cid, "51000", "Parameter newSz or newPx error");
    if (sz > 0) o->quantity = sz;
    if (px > 0) o->price = px;
    o->update_ms = now_ms();
    if (!o->muted)
      publish_(venue::okx, "{\"arg\":{\"channel\":\"orders\",\"instType\":\"SPOT\"},\"data\":[" +
                               okx_order_json(*o, "0") + "]}");
    return okx_item(o, cid, "0", "");
  }
  if (route == "/api/v5/trade/order") {
    auto it = orders_.find(cid);
    if (it == orders_.end() || !it->second.okx)
      return okx_reply("", "51603", "Order does not exist");
    order copy = it->second;
    copy.last_trade = 0;
    return okx_reply(okx_order_json(copy));
  }
  // OKX's lists come a page at a time, newest first: at most `limit` (default and most 100)
  // rows, those older than `after` (an ordId, or a fill's billId) when it is given.
  auto page = [&](std::vector<std::pair<uint64_t, std::string>> rows) {
    uint64_t after = 0, limit = 100;
    if (!get(p, "after").empty()) after = std::stoull(get(p, "after"));
    if (!get(p, "limit").empty()) limit = std::min<uint64_t>(100, std::stoull(get(p, "limit")));
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string data;
    uint64_t n = 0;
    for (const auto& [key, json] : rows) {
      if ((after != 0 && key >= after) || n == limit) continue;
      data += (data.empty() ? "" : ",") + json;
      ++n;
    }
    return okx_reply(data);
  };
  if (route == "/api/v5/trade/orders-pending") {
    std::vector<std::pair<uint64_t, std::string>> rows;
    for (const auto& [id, o] : orders_) {
      if (!o.okx || o.symbol != get(p, "instId") ||
          (o.status != "NEW" && o.status != "PARTIALLY_FILLED"))
        continue;
      order copy = o;
      copy.last_trade = 0;
      rows.emplace_back(o.id, okx_order_json(copy));
    }
    return page(std::move(rows));
  }
  if (route == "/api/v5/trade/fills") {
    std::vector<std::pair<uint64_t, std::string>> rows;
    for (const trade& t : trades_) {
      if (std::to_string(t.order_id) != get(p, "ordId")) continue;
      rows.emplace_back(
          t.id, "{\"instId\":\"" + t.symbol + "\",\"tradeId\":\"" + std::to_string(t.id) +
                    "\",\"billId\":\"" + std::to_string(t.id) + "\",\"ordId\":\"" +
                    std::to_string(t.order_id) + "\",\"fillPx\":\"" + okx_amount(t.price) +
                    "\",\"fillSz\":\"" + okx_amount(t.qty) + "\",\"side\":\"" +
                    (t.buyer ? "buy" : "sell") + "\",\"fee\":\"-" + okx_amount(t.commission) +
                    "\",\"feeCcy\":\"" + t.asset + "\",\"execType\":\"" + (t.maker ? "M" : "T") +
                    "\",\"ts\":\"" + std::to_string(t.time_ms) + "\"}");
    }
    return page(std::move(rows));
  }
  if (route == "/api/v5/account/balance") {
    std::string details;
    for (const auto& [asset, b] : balances_)
      details += std::string(details.empty() ? "" : ",") + "{\"ccy\":\"" + asset +
                 "\",\"availBal\":\"" + okx_amount(b.first) + "\",\"frozenBal\":\"" +
                 okx_amount(b.second) + "\",\"cashBal\":\"" + okx_amount(b.first + b.second) +
                 "\"}";
    return okx_reply("{\"details\":[" + details + "]}");
  }
  return okx_reply("", "50000", "no such private endpoint in the fake");
}

}  // namespace cats::fake
