#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cats/book/order_book.hpp"
#include "cats/bus/bus.hpp"
#include "cats/record/store.hpp"
#include "cats/util/time.hpp"
#include "link.hpp"

namespace cats::bus {

std::string subject_stem(const instrument_info& instrument) {
  if (instrument.name.empty() || instrument.name.find_first_of(".*> \t\r\n") != std::string::npos)
    throw std::invalid_argument("bus: the symbol \"" + instrument.name +
                                "\" cannot be a NATS subject token");
  std::string out = instrument.venue;
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out + "." + instrument.name;
}

std::string subject(std::string_view prefix, const instrument_info& instrument,
                    std::string_view kind) {
  std::string out(prefix);
  out.append(".").append(subject_stem(instrument)).append(".").append(kind);
  return out;
}

namespace {

// A whole book in one message stays well under the server's default 1 MB payload limit.
constexpr size_t max_snapshot_levels = 20000;

struct instrument_subjects {
  std::string trade, quote, bar, book, snap;
};

struct book_state {
  order_book book;
  int64_t exchange_ts = 0, local_ts = 0;
  uint64_t last_seq = 0;
};

}  // namespace

struct publisher::impl {
  const instrument_registry& instruments;
  bus_section cfg;
  publisher_stats stats;
  std::vector<instrument_subjects> subjects;  // by instrument id
  std::unordered_map<uint32_t, book_state> books;
  std::vector<char> buf;
  std::string id_prefix;
  uint64_t next_id = 0;
  uint64_t disconnects_seen = 0;
  int64_t next_snapshot = 0;
  std::mutex mutex;  // guards error and retry (written on the library's thread)
  std::string error;
  std::vector<natsMsg*> retry;  // not taken by the server yet: sent again in order
  std::atomic<bool> retry_pending{false};
  std::atomic<bool> tearing_down{false};
  const std::atomic<bool>* stop = nullptr;  // the run's stop flag: no endless wait once set
  std::unique_ptr<link> nats;
  bool closed = false;

  impl(const bus_section& c, const instrument_registry& i) : instruments(i), cfg(c) {}

  // The library's thread. A message the server could not take yet (JetStream still starting
  // after a restart: no responders; an acknowledgement that timed out) is kept and sent again, in
  // order, by the engine thread's next publish. A refusal (a full stream that discards new
  // messages, no such stream) stops the collector: sending it again later would put it out of
  // order.
  static void on_ack(jsCtx* /*js*/, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto* self = static_cast<impl*>(closure);
    if (pa != nullptr || pae == nullptr || self->tearing_down.load()) {
      if (pa != nullptr) self->stats.acked.fetch_add(1, std::memory_order_relaxed);
      natsMsg_Destroy(msg);
      return;
    }
    const std::lock_guard<std::mutex> lock(self->mutex);
    if (pae->Err == NATS_NO_RESPONDERS || pae->Err == NATS_TIMEOUT ||
        pae->Err == NATS_CONNECTION_DISCONNECTED) {
      self->retry.push_back(msg);  // ours now: the engine thread sends it again
      self->retry_pending.store(true);
      return;
    }
    if (self->error.empty())
      self->error = "bus: the server refused a message on " + std::string(natsMsg_GetSubject(msg)) +
                    ": " + (pae->ErrText != nullptr ? pae->ErrText : natsStatus_GetText(pae->Err));
    natsMsg_Destroy(msg);
  }

  // Publishing waits while the connection is down (the feed queue and TCP push back on the
  // venue), so nothing newer overtakes what the server may not have. Once it is back, every
  // message still unacknowledged is sent again, in its original order, with its message id: the
  // server drops the copies it already stored.
  // `deadline_ns`: give up then (0: wait as long as it takes).
  void wait_until_connected(int64_t deadline_ns = 0) {
    net::ws_stats& st = nats->stats();
    if (natsConnection_Status(nats->connection()) == NATS_CONN_STATUS_CONNECTED &&
        st.disconnects.load(std::memory_order_relaxed) == disconnects_seen &&
        !retry_pending.load(std::memory_order_relaxed))
      return;
    for (;;) {
      const natsConnStatus cs = natsConnection_Status(nats->connection());
      if (cs == NATS_CONN_STATUS_CLOSED)
        throw std::runtime_error("bus: the connection to " + cfg.url + " was closed");
      // Connected, and JetStream answers (a restarted server loads its streams first).
      stream_state ignored;
      if (cs == NATS_CONN_STATUS_CONNECTED) {
        try {
          if (nats->state(ignored)) break;
        } catch (const std::exception&) {
        }
      }
      throw_if_failed();
      if (stop != nullptr && stop->load() && deadline_ns == 0)
        throw std::runtime_error("bus: stopped while " + cfg.url + " was away; " +
                                 std::to_string(stats.published.load() - stats.acked.load()) +
                                 " published messages are not acknowledged");
      if (deadline_ns != 0 && wall_clock_ns() > deadline_ns)
        throw std::runtime_error("bus: " + cfg.url + " did not come back; " +
                                 std::to_string(stats.published.load() - stats.acked.load()) +
                                 " published messages are not acknowledged");
      stats.stalls.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    disconnects_seen = st.disconnects.load();
    resend_unacknowledged();
  }

  // Every message not acknowledged yet, and those the server could not take, again in their
  // original order (the server drops the ones it already has).
  void resend_unacknowledged() {
    // The library's pending list first, then the refused ones: one that comes back refused in
    // between is in `retry` by then, not lost for this round.
    std::vector<natsMsg*> msgs;
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, nats->js()) == NATS_OK) {
      for (int i = 0; i < pending.Count; ++i) {
        msgs.push_back(pending.Msgs[i]);
        pending.Msgs[i] = nullptr;
      }
      natsMsgList_Destroy(&pending);
    }
    {
      const std::lock_guard<std::mutex> lock(mutex);
      msgs.insert(msgs.end(), retry.begin(), retry.end());
      retry.clear();
      retry_pending.store(false);
    }
    if (msgs.empty()) return;
    std::vector<std::pair<uint64_t, natsMsg*>> order;
    for (natsMsg* m : msgs) {
      const char* id = nullptr;
      uint64_t n = 0;
      if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) {
        const char* dash = std::strrchr(id, '-');
        n = std::strtoull(dash != nullptr ? dash + 1 : id, nullptr, 10);
      }
      order.emplace_back(n, m);
    }
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < order.size(); ++i) {
      try {
        send(order[i].second);  // the library owns it again (or `retry` does)
      } catch (...) {
        for (size_t k = i + 1; k < order.size(); ++k) natsMsg_Destroy(order[k].second);
        throw;
      }
      stats.resent.fetch_add(1, std::memory_order_relaxed);
    }
    spdlog::info("bus: sent {} unacknowledged messages again", order.size());
  }

  // Hands `msg` to the library (which then owns it), waiting while too many await
  // acknowledgement. While the connection is away the message joins `retry` instead, to be sent
  // in order with the unacknowledged ones once it is back (never ahead of them through the
  // library's reconnect buffer).
  void send(natsMsg*& msg) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 10000;  // a lost acknowledgement comes back as a timeout, and is sent again
    for (;;) {
      const bool up = natsConnection_Status(nats->connection()) == NATS_CONN_STATUS_CONNECTED &&
                      nats->stats().disconnects.load() == disconnects_seen;
      const natsStatus s = up ? js_PublishMsgAsync(nats->js(), &msg, &po) : NATS_NOT_YET_CONNECTED;
      if (s == NATS_OK) return;
      // The connection broke under this publish (the library gave the message back: ours).
      if (!up || s == NATS_CONNECTION_DISCONNECTED || s == NATS_INSUFFICIENT_BUFFER ||
          s == NATS_NOT_YET_CONNECTED || s == NATS_IO_ERROR || s == NATS_STALE_CONNECTION) {
        const std::lock_guard<std::mutex> lock(mutex);
        retry.push_back(msg);
        msg = nullptr;
        retry_pending.store(true);
        return;
      }
      if (s != NATS_TIMEOUT || (stop != nullptr && stop->load()) || has_failed()) {
        const std::string subj = natsMsg_GetSubject(msg);
        natsMsg_Destroy(msg);
        msg = nullptr;
        throw_if_failed();
        throw std::runtime_error(nats_error("bus: cannot publish on " + subj, s));
      }
      stats.stalls.fetch_add(1, std::memory_order_relaxed);  // max_pending in flight: wait
    }
  }

  bool has_failed() {
    const std::lock_guard<std::mutex> lock(mutex);
    return !error.empty();
  }

  void log_totals() const {
    spdlog::info(
        "bus: published {} messages ({} whole books, {} bytes), {} acknowledged, {} re-sent, "
        "{} waits for acknowledgements",
        stats.published.load(), stats.snapshots.load(), stats.bytes.load(), stats.acked.load(),
        stats.resent.load(), stats.stalls.load());
  }

  void throw_if_failed() {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!error.empty()) throw std::runtime_error(error);
  }

  void publish(const std::string& subj, const char* data, size_t n) {
    wait_until_connected();
    natsMsg* msg = nullptr;
    const natsStatus s = natsMsg_Create(&msg, subj.c_str(), nullptr, data, static_cast<int>(n));
    if (s != NATS_OK) throw std::runtime_error(nats_error("bus: message on " + subj, s));
    const std::string id = id_prefix + std::to_string(++next_id);
    natsMsgHeader_Set(msg, "Nats-Msg-Id", id.c_str());
    send(msg);
    stats.published.fetch_add(1, std::memory_order_relaxed);
    stats.bytes.fetch_add(n, std::memory_order_relaxed);
    nats->stats().messages.fetch_add(1, std::memory_order_relaxed);
    nats->stats().bytes.fetch_add(n, std::memory_order_relaxed);
  }

  void publish_event(const std::string& subj, const market_event& e) {
    const size_t n = event_record_size(e);
    if (buf.size() < n) buf.resize(n);
    encode_event_record(e, 0, buf.data());
    publish(subj, buf.data(), n);
  }

  void keep_book(const book_update& u) {
    book_state& b = books[u.instrument_id];
    if (u.snapshot) {
      b.book.assign(u.bids, u.asks);
    } else {
      b.book.apply(u.bids, u.asks);
    }
    b.exchange_ts = u.exchange_ts_ns;
    b.local_ts = u.local_ts_ns;
    b.last_seq = u.last_seq;
  }

  // Every instrument's whole book, so that an engine that joins later starts from one.
  void publish_snapshots() {
    for (auto& [id, b] : books) {
      if (id >= subjects.size() || subjects[id].snap.empty()) continue;
      book_update u;
      u.instrument_id = id;
      u.snapshot = true;
      u.exchange_ts_ns = b.exchange_ts;
      u.local_ts_ns = b.local_ts;
      u.last_seq = b.last_seq;
      const size_t per_side = max_snapshot_levels / 2;
      u.bids.assign(
          b.book.bids().begin(),
          b.book.bids().begin() + static_cast<ptrdiff_t>(std::min(per_side, b.book.bids().size())));
      u.asks.assign(
          b.book.asks().begin(),
          b.book.asks().begin() + static_cast<ptrdiff_t>(std::min(per_side, b.book.asks().size())));
      publish_event(subjects[id].snap, market_event::of(u, 0, u.local_ts_ns));
      stats.snapshots.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

publisher::publisher(const bus_section& config, const instrument_registry& instruments,
                     const std::atomic<bool>* stop)
    : impl_(std::make_unique<impl>(config, instruments)) {
  impl& p = *impl_;
  p.stop = stop;
  for (const instrument_info& i : instruments.all()) {
    if (p.subjects.size() <= i.id) p.subjects.resize(i.id + 1);
    instrument_subjects& s = p.subjects[i.id];
    s.trade = subject(config.prefix, i, "trade");
    s.quote = subject(config.prefix, i, "quote");
    s.bar = subject(config.prefix, i, "bar");
    s.book = subject(config.prefix, i, "book");
    s.snap = subject(config.prefix, i, "snap");
  }
  // Message ids unique across restarts of this collector: host, process and start time.
  char host[64] = {};
  ::gethostname(host, sizeof host - 1);
  p.id_prefix = std::string(host) + "-" + std::to_string(::getpid()) + "-" +
                std::to_string(wall_clock_ns()) + "-";
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.MaxPending = config.max_pending;
  jo.PublishAsync.StallWait = 1000;
  jo.PublishAsync.AckHandler = &impl::on_ack;
  jo.PublishAsync.AckHandlerClosure = impl_.get();
  p.nats = std::make_unique<link>(config, "cats-collector", &jo);
  p.nats->ensure_stream();
  p.next_snapshot = wall_clock_ns() + config.snapshot_interval_ms * 1'000'000;
  spdlog::info("bus: publishing to stream {} on {} (subjects {}.<venue>.<symbol>.<kind>)",
               config.stream, config.url, config.prefix);
}

publisher::~publisher() {
  try {
    close();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
  impl_->tearing_down = true;
  impl_->nats.reset();  // no callback after this
  for (natsMsg* m : impl_->retry) natsMsg_Destroy(m);
}

void publisher::on_event(const market_event& e) {
  impl& p = *impl_;
  p.throw_if_failed();
  const uint32_t id = e.instrument_id();
  if (id >= p.subjects.size() || p.subjects[id].trade.empty()) return;
  const instrument_subjects& s = p.subjects[id];
  switch (e.type) {
    case market_event::kind::trade:
      p.publish_event(s.trade, e);
      break;
    case market_event::kind::quote:
      p.publish_event(s.quote, e);
      break;
    case market_event::kind::bar:
      if (e.built) return;  // the engine's own bars: consumers build theirs
      p.publish_event(s.bar, e);
      break;
    case market_event::kind::book:
      p.publish_event(s.book, e);
      p.keep_book(*e.book);
      break;
    case market_event::kind::none:
      return;
  }
  const int64_t now = wall_clock_ns();
  if (now >= p.next_snapshot) {
    p.next_snapshot = now + p.cfg.snapshot_interval_ms * 1'000'000;
    p.publish_snapshots();
  }
}

void publisher::close() {
  impl& p = *impl_;
  if (p.closed) return;
  p.closed = true;
  const int64_t deadline = wall_clock_ns() + 30'000'000'000;
  natsStatus s = NATS_OK;
  try {
    // Short rounds until the server has every message: a connection lost meanwhile is waited
    // for and what it lost sent again, within the 30 s.
    for (;;) {
      p.wait_until_connected(deadline);
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MaxWait = 250;
      s = js_PublishAsyncComplete(p.nats->js(), &po);
      if ((s == NATS_OK && !p.retry_pending.load()) || wall_clock_ns() > deadline) break;
    }
  } catch (...) {
    p.log_totals();
    throw;
  }
  p.log_totals();
  p.throw_if_failed();
  const uint64_t published = p.stats.published.load(), acked = p.stats.acked.load();
  if (s != NATS_OK || p.retry_pending.load())
    throw std::runtime_error("bus: " + std::to_string(published - acked) +
                             " published messages were not acknowledged within 30 s");
}

const publisher_stats& publisher::stats() const noexcept {
  return impl_->stats;
}

const net::ws_stats& publisher::connection() const noexcept {
  return impl_->nats->stats();  // valid until the publisher is destroyed
}

}  // namespace cats::bus
