// What the venues' order gateways share (internal to venues/): the REST connection, the private
// stream, the report sink, the figures, the instruments' assets, and the small steps every
// gateway takes the same way (a report about an order, a fee, a blocking call at start, the
// venue's clock).
#pragma once

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <unordered_map>

#include "cats/net/https_client.hpp"
#include "cats/net/ws_client.hpp"
#include "cats/util/time.hpp"
#include "cats/venues/order_gateway.hpp"

namespace cats::venues {

/// Lifetime: stop() only asks the network thread to close; callbacks still queued there hold
/// `this`. The owner must stop the gateway and join its network thread before destroying it
/// (session/live.cpp does: stop_live_broker() joins the thread before the members go).
class gateway_base : public order_gateway {
 public:
  void stop() override {
    if (stream_) stream_->stop();
    rest_.stop();
  }
  const gateway_stats& stats() const noexcept override { return stats_; }

 protected:
  struct assets {
    uint32_t instrument_id = 0;
    std::string base, quote;
  };

  gateway_base(boost::asio::io_context& io, const std::string& rest_url,
               const net::tls_options& tls, std::chrono::milliseconds timeout)
      : io_(io), rest_(io, rest_url, tls, timeout), timeout_(timeout), rest_url_(rest_url) {}

  /// A report about order `cid` of `symbol`, answering request `tag` (0: a stream event).
  order_report base(order_report::kind what, const std::string& cid, const std::string& symbol,
                    uint64_t tag) const {
    order_report rep;
    rep.what = what;
    rep.client_id = cid;
    rep.symbol = symbol;
    if (auto it = symbols_.find(symbol); it != symbols_.end())
      rep.instrument_id = it->second.instrument_id;
    rep.request_tag = tag;
    return rep;
  }
  void emit(order_report&& r) {
    if (sink_) sink_(std::move(r));
  }
  /// A fill's fee from the venue's commission and its asset (see set_fill_fee).
  void set_fee(order_report& rep, const std::string& symbol, int64_t commission,
               const std::string& asset) const {
    auto it = symbols_.find(symbol);
    if (it == symbols_.end()) return set_fill_fee(rep, commission, asset, {}, asset);
    set_fill_fee(rep, commission, asset, it->second.base, it->second.quote);
  }

  /// Connects the private stream: `on_open` runs after every (re)connect (log in, subscribe).
  void open_stream(net::ws_options wo, std::function<void()> on_open) {
    net::ws_client::handlers h;
    h.on_open = std::move(on_open);
    h.on_message = [this](const char* data, size_t size, int64_t) { on_stream(data, size); };
    h.on_disconnect = [this](const std::string&) { stats_.stream_up.store(false); };
    stream_ = std::make_unique<net::ws_client>(io_, std::move(wo), std::move(h));
    stream_->start();
  }
  virtual void on_stream(const char* data, size_t size) = 0;
  /// The stream is subscribed: events may have been missed while it was down.
  void stream_ready() {
    stats_.stream_up.store(true);
    stats_.stream_connects.fetch_add(1);
    order_report rep;
    rep.what = order_report::kind::resync;
    emit(std::move(rep));
  }

  /// For start-up calls on the engine thread: `send` queues a request whose answer is returned
  /// here; none within three timeouts (connect, write, read) leaves `error` set. The promise is
  /// shared with the callback, so an answer after the wait gave up finds it alive.
  net::http_result await(const std::function<void(std::function<void(net::http_result)>)>& send,
                         std::string& error) {
    auto done = std::make_shared<std::promise<net::http_result>>();
    auto result = done->get_future();
    send([done](net::http_result r) { done->set_value(std::move(r)); });
    if (result.wait_for(timeout_ * 3 + std::chrono::seconds(1)) != std::future_status::ready) {
      error = "no answer from " + rest_url_;
      return {};
    }
    return result.get();
  }

  /// Measures the venue's clock against ours (offset = server time - the request's midpoint)
  /// with an unsigned GET of `target`; `read_ms` finds the server time in the answer (0: none).
  void measure_clock(const char* target, std::function<int64_t(simdjson::dom::element)> read_ms) {
    const int64_t sent = wall_clock_ns();
    net::http_request req;
    req.target = target;
    rest_.request(std::move(req), [this, sent, read_ms = std::move(read_ms)](net::http_result r) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      const int64_t server_ms =
          r.status == 200 && parser.parse(r.body).get(doc) == 0 ? read_ms(doc) : 0;
      if (server_ms <= 0) {
        spdlog::warn("{}: the venue clock could not be read (HTTP {} {})", name(), r.status,
                     r.error);
        return;
      }
      const int64_t mid_ms = (sent + wall_clock_ns()) / 2 / 1'000'000;
      stats_.clock_offset_ms.store(server_ms - mid_ms);
      if (std::llabs(server_ms - mid_ms) > 1000)
        spdlog::warn("{}: the venue clock is {} ms from ours; timestamps are corrected", name(),
                     server_ms - mid_ms);
    });
  }

  boost::asio::io_context& io_;
  net::https_client rest_;
  std::unique_ptr<net::ws_client> stream_;
  std::unordered_map<std::string, assets> symbols_;  ///< by the venue's symbol
  report_sink sink_;
  gateway_stats stats_;
  std::chrono::milliseconds timeout_;
  std::string rest_url_;
};

}  // namespace cats::venues
