// The recorder as a stage of the market step (`cats record`, `cats live` with [record]): the
// engine thread hands each event over and a thread of the recorder's own writes the daily files,
// so disk I/O never stalls the strategies. The writer wakes at least every 50 ms and flushes at
// least once per flush interval (1 s), also when no event arrives: a killed recorder loses the
// last second or so. When the disk is slower than the market, at most max_pending events wait in
// memory; then the engine thread waits too (counted), and the feed queue and TCP push back on the
// venue, as they did when the engine thread wrote itself: nothing recorded is ever dropped.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cats/core/instrument.hpp"
#include "cats/core/market_event.hpp"
#include "cats/record/record_file.hpp"

namespace cats {

class record_tap final : public market_tap {
 public:
  /// Creates the writer (throws std::runtime_error when its folder cannot be created) and starts
  /// the writing thread. `instruments` names the events' instruments; it is read on the engine
  /// thread only.
  record_tap(record_writer_options options, const instrument_registry& instruments);
  ~record_tap() override;  ///< close(); an error is logged
  record_tap(const record_tap&) = delete;
  record_tap& operator=(const record_tap&) = delete;

  /// Engine thread: queues a copy of `e`. Throws std::runtime_error with the writer's message once
  /// writing has failed. Waits (and counts it) when the writer is max_pending events behind.
  void on_event(const market_event& e) override;
  /// Engine thread, when idle: throws the writer's error if writing has failed (a periodic flush
  /// can fail while no event arrives).
  void check();
  /// Writes what is queued, flushes and stops the thread; throws the writer's error unless
  /// on_event() or check() already did.
  void close() override;

  /// Records, bytes and files written; exact after close().
  record_writer_stats stats() const;
  /// How often the engine thread waited for the writer.
  uint64_t waits() const noexcept { return waits_; }

  /// As many events as the feed queue holds by default: tens of MB at most, book copies included.
  static constexpr size_t max_pending = size_t{1} << 16;

 private:
  struct item {
    const std::string* symbol;
    owned_event event;
  };
  void run();
  const std::string* symbol_of(uint32_t instrument_id);
  [[noreturn]] void report();  // with mutex_ held

  const instrument_registry& instruments_;
  std::unique_ptr<record_writer> writer_;
  bool closed_ = false;
  // Engine thread only: names by instrument id (the deque keeps their addresses stable).
  std::deque<std::string> names_;
  std::vector<const std::string*> by_id_;

  mutable std::mutex mutex_;
  std::condition_variable work_cv_;   // the writer waits for a batch
  std::condition_variable space_cv_;  // the engine thread waits for room
  std::vector<item> pending_;         // filled by the engine thread
  bool stopping_ = false;
  bool failed_ = false;
  bool reported_ = false;  // the error was thrown to the engine thread already
  std::string error_;
  record_writer_stats stats_;  // copied from the writer after each batch
  uint64_t waits_ = 0;
  std::thread thread_;
};

}  // namespace cats
