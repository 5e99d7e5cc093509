#include "cats/replay/replay.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "cats/core/events.hpp"
#include "cats/core/fixed.hpp"
#include "cats/record/record_file.hpp"
#include "cats/record/store.hpp"
#include "cats/replay/trade_csv.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace {

uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

void add_message(replay_stats& into, const std::string& m, size_t max_messages) {
  if (into.messages.size() < max_messages) into.messages.push_back(m);
}

// ---- klines -------------------------------------------------------------------------------------

class kline_source final : public market_source {
 public:
  kline_source(const feed_section& feed, uint32_t instrument_id, kline_reader_options options)
      : replay_(make_files(feed, instrument_id), options) {
    for (const auto& f : feed.files) sizes_.push_back(file_size(f.string()));
    for (uint64_t s : sizes_) total_ += s;
  }
  bool open() override { return replay_.open(); }
  bool unreadable() const noexcept override { return replay_.unreadable(); }
  bool next(market_event& out) override {
    out.type = market_event::kind::bar;
    out.built = false;
    out.book = nullptr;
    if (replay_.next(out.bar) != bar_replay::status::bar) return false;
    out.ts = out.bar.header.exchange_ts_ns;
    return true;
  }
  const std::string& error() const noexcept override { return replay_.error(); }
  void add_stats(replay_stats& into, size_t max_messages) const override {
    const replay_stats s = replay_.stats();
    into.rows += s.rows;
    into.bars += s.bars;
    into.skipped += s.skipped;
    into.gaps += s.gaps;
    into.missing_bars += s.missing_bars;
    for (const std::string& m : s.messages) add_message(into, m, max_messages);
  }
  uint64_t bytes_done() const noexcept override {
    // The files are read side by side (merged by time): each one's share of its own size.
    double n = 0;
    const auto& readers = replay_.readers();
    for (size_t i = 0; i < readers.size() && i < sizes_.size(); ++i)
      n += std::max(0.0, readers[i]->fraction_read()) * static_cast<double>(sizes_[i]);
    return static_cast<uint64_t>(n);
  }
  uint64_t bytes_total() const noexcept override { return total_; }

 private:
  static std::vector<bar_file> make_files(const feed_section& feed, uint32_t id) {
    std::vector<bar_file> files;
    for (const auto& f : feed.files) files.push_back({f.string(), id});
    return files;
  }
  bar_replay replay_;
  std::vector<uint64_t> sizes_;
  uint64_t total_ = 0;
};

// ---- trades and aggTrades ---------------------------------------------------------------------

class trade_source final : public market_source {
 public:
  trade_source(const feed_section& feed, uint32_t instrument_id, kline_reader_options options)
      : feed_(feed),
        instrument_id_(instrument_id),
        options_(options),
        kind_(feed.format == "binance_agg_trades" ? trade_file_kind::agg_trades
                                                  : trade_file_kind::trades) {
    if (feed.bar_interval_ns > 0) builder_.emplace(instrument_id, feed.bar_interval_ns);
    for (const auto& f : feed.files) sizes_.push_back(file_size(f.string()));
    for (uint64_t s : sizes_) total_ += s;
  }

  /// Opens every file once (so a missing file is a configuration error before the run starts),
  /// then keeps only the current one open.
  bool open() override {
    for (const auto& f : feed_.files) {
      trade_csv_reader probe(f.string(), kind_, options_);
      if (!probe.open()) {
        error_ = probe.error();
        unreadable_ = true;
        return false;
      }
    }
    return open_file(0);
  }
  bool unreadable() const noexcept override { return unreadable_; }

  bool next(market_event& out) override {
    if (builder_ && builder_->pop(out.bar)) {
      out.type = market_event::kind::bar;
      out.built = true;
      out.ts = out.bar.header.exchange_ts_ns;
      return true;
    }
    if (has_pending_) {
      has_pending_ = false;
      emit_trade(out);
      return true;
    }
    for (;;) {
      if (!reader_) return false;
      const trade_csv_reader::status st = reader_->next(row_);
      if (st == trade_csv_reader::status::error) {
        error_ = reader_->error();
        return false;
      }
      if (st == trade_csv_reader::status::end) {
        finish_file();
        if (!open_file(file_ + 1)) return false;
        continue;
      }
      if (row_.time_ns < last_ts_) {
        const std::string msg = reader_->path() + ":" + std::to_string(row_.line) +
                                ": time goes backwards: " + format_iso8601(row_.time_ns) +
                                " is before " + format_iso8601(last_ts_) + " in " + last_where_;
        if (!options_.skip_malformed) {
          error_ = msg;
          return false;
        }
        ++skipped_;
        if (messages_.size() < options_.max_kept_messages) messages_.push_back(msg);
        continue;
      }
      last_ts_ = row_.time_ns;
      ++rows_;
      note_trade_id();
      if (builder_) {
        make_trade();
        builder_->add(trade_, row_.quote_quantity);
        if (builder_->pop(out.bar)) {
          out.type = market_event::kind::bar;
          out.built = true;
          out.ts = out.bar.header.exchange_ts_ns;
          has_pending_ = true;
          return true;
        }
        emit_trade(out);
        return true;
      }
      make_trade();
      emit_trade(out);
      return true;
    }
  }

  const std::string& error() const noexcept override { return error_; }
  void add_stats(replay_stats& into, size_t max_messages) const override {
    into.rows += rows_;
    into.skipped += skipped_ + done_skipped_ + (reader_ ? reader_->skipped() : 0);
    into.trade_id_gaps += id_gaps_;
    into.missing_trades += missing_ids_;
    for (const std::string& m : messages_) add_message(into, m, max_messages);
    if (reader_)
      for (const std::string& m : reader_->skip_messages()) add_message(into, m, max_messages);
  }
  uint64_t bytes_done() const noexcept override {
    // The files are read one after the other.
    double cur = 0;
    if (reader_ && file_ < sizes_.size())
      cur = std::max(0.0, reader_->fraction_read()) * static_cast<double>(sizes_[file_]);
    return done_bytes_ + static_cast<uint64_t>(cur);
  }
  uint64_t bytes_total() const noexcept override { return total_; }

 private:
  bool open_file(size_t i) {
    reader_.reset();
    file_ = i;
    if (i >= feed_.files.size()) return false;
    reader_ = std::make_unique<trade_csv_reader>(feed_.files[i].string(), kind_, options_);
    if (!reader_->open()) {
      error_ = reader_->error();
      unreadable_ = true;
      reader_.reset();
      return false;
    }
    return true;
  }
  void finish_file() {
    done_bytes_ += sizes_[file_];
    done_skipped_ += reader_->skipped();
    for (const std::string& m : reader_->skip_messages())
      if (messages_.size() < options_.max_kept_messages) messages_.push_back(m);
    last_where_ = reader_->path();
  }
  // The venue numbers its trades (and aggTrades) one after the other: a jump is trades that are
  // not in the files, within one or between two (a missing day, a cut download).
  void note_trade_id() {
    const uint64_t id = static_cast<uint64_t>(row_.id);
    if (have_id_ && id > last_id_ + 1) [[unlikely]] {
      ++id_gaps_;
      missing_ids_ += id - last_id_ - 1;
      if (messages_.size() < options_.max_kept_messages)
        messages_.push_back(reader_->path() + ":" + std::to_string(row_.line) + ": " +
                            (kind_ == trade_file_kind::agg_trades ? "agg_trade_id" : "trade id") +
                            " jumps from " + std::to_string(last_id_) + " to " +
                            std::to_string(id) + ": " + std::to_string(id - last_id_ - 1) +
                            " trade(s) missing");
    }
    have_id_ = true;
    last_id_ = id;
  }
  void make_trade() {
    trade_ = cats_trade_event_t{};
    trade_.header =
        event_header<cats_trade_event_t>(CATS_EVENT_TRADE, instrument_id_, row_.time_ns, 0);
    trade_.price = row_.price;
    trade_.quantity = row_.quantity;
    trade_.trade_id = static_cast<uint64_t>(row_.id);
    // The buyer was the maker: the taker sold.
    trade_.aggressor_side = row_.buyer_maker ? CATS_SIDE_SELL : CATS_SIDE_BUY;
  }
  void emit_trade(market_event& out) {
    out.type = market_event::kind::trade;
    out.built = false;
    out.trade = trade_;
    out.ts = trade_.header.exchange_ts_ns;
  }

  const feed_section& feed_;
  uint32_t instrument_id_;
  kline_reader_options options_;
  trade_file_kind kind_;
  std::unique_ptr<trade_csv_reader> reader_;
  size_t file_ = 0;
  trade_row row_;
  cats_trade_event_t trade_{};
  bool has_pending_ = false;
  std::optional<bar_builder> builder_;
  int64_t last_ts_ = INT64_MIN;
  std::string last_where_ = "the previous file";
  uint64_t rows_ = 0, skipped_ = 0, done_skipped_ = 0;
  bool have_id_ = false;
  uint64_t last_id_ = 0, id_gaps_ = 0, missing_ids_ = 0;
  std::vector<uint64_t> sizes_;
  uint64_t total_ = 0, done_bytes_ = 0;
  std::vector<std::string> messages_;
  std::string error_;
  bool unreadable_ = false;
};

// ---- the engine's recordings ------------------------------------------------------------------

class record_source final : public market_source {
 public:
  // `reads_ahead`: every file a block store without books (kinds_of).
  record_source(const feed_section& feed, instrument_registry& instruments, uint32_t primary,
                bool skip_damaged, bool reads_ahead)
      : feed_(feed),
        instruments_(instruments),
        skip_damaged_(skip_damaged),
        reads_ahead_(reads_ahead) {
    ids_[feed.symbol] = primary;
    for (const auto& f : feed.files) total_ += file_size(f.string());
  }
  bool open() override {
    try {
      for (const auto& f : feed_.files) record_reader probe(f);  // throws naming the file
      return open_file(0);
    } catch (const std::exception& e) {
      error_ = e.what();
      unreadable_ = true;
      return false;
    }
  }
  bool unreadable() const noexcept override { return unreadable_; }
  void start_at(int64_t ts) override { start_ = ts; }
  bool reads_ahead() const noexcept override { return reads_ahead_; }

  bool next(market_event& out) override {
    for (;;) {
      if (!reader_) return false;
      if (reader_->next(out)) {
        ++rows_;
        return true;
      }
      if (!reader_->error().empty()) {
        error_ = reader_->error();
        return false;
      }
      keep_damage();
      done_bytes_ += file_size(feed_.files[file_].string());
      if (!open_file(file_ + 1)) return false;
    }
  }
  size_t next_batch(market_event* out, size_t n) override {
    size_t k = 0;
    while (k < n && reader_ && error_.empty()) {
      const size_t got = reader_->next_batch(out + k, n - k);
      if (got == 0) {  // the end of this file
        if (!reader_->error().empty()) {
          error_ = reader_->error();
          break;
        }
        keep_damage();
        done_bytes_ += file_size(feed_.files[file_].string());
        if (!open_file(file_ + 1)) break;
        continue;
      }
      k += got;
      rows_ += got;
      // The reader ended its batch early: a book event (its levels live in the reader) or a
      // new symbol; either way the next read waits for the next batch.
      if (k < n) break;
    }
    return k;
  }
  const std::string& error() const noexcept override { return error_; }
  void add_stats(replay_stats& into, size_t max_messages) const override {
    into.rows += rows_;
    into.damaged_blocks += damaged_ + (reader_ ? reader_->damaged_blocks() : 0);
    std::vector<std::string> all = messages_;
    if (reader_) {
      for (std::string& m : reader_->damage_messages()) all.push_back(std::move(m));
    }
    for (std::string& m : all) {
      if (into.messages.size() < max_messages) into.messages.push_back(std::move(m));
    }
  }
  uint64_t bytes_done() const noexcept override { return done_bytes_; }
  uint64_t bytes_total() const noexcept override { return total_; }

 private:
  // The damage counted by a finished file's reader.
  void keep_damage() {
    damaged_ += reader_->damaged_blocks();
    for (std::string& m : reader_->damage_messages()) {
      if (messages_.size() < 20) messages_.push_back(std::move(m));
    }
  }
  bool open_file(size_t i) {
    reader_.reset();
    file_ = i;
    if (i >= feed_.files.size()) return false;
    reader_ = std::make_unique<record_reader>(feed_.files[i], skip_damaged_);
    reader_->set_resolver([this](const std::string& symbol) { return instrument_id(symbol); });
    if (start_) reader_->skip_before(*start_);
    return true;
  }
  // The feed's instrument, or one registered as it first appears (default tick and lot sizes).
  uint32_t instrument_id(const std::string& symbol) {
    auto found = ids_.find(symbol);
    if (found == ids_.end()) {
      instrument_info extra;
      extra.symbol = symbol;
      split_symbol(symbol, "BINANCE", extra.venue, extra.name);
      guess_base_quote(extra.name, extra.base, extra.quote);
      found = ids_.emplace(symbol, instruments_.add(extra)).first;
    }
    return found->second;
  }

  const feed_section& feed_;
  instrument_registry& instruments_;
  std::unordered_map<std::string, uint32_t> ids_;
  bool skip_damaged_;
  bool reads_ahead_;
  std::unique_ptr<record_reader> reader_;
  std::optional<int64_t> start_;  // start_at(): each file passes over its blocks before it
  size_t file_ = 0;
  uint64_t rows_ = 0, total_ = 0, done_bytes_ = 0, damaged_ = 0;
  std::vector<std::string> messages_;
  std::string error_;
  bool unreadable_ = false;
};

instrument_info instrument_of(const feed_section& f) {
  instrument_info inst;
  inst.symbol = f.symbol;
  split_symbol(f.symbol, "BINANCE", inst.venue, inst.name);
  inst.base = f.base;
  inst.quote = f.quote;
  inst.tick_size = f.tick_size;
  inst.lot_size = f.lot_size;
  inst.min_quantity = f.min_quantity;
  inst.min_notional = f.min_notional;
  return inst;
}

}  // namespace

// ---- bar_builder --------------------------------------------------------------------------------

void bar_builder::close_current() {
  closed_ = cur_;
  has_closed_ = true;
}

void bar_builder::add(const cats_trade_event_t& t, int64_t quote_quantity) {
  const int64_t ts = t.header.exchange_ts_ns;
  int64_t open = ts - ts % interval_;
  if (ts < 0 && ts % interval_ != 0) open -= interval_;
  if (open_ && open > cur_.open_time_ns) {
    close_current();
    next_empty_ = cur_.open_time_ns + interval_;
    empty_until_ = open;
    open_ = false;
  }
  if (!open_) {
    cur_ = cats_bar_event_t{};
    cur_.header =
        event_header<cats_bar_event_t>(CATS_EVENT_BAR, instrument_id_, open + interval_, 0);
    cur_.open_time_ns = open;
    cur_.interval_ns = interval_;
    cur_.open = cur_.high = cur_.low = t.price;
    open_ = true;
  }
  cur_.high = std::max(cur_.high, t.price);
  cur_.low = std::min(cur_.low, t.price);
  cur_.close = t.price;
  cur_.volume += t.quantity;
  const int64_t qq =
      quote_quantity != 0 ? quote_quantity : fixed_mul(t.price, t.quantity, rounding::nearest);
  cur_.quote_volume += qq;
  if (t.aggressor_side == CATS_SIDE_BUY) {
    cur_.taker_buy_volume += t.quantity;
    cur_.taker_buy_quote_volume += qq;
  }
  ++cur_.trade_count;
}

bool bar_builder::pop(cats_bar_event_t& out) {
  if (has_closed_) {
    out = closed_;
    has_closed_ = false;
    return true;
  }
  if (next_empty_ < empty_until_) {
    // An interval without trades: a flat bar at the last close, as the venues publish.
    const int64_t price = closed_.close;
    out = cats_bar_event_t{};
    out.header =
        event_header<cats_bar_event_t>(CATS_EVENT_BAR, instrument_id_, next_empty_ + interval_, 0);
    out.open_time_ns = next_empty_;
    out.interval_ns = interval_;
    out.open = out.high = out.low = out.close = price;
    next_empty_ += interval_;
    return true;
  }
  return false;
}

// ---- replay_stream ------------------------------------------------------------------------------

namespace {

// What a recording feed's files hold, each file's record types read once. `bars_only`: block
// stores that hold bars and nothing else (converted klines), replayed like klines, with orders
// matching on the bars and the equity sampled at every close. `no_books`: block stores without
// books, whose source reads ahead.
struct store_kinds {
  bool bars_only = false, no_books = false;
};
store_kinds kinds_of(const feed_section& f) {
  store_kinds out{!f.files.empty(), true};
  for (const auto& file : f.files) {
    const std::optional<uint16_t> kinds = store_record_kinds(file);
    out.bars_only = out.bars_only && kinds && store_holds_only_bars(*kinds);
    out.no_books = out.no_books && kinds && (*kinds & 1u << 4) == 0;
  }
  return out;
}

}  // namespace

replay_stream::replay_stream(const data_section& data, instrument_registry& instruments,
                             unsigned threads) {
  kline_reader_options options;
  options.skip_malformed = data.skip_malformed;
  options.threads = threads;
  max_messages_ = options.max_kept_messages;
  for (const feed_section& f : data.feeds) {
    feed_info info;
    if (f.format == "cats_record") {
      info.instrument_id = instruments.add(instrument_of(f));
      const store_kinds kinds = kinds_of(f);
      info.ticks = !kinds.bars_only;
      info.recorded = true;
      sources_.push_back(std::make_unique<record_source>(f, instruments, info.instrument_id,
                                                         data.skip_malformed, kinds.no_books));
    } else if (f.format == "binance_trades" || f.format == "binance_agg_trades") {
      info.instrument_id = instruments.add(instrument_of(f));
      info.ticks = true;
      info.bar_interval_ns = f.bar_interval_ns;
      sources_.push_back(std::make_unique<trade_source>(f, info.instrument_id, options));
    } else {
      info.instrument_id = instruments.add(instrument_of(f));
      sources_.push_back(std::make_unique<kline_source>(f, info.instrument_id, options));
    }
    feeds_.push_back(info);
  }
}

replay_stream::~replay_stream() = default;

// The next batch of the one feed; false at its end (error_ set on an error).
bool replay_stream::refill() {
  batch_pos_ = 0;
  stamped_to_ = 0;
  if (sources_.size() == 1) {
    batch_len_ = batch_ended_ ? 0 : sources_[0]->next_batch(batch_.data(), batch_.size());
    if (batch_len_ != 0) return true;
    batch_ended_ = true;
    error_ = sources_[0]->error();
    return false;
  }
  batch_len_ = batch_ended_ ? 0 : merge_batch();
  if (batch_len_ != 0) return true;
  batch_ended_ = true;
  error_ = merge_error_;
  return false;
}

// The source whose head goes next: the earliest, equal times to the feed listed first; SIZE_MAX
// when every source has ended. Feeds are few, so a linear scan beats a heap here.
size_t replay_stream::earliest() const noexcept {
  size_t best = SIZE_MAX;
  for (size_t i = 0; i < heads_.size(); ++i)
    if (live_[i] && (best == SIZE_MAX || heads_[i].ts < heads_[best].ts)) best = i;
  return best;
}

// Several feeds that read ahead: the next events of the merge, in the order next() gives them
// one by one (the earliest head; equal times to the feed listed first). A source's error ends the
// batch after its events read before it; it is reported when they have been handed out.
size_t replay_stream::merge_batch() {
  size_t n = 0;
  while (n < batch_.size() && merge_error_.empty()) {
    const size_t best = earliest();
    if (best == SIZE_MAX) break;
    batch_[n] = heads_[best];
    batch_feed_[n++] = static_cast<uint32_t>(best);
    live_[best] = sources_[best]->next(heads_[best]) ? 1 : 0;
    if (!live_[best] && !sources_[best]->error().empty()) merge_error_ = sources_[best]->error();
  }
  return n;
}

void replay_stream::start_at(int64_t ts) {
  for (auto& s : sources_) s->start_at(ts);
}

bool replay_stream::open() {
  if (sources_.size() == 1) {
    if (!sources_[0]->open()) {
      error_ = sources_[0]->error();
      unreadable_ = sources_[0]->unreadable();
      return false;
    }
    batch_.resize(64);  // 64 events: 9 KB, stays in the first-level cache
    return refill() || error_.empty();
  }
  heads_.resize(sources_.size());
  live_.assign(sources_.size(), 0);
  // Every file of every feed is opened first: a missing file is a configuration error.
  for (auto& s : sources_) {
    if (!s->open()) {
      error_ = s->error();
      unreadable_ = s->unreadable();
      return false;
    }
  }
  for (size_t i = 0; i < sources_.size(); ++i) {
    live_[i] = sources_[i]->next(heads_[i]) ? 1 : 0;
    if (!live_[i] && !sources_[i]->error().empty()) {
      error_ = sources_[i]->error();
      return false;
    }
  }
  // Feeds of block stores without books (a sweep's in-memory stores): merged in batches, which
  // the lockstep hands its runs whole, as it does one feed's.
  if (std::all_of(sources_.begin(), sources_.end(),
                  [](const auto& s) { return s->reads_ahead(); })) {
    batch_.resize(64);
    batch_feed_.resize(64);
    return refill() || error_.empty();
  }
  return true;
}

namespace {

// The session's flags on an event it is about to take (a book's flags travel in book_flags).
[[gnu::always_inline]] inline market_event* stamped(market_event& e, uint32_t flags) noexcept {
  if (flags != 0) {
    switch (e.type) {
      case market_event::kind::bar:
        e.bar.header.flags |= flags;
        break;
      case market_event::kind::trade:
        e.trade.header.flags |= flags;
        break;
      case market_event::kind::quote:
        e.quote.header.flags |= flags;
        break;
      default:
        break;
    }
  }
  return &e;
}

}  // namespace

const market_event* replay_stream::next() {
  if (!batch_.empty()) [[likely]] {  // one feed, or feeds that read ahead
    if (batch_pos_ < batch_len_) [[likely]]
      return stamped(batch_[batch_pos_++], stamp_);
    if (!refill()) return nullptr;
    return stamped(batch_[batch_pos_++], stamp_);
  }
  if (last_ != SIZE_MAX) {
    // The event handed out last is done with: read the next one of its feed.
    const size_t i = last_;
    last_ = SIZE_MAX;
    live_[i] = sources_[i]->next(heads_[i]) ? 1 : 0;
    if (!live_[i] && !sources_[i]->error().empty()) {
      error_ = sources_[i]->error();
      return nullptr;
    }
  }
  if (!error_.empty()) return nullptr;
  const size_t best = earliest();
  if (best == SIZE_MAX) return nullptr;
  last_ = best;
  return stamped(heads_[best], stamp_);
}

size_t replay_stream::peek_run(const market_event*& first) noexcept {
  first = nullptr;
  if (batch_.empty() || batch_pos_ == 0 || batch_pos_ >= batch_len_) return 0;
  for (size_t i = std::max(stamped_to_, batch_pos_); i < batch_len_; ++i)
    stamped(batch_[i], stamp_);
  stamped_to_ = batch_len_;
  first = &batch_[batch_pos_];
  return batch_len_ - batch_pos_;
}

double replay_stream::progress() const noexcept {
  uint64_t done = 0, total = 0;
  for (const auto& s : sources_) {
    done += s->bytes_done();
    total += s->bytes_total();
  }
  return total == 0 ? -1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
}

replay_stats replay_stream::stats() const {
  replay_stats out;
  for (const auto& s : sources_) s->add_stats(out, max_messages_);
  out.rows -= batch_len_ - batch_pos_;  // read ahead, not handed out
  return out;
}

// ---- market_data --------------------------------------------------------------------------------

std::shared_ptr<const market_data> market_data::load(const data_section& data, bool* unreadable,
                                                     const std::atomic<bool>* stop,
                                                     unsigned threads) {
  auto md = std::make_shared<market_data>();
  replay_stream stream(data, md->instruments_, threads);
  // Every user of the data replays it: the replay flag is on it once, not on a copy per event.
  stream.stamp_events(CATS_EVENT_FLAG_REPLAY);
  if (!stream.open()) {
    if (unreadable != nullptr) *unreadable = stream.unreadable();
    throw std::runtime_error(stream.error());
  }
  // Reserved from the size of the plain files (a kline row takes about 140 bytes, a trade row
  // about 65), so that the events are not copied again and again as the vector grows. Compressed
  // files are left to the vector's growth.
  uint64_t rows = 0;
  for (const feed_section& f : data.feeds)
    for (const auto& file : f.files) {
      const std::string name = file.string();
      if (compressed_path(name)) continue;
      rows += file_size(name) / (f.format == "binance_klines" ? 140 : 65);
    }
  md->events_.reserve(static_cast<size_t>(std::min<uint64_t>(rows + 1024, 1ull << 26)));
  uint64_t n = 0;
  while (const market_event* ev = stream.next()) {
    if ((++n & 0x3FF) == 0 && stop != nullptr && stop->load(std::memory_order_relaxed)) break;
    md->events_.push_back(*ev);
    if (ev->type == market_event::kind::book) {
      md->books_.push_back(*ev->book);
      md->events_.back().book = &md->books_.back();
    }
  }
  if (!stream.error().empty()) throw std::runtime_error(stream.error());
  md->feeds_ = stream.feeds();
  md->stats_ = stream.stats();
  return md;
}

// ---- store_copy ---------------------------------------------------------------------------------

namespace {

// A new in-memory file and the /proc path it is written and read through (the store's writer and
// readers open files by name); -1 where the system has no memfd, or no /proc to reach it by.
int memory_file(std::string& path) {
  const int fd = ::memfd_create("cats-sweep-data", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -1;
  path = "/proc/self/fd/" + std::to_string(fd);
  if (::access(path.c_str(), R_OK | W_OK) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

bool store_copy::available() {
  std::string path;
  const int fd = memory_file(path);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::shared_ptr<const store_copy> store_copy::load(const data_section& data, bool* unreadable,
                                                   const std::atomic<bool>* stop, unsigned threads,
                                                   uint64_t max_bytes, std::string* why_not) {
  if (data.feeds.empty()) return nullptr;
  for (const feed_section& f : data.feeds)
    if (f.bar_interval_ns != 0) return nullptr;  // built bars: the replay's, not the data's
  // One store per feed, so that each symbol's bars follow each other (runs of bars) however the
  // feeds interleave; reading them merges them again as the files were merged (by time, equal
  // times to the feed listed first).
  std::shared_ptr<store_copy> sc(new store_copy);
  std::vector<std::optional<store_writer>> writers(data.feeds.size());
  sc->data_.feeds = data.feeds;  // each feed's instrument and rules, for its record source
  try {
    for (size_t i = 0; i < data.feeds.size(); ++i) {
      std::string path;
      const int fd = memory_file(path);
      if (fd < 0) return nullptr;
      sc->fds_.push_back(fd);
      store_writer_options wo;
      wo.in_place = true;
      writers[i].emplace(path, wo);
      feed_section& f = sc->data_.feeds[i];
      f.format = "cats_record";
      f.files = {path};
    }
  } catch (const std::runtime_error& e) {
    spdlog::debug("no in-memory store: {}", e.what());
    return nullptr;
  }
  sc->data_.skip_malformed = false;  // written just now: any damage is an error
  replay_stream stream(data, sc->instruments_, threads);
  if (!stream.open()) {
    if (unreadable != nullptr) *unreadable = stream.unreadable();
    throw std::runtime_error(stream.error());
  }
  // What the writers hold so far: blocks written, and the block each one is filling.
  auto held = [&] {
    uint64_t b = 0;
    for (const auto& w : writers) b += w->stats().bytes + (64u << 10);
    return b;
  };
  // A write that fails is the memory's doing (or more symbols than a store names), not the data's.
  std::string failed;
  auto write = [&](auto&& op) {
    try {
      op();
    } catch (const std::exception& e) {
      failed = std::string("cannot write the in-memory store: ") + e.what();
    }
    return failed.empty();
  };
  uint64_t n = 0;
  while (const market_event* ev = stream.next()) {
    if ((++n & 0x3FF) == 0) {
      if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
      if (held() > max_bytes) {
        failed = "the in-memory store would take more than the " + std::to_string(max_bytes >> 20) +
                 " MB a copy may take";
        break;
      }
    }
    const instrument_info* inst = sc->instruments_.get(ev->instrument_id());
    if (inst == nullptr) throw std::logic_error("event of an unregistered instrument");
    if (!write([&] { writers[stream.last_feed()]->append(inst->symbol, *ev); })) break;
    if (n == 1) {
      sc->first_ = *ev;
      sc->first_.book = nullptr;
    }
    sc->last_ts_ = std::max(sc->last_ts_, ev->ts);
  }
  if (failed.empty() && !stream.error().empty()) throw std::runtime_error(stream.error());
  for (size_t i = 0; failed.empty() && i < writers.size(); ++i) {
    if (!write([&] { writers[i]->close(); })) break;
    sc->events_ += writers[i]->stats().records;
    sc->bytes_ += writers[i]->stats().bytes;
    // Sealed: nothing writes to it any more, through this descriptor or another.
    if (::fcntl(sc->fds_[i], F_ADD_SEALS,
                F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
      failed = "cannot seal the in-memory store: " +
               std::error_code(errno, std::system_category()).message();
  }
  if (!failed.empty()) {
    if (why_not != nullptr) *why_not = failed;
    return nullptr;
  }
  sc->feeds_ = stream.feeds();
  sc->stats_ = stream.stats();
  return sc;
}

store_copy::~store_copy() {
  for (const int fd : fds_) ::close(fd);
}

size_t market_data::memory_bytes() const noexcept {
  size_t n = events_.size() * sizeof(market_event);
  for (const book_update& b : books_)
    n += sizeof(book_update) + (b.bids.capacity() + b.asks.capacity()) * sizeof(book_level);
  return n;
}

void memory_cursor::seek(int64_t ts) {
  const auto& ev = data_.events();
  pos_ = static_cast<size_t>(
      std::lower_bound(ev.begin(), ev.end(), ts,
                       [](const market_event& e, int64_t t) { return e.ts < t; }) -
      ev.begin());
}

}  // namespace cats
