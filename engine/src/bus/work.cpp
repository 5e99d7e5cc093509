// Distributed sweeps over the bus: the coordinator (`cats sweep --workers`) and the workers
// (`cats worker`). One message per run; outcomes carry the run's metrics as the bytes of
// backtest_metrics, so a coordinator and its workers must be the same build (checked).
#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <type_traits>

#include "cats/bus/bus.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"
#include "cats/version.hpp"
#include "link.hpp"

namespace cats::bus {

namespace {

namespace fs = std::filesystem;

static_assert(std::is_trivially_copyable_v<backtest_metrics>);

// Coordinator and worker must lay out backtest_metrics alike: the same engine version, ABI and
// struct size.
std::string build_tag() {
  return std::string(engine_version) + "/" + abi_version_string() + "/" +
         std::to_string(sizeof(backtest_metrics));
}

std::string work_stream(const bus_section& c) {
  return c.stream + "_WORK";
}
std::string result_stream(const bus_section& c) {
  return c.stream + "_RESULTS";
}
// Subjects of their own: the market stream holds <prefix>.>, and JetStream refuses streams whose
// subjects overlap.
std::string work_subject(const bus_section& c, const std::string& sweep) {
  return c.prefix + "_work." + sweep;
}
std::string result_subject(const bus_section& c, const std::string& sweep) {
  return c.prefix + "_result." + sweep;
}

void ensure_work_streams(link& l, const std::atomic<bool>* stop) {
  const bus_section& c = l.config();
  l.ensure_stream(work_stream(c), work_subject(c, ">"), true, 0, stop);
  l.ensure_stream(result_stream(c), result_subject(c, ">"), false, 7LL * 86'400'000, stop);
}

// The host's name as one subject token ("a.example.com" -> "a-example-com").
std::string hostname() {
  char host[64] = {};
  ::gethostname(host, sizeof host - 1);
  std::string out = host;
  for (char& c : out)
    if (c == '.' || c == '*' || c == '>' || c == ' ') c = '-';
  return out.empty() ? "host" : out;
}

// Publishes and waits for the server to store it.
void publish_stored(link& l, const std::string& subject, const std::string& data,
                    const std::string& id) {
  natsMsg* msg = nullptr;
  natsStatus s =
      natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) throw std::runtime_error(nats_error("bus: message on " + subject, s));
  natsMsgHeader_Set(msg, "Nats-Msg-Id", id.c_str());
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  for (int attempt = 0;; ++attempt) {
    s = js_PublishMsg(&ack, l.js(), msg, nullptr, &jerr);
    if (s == NATS_OK || attempt == 20) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));  // a server restarting
  }
  natsMsg_Destroy(msg);
  jsPubAck_Destroy(ack);
  if (s != NATS_OK) throw std::runtime_error(nats_error("bus: cannot publish on " + subject, s));
}

// ---- the coordinator ---------------------------------------------------------------------

std::string job_message(const std::string& sweep, const std::string& config_name,
                        const std::string& config_text, const std::vector<std::string>& overrides,
                        const std::vector<sweep_param>& params, const remote_job& j) {
  json_writer w;
  w.begin_object();
  w.key("build").value(build_tag());
  w.key("sweep").value(sweep);
  w.key("run").value(static_cast<uint64_t>(j.run));
  w.key("config_name").value(config_name);
  w.key("config").value(config_text);
  w.key("overrides").begin_array();
  for (const std::string& o : overrides) w.value(o);
  w.end_array();
  w.key("keys").begin_array();
  for (const sweep_param& p : params) w.value(p.key);
  w.end_array();
  w.key("values").begin_array();
  for (const std::string& v : j.values) w.value(v);
  w.end_array();
  w.end_object();
  return w.str();
}

// A result: one JSON line, then the metrics' bytes.
bool parse_result(const char* data, size_t n, size_t& run, remote_outcome& out, std::string& why) {
  const char* nl = static_cast<const char*>(std::memchr(data, '\n', n));
  if (nl == nullptr) {
    why = "no header line";
    return false;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(data, static_cast<size_t>(nl - data)).get(e) != simdjson::SUCCESS) {
    why = "a header that is not JSON";
    return false;
  }
  std::string_view build, error;
  uint64_t r = 0;
  int64_t fees = 0;
  bool ok = false;
  double seconds = 0;
  if (e["build"].get(build) || e["run"].get(r) || e["ok"].get(ok) || e["fees"].get(fees) ||
      e["seconds"].get(seconds) || e["error"].get(error)) {
    why = "a header without build, run, ok, fees, seconds or error";
    return false;
  }
  if (build != build_tag()) {
    why =
        "from a worker of another build (" + std::string(build) + ", this is " + build_tag() + ")";
    return false;
  }
  const size_t body = n - static_cast<size_t>(nl + 1 - data);
  if (ok && body != sizeof(backtest_metrics)) {
    why = "metrics of " + std::to_string(body) + " bytes";
    return false;
  }
  if (ok) std::memcpy(&out.metrics, nl + 1, sizeof(backtest_metrics));
  run = r;
  out.ok = ok;
  out.fees = fees;
  out.seconds = seconds;
  out.error = std::string(error);
  return true;
}

void purge(link& l, const std::string& stream, const std::string& subject) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Stream.Purge.Subject = subject.c_str();
  js_PurgeStream(l.js(), stream.c_str(), &o, nullptr);
}

void coordinate(const bus_section& cfg, const fs::path& config_file,
                const std::vector<std::string>& overrides, const std::vector<sweep_param>& params,
                const std::atomic<bool>* stop, const std::vector<remote_job>& jobs,
                const std::function<void(size_t, remote_outcome&&)>& done) {
  std::ifstream in(config_file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + config_file.string());
  link l(cfg, "cats-sweep");
  ensure_work_streams(l, stop);
  const std::string sweep =
      hostname() + "-" + std::to_string(::getpid()) + "-" + std::to_string(wall_clock_ns());
  const std::string results = result_subject(cfg, sweep);
  // Subscribed before the first job goes out: no outcome can be missed.
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = nullptr;
  const std::string rs = result_stream(cfg);
  so.Stream = rs.c_str();
  so.Config.DeliverPolicy = js_DeliverAll;
  so.Ordered = true;  // no acks; re-created by the library after a reconnect or a missed message
  natsSubscription* sub = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = l.patiently(
      rs, [&] { return js_SubscribeSync(&sub, l.js(), results.c_str(), nullptr, &so, &jerr); },
      stop);
  if (s != NATS_OK) throw std::runtime_error(nats_error("bus: cannot read " + results, s));
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> guard(sub,
                                                                       natsSubscription_Destroy);
  const std::string name = config_file.filename().string();
  for (const remote_job& j : jobs)
    publish_stored(l, work_subject(cfg, sweep),
                   job_message(sweep, name, text.str(), overrides, params, j),
                   sweep + "-" + std::to_string(j.run));
  spdlog::info("sweep: {} runs handed to the workers on {} (sweep {})", jobs.size(), cfg.url,
               sweep);
  size_t finished = 0;
  int64_t last_news = wall_clock_ns();
  std::vector<uint8_t> seen(jobs.empty() ? 0 : jobs.back().run + 1, 0);
  while (finished < jobs.size()) {
    if (stop != nullptr && stop->load()) {
      purge(l, work_stream(cfg), work_subject(cfg, sweep));
      spdlog::warn("sweep: interrupted; the runs not yet taken were withdrawn");
      return;
    }
    natsMsg* m = nullptr;
    s = natsSubscription_NextMsg(&m, sub, 500);
    if (s == NATS_TIMEOUT) {
      if (wall_clock_ns() - last_news > 30'000'000'000) {
        spdlog::warn(
            "sweep: waiting for workers: {} of {} runs done (start `cats worker --nats "
            "{} --store DIR` where the data is)",
            finished, jobs.size(), cfg.url);
        last_news = wall_clock_ns();
      }
      continue;
    }
    if (s != NATS_OK) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    size_t run = 0;
    remote_outcome o;
    std::string why;
    if (!parse_result(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)), run, o,
                      why)) {
      natsMsg_Destroy(m);
      throw std::runtime_error("sweep: a worker's result is unusable: " + why);
    }
    natsMsg_Destroy(m);
    last_news = wall_clock_ns();
    if (run < seen.size() && seen[run] == 0) {
      seen[run] = 1;
      ++finished;
      done(run, std::move(o));
    }
  }
  purge(l, rs, results);
}

// ---- the worker ------------------------------------------------------------------------------

struct job {
  std::string sweep, config_name, config;
  uint64_t run = 0;
  bool build_mismatch = false;
  std::vector<std::string> overrides, keys, values;
};

bool parse_job(const char* data, size_t n, job& j, std::string& why) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(data, n).get(e) != simdjson::SUCCESS) {
    why = "not JSON";
    return false;
  }
  std::string_view build, sweep, name, config;
  if (e["build"].get(build) || e["sweep"].get(sweep) || e["run"].get(j.run) ||
      e["config_name"].get(name) || e["config"].get(config)) {
    why = "build, sweep, run, config_name or config missing";
    return false;
  }
  j.sweep = std::string(sweep);
  if (build != build_tag()) {
    why = "from a coordinator of another build (" + std::string(build) + ", this worker is " +
          build_tag() + ")";
    j.build_mismatch = true;
    return false;
  }
  j.config_name = fs::path(std::string(name)).filename().string();
  j.config = std::string(config);
  for (auto [key, out] :
       {std::pair<const char*, std::vector<std::string>*>{"overrides", &j.overrides},
        {"keys", &j.keys},
        {"values", &j.values}}) {
    simdjson::dom::array a;
    if (e[key].get(a)) {
      why = std::string(key) + " missing";
      return false;
    }
    for (simdjson::dom::element v : a) {
      std::string_view t;
      if (v.get(t)) {
        why = std::string(key) + ": not a string";
        return false;
      }
      out->emplace_back(t);
    }
  }
  if (j.keys.size() != j.values.size() || j.sweep.find_first_of("/.") != std::string::npos ||
      j.config_name.empty()) {
    why = "inconsistent keys and values, or a bad sweep id";
    return false;
  }
  return true;
}

std::string result_message(uint64_t run, const remote_outcome& o, const std::string& worker) {
  json_writer w;
  w.begin_object();
  w.key("build").value(build_tag());
  w.key("run").value(run);
  w.key("ok").value(o.ok);
  w.key("fees").value(o.fees);
  w.key("seconds").value(o.seconds);
  w.key("error").value(o.error);
  w.key("worker").value(worker);
  w.end_object();
  std::string out = w.str() + "\n";
  if (o.ok) out.append(reinterpret_cast<const char*>(&o.metrics), sizeof(backtest_metrics));
  return out;
}

// One run, exactly as a local sweep runs it: the same code, a grid of one combination.
remote_outcome run_job(const job& j, const fs::path& config, const worker_options& w) {
  remote_outcome out;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    sweep_options o;
    o.config = config;
    o.overrides = j.overrides;
    for (size_t k = 0; k < j.keys.size(); ++k) o.params.push_back({j.keys[k], {j.values[k]}});
    o.jobs = 1;
    o.data_dir = w.store_dir;
    o.plugin_dir = w.plugin_dir;
    o.stop = w.stop;
    const sweep_result r = run_sweep(o);
    if (r.runs.empty() || !r.runs[0].done) {
      out.error = "the run did not finish";
    } else {
      out.ok = !r.runs[0].failed;
      out.metrics = r.runs[0].metrics;
      out.fees = r.runs[0].fees_paid;
      out.error = r.runs[0].error;
    }
  } catch (const std::exception& e) {
    out.ok = false;
    out.error = e.what();
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

class worker_loop {
 public:
  worker_loop(link& l, const worker_options& w) : l_(l), w_(w) {}

  // One thread's loop: fetch a run, run it, publish the outcome, acknowledge.
  void run(unsigned index) {
    const bus_section& cfg = l_.config();
    const std::string filter = work_subject(cfg, ">");
    const std::string ws = work_stream(cfg);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = ws.c_str();
    so.ManualAck = true;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = cfg.ack_wait_ms * 1'000'000;
    so.Config.FilterSubject = filter.c_str();
    natsSubscription* sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = l_.patiently(
        ws,
        [&] {
          return js_PullSubscribe(&sub, l_.js(), filter.c_str(), "cats-workers", nullptr, &so,
                                  &jerr);
        },
        w_.stop);
    if (s != NATS_OK) {
      spdlog::error("{}", nats_error("worker: cannot take runs from " + ws, s));
      failed_ = true;
      return;
    }
    const std::string me =
        hostname() + "-" + std::to_string(::getpid()) + "-" + std::to_string(index);
    int64_t last_warning = 0;
    while (w_.stop == nullptr || !w_.stop->load()) {
      natsMsgList list{};
      const natsStatus st = natsSubscription_Fetch(&list, sub, 1, 1000, nullptr);
      if (st == NATS_TIMEOUT) continue;
      if (st != NATS_OK) {  // the server away: wait for it, saying so now and then
        if (wall_clock_ns() - last_warning > 10'000'000'000) {
          spdlog::warn("{}", nats_error("worker: taking runs from " + ws, st));
          last_warning = wall_clock_ns();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        continue;
      }
      for (int i = 0; i < list.Count; ++i) handle(list.Msgs[i], me);
      natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
  }

  bool failed() const { return failed_; }
  uint64_t runs() const { return runs_; }

 private:
  void handle(natsMsg* msg, const std::string& me) {
    const bus_section& cfg = l_.config();
    jsMsgMetaData* meta = nullptr;
    uint64_t deliveries = 1;
    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
      deliveries = meta->NumDelivered;
      jsMsgMetaData_Destroy(meta);
    }
    job j;
    std::string why;
    if (!parse_job(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)), j, why)) {
      spdlog::error("worker: a run on {} is unusable ({}); it is dropped", natsMsg_GetSubject(msg),
                    why);
      natsMsg_Term(msg, nullptr);
      return;
    }
    remote_outcome o;
    if (deliveries > static_cast<uint64_t>(w_.max_deliveries)) {
      o.error = "given up after " + std::to_string(deliveries - 1) +
                " workers stopped during this run (a crash, a kill or a lost connection)";
    } else {
      const fs::path dir = w_.store_dir / ".cats-worker" / j.sweep;
      std::error_code ec;
      fs::create_directories(dir, ec);
      // Workers on one machine share the folder: each writes its own temporary file and renames
      // it, so a reader never sees a half-written config (they are all the same text).
      const fs::path file = dir / j.config_name;
      const fs::path tmp = dir / (j.config_name + ".tmp." + me);
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << j.config;
      }
      fs::rename(tmp, file, ec);
      if (ec) o.error = "cannot write " + file.string() + ": " + ec.message();
      spdlog::info("worker: sweep {} run {} ({})", j.sweep, j.run + 1, join(j.keys, j.values));
      // Tells the server the run is still being worked on, so it is not handed to another
      // worker while it runs longer than ack_wait.
      std::mutex m;
      std::condition_variable cv;
      bool running = true;
      std::thread beat([&] {
        const auto every = std::chrono::milliseconds(std::max<int64_t>(cfg.ack_wait_ms / 3, 100));
        std::unique_lock<std::mutex> lock(m);
        while (!cv.wait_for(lock, every, [&] { return !running; }))
          natsMsg_InProgress(msg, nullptr);
      });
      if (o.error.empty()) o = run_job(j, file, w_);
      {
        const std::lock_guard<std::mutex> lock(m);
        running = false;
      }
      cv.notify_all();
      beat.join();
      if (w_.stop != nullptr && w_.stop->load() && !o.ok) {
        natsMsg_Nak(msg, nullptr);  // interrupted: another worker takes it
        return;
      }
    }
    try {
      publish_stored(l_, result_subject(cfg, j.sweep), result_message(j.run, o, me),
                     j.sweep + "-" + std::to_string(j.run) + "-result");
    } catch (const std::exception& e) {
      spdlog::error("worker: {}", e.what());
      return;  // unacknowledged: the run is handed out again
    }
    natsMsg_AckSync(msg, nullptr, nullptr);
    ++runs_;
  }

  static std::string join(const std::vector<std::string>& keys,
                          const std::vector<std::string>& values) {
    std::string out;
    for (size_t k = 0; k < keys.size(); ++k)
      out += (k == 0 ? "" : ", ") + keys[k] + "=" + values[k];
    return out;
  }

  link& l_;
  const worker_options& w_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> runs_{0};
};

}  // namespace

remote_runner make_sweep_coordinator(const bus_section& config, const fs::path& config_file,
                                     const std::vector<std::string>& overrides,
                                     const std::vector<sweep_param>& params,
                                     const std::atomic<bool>* stop) {
  return [=](const std::vector<remote_job>& jobs,
             const std::function<void(size_t, remote_outcome &&)>& done) {
    coordinate(config, config_file, overrides, params, stop, jobs, done);
  };
}

int run_worker(const bus_section& config, const worker_options& options) {
  try {
    link l(config, "cats-worker");
    ensure_work_streams(l, options.stop);
    spdlog::info("worker: taking runs from {} on {}, {} at a time, data in {}", work_stream(config),
                 config.url, options.jobs, options.store_dir.string());
    worker_loop loop(l, options);
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < std::max(1u, options.jobs); ++i)
      threads.emplace_back([&loop, i] { loop.run(i); });
    loop.run(0);
    for (std::thread& t : threads) t.join();
    spdlog::info("worker: {} runs done", loop.runs());
    return loop.failed() ? 1 : 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

}  // namespace cats::bus
