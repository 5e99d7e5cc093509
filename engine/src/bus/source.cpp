#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <limits>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cats/bus/bus.hpp"
#include "cats/record/store.hpp"
#include "cats/util/time.hpp"
#include "link.hpp"

namespace cats::bus {

namespace {

constexpr char position_magic[8] = {'C', 'A', 'T', 'S', 'B', 'U', 'S', '1'};

// The last stream sequence through the market step, in a small shared mapping of a file: the
// engine thread's store reaches the page cache at once, so a killed engine (even SIGKILL) leaves
// it behind exactly. Layout: magic, the stream's creation time, the sequence (little-endian).
class position_file {
 public:
  explicit position_file(const std::filesystem::path& file) : path_(file) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0)
      throw std::runtime_error("bus: cannot open " + file.string() + ": " + std::strerror(errno));
    struct stat st {};
    ::fstat(fd_, &st);
    fresh_ = st.st_size < 24;
    if (::ftruncate(fd_, 4096) != 0)
      throw std::runtime_error("bus: cannot size " + file.string() + ": " + std::strerror(errno));
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED)
      throw std::runtime_error("bus: cannot map " + file.string() + ": " + std::strerror(errno));
    base_ = static_cast<char*>(p);
    if (std::memcmp(base_, position_magic, sizeof position_magic) != 0) fresh_ = true;
  }
  ~position_file() {
    if (base_ != nullptr) {
      ::msync(base_, 4096, MS_SYNC);
      ::munmap(base_, 4096);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  position_file(const position_file&) = delete;
  position_file& operator=(const position_file&) = delete;

  /// The saved sequence when it belongs to the stream created at `created_ns`, else 0.
  uint64_t load(int64_t created_ns) const {
    if (fresh_) return 0;
    int64_t created = 0;
    std::memcpy(&created, base_ + 8, 8);
    if (created != created_ns) {
      spdlog::warn("bus: {} belongs to an earlier stream of the same name; starting afresh",
                   path_.string());
      return 0;
    }
    return seq().load(std::memory_order_relaxed);
  }
  void reset(int64_t created_ns, uint64_t sequence) {
    seq().store(sequence, std::memory_order_relaxed);
    std::memcpy(base_ + 8, &created_ns, 8);
    std::memcpy(base_, position_magic, sizeof position_magic);
  }
  void store(uint64_t sequence) noexcept { seq().store(sequence, std::memory_order_relaxed); }

 private:
  std::atomic_ref<uint64_t> seq() const noexcept {
    return std::atomic_ref<uint64_t>(*reinterpret_cast<uint64_t*>(base_ + 16));
  }
  std::filesystem::path path_;
  int fd_ = -1;
  char* base_ = nullptr;
  bool fresh_ = true;
};

enum class kind_token : uint8_t { trade, quote, bar, book, snap, other };

kind_token parse_kind(std::string_view k) {
  if (k == "trade") return kind_token::trade;
  if (k == "quote") return kind_token::quote;
  if (k == "bar") return kind_token::bar;
  if (k == "book") return kind_token::book;
  if (k == "snap") return kind_token::snap;
  return kind_token::other;
}

// A message read (the newest of up to 256), held to acknowledge (AckAll) everything up to it once
// every event pushed before it has been through the market step.
struct held_message {
  natsMsg* msg = nullptr;
  uint64_t queued_before = 0;
};

class bus_source final : public venue_feed {
 public:
  bus_source(const bus_section& cfg, const instrument_registry& instruments,
             const std::filesystem::path& run_dir, event_queue& queue, feed_counters& counters,
             const std::atomic<bool>& stopping)
      : cfg_(cfg), queue_(queue), counters_(counters), stopping_(stopping) {
    name_ = "nats";
    for (const instrument_info& i : instruments.all()) {
      ids_.emplace(subject_stem(i), i.id);
      snap_subjects_.push_back(subject(cfg.prefix, i, "snap"));
    }
    std::error_code ec;
    std::filesystem::create_directories(run_dir, ec);
    position_ = std::make_unique<position_file>(run_dir / ("bus." + cfg.durable + ".position"));
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 2000;  // the reader's JetStream requests give up within 2 s (a server away)
    nats_ = std::make_unique<link>(cfg, "cats-engine-" + cfg.durable, &jo);
    wait_for_stream();
    subscribe();
  }

  ~bus_source() override {
    stop();
    release_held();
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
  }

  void start() override {
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    quit_ = true;
    if (thread_.joinable()) thread_.join();
  }

  const net::ws_stats& connection() const noexcept override { return nats_->stats(); }

  void delivered(uint64_t sequence) noexcept override {
    position_->store(sequence);
    processed_.store(sequence, std::memory_order_release);
    counters_.bus_sequence.store(sequence, std::memory_order_relaxed);
  }

 private:
  void wait_for_stream() {
    const int64_t deadline = wall_clock_ns() + cfg_.connect_timeout_ms * 1'000'000;
    bool said = false;
    while (!nats_->state(stream_)) {
      if (wall_clock_ns() >= deadline)
        throw std::runtime_error("bus: the stream " + cfg_.stream + " does not exist on " +
                                 cfg_.url + " (a `cats collector` creates it)");
      if (!said)
        spdlog::warn("bus: waiting for the stream {} (a collector creates it)", cfg_.stream);
      said = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  bool consumer_exists() {
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetConsumerInfo(&ci, nats_->js(), cfg_.stream.c_str(),
                                            cfg_.durable.c_str(), nullptr, &jerr);
    if (s == NATS_OK) {
      jsConsumerInfo_Destroy(ci);
      return true;
    }
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) return false;
    throw std::runtime_error(nats_error("bus: consumer " + cfg_.durable, s));
  }

  // For a new consumer with start = "snapshot": the sequence of the oldest of the instruments'
  // latest whole books (0: none yet).
  uint64_t oldest_latest_snapshot() {
    uint64_t out = 0;
    for (const std::string& subj : snap_subjects_) {
      natsMsg* m = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      if (js_GetLastMsg(&m, nats_->js(), cfg_.stream.c_str(), subj.c_str(), nullptr, &jerr) !=
          NATS_OK)
        continue;
      const uint64_t seq = natsMsg_GetSequence(m);
      natsMsg_Destroy(m);
      if (seq != 0 && (out == 0 || seq < out)) out = seq;
    }
    return out;
  }

  // The consumer: continuing right after the saved position when there is one (re-created there,
  // whatever the server's consumer acknowledged), else the durable as the server keeps it, else
  // a new one from `start`.
  void subscribe(uint64_t from = 0) {
    if (sub_ != nullptr) {
      release_held();
      natsSubscription_Destroy(sub_);
      sub_ = nullptr;
    }
    if (from == 0) {
      const uint64_t saved = position_->load(stream_.created_ns);
      if (saved == 0) position_->reset(stream_.created_ns, 0);
      handled_ = saved;
      queued_ = saved;
      processed_ = saved;
      counters_.bus_sequence = saved;
      if (saved != 0) {
        from = saved + 1;
        if (stream_.first_seq > from) {
          counters_.bus_expired.fetch_add(stream_.first_seq - from);
          forget_books();
          spdlog::warn(
              "bus: {} events after sequence {} left the stream (retention) before this engine "
              "read them",
              stream_.first_seq - from, saved);
        }
      }
    }
    jsConsumerConfig& cc = sub_opts_.Config;
    jsSubOptions_Init(&sub_opts_);
    filter_ = cfg_.prefix + ".>";
    sub_opts_.Stream = cfg_.stream.c_str();
    sub_opts_.ManualAck = true;
    cc.Durable = cfg_.durable.c_str();
    cc.AckPolicy = js_AckAll;
    cc.AckWait = cfg_.ack_wait_ms * 1'000'000;
    cc.MaxAckPending = 65536;
    cc.FilterSubject = filter_.c_str();
    std::string how;
    if (from != 0) {
      if (consumer_exists())
        js_DeleteConsumer(nats_->js(), cfg_.stream.c_str(), cfg_.durable.c_str(), nullptr, nullptr);
      cc.DeliverPolicy = js_DeliverByStartSequence;
      cc.OptStartSeq = from;
      how = "from sequence " + std::to_string(from);
    } else if (consumer_exists()) {
      how = "where the consumer " + cfg_.durable + " left off";
    } else if (cfg_.start == "all") {
      cc.DeliverPolicy = js_DeliverAll;
      how = "from the stream's first event";
    } else if (const uint64_t snap = cfg_.start == "snapshot" ? oldest_latest_snapshot() : 0;
               snap != 0) {
      cc.DeliverPolicy = js_DeliverByStartSequence;
      cc.OptStartSeq = snap;
      how = "from the latest whole books (sequence " + std::to_string(snap) + ")";
    } else {
      cc.DeliverPolicy = js_DeliverNew;
      how = "with new events";
    }
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = nats_->patiently(
        "the consumer " + cfg_.durable,
        [&] {
          return js_SubscribeSync(&sub_, nats_->js(), filter_.c_str(), nullptr, &sub_opts_, &jerr);
        },
        &stopping_);
    if (s != NATS_OK)
      throw std::runtime_error(nats_error("bus: cannot subscribe as " + cfg_.durable + " to " +
                                              cfg_.stream + " (JetStream error " +
                                              std::to_string(static_cast<int>(jerr)) + ")",
                                          s));
    // Never dropped by the library: the server holds back at MaxAckPending messages anyway.
    natsSubscription_SetPendingLimits(sub_, 1 << 20, 1 << 30);
    spdlog::info("bus: reading stream {} on {} as {} {}", cfg_.stream, cfg_.url, cfg_.durable, how);
  }

  void release_held() {
    for (held_message& h : held_) natsMsg_Destroy(h.msg);
    held_.clear();
  }

  // AckAll on the newest held message whose events before it are all through the market step.
  void acknowledge() {
    const uint64_t done = processed_.load(std::memory_order_acquire);
    natsMsg* last = nullptr;
    while (!held_.empty() && held_.front().queued_before <= done) {
      if (last != nullptr) natsMsg_Destroy(last);
      last = held_.front().msg;
      held_.pop_front();
    }
    if (last == nullptr) return;
    natsMsg_Ack(last, nullptr);  // lost with the connection: the next one covers it
    natsMsg_Destroy(last);
  }

  // A push consumer read one message at a time (the pull consumer's batch fetch of the
  // packaged client library double-frees messages around a server restart). The server sends at
  // most MaxAckPending unacknowledged messages, so the engine's pace holds it back.
  void run() {
    natsMsg* last = nullptr;  // the newest message handled, kept to acknowledge up to it
    int since_held = 0;
    auto hold_last = [&] {
      if (last == nullptr) return;
      held_.push_back({last, queued_});
      last = nullptr;
      since_held = 0;
    };
    int64_t last_warning = 0;
    while (!quit_.load() && !stopping_.load(std::memory_order_relaxed)) {
      acknowledge();
      if (sub_ == nullptr) {  // a restart after a gap did not get through yet
        restart_consumer();
        continue;
      }
      natsMsg* m = nullptr;
      const natsStatus s = natsSubscription_NextMsg(&m, sub_, 100);
      if (s == NATS_TIMEOUT) {
        hold_last();  // idle: acknowledge what is through
        continue;
      }
      if (s == NATS_INVALID_SUBSCRIPTION || s == NATS_CONNECTION_CLOSED) {
        spdlog::warn("{}", nats_error("bus: the subscription to " + cfg_.stream + " ended", s));
        if (last != nullptr) natsMsg_Destroy(last);
        last = nullptr;
        restart_consumer();
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        continue;
      }
      if (s != NATS_OK) {  // a slow consumer's dropped messages show as a gap, handled below
        const int64_t now = wall_clock_ns();
        if (now - last_warning > 5'000'000'000) {
          spdlog::warn("{}", nats_error("bus: reading " + cfg_.stream, s));
          last_warning = now;
        }
        if (m != nullptr) natsMsg_Destroy(m);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      if (!handle(m)) {
        natsMsg_Destroy(m);
        if (last != nullptr) natsMsg_Destroy(last);
        last = nullptr;
        restart_consumer();
        continue;
      }
      if (last != nullptr) natsMsg_Destroy(last);
      last = m;
      if (++since_held >= 256) hold_last();
    }
    if (last != nullptr) natsMsg_Destroy(last);
    acknowledge();
  }

  // A gap in the stream sequence that retention does not explain: the consumer is made again
  // right after the last event pushed.
  void restart_consumer() {
    if (sub_ != nullptr) {
      counters_.bus_resyncs.fetch_add(1);
      spdlog::warn("bus: a gap after stream sequence {}; reading again from there", handled_);
    }
    try {
      subscribe(handled_ == 0 ? 0 : handled_ + 1);  // nothing read yet: as at the start
    } catch (const std::exception& e) {
      spdlog::warn("{}", e.what());  // tried again by the reader's loop
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  // False when the consumer must be restarted (a gap).
  bool handle(natsMsg* msg) {
    const uint64_t seq = sequence_of(msg);
    if (seq == 0) return true;
    if (seq <= handled_) {
      counters_.bus_duplicates.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    if (handled_ != 0 && seq > handled_ + 1 && !explained_gap(seq)) return false;
    nats_->stats().messages.fetch_add(1, std::memory_order_relaxed);
    const int len = natsMsg_GetDataLength(msg);
    nats_->stats().bytes.fetch_add(static_cast<uint64_t>(len), std::memory_order_relaxed);
    const std::string_view subj = natsMsg_GetSubject(msg);
    uint32_t id = 0;
    kind_token kind = kind_token::other;
    if (subj.size() > cfg_.prefix.size() + 1) {
      const std::string_view rest = subj.substr(cfg_.prefix.size() + 1);
      const size_t dot = rest.rfind('.');
      if (dot != std::string_view::npos) {
        kind = parse_kind(rest.substr(dot + 1));
        const auto it = ids_.find(std::string(rest.substr(0, dot)));
        if (it != ids_.end()) id = it->second;
      }
    }
    if (id == 0 || kind == kind_token::other) {  // another instrument, or a newer kind
      mark_skipped(seq);
      return true;
    }
    if (book_ready_.size() <= id) book_ready_.resize(id + 1, false);
    if (kind == kind_token::snap && book_ready_[id]) {  // this engine's book is already whole
      mark_skipped(seq);
      return true;
    }
    if (kind == kind_token::book && !book_ready_[id]) {
      counters_.bus_before_snapshot.fetch_add(1, std::memory_order_relaxed);
      mark_skipped(seq);
      return true;
    }
    owned_event item;
    std::string why;
    auto book = std::make_unique<book_update>();
    if (!decode_event_record(natsMsg_GetData(msg), static_cast<size_t>(len), id, item.event, *book,
                             why)) {
      counters_.malformed.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("bus: {} sequence {}: {}", subj, seq, why);
      mark_skipped(seq);
      return true;
    }
    if (item.event.type == market_event::kind::book) {
      if (kind == kind_token::snap || book->snapshot) book_ready_[id] = true;
      const uint32_t flags = item.event.book_flags;
      item.set_book(std::move(book), flags, item.event.ts);
      counters_.books.fetch_add(1, std::memory_order_relaxed);
    } else if (item.event.type == market_event::kind::trade) {
      counters_.trades.fetch_add(1, std::memory_order_relaxed);
    } else if (item.event.type == market_event::kind::quote) {
      counters_.quotes.fetch_add(1, std::memory_order_relaxed);
    } else {
      counters_.bars.fetch_add(1, std::memory_order_relaxed);
    }
    item.sequence = seq;
    push(item);
    handled_ = seq;
    queued_ = seq;
    return true;
  }

  // A message this engine does not use: passed over, as if delivered once all before it are.
  void mark_skipped(uint64_t seq) noexcept { handled_ = seq; }

  // Book updates were among the events lost: each book waits for its next whole book (which
  // replaces it) before updates count again.
  void forget_books() { std::fill(book_ready_.begin(), book_ready_.end(), false); }

  // Events the stream's retention removed before this engine read them explain a gap.
  bool explained_gap(uint64_t seq) {
    stream_state st;
    try {
      if (!nats_->state(st)) return false;
    } catch (const std::exception&) {
      return false;
    }
    if (st.first_seq <= handled_ + 1) return false;
    const uint64_t lost = std::min(seq, st.first_seq) - handled_ - 1;
    counters_.bus_expired.fetch_add(lost);
    forget_books();
    spdlog::warn(
        "bus: {} events after sequence {} left the stream (retention) before this engine "
        "read them",
        lost, handled_);
    // Counted once: from here the events the stream still holds.
    if (seq > st.first_seq) {
      handled_ = st.first_seq - 1;
      return false;
    }
    return true;
  }

  static uint64_t sequence_of(natsMsg* msg) {
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) return 0;
    const uint64_t seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    return seq;
  }

  // Never dropped: the stream holds what the engine has not read yet, so the reader waits.
  void push(owned_event& item) {
    if (queue_.try_push(item)) [[likely]]
      return;
    counters_.blocked.fetch_add(1, std::memory_order_relaxed);
    while (!queue_.try_push(item)) {
      if (stopping_.load(std::memory_order_relaxed) || quit_.load()) return;
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  bus_section cfg_;
  event_queue& queue_;
  feed_counters& counters_;
  const std::atomic<bool>& stopping_;
  std::unordered_map<std::string, uint32_t> ids_;  // "<venue>.<symbol>" -> instrument id
  std::vector<std::string> snap_subjects_;
  std::unique_ptr<position_file> position_;
  std::unique_ptr<link> nats_;
  stream_state stream_;
  jsSubOptions sub_opts_{};
  std::string filter_;
  natsSubscription* sub_ = nullptr;
  std::deque<held_message> held_;
  std::vector<bool> book_ready_;
  uint64_t handled_ = 0;  // reader thread: the last sequence handled (queued or passed over)
  uint64_t queued_ = 0;   // reader thread: the last one queued for the engine thread
  std::atomic<uint64_t> processed_{0};
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

}  // namespace

std::unique_ptr<venue_feed> make_source(const bus_section& config,
                                        const instrument_registry& instruments,
                                        const std::filesystem::path& run_dir, event_queue& queue,
                                        feed_counters& counters,
                                        const std::atomic<bool>& stopping) {
  return std::make_unique<bus_source>(config, instruments, run_dir, queue, counters, stopping);
}

}  // namespace cats::bus
