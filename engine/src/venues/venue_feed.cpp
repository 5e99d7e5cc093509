#include "cats/venues/venue_feed.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "queued_feed.hpp"

namespace cats {

// ---- queue_sink ---------------------------------------------------------------------------------

void queue_sink::push(owned_event& item, bool droppable) {
  if (q_.try_push(item)) [[likely]]
    return;
  if (droppable) {
    c_.dropped_quotes.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  c_.blocked.fetch_add(1, std::memory_order_relaxed);
  while (!q_.try_push(item)) {
    if (stopping_.load(std::memory_order_relaxed)) return;
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

// Live events are ordered by their receive time (market_event::ts).
void queue_sink::trade(const cats_trade_event_t& e) {
  owned_event item;
  item.event = market_event::of(e, e.header.local_ts_ns);
  push(item, false);
}

void queue_sink::quote(const cats_quote_event_t& e) {
  owned_event item;
  item.event = market_event::of(e, e.header.local_ts_ns);
  push(item, drop_quotes_);
}

void queue_sink::bar(const cats_bar_event_t& e) {
  owned_event item;
  item.event = market_event::of(e, e.header.local_ts_ns);
  push(item, false);
}

void queue_sink::book(book_update&& u, uint32_t flags) {
  owned_event item;
  const int64_t ts = u.local_ts_ns;
  item.set_book(std::make_unique<book_update>(std::move(u)), flags, ts);
  push(item, false);
}

// ---- helpers of the venue feeds ----------------------------------------------------------------

// Logs the first few problems of a kind, then one in every thousand, so a flood of bad frames
// cannot drown the log (the counters still see every one).
bool should_log(uint64_t count) noexcept {
  return count <= 20 || count % 1000 == 0;
}

std::string excerpt(const char* data, size_t size) {
  constexpr size_t max = 300;
  std::string out(data, std::min(size, max));
  if (size > max) out += "...(" + std::to_string(size) + " bytes)";
  return out;
}

// Shared by both venues: counting and logging what a parser made of a message.
void account(parse_result r, const std::string& venue, const std::string& error, const char* data,
             size_t size, feed_counters& c) {
  switch (r) {
    case parse_result::ok:
      return;
    case parse_result::control:
      c.control.fetch_add(1, std::memory_order_relaxed);
      return;
    case parse_result::unknown: {
      const uint64_t n = c.unknown.fetch_add(1, std::memory_order_relaxed) + 1;
      if (should_log(n))
        spdlog::debug("{}: skipped unknown message #{} ({}): {}", venue, n, error,
                      excerpt(data, size));
      return;
    }
    case parse_result::malformed: {
      const uint64_t n = c.malformed.fetch_add(1, std::memory_order_relaxed) + 1;
      if (should_log(n))
        spdlog::warn("{}: malformed message #{} skipped: {}; raw: {}", venue, n, error,
                     excerpt(data, size));
      return;
    }
    case parse_result::venue_error: {
      const uint64_t n = c.venue_errors.fetch_add(1, std::memory_order_relaxed) + 1;
      if (should_log(n)) spdlog::error("{}: venue error: {}", venue, error);
      return;
    }
  }
}

net::ws_options ws_options_for(const feed_endpoints& ep, std::string url) {
  net::ws_options o;
  o.name = ep.name;
  o.url = std::move(url);
  o.tls = ep.tls;
  o.permessage_deflate = ep.permessage_deflate;
  o.read_timeout = std::chrono::milliseconds(ep.read_timeout_ms);
  o.backoff_max = std::chrono::milliseconds(ep.reconnect_max_ms);
  o.backoff_initial = std::min(o.backoff_initial, o.backoff_max);
  return o;
}

}  // namespace cats
