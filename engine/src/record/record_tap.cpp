#include "cats/record/record_tap.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>
#include <utility>

#include "cats/util/time.hpp"

namespace cats {

namespace {
// The engine thread wakes the writer once this many events wait; otherwise the writer wakes on
// its own every `idle_wake`, so an event waits at most that long before it is written (and at most
// the flush interval more before it reaches the kernel).
constexpr size_t wake_batch = 4096;
constexpr auto idle_wake = std::chrono::milliseconds(50);
}  // namespace

record_tap::record_tap(record_writer_options options, const instrument_registry& instruments)
    : instruments_(instruments), writer_(std::make_unique<record_writer>(std::move(options))) {
  pending_.reserve(wake_batch);
  thread_ = std::thread([this] { run(); });
}

record_tap::~record_tap() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("record: {}", e.what());
  }
}

const std::string* record_tap::symbol_of(uint32_t id) {
  if (id < by_id_.size() && by_id_[id] != nullptr) return by_id_[id];
  const instrument_info* inst = instruments_.get(id);
  names_.push_back(inst != nullptr ? inst->symbol : "#" + std::to_string(id));
  if (by_id_.size() <= id) by_id_.resize(id + 1, nullptr);
  by_id_[id] = &names_.back();
  return by_id_[id];
}

void record_tap::report() {
  reported_ = true;
  throw std::runtime_error(error_);
}

void record_tap::on_event(const market_event& e) {
  item it{symbol_of(e.instrument_id()), owned_event(e)};
  std::unique_lock lock(mutex_);
  if (failed_) report();
  if (pending_.size() >= max_pending) {
    ++waits_;
    space_cv_.wait(lock, [this] { return pending_.size() < max_pending || failed_; });
    if (failed_) report();
  }
  pending_.push_back(std::move(it));
  if (pending_.size() == wake_batch) work_cv_.notify_one();
}

void record_tap::run() {
  std::vector<item> batch;
  batch.reserve(wake_batch);
  for (;;) {
    bool last = false;
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait_for(lock, idle_wake,
                        [this] { return stopping_ || pending_.size() >= wake_batch; });
      batch.swap(pending_);
      last = stopping_;
    }
    space_cv_.notify_all();
    if (!failed_) {
      try {
        for (const item& it : batch) writer_->write(*it.symbol, it.event.event);
        if (last)
          writer_->flush();
        else
          writer_->maybe_flush(wall_clock_ns());
      } catch (const std::exception& ex) {
        std::lock_guard lock(mutex_);
        failed_ = true;
        error_ = ex.what();
        space_cv_.notify_all();
      }
    }
    batch.clear();
    {
      std::lock_guard lock(mutex_);
      stats_ = writer_->stats();
    }
    if (last) return;
  }
}

void record_tap::check() {
  std::lock_guard lock(mutex_);
  if (failed_ && !reported_) report();
}

void record_tap::close() {
  if (closed_) return;
  closed_ = true;
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_cv_.notify_one();
    thread_.join();
  }
  std::lock_guard lock(mutex_);
  if (failed_ && !reported_) report();
}

record_writer_stats record_tap::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace cats
