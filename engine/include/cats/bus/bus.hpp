// The bus: the normalized market stream on NATS JetStream. `cats collector` publishes every event
// of its market step (a tap) and, every snapshot_interval, each instrument's whole book; `cats live
// --source nats://...` reads the stream through a durable consumer of its own, in stream order,
// and acknowledges only what has been through its market step.
//
// Subjects are <prefix>.<venue>.<symbol>.<kind>: venue in lower case ("binance"), the venue's
// symbol ("BTCUSDT"), kind "trade", "quote", "bar", "book" (an update) or "snap" (a whole book).
// Each message is one record of the store's encoding (docs/record_format.md, "Version 2").
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/event_queue.hpp"
#include "cats/core/instrument.hpp"
#include "cats/core/market_event.hpp"
#include "cats/session/sweep.hpp"
#include "cats/venues/venue_feed.hpp"

namespace cats::bus {

/// <venue>.<symbol> ("binance.BTCUSDT"). Throws std::invalid_argument when the symbol cannot be
/// a subject token (it holds '.', '*', '>' or white space).
std::string subject_stem(const instrument_info& instrument);
/// <prefix>.<venue>.<symbol>.<kind>.
std::string subject(std::string_view prefix, const instrument_info& instrument,
                    std::string_view kind);

struct publisher_stats {
  std::atomic<uint64_t> published{0};  ///< messages handed to the connection
  std::atomic<uint64_t> acked{0};      ///< stored by the server (or recognised as a re-send)
  std::atomic<uint64_t> resent{0};     ///< sent again after a reconnection (unacknowledged)
  std::atomic<uint64_t> stalls{0};     ///< times the engine thread waited for acknowledgements
  std::atomic<uint64_t> snapshots{0};  ///< whole books published
  std::atomic<uint64_t> bytes{0};
};

/// `cats collector`: a stage of the market step that publishes each event. Creates the stream
/// (subjects <prefix>.>) or updates its retention. Publishing is asynchronous; at most
/// max_pending messages wait for the server's acknowledgement, then the engine thread waits (and
/// the feed queue and TCP push back on the venue). While the connection is down nothing is
/// published; once it is back, what was not acknowledged is sent again in order, with the same
/// message ids, which the server's duplicate window recognises.
class publisher final : public market_tap {
 public:
  /// Connects (waiting up to connect_timeout for the server); throws std::runtime_error. Once
  /// `stop` is set, waiting for a server that is away ends with an error instead of going on.
  publisher(const bus_section& config, const instrument_registry& instruments,
            const std::atomic<bool>* stop = nullptr);
  ~publisher() override;
  publisher(const publisher&) = delete;
  publisher& operator=(const publisher&) = delete;

  /// Engine thread. Throws std::runtime_error once a message could not be stored.
  void on_event(const market_event& e) override;
  /// Waits until the server has acknowledged everything published (up to 30 s); throws when it
  /// has not, or a message was refused.
  void close() override;
  const publisher_stats& stats() const noexcept;
  const net::ws_stats& connection() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// `cats live --source nats://...`: the engine's consumer as its market data source. Connects
/// and sets up the consumer before it returns (throws std::runtime_error when it cannot). Its
/// position file, bus.<durable>.position in `run_dir`, holds the last stream sequence through
/// the market step, so a restarted engine continues right after it: no gap, no duplicate.
std::unique_ptr<venue_feed> make_source(const bus_section& config,
                                        const instrument_registry& instruments,
                                        const std::filesystem::path& run_dir, event_queue& queue,
                                        feed_counters& counters, const std::atomic<bool>& stopping);

/// `cats sweep --workers nats://...`: hands each run of the sweep to the work queue (stream
/// <stream>_WORK, subjects <prefix>_work.<sweep id>) with the config's text, the sweep's --set
/// overrides and the run's values, and collects the outcomes (stream <stream>_RESULTS), which the
/// sweep records exactly as its own runs'. Use as sweep_options::remote.
remote_runner make_sweep_coordinator(const bus_section& config,
                                     const std::filesystem::path& config_file,
                                     const std::vector<std::string>& overrides,
                                     const std::vector<sweep_param>& params,
                                     const std::atomic<bool>* stop);

struct worker_options {
  std::filesystem::path store_dir;  ///< the data files, found by name
  std::optional<std::filesystem::path> plugin_dir;
  unsigned jobs = 1;       ///< runs at once
  int max_deliveries = 3;  ///< a run that ended this many workers fails instead
  const std::atomic<bool>* stop = nullptr;
};

/// `cats worker`: takes runs from the work queue until `stop`, runs each as the sweep itself would
/// (one combination, this machine's data and plugins), publishes the outcome, then acknowledges
/// the run. A worker killed mid-run never acknowledges: the run goes to another worker after
/// bus.ack_wait. Returns the exit code.
int run_worker(const bus_section& config, const worker_options& options);

/// Releases the client library's threads and memory; call once, after every bus object is gone.
void close_library();

}  // namespace cats::bus
