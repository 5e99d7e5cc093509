// One connection to NATS with its JetStream context (internal to the bus area): options and
// credentials from [bus], reconnects counted like a venue connection's, and the stream.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "cats/config/config.hpp"
#include "cats/net/ws_client.hpp"

namespace cats::bus {

/// "what: <the library's status and last error>".
std::string nats_error(const std::string& what, natsStatus s);
void close_library();

struct stream_state {
  int64_t created_ns = 0;
  uint64_t first_seq = 0, last_seq = 0;
};

class link {
 public:
  /// Connects, retrying until connect_timeout has passed; throws std::runtime_error. `js_options`
  /// may set the asynchronous publishing's limits and handlers.
  link(const bus_section& config, const std::string& client_name, jsOptions* js_options = nullptr);
  ~link();
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  natsConnection* connection() const noexcept { return nc_; }
  jsCtx* js() const noexcept { return js_; }
  net::ws_stats& stats() noexcept { return stats_; }
  const bus_section& config() const noexcept { return cfg_; }

  /// Creates the market stream (subjects <prefix>.>) or brings its retention in line with the
  /// config.
  void ensure_stream();
  /// Creates or updates another stream: a work queue (each message to one consumer, removed
  /// once acknowledged) or one kept for `max_age_ms`.
  void ensure_stream(const std::string& name, const std::string& subjects, bool work_queue,
                     int64_t max_age_ms, const std::atomic<bool>* stop = nullptr);
  /// Runs a JetStream request again while the answer is a timeout or "no responders" (a server
  /// still starting, or slow under load), until bus.connect_timeout or `stop`; the last status.
  natsStatus patiently(const std::string& what, const std::function<natsStatus()>& request,
                       const std::atomic<bool>* stop = nullptr) const;
  /// The stream's state; false when there is no such stream (yet).
  bool state(stream_state& out) const;

 private:
  static void on_disconnected(natsConnection* nc, void* closure);
  static void on_reconnected(natsConnection* nc, void* closure);
  static void on_closed(natsConnection* nc, void* closure);
  void close_and_wait();

  bus_section cfg_;
  natsOptions* opts_ = nullptr;
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  net::ws_stats stats_;
  std::atomic<int64_t> down_since_{0};
  // The library calls back on a thread of its own, also while the connection closes: the
  // destructor waits for the last callback (closed) before this object goes.
  std::atomic<bool> closing_{false};
  std::mutex closed_mutex_;
  std::condition_variable closed_cv_;
  bool closed_ = false;
};

}  // namespace cats::bus
