#include "cats/session/sweep.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "cats/core/fixed.hpp"
#include "cats/plugin/params.hpp"
#include "cats/replay/replay.hpp"
#include "cats/report/html_report.hpp"
#include "cats/session/backtest.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/progress.hpp"
#include "cats/util/rng.hpp"
#include "cats/util/text.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  for (;;) {
    const size_t e = s.find(sep, b);
    out.push_back(trim(s.substr(b, e == std::string_view::npos ? e : e - b)));
    if (e == std::string_view::npos) break;
    b = e + 1;
  }
  return out;
}

// A number in a range spec: an integer or a decimal (kept exact as 8-decimal fixed point).
bool parse_number(const std::string& text, int64_t& raw, bool& integer) {
  integer = text.find('.') == std::string::npos && text.find('e') == std::string::npos &&
            text.find('E') == std::string::npos;
  return parse_fixed(text, raw) == parse_error::ok;
}

std::string format_number(int64_t raw, bool integer) {
  if (integer) return std::to_string(raw / fixed_scale);
  std::string s = fixed_to_string(raw);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string num(double v, int prec) {
  if (!std::isfinite(v)) return "";
  return json_writer::format_double(v, prec);
}

// The metrics written per run, in this order.
const std::vector<std::string> table_metrics = {
    "total_return", "cagr",          "sharpe",   "sortino", "calmar",   "max_drawdown",
    "volatility",   "profit_factor", "win_rate", "trades",  "exposure", "avg_trade_return"};

bool better(double a, double b, bool lower) {
  // NaN (undefined) ranks last.
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return lower ? a < b : a > b;
}

struct task {
  size_t run;  // combination
  int fold;    // -1: the whole range; k >= 0: fold k's in-sample; oos: fold k's out-of-sample
  bool oos = false;
};

}  // namespace

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
  const std::vector<std::string> parts = split(p.key, '.');
  if (parts.size() == 2 && parts[0] == "strategy") {
    if (base.strategies.size() != 1)
      throw config_error("--param " + spec + ": the config has " +
                         std::to_string(base.strategies.size()) +
                         " strategies; write strategy.<name>." + parts[1]);
    p.key = "strategy." + base.strategies.front().name + "." + parts[1];
  }
  if (parts[0] == "data")
    throw config_error("--param " + spec +
                       ": data.* cannot be swept: every run shares one decoded copy of the data");
  if (parts.size() >= 3 && parts[0] == "strategy" && parts.back() == "plugin")
    throw config_error("--param " + spec + ": a strategy's plugin cannot be swept");

  // from:to:step when the value is three numbers joined by ':'; anything else is a list (so
  // values such as "uniform:2ms:8ms" or date-times can be swept).
  const std::vector<std::string> r = split(values, ':');
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
    for (const std::string& v : split(values, ','))
      if (!v.empty()) p.values.push_back(v);
    if (p.values.empty()) throw config_error("--param " + spec + ": no values");
  }
  return p;
}

sweep_result run_sweep(const sweep_options& opt) {
  sweep_result res;
  res.metric = opt.metric;
  if (std::find(sweep_metrics().begin(), sweep_metrics().end(), opt.metric) ==
      sweep_metrics().end()) {
    std::string list;
    for (const auto& m : sweep_metrics()) list += (list.empty() ? "" : ", ") + m;
    throw config_error("--metric " + opt.metric + ": unknown metric; one of " + list);
  }
  if (opt.oos_fraction > 0 && opt.folds > 0)
    throw config_error("--oos and --walk-forward exclude each other: give one of them");
  if (opt.oos_fraction < 0 || opt.oos_fraction >= 1)
    throw config_error("--oos must be in [0, 1), got " +
                       json_writer::format_double(opt.oos_fraction));
  const run_config base = load_config(opt.config, opt.overrides);
  if (opt.params.empty()) throw config_error("cats sweep: give at least one --param");
  res.params = opt.params;
  {
    std::unordered_set<std::string> keys;
    for (const sweep_param& p : opt.params)
      if (!keys.insert(p.key).second) throw config_error("--param " + p.key + ": given twice");
  }

  // The grid, or a random sample of it (Floyd's algorithm: distinct indices, no full list).
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

  // Plugins: loaded once, shared by every run (each run makes its own instances).
  const fs::path plugin_dir =
      base.engine.plugin_dir.empty() ? default_plugin_dir() : base.engine.plugin_dir;
  std::map<std::string, std::shared_ptr<plugin_library>> libraries;
  for (const strategy_section& s : base.strategies) {
    if (!s.enabled || libraries.count(s.plugin) != 0) continue;
    std::string why;
    const fs::path file = resolve_plugin(s.plugin, plugin_dir, why);
    if (file.empty()) throw config_error(s.where + ": strategy '" + s.name + "': " + why);
    auto lib = plugin_library::load(file, why);
    if (!lib) throw std::runtime_error(why);
    libraries[s.plugin] = lib;
  }

  // Every value must be valid: check each one once against the config and the plugins'
  // declared parameters before any run starts.
  for (size_t k = 0; k < opt.params.size(); ++k)
    for (const std::string& v : opt.params[k].values) {
      std::vector<std::string> o = opt.overrides;
      o.push_back(opt.params[k].key + "=" + v);
      const run_config c = load_config(opt.config, o);
      for (const strategy_section& s : c.strategies)
        if (s.enabled) (void)build_params(s, *libraries.at(s.plugin));
    }

  // The data: read and decoded once.
  const auto t_decode = std::chrono::steady_clock::now();
  bool unreadable = false;
  std::shared_ptr<const market_data> data;
  try {
    data = market_data::load(base.data, &unreadable, opt.stop);
  } catch (const std::runtime_error& e) {
    if (unreadable) throw config_error(e.what());
    throw;
  }
  res.decode_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_decode).count();
  res.data_events = data->events().size();
  res.data_bytes = data->memory_bytes();
  if (opt.stop != nullptr && opt.stop->load()) {  // interrupted while decoding: nothing ran
    res.interrupted = true;
    return res;
  }
  if (data->events().empty()) throw std::runtime_error("cats sweep: the data files hold no events");

  // Walk-forward windows over [start, end) of the data (the config's start/end narrow it).
  const market_event& first = data->events().front();
  int64_t t0 = first.type == market_event::kind::bar ? first.bar.open_time_ns : first.ts;
  int64_t t1 = (data->last_ts() / ns_per_s + 1) * ns_per_s;  // past the last event, whole seconds
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

  // One task per run and window; walk-forward adds the out-of-sample runs of the winners later.
  std::vector<task> tasks;
  for (size_t r = 0; r < res.runs.size(); ++r) {
    if (folds == 0) tasks.push_back({r, -1, false});
    for (unsigned k = 0; k < folds; ++k) tasks.push_back({r, static_cast<int>(k), false});
  }

  std::ofstream runs_csv;
  std::mutex out_mutex;
  if (opt.out_dir) {
    std::error_code ec;
    fs::create_directories(*opt.out_dir, ec);
    if (ec) throw std::runtime_error(opt.out_dir->string() + ": cannot create: " + ec.message());
    runs_csv.open(*opt.out_dir / "runs.csv", std::ios::trunc);
    if (!runs_csv)
      throw std::runtime_error((*opt.out_dir / "runs.csv").string() + ": cannot write");
    std::string header = "run,window";
    for (const sweep_param& p : opt.params) header += "," + csv_field(p.key);
    for (const std::string& m : table_metrics) header += "," + m;
    runs_csv << header << ",status,error\n";
    runs_csv.flush();
  }

  unsigned jobs = opt.jobs != 0 ? opt.jobs : std::max(1u, std::thread::hardware_concurrency());
  res.jobs = jobs;
  std::atomic<size_t> next_task{0};
  std::atomic<size_t> finished{0};
  std::atomic<bool> failed_hard{false};
  progress_bar bar(opt.progress, "runs");

  auto run_one = [&](const task& t) {
    sweep_run& run = res.runs[t.run];
    const auto start = std::chrono::steady_clock::now();
    backtest_metrics metrics;
    int64_t fees = 0;
    std::string error;
    bool ok = false;
    try {
      std::vector<std::string> o = opt.overrides;
      o.insert(o.end(), run.overrides.begin(), run.overrides.end());
      run_config cfg = load_config(opt.config, o);
      if (t.fold >= 0) {
        const sweep_fold& f = res.folds[static_cast<size_t>(t.fold)];
        cfg.backtest.start_ns = t.oos ? f.oos_start : f.is_start;
        cfg.backtest.end_ns = t.oos ? f.oos_end : f.is_end;
      }
      std::vector<prepared_strategy> strategies;
      for (const strategy_section& s : cfg.strategies) {
        if (!s.enabled) continue;
        prepared_strategy p;
        p.name = s.name;
        p.library = libraries.at(s.plugin);
        p.params = build_params(s, *p.library);
        strategies.push_back(std::move(p));
      }
      run_options ro;
      ro.shared = data;
      ro.stop = opt.stop;
      backtest_outcome out = run_backtest(cfg, std::move(strategies), std::nullopt, ro);
      if (out.exit_code == 130) return false;  // interrupted: not a result
      metrics = out.report.metrics;
      fees = out.report.fees_paid;
      ok = out.exit_code == 0;
      error = out.error;
    } catch (const std::exception& e) {
      error = e.what();
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> lock(out_mutex);
    std::string window = "all";
    if (t.fold >= 0) {
      sweep_fold& f = res.folds[static_cast<size_t>(t.fold)];
      window = (t.oos ? "oos" : "is") + std::to_string(t.fold + 1);
      if (t.oos) {
        f.oos = metrics;
        f.oos_done = ok;
      } else {
        f.is_metrics[t.run] = metrics;
        f.is_ok[t.run] = ok ? 1 : 0;
      }
    }
    // The run's own figures: the whole range, or the last fold's in-sample range (the most data).
    if (!t.oos && (t.fold < 0 || static_cast<unsigned>(t.fold) + 1 == folds)) {
      run.metrics = metrics;
      run.fees_paid = fees;
      run.done = true;
      run.failed = !ok;
      run.error = error;
      run.seconds = secs;
    }
    if (runs_csv.is_open()) {
      std::string line = std::to_string(t.run + 1) + "," + window;
      for (const std::string& v : run.values) line += "," + csv_field(v);
      for (const std::string& m : table_metrics) line += "," + num(metric_value(metrics, m), 6);
      line += std::string(",") + (ok ? "ok" : "failed") + "," + csv_field(error) + "\n";
      runs_csv << line;
      runs_csv.flush();
    }
    return true;
  };

  auto run_tasks = [&](const std::vector<task>& list) {
    next_task = 0;
    auto worker = [&] {
      for (;;) {
        if (opt.stop != nullptr && opt.stop->load()) return;
        const size_t i = next_task.fetch_add(1);
        if (i >= list.size()) return;
        if (!run_one(list[i])) return;
        ++finished;
      }
    };
    std::vector<std::thread> threads;
    const unsigned n = static_cast<unsigned>(std::min<size_t>(jobs, list.size()));
    for (unsigned j = 1; j < n; ++j) threads.emplace_back(worker);
    // The calling thread works too, and draws the progress bar between its runs.
    std::thread progress_thread;
    std::atomic<bool> done{false};
    if (bar.active()) {
      progress_thread = std::thread([&] {
        while (!done.load()) {
          bar.update(static_cast<double>(finished.load()) /
                         static_cast<double>(tasks.size() + res.folds.size()),
                     finished.load());
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      });
    }
    worker();
    for (auto& th : threads) th.join();
    done = true;
    if (progress_thread.joinable()) progress_thread.join();
  };

  const auto t_runs = std::chrono::steady_clock::now();
  run_tasks(tasks);
  (void)failed_hard;
  const bool interrupted = opt.stop != nullptr && opt.stop->load();

  const bool lower = metric_lower_is_better(opt.metric);
  if (!interrupted && folds > 0) {
    // Each fold's in-sample winner is tested on the fold's out-of-sample range.
    std::vector<task> oos_tasks;
    for (unsigned k = 0; k < folds; ++k) {
      sweep_fold& f = res.folds[k];
      size_t best = SIZE_MAX;
      for (size_t r = 0; r < res.runs.size(); ++r) {
        if (f.is_ok[r] == 0) continue;  // failed (or never ran) on this fold
        if (best == SIZE_MAX || better(metric_value(f.is_metrics[r], opt.metric),
                                       metric_value(f.is_metrics[best], opt.metric), lower))
          best = r;
      }
      if (best == SIZE_MAX) continue;
      f.best = best;
      oos_tasks.push_back({best, static_cast<int>(k), true});
    }
    run_tasks(oos_tasks);
  }
  bar.finish(finished.load());
  res.run_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_runs).count();
  res.interrupted = opt.stop != nullptr && opt.stop->load();

  // Ranking: finished runs by the metric; failed and undefined ones last, ties by grid order.
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

  if (opt.out_dir) {
    runs_csv.close();
    std::ofstream csv(*opt.out_dir / "results.csv", std::ios::trunc);
    std::string header = "rank";
    for (const sweep_param& p : opt.params) header += "," + csv_field(p.key);
    for (const std::string& m : table_metrics) header += "," + m;
    csv << header << ",final_equity,fees,status,error\n";
    size_t rank = 0;
    for (size_t r : res.ranking) {
      const sweep_run& run = res.runs[r];
      std::string line = std::to_string(++rank);
      for (const std::string& v : run.values) line += "," + csv_field(v);
      for (const std::string& m : table_metrics) line += "," + num(metric_value(run.metrics, m), 6);
      line +=
          "," + fixed_to_string(run.metrics.final_equity) + "," + fixed_to_string(run.fees_paid);
      line += std::string(",") + (run.failed ? "failed" : "ok") + "," + csv_field(run.error);
      csv << line << "\n";
    }
    csv.close();
    if (!csv) throw std::runtime_error((*opt.out_dir / "results.csv").string() + ": write failed");
    std::ofstream(*opt.out_dir / "results.json", std::ios::trunc) << sweep_json(res);
    std::ofstream(*opt.out_dir / "best.txt", std::ios::trunc) << res.command << "\n";

    sweep_html_input in;
    in.title = "CATS sweep: " + opt.config.filename().string();
    in.metric = opt.metric;
    for (const sweep_param& p : opt.params) in.param_names.push_back(p.key);
    for (size_t r : res.ranking) {
      const sweep_run& run = res.runs[r];
      sweep_html_input::row row;
      row.params = run.values;
      for (const std::string& v : run.values) {
        int64_t raw = 0;
        bool integer = false;
        row.param_numeric.push_back(
            parse_number(v, raw, integer) ? static_cast<double>(raw) / fixed_scale : std::nan(""));
      }
      for (const std::string& m : table_metrics)
        row.metrics.emplace_back(m, metric_value(run.metrics, m));
      row.failed = run.failed;
      row.error = run.error;
      in.rows.push_back(std::move(row));
    }
    in.notes.emplace_back("Combinations", std::to_string(res.runs.size()) + " of " +
                                              std::to_string(res.combinations));
    in.notes.emplace_back("Ranked by", opt.metric + (lower ? " (lower is better)" : ""));
    in.notes.emplace_back("Data", std::to_string(res.data_events) + " events, decoded once in " +
                                      json_writer::format_double(res.decode_seconds, 2) + " s");
    if (!res.command.empty()) in.notes.emplace_back("Best", res.command);
    for (size_t k = 0; k < res.folds.size(); ++k) {
      const sweep_fold& f = res.folds[k];
      if (!f.oos_done) continue;
      std::string text =
          "in-sample " + format_iso8601(f.is_start) + " .. " + format_iso8601(f.is_end) + " best: ";
      for (size_t p = 0; p < opt.params.size(); ++p)
        text += (p ? " " : "") + opt.params[p].key + "=" + res.runs[f.best].values[p];
      text += "; " + opt.metric + " in-sample " +
              num(metric_value(f.is_metrics[f.best], opt.metric), 3) + ", out-of-sample " +
              num(metric_value(f.oos, opt.metric), 3) + " (" + format_iso8601(f.oos_start) +
              " .. " + format_iso8601(f.oos_end) + "), return " + num(f.oos.total_return_pct, 2) +
              " %";
      in.notes.emplace_back("Fold " + std::to_string(k + 1), text);
    }
    if (res.interrupted) in.notes.emplace_back("Interrupted", "only finished runs are shown");
    std::ofstream(*opt.out_dir / "report.html", std::ios::trunc) << render_sweep_html(in);
  }
  return res;
}

std::string sweep_table(const sweep_result& r, size_t rows) {
  std::string out;
  out += "\nCATS sweep  " + std::to_string(r.runs.size()) + " of " +
         std::to_string(r.combinations) + " combinations, ranked by " + r.metric + "\n";
  out += "  data decoded once: " + std::to_string(r.data_events) + " events in " +
         json_writer::format_double(r.decode_seconds, 2) + " s; runs took " +
         json_writer::format_double(r.run_seconds, 2) + " s on " + std::to_string(r.jobs) +
         " jobs\n";
  if (r.interrupted) out += "  INTERRUPTED: only the finished runs are ranked\n";
  out += std::string(90, '-') + "\n";
  char buf[256];
  // Columns: rank, one per parameter (its last name component), then the metrics.
  auto pad = [](std::string text, size_t width) {
    if (text.size() < width) text.insert(0, width - text.size(), ' ');
    return text;
  };
  std::vector<std::string> names;
  std::vector<size_t> widths;
  for (size_t k = 0; k < r.params.size(); ++k) {
    names.push_back(r.params[k].key.substr(r.params[k].key.rfind('.') + 1));
    size_t w = names.back().size();
    for (const std::string& v : r.params[k].values) w = std::max(w, v.size());
    widths.push_back(w);
  }
  std::string head = pad("rank", 5);
  for (size_t k = 0; k < names.size(); ++k) head += "  " + pad(names[k], widths[k]);
  std::snprintf(buf, sizeof buf, "  | %9s %8s %8s %7s %6s", "return %", "sharpe", "max dd %",
                "trades", "win %");
  out += head + buf + "\n";
  size_t n = 0;
  for (size_t i : r.ranking) {
    if (n++ == rows) break;
    const sweep_run& run = r.runs[i];
    std::string line = pad(std::to_string(n), 5);
    for (size_t k = 0; k < run.values.size(); ++k) line += "  " + pad(run.values[k], widths[k]);
    if (run.failed) {
      out += line + "  | failed: " + run.error + "\n";
      continue;
    }
    const backtest_metrics& m = run.metrics;
    std::snprintf(buf, sizeof buf, "  | %9.2f %8.3f %8.2f %7llu %6.1f", m.total_return_pct,
                  m.sharpe, m.max_drawdown_pct, static_cast<unsigned long long>(m.trades),
                  m.win_rate_pct);
    out += line + buf + "\n";
  }
  if (r.ranking.size() > rows)
    out += "  ... " + std::to_string(r.ranking.size() - rows) +
           " more (all in results.csv / --json)\n";
  for (size_t k = 0; k < r.folds.size(); ++k) {
    const sweep_fold& f = r.folds[k];
    if (!f.oos_done) continue;
    std::string line = "walk-forward fold " + std::to_string(k + 1) + ": best in-sample";
    for (size_t p = 0; p < r.params.size(); ++p)
      line += " " + r.params[p].key + "=" + r.runs[f.best].values[p];
    std::snprintf(buf, sizeof buf, "; %s in-sample %.3f, out-of-sample %.3f (return %.2f %%)",
                  r.metric.c_str(), metric_value(f.is_metrics[f.best], r.metric),
                  metric_value(f.oos, r.metric), f.oos.total_return_pct);
    out += line + buf + "\n";
  }
  if (!r.command.empty()) out += "best: " + r.command + "\n";
  return out;
}

std::string sweep_json(const sweep_result& r) {
  json_writer j(2);
  j.begin_object();
  j.key("metric").value(r.metric);
  j.key("combinations").value(r.combinations);
  j.key("runs").value(static_cast<uint64_t>(r.runs.size()));
  j.key("interrupted").value(r.interrupted);
  j.key("jobs").value(static_cast<uint64_t>(r.jobs));
  j.key("decode_seconds").value(r.decode_seconds, 6);
  j.key("run_seconds").value(r.run_seconds, 6);
  j.key("data_events").value(static_cast<uint64_t>(r.data_events));
  j.key("best_command").value(r.command);
  j.key("results").begin_array();
  size_t rank = 0;
  for (size_t i : r.ranking) {
    const sweep_run& run = r.runs[i];
    j.begin_object();
    j.key("rank").value(static_cast<uint64_t>(++rank));
    j.key("params").begin_object();
    for (size_t k = 0; k < run.values.size(); ++k) j.key(r.params[k].key).value(run.values[k]);
    j.end_object();
    j.key("status").value(run.failed ? "failed" : "ok");
    if (run.failed) j.key("error").value(run.error);
    j.key("metrics").begin_object();
    for (const std::string& m : table_metrics) {
      const double v = metric_value(run.metrics, m);
      j.key(m);
      if (std::isfinite(v))
        j.value(v, 6);
      else
        j.null();
    }
    j.key("final_equity").number(fixed_text(run.metrics.final_equity));
    j.key("fees").number(fixed_text(run.fees_paid));
    j.end_object();
    j.end_object();
  }
  j.end_array();
  j.key("walk_forward").begin_array();
  for (const sweep_fold& f : r.folds) {
    j.begin_object();
    j.key("in_sample").value(format_iso8601(f.is_start) + "/" + format_iso8601(f.is_end));
    j.key("out_of_sample").value(format_iso8601(f.oos_start) + "/" + format_iso8601(f.oos_end));
    if (f.oos_done) {
      j.key("best").begin_object();
      for (size_t k = 0; k < r.params.size(); ++k)
        j.key(r.params[k].key).value(r.runs[f.best].values[k]);
      j.end_object();
      const double is = metric_value(f.is_metrics[f.best], r.metric);
      const double oos = metric_value(f.oos, r.metric);
      j.key("in_sample_metric");
      if (std::isfinite(is))
        j.value(is, 6);
      else
        j.null();
      j.key("out_of_sample_metric");
      if (std::isfinite(oos))
        j.value(oos, 6);
      else
        j.null();
      j.key("out_of_sample_return_pct").value(f.oos.total_return_pct, 6);
    }
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str() + "\n";
}

}  // namespace cats
