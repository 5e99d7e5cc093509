#include <utility>  // before Asio (Boost 1.74 with C++20)

#include "cats/plugin/reloader.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "cats/config/config.hpp"
#include "cats/core/engine.hpp"
#include "cats/plugin/loader.hpp"
#include "cats/plugin/params.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// Identifies a build of a file: a rebuilt plugin at the same path has another stamp.
std::string file_stamp(const fs::path& p) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) return {};
  const auto time = fs::last_write_time(p, ec);
  if (ec) return {};
  return std::to_string(size) + ":" + std::to_string(time.time_since_epoch().count());
}

fs::path normal(const fs::path& p) {
  std::error_code ec;
  fs::path out = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal() : out;
}

}  // namespace

struct plugin_reloader::impl {
  // What the loader thread knows about a strategy (it never reads the engine's slots).
  struct watched {
    uint32_t slot;
    std::string name;
    fs::path source;  // the .so in the plugin folder it was loaded from
    param_set params;
    bool active = true;
    std::string stamp;   // size and modification time of `source` when it was loaded
    std::string broker;  // its [[strategy]] broker (live runs), fixed for the run
  };
  struct job {
    enum class kind { swap, remove, add, refused } type = kind::refused;
    strategy_candidate candidate;
    uint32_t slot = 0;
    std::string text;  // removal reason, the source path for logs, or the file stamp (add)
    std::string name;
    std::shared_ptr<plugin_library> library;
    param_set params;
    fs::path source;
    std::string broker;  // add: its [[strategy]] broker
  };

  impl(engine& e, reload_options o, std::function<void()> w, std::atomic<bool>& p)
      : eng(e), opt(std::move(o)), wake(std::move(w)), pending(p), sd(io) {}

  engine& eng;
  reload_options opt;
  std::function<void()> wake;
  std::atomic<bool>& pending;
  asio::io_context io;
  asio::posix::stream_descriptor sd;
  std::thread thread;
  fs::path private_dir;
  std::vector<watched> list;  // loader thread only (after start)
  std::array<char, 64 * 1024> buf{};
  std::mutex mutex;
  std::deque<job> jobs;  // guarded by mutex

  void post_job(job j) {
    {
      std::lock_guard lock(mutex);
      jobs.push_back(std::move(j));
    }
    pending.store(true, std::memory_order_release);
    wake();
  }

  void refused(const std::string& message) {
    spdlog::error("hot reload: {}", message);
    job j;
    j.type = job::kind::refused;
    post_job(std::move(j));
  }

  std::shared_ptr<plugin_library> load_copy(const fs::path& file, std::string& error) {
    return plugin_library::load_copy(file, private_dir, error);
  }

  void on_file_ready(const fs::path& file, int64_t ready_ns) {
    const fs::path key = normal(file);
    std::vector<watched*> targets;
    for (watched& w : list)
      if (w.source == key) targets.push_back(&w);
    if (targets.empty()) {
      spdlog::debug("hot reload: {} changed; no running strategy uses it", file.string());
      return;
    }
    std::string names;
    for (const watched* w : targets) names += (names.empty() ? "'" : ", '") + w->name + "'";
    std::string error;
    auto lib = load_copy(file, error);
    if (!lib) {
      refused(error + "; " + names + " keep" + (targets.size() == 1 ? "s" : "") +
              " running the loaded version");
      return;
    }
    for (watched* w : targets) {
      job j;
      j.type = job::kind::swap;
      j.text = file.string();
      if (!eng.prepare_candidate(w->slot, w->name, lib, w->params, j.candidate, error)) {
        refused(file.string() + ": " + error + "; the loaded version keeps running");
        continue;
      }
      j.candidate.ready_ns = ready_ns;
      w->active = true;
      w->stamp = file_stamp(file);
      post_job(std::move(j));
    }
  }

  // A build tool may delete the file and then write the new one (GNU ld, install(1), rm + cp):
  // wait a moment, and stop the strategies only if the file is still gone.
  void on_file_removed(const fs::path& file) {
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(1500));
    timer->async_wait([this, file, timer](const boost::system::error_code& ec) {
      std::error_code fec;
      if (!ec && !fs::exists(file, fec)) remove_now(file);
    });
  }

  void remove_now(const fs::path& file) {
    const fs::path key = normal(file);
    for (watched& w : list) {
      if (w.source != key || !w.active) continue;
      if (opt.keep_on_remove) {
        spdlog::warn("hot reload: {} was removed; '{}' keeps running the loaded copy",
                     file.string(), w.name);
        continue;
      }
      w.active = false;
      job j;
      j.type = job::kind::remove;
      j.slot = w.slot;
      j.text = "its plugin " + file.string() + " was removed";
      post_job(std::move(j));
    }
  }

  void read_events() {
    sd.async_read_some(asio::buffer(buf), [this](const boost::system::error_code& ec, size_t n) {
      if (ec) {
        if (ec != asio::error::operation_aborted)
          spdlog::error("hot reload: watching {} failed: {}", opt.plugin_dir.string(),
                        ec.message());
        return;
      }
      const int64_t now = wall_clock_ns();
      for (size_t off = 0; off + sizeof(inotify_event) <= n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
        off += sizeof(inotify_event) + ev->len;
        if ((ev->mask & IN_Q_OVERFLOW) != 0)
          spdlog::warn("hot reload: the inotify queue overflowed; some plugin changes were missed");
        if (ev->len == 0) continue;
        const std::string name(ev->name);
        if (!is_plugin_file(name)) continue;
        const fs::path file = opt.plugin_dir / name;
        // Only a complete file: closed after writing, or renamed into place. A file still being
        // written (IN_MODIFY) is never loaded.
        if ((ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) != 0) on_file_ready(file, now);
        if ((ev->mask & (IN_DELETE | IN_MOVED_FROM)) != 0) on_file_removed(file);
      }
      read_events();
    });
  }

  static bool is_plugin_file(const std::string& name) {
    return name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0 && name[0] != '.';
  }

  void reload_config() {
    run_config cfg;
    try {
      cfg = load_config(opt.config_file, opt.overrides, config_purpose::live);
    } catch (const config_error& e) {
      spdlog::error("SIGHUP: the config was not reloaded: {}", e.what());
      return;
    }
    if (const std::string routes = describe_routes(cfg); routes != opt.routes) {
      // Where orders go changes only at a restart (positions are at their brokers).
      spdlog::error(
          "SIGHUP: the config was not reloaded: its order routes ({}) differ from the running "
          "ones ({}); routes change only at a restart",
          routes, opt.routes);
      return;
    }
    spdlog::info("SIGHUP: reloading the strategy list from {}", opt.config_file.string());
    const fs::path dir =
        cfg.engine.plugin_dir.empty() ? default_plugin_dir() : cfg.engine.plugin_dir;
    std::vector<std::string> seen;
    for (const strategy_section& s : cfg.strategies) {
      if (!s.enabled) continue;
      seen.push_back(s.name);
      std::string error;
      const fs::path file = resolve_plugin(s.plugin, dir, error);
      if (file.empty()) {
        refused("strategy '" + s.name + "': " + error);
        continue;
      }
      auto lib = load_copy(file, error);
      if (!lib) {
        refused(error);
        continue;
      }
      param_set params;
      try {
        params = build_params(s, *lib);
      } catch (const config_error& e) {
        refused(e.what());
        continue;
      }
      watched* w = nullptr;
      for (watched& x : list)
        if (x.name == s.name) w = &x;
      if (w == nullptr) {
        const auto& ok = opt.strategy_brokers;
        if (std::find(ok.begin(), ok.end(), s.broker) == ok.end()) {
          refused("strategy '" + s.name + "': broker \"" + s.broker +
                  "\" is not one of this run's brokers; adding it takes a restart");
          continue;
        }
        job j;
        j.type = job::kind::add;
        j.name = s.name;
        j.broker = s.broker;
        j.library = std::move(lib);
        j.params = std::move(params);
        j.source = normal(file);
        j.text = file_stamp(file);
        post_job(std::move(j));
        continue;
      }
      if (s.broker != w->broker) {
        // Where a strategy's orders go is fixed for the run: its positions are at that broker.
        refused("strategy '" + s.name + "': broker \"" + s.broker + "\" in the config, \"" +
                w->broker + "\" in this run: a broker change takes a restart");
        continue;
      }
      const std::string stamp = file_stamp(file);
      if (w->active && w->source == normal(file) && w->stamp == stamp &&
          w->params.to_string() == params.to_string())
        continue;  // the same build with the same parameters
      job j;
      j.type = job::kind::swap;
      j.text = file.string();
      if (!eng.prepare_candidate(w->slot, w->name, lib, params, j.candidate, error)) {
        refused(error + "; the loaded version keeps running");
        continue;
      }
      j.candidate.ready_ns = wall_clock_ns();
      w->source = normal(file);
      w->params = std::move(params);
      w->active = true;
      w->stamp = stamp;
      post_job(std::move(j));
    }
    for (watched& w : list) {
      if (!w.active || std::find(seen.begin(), seen.end(), w.name) != seen.end()) continue;
      w.active = false;
      job j;
      j.type = job::kind::remove;
      j.slot = w.slot;
      j.text = "removed from the config (SIGHUP)";
      post_job(std::move(j));
    }
  }
};

plugin_reloader::plugin_reloader(engine& eng, reload_options options, std::function<void()> wake)
    : engine_(eng),
      impl_(std::make_unique<impl>(eng, std::move(options), std::move(wake), pending_)) {}

plugin_reloader::~plugin_reloader() {
  stop();
}

void plugin_reloader::start() {
  impl& m = *impl_;
  m.private_dir = private_plugin_dir();
  for (const auto& s : engine_.strategies()) {
    if (!s->library) continue;
    m.list.push_back({s->host->slot, s->name, normal(s->source), s->params, s->running,
                      file_stamp(s->source), s->broker});
  }
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("inotify_init1: ") + std::strerror(errno));
  if (::inotify_add_watch(fd, m.opt.plugin_dir.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) < 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot watch the plugin folder " + m.opt.plugin_dir.string() + ": " +
                             std::strerror(err));
  }
  m.sd.assign(fd);
  m.read_events();
  m.thread = std::thread([&m] { m.io.run(); });
  spdlog::info("hot reload: watching {} for new builds of {} strateg{}", m.opt.plugin_dir.string(),
               m.list.size(), m.list.size() == 1 ? "y" : "ies");
}

void plugin_reloader::stop() {
  impl& m = *impl_;
  if (!m.thread.joinable()) return;
  asio::post(m.io, [&m] {
    boost::system::error_code ec;
    m.sd.close(ec);
  });
  m.io.stop();
  m.thread.join();
  // Candidates never swapped in are destroyed here (their libraries are still loaded).
  std::lock_guard lock(m.mutex);
  m.jobs.clear();
}

void plugin_reloader::request_config_reload() {
  asio::post(impl_->io, [m = impl_.get()] { m->reload_config(); });
}

void plugin_reloader::apply_pending() {
  impl& m = *impl_;
  std::deque<impl::job> jobs;
  {
    std::lock_guard lock(m.mutex);
    jobs.swap(m.jobs);
    pending_.store(false, std::memory_order_release);
  }
  for (impl::job& j : jobs) {
    std::shared_ptr<strategy_module> retired;
    switch (j.type) {
      case impl::job::kind::refused:
        ++stats_.refused;
        break;
      case impl::job::kind::swap: {
        const uint32_t slot = j.candidate.slot;
        const strategy_slot& s = *engine_.strategies().at(slot);
        const std::string before = s.label();
        swap_timing t;
        std::string error;
        const int64_t ready = j.candidate.ready_ns;
        if (!engine_.swap_in(j.candidate, retired, t, error)) {
          ++stats_.refused;
          spdlog::error("hot reload: {}", error);
          break;
        }
        ++stats_.reloads;
        stats_.swap_pause.record(t.pause_ns);
        measuring_.push_back({slot, s.events, ready});
        spdlog::info("hot reload: {} -> {} from {} (delivery paused {:.1f} us)", before,
                     s.kind() + " " + s.version(), j.text, static_cast<double>(t.pause_ns) / 1e3);
        break;
      }
      case impl::job::kind::remove:
        ++stats_.removed;
        engine_.retire(j.slot, j.text, retired);
        break;
      case impl::job::kind::add: {
        std::string error;
        if (!engine_.add_strategy(j.name, j.library, std::move(j.params), error, j.broker)) {
          ++stats_.refused;
          spdlog::error("SIGHUP: {}", error);
          break;
        }
        strategy_slot& s = *engine_.strategies().back();
        s.source = j.source;  // not the private copy it was loaded from
        const uint32_t slot = s.host->slot;
        engine_.start_one(slot);
        ++stats_.added;
        spdlog::info("SIGHUP: strategy {} added", s.label());
        asio::post(m.io, [&m, slot, name = j.name, source = j.source, params = s.params,
                          stamp = j.text, broker = j.broker] {
          m.list.push_back({slot, name, source, params, true, stamp, broker});
        });
        break;
      }
    }
    // Unloading (dlclose) happens on the loader thread, not here.
    if (retired) asio::post(m.io, [lib = std::move(retired)]() mutable { lib.reset(); });
  }
}

void plugin_reloader::finish_measurements(int64_t now_ns) {
  for (size_t i = 0; i < measuring_.size();) {
    const measurement& m = measuring_[i];
    if (engine_.strategies()[m.slot]->events > m.events_before) {
      stats_.file_to_live.record(now_ns - m.ready_ns);
      measuring_[i] = measuring_.back();
      measuring_.pop_back();
    } else {
      ++i;
    }
  }
}

}  // namespace cats
