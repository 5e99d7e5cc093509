#include "cats/replay/bar_replay.hpp"

#include "cats/core/events.hpp"
#include "cats/util/time.hpp"

namespace cats {

bar_replay::bar_replay(std::vector<bar_file> files, kline_reader_options options)
    : files_(std::move(files)), options_(options) {}

bar_replay::~bar_replay() = default;

bool bar_replay::open() {
  for (const bar_file& f : files_) {
    auto r = std::make_unique<kline_csv_reader>(f.path, options_);
    if (!r->open()) {
      error_ = r->error();
      unreadable_ = true;
      return false;
    }
    readers_.push_back(std::move(r));
    if (f.instrument_id >= tracks_.size()) tracks_.resize(f.instrument_id + 1);
  }
  heads_.resize(readers_.size());
  for (size_t i = 0; i < readers_.size(); ++i)
    if (!advance(i)) return false;
  return true;
}

bool bar_replay::advance(size_t i) {
  switch (readers_[i]->next(heads_[i].row)) {
    case kline_csv_reader::status::row:
      heads_[i].valid = true;
      ++stats_.rows;
      return true;
    case kline_csv_reader::status::end:
      heads_[i].valid = false;
      return true;
    case kline_csv_reader::status::error:
      heads_[i].valid = false;
      error_ = readers_[i]->error();
      return false;
  }
  return false;
}

replay_stats bar_replay::stats() const {
  // The readers' own skips are folded in here, so the figures are complete however the replay
  // ended (end of data, backtest.end, an error).
  replay_stats out = stats_;
  for (const auto& r : readers_) {
    out.skipped += r->skipped();
    for (const std::string& m : r->skip_messages())
      if (out.messages.size() < options_.max_kept_messages) out.messages.push_back(m);
  }
  return out;
}

void bar_replay::note(std::string message) {
  if (stats_.messages.size() < options_.max_kept_messages)
    stats_.messages.push_back(std::move(message));
}

bool bar_replay::reject(const std::string& message) {
  if (!options_.skip_malformed) {
    error_ = message;
    return false;
  }
  ++stats_.skipped;
  note(message);
  return true;
}

bar_replay::status bar_replay::next(cats_bar_event_t& bar) {
  if (!error_.empty()) return status::error;
  for (;;) {
    // Pick the earliest head; ties go to the file listed first.
    size_t best = heads_.size();
    for (size_t i = 0; i < heads_.size(); ++i) {
      if (!heads_[i].valid) continue;
      if (best == heads_.size() || heads_[i].row.close_time_ns < heads_[best].row.close_time_ns)
        best = i;
    }
    if (best == heads_.size()) {
      return status::end;
    }
    // Read the row in place; the head advances once the bar is built (an error reading the next
    // row is reported by the next call, after this valid bar).
    const kline_row& row = heads_[best].row;

    const uint32_t inst = files_[best].instrument_id;
    instrument_track& t = tracks_[inst];
    // close_time is the interval's last instant: one unit of the file's times before its end.
    const int64_t unit_ns = readers_[best]->unit() == time_unit::microseconds ? 1'000
                            : readers_[best]->unit() == time_unit::seconds    ? ns_per_s
                                                                              : ns_per_ms;
    const int64_t interval = row.close_time_ns - row.open_time_ns + unit_ns;
    // Messages are built only when needed: this loop runs once per bar.
    auto where = [&] { return files_[best].path + ":" + std::to_string(row.line) + ": "; };
    if (t.seen) {
      auto prev = [&] { return files_[t.last_file].path + ":" + std::to_string(t.last_line); };
      if (row.open_time_ns == t.last_open) {
        if (!reject(where() + "duplicate bar: open_time " + format_iso8601(row.open_time_ns) +
                    " was already given at " + prev()))
          return status::error;
        if (!advance(best)) return status::error;
        continue;
      }
      if (row.open_time_ns < t.last_open) {
        if (!reject(where() + "time goes backwards: open_time " + format_iso8601(row.open_time_ns) +
                    " is before " + format_iso8601(t.last_open) + " at " + prev()))
          return status::error;
        if (!advance(best)) return status::error;
        continue;
      }
      if (interval != t.interval) {
        if (!reject(where() + "bar interval " + format_interval(interval) + " differs from " +
                    format_interval(t.interval) + " of the earlier bars"))
          return status::error;
        if (!advance(best)) return status::error;
        continue;
      }
      if ((row.open_time_ns - t.last_open) % t.interval != 0) {
        if (!reject(where() + "open_time " + format_iso8601(row.open_time_ns) + " is off the " +
                    format_interval(t.interval) + " grid of the earlier bars (" +
                    format_iso8601(t.last_open) + " at " + prev() + ")"))
          return status::error;
        if (!advance(best)) return status::error;
        continue;
      }
      const int64_t expected = t.last_open + t.interval;
      if (row.open_time_ns != expected) {
        ++stats_.gaps;
        const int64_t missing = (row.open_time_ns - t.last_open) / t.interval - 1;
        stats_.missing_bars += static_cast<uint64_t>(missing > 0 ? missing : 0);
        note(where() + "gap: " + std::to_string(missing) + " bar(s) missing between " +
             format_iso8601(t.last_open) + " and " + format_iso8601(row.open_time_ns));
      }
    } else {
      // Venues publish whole seconds (1s to 1M); anything else is a close_time that is not the
      // bar's last instant: open_time + 1 on 1m bars (2 ms bars, 29 999 missing after each),
      // or the next bar's open (60.001 s bars).
      if (interval % ns_per_s != 0) {
        error_ = where() + "close_time makes the bars " + format_interval(interval) +
                 " long, not a whole number of seconds; close_time must be the bar's last "
                 "instant (open_time + interval - 1 unit, as the venues write it)";
        return status::error;
      }
      t.seen = true;
      t.interval = interval;
      if (interval_ns_ == 0) interval_ns_ = interval;
    }
    t.last_open = row.open_time_ns;
    t.last_file = best;
    t.last_line = row.line;

    bar = cats_bar_event_t{};
    bar.header =
        event_header<cats_bar_event_t>(CATS_EVENT_BAR, inst, row.open_time_ns + interval, 0);
    bar.open_time_ns = row.open_time_ns;
    bar.interval_ns = interval;
    bar.open = row.open;
    bar.high = row.high;
    bar.low = row.low;
    bar.close = row.close;
    bar.volume = row.volume;
    bar.quote_volume = row.quote_volume;
    bar.taker_buy_volume = row.taker_buy_volume;
    bar.taker_buy_quote_volume = row.taker_buy_quote_volume;
    bar.trade_count = row.trade_count;
    ++stats_.bars;
    advance(best);
    return status::bar;
  }
}

}  // namespace cats
