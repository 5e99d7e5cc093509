#include "cats/session/sweep.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "cats/core/fixed.hpp"
#include "cats/plugin/params.hpp"
#include "cats/record/store.hpp"
#include "cats/replay/replay.hpp"
#include "cats/session/backtest.hpp"
#include "cats/session/session.hpp"
#include "cats/util/byte_source.hpp"
#include "cats/util/cpu.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/progress.hpp"
#include "cats/util/rng.hpp"
#include "cats/util/signal_stack.hpp"
#include "cats/util/text.hpp"
#include "cats/util/time.hpp"
#include "sweep_util.hpp"

namespace cats {

namespace fs = std::filesystem;
using namespace sweep_util;  // NOLINT(google-build-using-namespace): this area's own helpers

const std::vector<std::string>& sweep_metrics() {
  static const std::vector<std::string> names = {
      "sharpe",     "sortino",       "calmar",   "total_return", "cagr",     "max_drawdown",
      "volatility", "profit_factor", "win_rate", "trades",       "exposure", "avg_trade_return"};
  return names;
}

double metric_value(const backtest_metrics& m, const std::string& name) {
  if (name == "sharpe") return m.sharpe;
  if (name == "sortino") return m.sortino;
  if (name == "calmar") return m.calmar;
  if (name == "total_return") return m.total_return_pct;
  if (name == "cagr") return m.cagr_pct;
  if (name == "max_drawdown") return m.max_drawdown_pct;
  if (name == "volatility") return m.volatility_pct;
  if (name == "profit_factor") return m.profit_factor;
  if (name == "win_rate") return m.trades > 0 ? m.win_rate_pct : std::nan("");
  if (name == "trades") return static_cast<double>(m.trades);
  if (name == "exposure") return m.exposure_pct;
  if (name == "avg_trade_return") return m.trades > 0 ? m.avg_trade_return_pct : std::nan("");
  return std::nan("");
}

bool metric_lower_is_better(const std::string& name) {
  return name == "max_drawdown" || name == "volatility";
}

sweep_param parse_sweep_param(const std::string& spec, const run_config& base) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw config_error("--param " + spec + ": expected key=from:to:step or key=v1,v2,...");
  sweep_param p;
  p.key = trim(std::string_view(spec).substr(0, eq));
  const std::string values = trim(std::string_view(spec).substr(eq + 1));
  if (values.empty()) throw config_error("--param " + spec + ": no values after '='");
  // strategy.<param> addresses the only strategy.
  const std::vector<std::string> parts = split_trimmed(p.key, '.');
  if (parts.size() == 2 && parts[0] == "strategy") {
    if (base.strategies.size() != 1)
      throw config_error("--param " + spec + ": the config has " +
                         std::to_string(base.strategies.size()) +
                         " strategies; write strategy.<name>." + parts[1]);
    p.key = "strategy." + base.strategies.front().name + "." + parts[1];
  }
  if (parts[0] == "data")
    throw config_error("--param " + spec +
                       ": data.* cannot be swept: every run shares one copy of the data");
  if (parts.size() >= 3 && parts[0] == "strategy" && parts.back() == "plugin")
    throw config_error("--param " + spec + ": a strategy's plugin cannot be swept");

  // from:to:step when the value is three numbers joined by ':'; anything else is a list (so
  // values such as "uniform:2ms:8ms" or date-times can be swept).
  const std::vector<std::string> r = split_trimmed(values, ':');
  int64_t from = 0, to = 0, step = 0;
  bool i1 = false, i2 = false, i3 = false;
  if (values.find(',') == std::string::npos && r.size() == 3 && parse_number(r[0], from, i1) &&
      parse_number(r[1], to, i2) && parse_number(r[2], step, i3)) {
    if (step <= 0) throw config_error("--param " + spec + ": step must be > 0");
    if (to < from) throw config_error("--param " + spec + ": 'to' is below 'from'");
    if ((to - from) / step >= 100000)
      throw config_error("--param " + spec + ": more than 100000 values");
    const bool integer = i1 && i2 && i3;
    for (int64_t v = from; v <= to; v += step) p.values.push_back(format_number(v, integer));
  } else {
    for (const std::string& v : split_trimmed(values, ','))
      if (!v.empty()) p.values.push_back(v);
    if (p.values.empty()) throw config_error("--param " + spec + ": no values");
  }
  return p;
}

namespace {

struct task {
  size_t run;  // combination
  int fold;    // -1: the whole range; k >= 0: fold k's in-sample; oos: fold k's out-of-sample
  bool oos = false;
  bool curve = false;  // the fold's winner again on the in-sample range, for its equity curve
};

void check_options_before_config(const sweep_options& opt) {
  if (std::find(sweep_metrics().begin(), sweep_metrics().end(), opt.metric) ==
      sweep_metrics().end()) {
    std::string list;
    for (const auto& m : sweep_metrics()) list += (list.empty() ? "" : ", ") + m;
    throw config_error("--metric " + opt.metric + ": unknown metric; one of " + list);
  }
  if (opt.oos_fraction > 0 && opt.folds > 0)
    throw config_error("--oos and --walk-forward exclude each other: give one of them");
  if (opt.remote && (opt.oos_fraction > 0 || opt.folds > 0))
    throw config_error(
        "--workers runs whole-range sweeps only: leave out --oos and --walk-forward "
        "(they run here, without --workers)");
  if (opt.oos_fraction < 0 || opt.oos_fraction >= 1)
    throw config_error("--oos must be in [0, 1), got " +
                       json_writer::format_double(opt.oos_fraction));
}

void check_options(const sweep_options& opt) {
  if (opt.params.empty()) throw config_error("cats sweep: give at least one --param");
  std::unordered_set<std::string> keys;
  for (const sweep_param& p : opt.params)
    if (!keys.insert(p.key).second) throw config_error("--param " + p.key + ": given twice");
}

// The combinations to run: the whole grid, or a random sample of it (Floyd's algorithm: distinct
// indices, no full list), each as its values and --set overrides.
void make_grid(const sweep_options& opt, sweep_result& res) {
  uint64_t total = 1;
  for (const sweep_param& p : opt.params) {
    if (total > std::numeric_limits<uint64_t>::max() / p.values.size())
      throw config_error("cats sweep: the grid is too large");
    total *= p.values.size();
  }
  res.combinations = total;
  std::vector<uint64_t> indices;
  if (opt.sample && *opt.sample < total) {
    uint64_t state = opt.seed;
    auto next = [&state] { return xoshiro256::splitmix64(state); };  // the same on every platform
    std::unordered_set<uint64_t> chosen;
    for (uint64_t j = total - *opt.sample; j < total; ++j) {
      const uint64_t t = next() % (j + 1);
      chosen.insert(chosen.count(t) != 0 ? j : t);
    }
    indices.assign(chosen.begin(), chosen.end());
    std::sort(indices.begin(), indices.end());
  } else {
    if (total > 1'000'000)
      throw config_error("cats sweep: " + std::to_string(total) +
                         " combinations; use --sample N to run a random sample");
    indices.resize(total);
    for (uint64_t i = 0; i < total; ++i) indices[i] = i;
  }
  res.runs.resize(indices.size());
  for (size_t r = 0; r < indices.size(); ++r) {
    uint64_t idx = indices[r];
    sweep_run& run = res.runs[r];
    run.values.resize(opt.params.size());
    for (size_t k = opt.params.size(); k-- > 0;) {
      const sweep_param& p = opt.params[k];
      run.values[k] = p.values[idx % p.values.size()];
      idx /= p.values.size();
    }
    for (size_t k = 0; k < opt.params.size(); ++k)
      run.overrides.push_back(opt.params[k].key + "=" + run.values[k]);
  }
}

using library_map = std::map<std::string, std::shared_ptr<plugin_library>>;

// The plugins, loaded once and shared by every run (each run makes its own instances). Every
// swept value is checked once against the config and the plugins' declared parameters before
// any run starts.
// The config of a run as this machine sees it: a worker finds the data and the plugins in its
// own folders.
run_config sweep_config(const sweep_options& opt, const std::vector<std::string>& overrides) {
  run_config c = load_config(opt.config, overrides);
  if (opt.data_dir)
    for (feed_section& f : c.data.feeds)
      for (fs::path& file : f.files) file = *opt.data_dir / file.filename();
  if (opt.plugin_dir) c.engine.plugin_dir = *opt.plugin_dir;
  return c;
}

library_map load_plugins(const sweep_options& opt, const run_config& base) {
  const fs::path plugin_dir =
      base.engine.plugin_dir.empty() ? default_plugin_dir() : base.engine.plugin_dir;
  library_map libraries;
  for (const strategy_section& s : base.strategies) {
    if (!s.enabled || libraries.count(s.plugin) != 0) continue;
    std::string why;
    const fs::path file = resolve_plugin(s.plugin, plugin_dir, why);
    if (file.empty()) throw config_error(s.where + ": strategy '" + s.name + "': " + why);
    auto lib = plugin_library::load(file, why);
    if (!lib) throw std::runtime_error(why);
    libraries[s.plugin] = lib;
  }
  for (size_t k = 0; k < opt.params.size(); ++k)
    for (const std::string& v : opt.params[k].values) {
      std::vector<std::string> o = opt.overrides;
      o.push_back(opt.params[k].key + "=" + v);
      const run_config c = sweep_config(opt, o);
      for (const strategy_section& s : c.strategies)
        if (s.enabled) (void)build_params(s, *libraries.at(s.plugin));
    }
  return libraries;
}

// Walk-forward windows over [start, end) of the data (the config's start/end narrow it).
// The time range of the data: where the first event (a bar: its open) starts, and the last
// event's time.
struct data_span {
  int64_t first = 0, last = 0;
};

data_span span_of(const market_event& first, int64_t last_ts) {
  return {first.type == market_event::kind::bar ? first.bar.open_time_ns : first.ts, last_ts};
}

void make_folds(const sweep_options& opt, const run_config& base, const data_span& span,
                sweep_result& res) {
  int64_t t0 = span.first;
  int64_t t1 = (span.last / ns_per_s + 1) * ns_per_s;  // past the last event, whole seconds
  if (base.backtest.start_ns) t0 = std::max(t0, *base.backtest.start_ns);
  if (base.backtest.end_ns) t1 = std::min(t1, *base.backtest.end_ns);
  const unsigned folds = opt.folds > 0 ? opt.folds : (opt.oos_fraction > 0 ? 1 : 0);
  for (unsigned k = 0; k < folds; ++k) {
    sweep_fold f;
    f.is_start = t0;
    if (opt.folds > 0) {
      const int64_t part = (t1 - t0) / static_cast<int64_t>(opt.folds + 1);
      f.is_end = f.oos_start = t0 + part * static_cast<int64_t>(k + 1);
      f.oos_end = k + 1 == opt.folds ? t1 : f.oos_start + part;
    } else {
      f.is_end = f.oos_start =
          t0 + static_cast<int64_t>(static_cast<double>(t1 - t0) * (1 - opt.oos_fraction));
      f.oos_end = t1;
    }
    f.is_metrics.resize(res.runs.size());
    f.is_ok.resize(res.runs.size(), 0);
    res.folds.push_back(f);
  }
}

// Runs the tasks of a sweep on `jobs` threads over one copy of the data (or its store files),
// recording each outcome in the result (and in runs.csv as it finishes).
class sweep_runner {
 public:
  // A lockstep block: 256 events of 144 bytes (36 KiB) stay in the core's cache while every run
  // of the batch takes them.
  static constexpr size_t block_events = 256;

  sweep_runner(const sweep_options& opt, sweep_result& res, library_map libraries,
               std::shared_ptr<const market_data> data, std::shared_ptr<const store_copy> copy)
      : opt_(opt),
        res_(res),
        libraries_(std::move(libraries)),
        data_(std::move(data)),
        copy_(std::move(copy)),
        bar_(opt.progress, "runs") {
    jobs_ = opt.jobs != 0 ? opt.jobs : usable_cores();
    res_.jobs = jobs_;
  }

  void open_runs_csv() {
    if (!opt_.out_dir) return;
    std::error_code ec;
    fs::create_directories(*opt_.out_dir, ec);
    if (ec) throw std::runtime_error(opt_.out_dir->string() + ": cannot create: " + ec.message());
    runs_csv_.open(*opt_.out_dir / "runs.csv", std::ios::trunc);
    if (!runs_csv_)
      throw std::runtime_error((*opt_.out_dir / "runs.csv").string() + ": cannot write");
    std::string header = "run,window";
    for (const sweep_param& p : opt_.params) header += "," + csv_field(p.key);
    for (const std::string& m : table_metrics) header += "," + m;
    runs_csv_ << header << ",status,error\n";
    runs_csv_.flush();
  }

  /// One task per run and window; then, with walk-forward, each fold's in-sample winner on the
  /// fold's out-of-sample range.
  void run_all() {
    const size_t folds = res_.folds.size();
    // Window by window: a lockstep batch then holds runs of one window, so that it reads the data
    // from that window's start (the copy seeks there, a store passes over its blocks before it)
    // and stops at its end. Mixed (every fold of one run, then the next run's) a batch read the
    // whole range its windows spanned: a walk-forward of 3 folds, 100 runs over 1 M bars, took
    // 6.0 s with the copy and 6.8 s streamed that way.
    // The last fold first: it is the one a run is ranked by, so a sweep stopped early (Ctrl-C)
    // still ranks the runs that finished it.
    std::vector<task> tasks;
    for (size_t r = 0; folds == 0 && r < res_.runs.size(); ++r) tasks.push_back({r, -1, false});
    for (size_t k = folds; k-- > 0;)
      for (size_t r = 0; r < res_.runs.size(); ++r)
        tasks.push_back({r, static_cast<int>(k), false});
    total_ = tasks.size() + 2 * folds;
    const auto t_runs = std::chrono::steady_clock::now();
    if (opt_.remote) {
      run_remote();
    } else {
      run_tasks(tasks);
    }
    if (!stopped() && folds > 0) run_tasks(out_of_sample_tasks());
    bar_.finish(finished_.load());
    res_.run_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_runs).count();
    res_.interrupted = stopped();
    runs_csv_.close();
  }

 private:
  bool stopped() const { return opt_.stop != nullptr && opt_.stop->load(); }

  // Every run on the workers; each outcome is recorded as a local run's would be.
  void run_remote() {
    std::vector<remote_job> jobs;
    for (size_t r = 0; r < res_.runs.size(); ++r) jobs.push_back({r, res_.runs[r].values});
    std::vector<uint8_t> seen(res_.runs.size(), 0);
    opt_.remote(jobs, [&](size_t r, remote_outcome&& o) {
      if (r >= seen.size() || seen[r] != 0) return;  // a second report of a redelivered run
      seen[r] = 1;
      outcome out;
      out.metrics = o.metrics;
      out.fees = o.fees;
      out.ok = o.ok;
      out.error = std::move(o.error);
      record({r, -1, false}, out, o.seconds);
      bar_.update(static_cast<double>(finished_.fetch_add(1) + 1) / static_cast<double>(total_),
                  finished_.load());
    });
  }
  // Runs per lockstep batch: each batch reads (and checks) the data once, so more runs share that
  // cost, until their state no longer stays in cache. Measured (100 runs over 1 M one-minute bars,
  // one job, 3 rounds interleaved): streamed from a store file, 8 runs 1.96-2.05 s, 16: 1.83-2.14,
  // 32: 1.81-1.91; the CSV's in-memory store 8: 2.17-2.29, 16: 2.00-2.15, 32: 1.98-2.09, 64:
  // 1.94-2.00; with decoded events 8: 2.05-2.09, 32: 1.91-2.17, 64: 1.94-1.99. Two jobs, the store
  // file: 8 runs 1.08-1.26 s, 32: 0.97-1.02.
  static constexpr size_t max_batch = 32;

  std::vector<task> out_of_sample_tasks() {
    const bool lower = metric_lower_is_better(opt_.metric);
    std::vector<task> tasks;
    for (size_t k = 0; k < res_.folds.size(); ++k) {
      sweep_fold& f = res_.folds[k];
      size_t best = SIZE_MAX;
      for (size_t r = 0; r < res_.runs.size(); ++r) {
        if (f.is_ok[r] == 0) continue;  // failed (or never ran) on this fold
        if (best == SIZE_MAX || better(metric_value(f.is_metrics[r], opt_.metric),
                                       metric_value(f.is_metrics[best], opt_.metric), lower))
          best = r;
      }
      if (best == SIZE_MAX) continue;
      f.best = best;
      tasks.push_back({best, static_cast<int>(k), true});
      tasks.push_back({best, static_cast<int>(k), false, true});
    }
    return tasks;
  }

  struct outcome {
    equity_curve curve;
    backtest_metrics metrics;
    int64_t fees = 0;
    std::string error;
    bool ok = false;
  };

  // The config of one task: the sweep's overrides, the combination's, the fold's window.
  run_config task_config(const task& t) const {
    std::vector<std::string> o = opt_.overrides;
    const sweep_run& run = res_.runs[t.run];
    o.insert(o.end(), run.overrides.begin(), run.overrides.end());
    run_config cfg = sweep_config(opt_, o);
    if (t.fold >= 0) {
      const sweep_fold& f = res_.folds[static_cast<size_t>(t.fold)];
      cfg.backtest.start_ns = t.oos ? f.oos_start : f.is_start;
      cfg.backtest.end_ns = t.oos ? f.oos_end : f.is_end;
    }
    return cfg;
  }

  std::vector<prepared_strategy> task_strategies(const run_config& cfg) const {
    std::vector<prepared_strategy> strategies;
    for (const strategy_section& s : cfg.strategies) {
      if (!s.enabled) continue;
      prepared_strategy p;
      p.name = s.name;
      p.library = libraries_.at(s.plugin);
      p.params = build_params(s, *p.library);
      strategies.push_back(std::move(p));
    }
    return strategies;
  }

  static void take(backtest_outcome&& r, outcome& out) {
    out.metrics = r.report.metrics;
    out.fees = r.report.fees_paid;
    out.ok = r.exit_code == 0;
    out.error = std::move(r.error);
  }

  // A lockstep batch: its configs and options first (the cursor and the runs refer to them),
  // then the data, then the runs (destroyed first).
  struct batch {
    explicit batch(size_t n) : cfgs(n), ros(n), outs(n), runs(n) {}
    std::vector<std::optional<run_config>> cfgs;  // empty: the task's config failed
    std::vector<run_options> ros;
    std::vector<outcome> outs;
    instrument_registry registry;
    std::unique_ptr<memory_cursor> memory;
    std::unique_ptr<replay_stream> stream;
    lockstep_source src;
    std::vector<std::unique_ptr<backtest_run>> runs;
  };

  // The batch's data: the shared decoded copy (from the earliest start when every run has one),
  // or a store streamed once (the shared in-memory one, or the files). Throws when it cannot be
  // opened.
  void open_batch_data(batch& b) {
    const run_config* any = nullptr;
    std::optional<int64_t> earliest;
    bool all_start = true;
    for (const auto& c : b.cfgs) {
      if (!c) continue;
      if (any == nullptr) any = &*c;
      all_start = all_start && c->backtest.start_ns.has_value();
      if (c->backtest.start_ns && (!earliest || *c->backtest.start_ns < *earliest))
        earliest = c->backtest.start_ns;
    }
    if (any == nullptr) return;  // no run to feed
    if (data_) {
      b.registry = data_->instruments();
      b.memory = std::make_unique<memory_cursor>(*data_);
      if (all_start && earliest) b.memory->seek(*earliest);
      b.src.cursor = b.memory.get();
      b.src.feeds = data_->feeds();
    } else {
      // The in-memory store, its symbols under the ids the files gave them; or the files
      // themselves (data.* is not swept).
      if (copy_) b.registry = copy_->instruments();
      b.stream = std::make_unique<replay_stream>(copy_ ? copy_->data() : any->data, b.registry);
      if (all_start && earliest) b.stream->start_at(*earliest);
      if (!b.stream->open()) throw std::runtime_error(b.stream->error());
      b.stream->stamp_events(CATS_EVENT_FLAG_REPLAY);  // every run replays it: no copy per run
      b.src.cursor = b.stream.get();
      b.src.feeds = copy_ ? copy_->feeds() : b.stream->feeds();
    }
    b.src.instruments = &b.registry;
  }

  // A batch of tasks in lockstep: the data is read once (the shared copy, or the store streamed
  // once for the whole batch) and each event goes to every run of the batch in turn, while it
  // is still in cache. A task whose config or set-up fails fails alone. False when the sweep was
  // interrupted during the batch (it is then not a result).
  bool run_batch(const std::vector<task>& list, size_t first, size_t last) {
    const auto start = std::chrono::steady_clock::now();
    const size_t n = last - first;
    batch b(n);
    for (size_t i = 0; i < n; ++i) {
      try {
        b.cfgs[i] = task_config(list[first + i]);
      } catch (const std::exception& e) {
        b.outs[i].error = e.what();
      }
    }
    std::string data_error;
    try {
      open_batch_data(b);
    } catch (const std::exception& e) {
      data_error = e.what();
    }
    std::vector<uint8_t> active(n, 0);
    size_t live = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!b.cfgs[i]) continue;
      if (!data_error.empty()) {
        b.outs[i].error = data_error;
        continue;
      }
      const task& t = list[first + i];
      b.ros[i].lockstep = &b.src;
      b.ros[i].stop = opt_.stop;
      if (t.oos || t.curve) b.ros[i].curve = &b.outs[i].curve;
      try {
        b.runs[i] = std::make_unique<backtest_run>(*b.cfgs[i], task_strategies(*b.cfgs[i]),
                                                   std::nullopt, b.ros[i]);
        active[i] = b.runs[i]->ready() ? 1 : 0;
        live += active[i];
      } catch (const std::exception& e) {
        b.outs[i].error = e.what();
      }
    }
    // Events before the earliest end of a window end no run: they go to the runs in blocks (each
    // run takes a block while it is in cache); from there on one by one, so that a run whose
    // window ends reads the cursor's counts as they were at its last event.
    std::optional<int64_t> first_end;
    for (const auto& c : b.cfgs)
      if (c && c->backtest.end_ns && (!first_end || *c->backtest.end_ns < *first_end))
        first_end = c->backtest.end_ns;
    // A pointer to the cursor (null when the data did not open).
    event_cursor* const cursor = b.src.cursor;
    std::string read_error;  // the cursor threw: the runs still reading fail with it
    try {
      while (live > 0) {
        // Every block (the runs also check between their runs of bars): Ctrl-C is honoured soon.
        if (stopped()) return false;
        const market_event* ev = cursor->next();
        if (ev == nullptr) break;
        size_t count = 1;
        const market_event* more = nullptr;
        if (const size_t ahead = cursor->peek_run(more); more == ev + 1 && ahead > 0) {
          const size_t limit = std::min<size_t>(ahead, block_events - 1);
          if (!first_end) {
            count += limit;
          } else {
            while (count - 1 < limit && more[count - 1].ts < *first_end) ++count;
            if (ev->ts >= *first_end) count = 1;
          }
        }
        // Found once for every run of the batch: each hands its strategy runs of these bars
        // without looking at them first.
        const size_t uniform = session::uniform_bars(ev, count);
        for (size_t i = 0; i < n; ++i) {
          if (active[i] != 0 && !b.runs[i]->offer(ev, count, uniform)) {
            active[i] = 0;
            --live;
            b.runs[i]->end_input();  // its window is over: later data is not its
          }
        }
        cursor->skip(count - 1);
      }
    } catch (const std::exception& e) {
      read_error = e.what();
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
        static_cast<double>(n);
    for (size_t i = 0; i < n; ++i) {
      if (b.runs[i]) {
        try {
          take(b.runs[i]->finish(false), b.outs[i]);
        } catch (const std::exception& e) {
          b.outs[i].ok = false;
          b.outs[i].error = e.what();
        }
        if (active[i] != 0 && !read_error.empty()) {
          b.outs[i].ok = false;
          b.outs[i].error = read_error;
        }
        b.runs[i].reset();
      }
      record(list[first + i], b.outs[i], secs);
      ++finished_;
    }
    return true;
  }

  // One task's outcome into the results (and runs.csv).
  void record(const task& t, outcome& out, double secs) {
    std::lock_guard<std::mutex> lock(out_mutex_);
    if (t.curve) {  // a drawing, not a result: the in-sample figures are in already
      if (out.ok) res_.folds[static_cast<size_t>(t.fold)].is_curve = std::move(out.curve.points);
      return;
    }
    sweep_run& run = res_.runs[t.run];
    std::string window = "all";
    if (t.fold >= 0) {
      sweep_fold& f = res_.folds[static_cast<size_t>(t.fold)];
      window = (t.oos ? "oos" : "is") + std::to_string(t.fold + 1);
      if (t.oos) {
        f.oos = out.metrics;
        f.oos_done = out.ok;
        f.oos_curve = std::move(out.curve.points);
        if (!out.ok) {
          ++res_.failed_out_of_sample;
          if (res_.out_of_sample_error.empty())
            res_.out_of_sample_error = window + ": " + out.error;
        }
      } else {
        f.is_metrics[t.run] = out.metrics;
        f.is_ok[t.run] = out.ok ? 1 : 0;
      }
    }
    // The run's own figures: the whole range, or the last fold's in-sample range (the most data).
    if (!t.oos && (t.fold < 0 || static_cast<size_t>(t.fold) + 1 == res_.folds.size())) {
      run.metrics = out.metrics;
      run.fees_paid = out.fees;
      run.done = true;
      run.seconds = secs;
    }
    // A run that failed on any of its windows failed (the first failure recorded says why; with
    // walk-forward the last fold runs first).
    if (!t.oos && !out.ok && !run.failed) {
      run.failed = true;
      run.error = t.fold >= 0 ? window + ": " + out.error : out.error;
    }
    if (runs_csv_.is_open()) {
      std::string line = std::to_string(t.run + 1) + "," + window;
      for (const std::string& v : run.values) line += "," + csv_field(v);
      if (out.ok) {
        for (const std::string& m : table_metrics)
          line += "," + num(metric_value(out.metrics, m), 6);
      } else {  // no metrics: empty cells, as in results.csv
        line += std::string(table_metrics.size(), ',');
      }
      line += std::string(",") + (out.ok ? "ok" : "failed") + "," + csv_field(out.error) + "\n";
      runs_csv_ << line;
      runs_csv_.flush();
    }
  }

  void run_tasks(const std::vector<task>& list) {
    // Batches of at most max_batch runs, taken by each job when it is done with the one before.
    // Runs differ in cost (a fast average trades more), so with several jobs the batches shrink
    // towards the end, to a quarter of what is left per job: the jobs then end about one run
    // apart rather than one batch apart (with decoded events a batch of one run costs within noise
    // what a run in a batch of 8 does). 100 runs over 1 M bars on 2 jobs, 5 sweeps each: the two
    // jobs ended 0.066 to 0.098 s apart with 14 equal batches, 0.004 to 0.032 s apart now.
    // Streamed (a store file or the in-memory one), each batch reads the store once: with 2 jobs
    // (3 rounds) batches of at least 16 runs took 0.99-1.11 s, of at least 8 1.08-1.28 s, of at
    // least 4 1.10-1.19 s.
    const size_t smallest = data_ ? 1 : max_batch / 2;
    std::atomic<size_t> next{0};
    auto take = [&](size_t& first, size_t& last) {
      size_t at = next.load();
      for (;;) {
        if (at >= list.size()) return false;
        const size_t left = list.size() - at;
        // Never so large that a job is left without a batch while runs remain.
        const size_t least = std::min(smallest, std::max<size_t>(1, left / jobs_));
        size_t n =
            std::min(left, jobs_ == 1 ? max_batch
                                      : std::clamp(left / (4 * size_t{jobs_}), least, max_batch));
        while (n > 1 &&
               (list[at + n - 1].fold != list[at].fold || list[at + n - 1].oos != list[at].oos))
          --n;  // one window per batch
        if (next.compare_exchange_weak(at, at + n)) {
          first = at;
          last = at + n;
          return true;
        }
      }
    };
    auto worker = [&] {
      install_signal_stack();  // a strategy's stack overflow still gets its crash report
      for (size_t first = 0, last = 0; !stopped() && take(first, last);) {
        if (!run_batch(list, first, last)) return;
      }
    };
    std::vector<std::thread> threads;
    const unsigned n = static_cast<unsigned>(std::min<size_t>(jobs_, list.size()));
    for (unsigned j = 1; j < n; ++j) threads.emplace_back(worker);
    // The calling thread works too; another one draws the progress bar.
    std::thread progress_thread;
    std::atomic<bool> done{false};
    if (bar_.active()) {
      progress_thread = std::thread([&] {
        while (!done.load()) {
          bar_.update(static_cast<double>(finished_.load()) / static_cast<double>(total_),
                      finished_.load());
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      });
    }
    worker();
    for (auto& th : threads) th.join();
    done = true;
    if (progress_thread.joinable()) progress_thread.join();
  }

  const sweep_options& opt_;
  sweep_result& res_;
  library_map libraries_;
  std::shared_ptr<const market_data> data_;
  std::shared_ptr<const store_copy> copy_;
  unsigned jobs_ = 1;
  size_t total_ = 0;  // tasks in all, for the progress bar
  std::atomic<size_t> finished_{0};
  progress_bar bar_;
  std::mutex out_mutex_;
  std::ofstream runs_csv_;
};

// The copy of the data the runs share, read once: an in-memory block store, or decoded events
// (--copy events, or bars built from trades).
struct shared_copy {
  std::shared_ptr<const store_copy> store;
  std::shared_ptr<const market_data> events;
};

// A bar in the in-memory store takes 44 bytes in a run of its feed's bars, 72 packed, 112 whole
// (fields that do not pack); a trade 48. The estimate takes the packed size; a store that grows
// past the budget all the same is given up while it is written (store_copy::load).
constexpr uint64_t store_copy_event_bytes = 72;

// Bytes the copy of the data would take, from the size of its files (a kline row is about 140
// bytes, a trade row 65, a version 1 record 57; each becomes one event, of `event_bytes`). A
// compressed file counts its uncompressed size where the archive says it (zip), else ten times
// its own.
uint64_t copy_bytes(const run_config& base, uint64_t event_bytes) {
  uint64_t rows = 0;
  for (const feed_section& f : base.data.feeds) {
    const uint64_t per_row = f.format == "binance_klines" ? 140
                             : f.format == "cats_record"  ? 57
                                                          : 65;
    for (const auto& file : f.files) {
      const std::string name = file.string();
      std::error_code ec;
      uint64_t bytes = std::filesystem::file_size(name, ec);
      if (ec) bytes = 0;
      if (compressed_path(name)) {
        std::string error;
        const std::unique_ptr<byte_source> src = open_byte_source(name, error);
        bytes = src && src->size() != 0 ? src->size() : 10 * bytes;
      }
      rows += bytes / per_row;
    }
  }
  return rows * event_bytes;
}

// The copy holds decoded events when asked, when a feed builds bars from its trades (a store
// holds the data's events only), or where the system offers no in-memory file.
bool decoded_copy(const sweep_options& opt, const run_config& base) {
  if (opt.decoded_copy) return true;
  for (const feed_section& f : base.data.feeds)
    if (f.bar_interval_ns != 0) return true;
  return !store_copy::available();
}

// The most memory the copy may take: --max-copy, by default a quarter of what this process may
// use.
uint64_t copy_budget(const sweep_options& opt) {
  return opt.max_copy_bytes != 0 ? opt.max_copy_bytes : usable_memory() / 4;
}

// Runs stream from the files when asked; always when every feed is a block store (a lockstep batch
// decodes each block once, while it is in cache, which costs what reading the shared copy costs,
// and memory stays constant: 100 runs over 1 M packed bars, one job, 2.08-2.49 s streamed against
// 2.22-2.67 s with the copy, peak RSS 37 MB against 156 MB; a walk-forward of 3 folds 3.53-4.04 s
// against 3.34-4.09 s); and when the copy would not fit its budget, rather than be killed for want
// of memory (each batch then parses the files itself).
bool should_stream(const sweep_options& opt, const run_config& base, bool decoded) {
  if (opt.stream) return true;
  bool stores = true;
  for (const feed_section& f : base.data.feeds) {
    for (const auto& file : f.files)
      stores = stores && f.format == "cats_record" && store_record_kinds(file).has_value();
  }
  if (stores) return true;
  const uint64_t need = copy_bytes(base, decoded ? sizeof(market_event) : store_copy_event_bytes);
  const uint64_t budget = copy_budget(opt);
  if (need <= budget) return false;
  spdlog::warn(
      "cats sweep: a copy of the data would take about {} MB, more than the {} MB a copy "
      "may take (--max-copy; by default a quarter of the memory this process may use): each batch "
      "of runs reads the files itself instead, parsing them once per batch. A block store streams "
      "as fast as the copy: cats data convert FILES --out STORE.catsrec",
      need >> 20, budget >> 20);
  return true;
}

// How the runs get the data: from a shared copy, or each batch from the files.
enum class data_plan { copy, stream, interrupted };

// Reads the copy: an in-memory store, or decoded events where the system offers no in-memory
// file (or --copy events, or built bars). The estimate passed (should_stream): a store that grows
// past the budget after all (bars that do not pack), or that memory cannot hold, is given up for
// streaming; so are decoded events that would not fit.
data_plan load_data(const sweep_options& opt, const run_config& base, bool decoded,
                    sweep_result& res, shared_copy& copy, data_span& span) {
  const auto t_decode = std::chrono::steady_clock::now();
  bool unreadable = false;
  try {
    // The runs' threads parse the files first (the rows and their order are the same).
    const unsigned threads = opt.jobs != 0 ? opt.jobs : usable_cores();
    std::string why_not;
    if (!decoded)
      copy.store =
          store_copy::load(base.data, &unreadable, opt.stop, threads, copy_budget(opt), &why_not);
    if (!why_not.empty()) {
      spdlog::warn("cats sweep: {}: each batch of runs reads the files itself instead", why_not);
      return data_plan::stream;
    }
    if (!copy.store) {
      if (copy_bytes(base, sizeof(market_event)) > copy_budget(opt)) {
        spdlog::warn(
            "cats sweep: no in-memory store here, and decoded events would take more than the {} "
            "MB a copy may take: each batch of runs reads the files itself instead",
            copy_budget(opt) >> 20);
        return data_plan::stream;
      }
      copy.events = market_data::load(base.data, &unreadable, opt.stop, threads);
    }
  } catch (const std::runtime_error& e) {
    if (unreadable) throw config_error(e.what());
    throw;
  }
  res.decode_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_decode).count();
  if (opt.stop != nullptr && opt.stop->load()) return data_plan::interrupted;
  if (copy.store) {
    res.store_copy = true;
    res.data_events = copy.store->events();
    res.data_bytes = copy.store->bytes();
    if (res.data_events != 0) span = span_of(copy.store->first_event(), copy.store->last_ts());
  } else {
    res.data_events = copy.events->events().size();
    res.data_bytes = copy.events->memory_bytes();
    if (res.data_events != 0) span = span_of(copy.events->events().front(), copy.events->last_ts());
  }
  if (res.data_events == 0) throw std::runtime_error("cats sweep: the data files hold no events");
  return data_plan::copy;
}

// What the block headers of every file say (records, times), when every feed is a block store
// whose headers add up; nullopt otherwise.
// With on_error = "skip" the files are read to the end instead: a damaged block's records would
// count here, and its times could move the folds.
std::optional<store_extent> headers_extent(const run_config& base) {
  if (base.data.skip_malformed) return std::nullopt;
  store_extent all;
  for (const feed_section& f : base.data.feeds) {
    if (f.format != "cats_record") return std::nullopt;
    for (const auto& file : f.files) {
      const std::optional<store_extent> e = store_extent_of(file);
      if (!e) return std::nullopt;
      all.records += e->records;
      all.first_ts = std::min(all.first_ts, e->first_ts);
      all.last_ts = std::max(all.last_ts, e->last_ts);
    }
  }
  if (all.records == 0) return std::nullopt;
  return all;
}

// Streaming: the time range (for the walk-forward folds) and the count, before the runs read the
// files themselves. The stream is opened and its first event read here, so that a file that cannot
// be opened or bad first records stop the sweep before any run. Block stores tell the rest by
// their block headers (a pread per block: 20 M bars in 0.01 s, where reading them took 0.25 s);
// other files, or a store whose headers do not add up, are read to the end. The records' CRCs are
// then checked by the runs, as they read them.
bool scan_data(const sweep_options& opt, const run_config& base, sweep_result& res,
               data_span& span) {
  const auto t0 = std::chrono::steady_clock::now();
  instrument_registry instruments;
  replay_stream stream(base.data, instruments);
  if (!stream.open()) {
    if (stream.unreadable()) throw config_error(stream.error());
    throw std::runtime_error(stream.error());
  }
  const market_event* first = stream.next();
  if (first == nullptr && !stream.error().empty()) throw std::runtime_error(stream.error());
  if (first == nullptr) throw std::runtime_error("cats sweep: the data files hold no events");
  span = span_of(*first, first->ts);
  size_t n = 1;
  if (const std::optional<store_extent> headers = headers_extent(base)) {
    n = headers->records;
    span.last = std::max(span.last, headers->last_ts);
  } else {
    while (const market_event* e = stream.next()) {
      span.last = std::max(span.last, e->ts);  // the latest time, as the headers give it
      if ((++n & 0xFFFFF) == 0 && opt.stop != nullptr && opt.stop->load()) return false;
    }
    if (!stream.error().empty()) throw std::runtime_error(stream.error());
  }
  res.decode_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.data_events = n;
  res.data_bytes = 0;
  res.streamed = true;
  return true;
}

// Finished runs by the metric; failed and undefined ones last, ties by grid order.
void rank(const sweep_options& opt, sweep_result& res) {
  const bool lower = metric_lower_is_better(opt.metric);
  for (size_t r = 0; r < res.runs.size(); ++r)
    if (res.runs[r].done) res.ranking.push_back(r);
  std::stable_sort(res.ranking.begin(), res.ranking.end(), [&](size_t a, size_t b) {
    const sweep_run& x = res.runs[a];
    const sweep_run& y = res.runs[b];
    if (x.failed != y.failed) return !x.failed;
    return better(metric_value(x.metrics, opt.metric), metric_value(y.metrics, opt.metric), lower);
  });
  if (!res.ranking.empty() && !res.runs[res.ranking.front()].failed) {  // failed ones rank last
    res.command = "cats backtest --config " + opt.config.string();
    for (const std::string& o : opt.overrides) res.command += " --set '" + o + "'";
    for (const std::string& o : res.runs[res.ranking.front()].overrides)
      res.command += " --set '" + o + "'";
  }
}

}  // namespace

sweep_result run_sweep(const sweep_options& opt) {
  sweep_result res;
  res.metric = opt.metric;
  check_options_before_config(opt);
  const run_config base = sweep_config(opt, opt.overrides);
  check_options(opt);
  res.params = opt.params;
  make_grid(opt, res);
  library_map libraries = load_plugins(opt, base);
  shared_copy copy;
  data_span span;
  if (opt.remote) {
    // The workers read the data; this machine only hands out the runs and collects them.
  } else {
    const bool decoded = decoded_copy(opt, base);
    data_plan plan = should_stream(opt, base, decoded) ? data_plan::stream : data_plan::copy;
    if (plan == data_plan::copy) plan = load_data(opt, base, decoded, res, copy, span);
    if (plan == data_plan::stream && !scan_data(opt, base, res, span))
      plan = data_plan::interrupted;
    if (plan == data_plan::interrupted) {
      res.interrupted = true;
      return res;
    }
  }
  make_folds(opt, base, span, res);
  sweep_runner runner(opt, res, std::move(libraries), std::move(copy.events),
                      std::move(copy.store));
  runner.open_runs_csv();
  runner.run_all();
  rank(opt, res);
  if (opt.out_dir) write_sweep_files(opt, res);
  return res;
}

}  // namespace cats
