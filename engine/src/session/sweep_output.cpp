#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <unordered_map>

#include "cats/core/fixed.hpp"
#include "cats/report/html_report.hpp"
#include "cats/session/sweep.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"
#include "sweep_util.hpp"

namespace cats {

using namespace sweep_util;  // NOLINT(google-build-using-namespace): this area's own helpers

namespace {

// The distinct errors of the failed runs with how many runs each, most frequent first (ties in
// order of first appearance).
std::vector<std::pair<std::string, size_t>> failure_reasons(const sweep_result& r) {
  std::vector<std::pair<std::string, size_t>> out;
  std::unordered_map<std::string, size_t> index;
  for (size_t i : r.ranking) {
    if (!r.runs[i].failed) continue;
    const auto [it, fresh] = index.emplace(r.runs[i].error, out.size());
    if (fresh)
      out.emplace_back(r.runs[i].error, 1);
    else
      ++out[it->second].second;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

constexpr size_t max_reasons_shown = 5;

// Where the runs took the data from: "1000000 events streamed by each run from the store",
// "1000000 events read once into an in-memory store (44.1 MB, 44.1 bytes an event)".
std::string data_note(const sweep_result& r) {
  const std::string events = std::to_string(r.data_events) + " events";
  if (r.streamed) return events + " streamed by each run from the store";
  const double per = r.data_events == 0
                         ? 0.0
                         : static_cast<double>(r.data_bytes) / static_cast<double>(r.data_events);
  return events + (r.store_copy ? " read once into an in-memory store (" : " decoded once (") +
         json_writer::format_double(static_cast<double>(r.data_bytes) / 1e6, 1) + " MB, " +
         json_writer::format_double(per, 1) + " bytes an event)";
}

}  // namespace

std::string sweep_table(const sweep_result& r, size_t rows) {
  std::string out;
  out += "\nCATS sweep  " + std::to_string(r.runs.size()) + " of " +
         std::to_string(r.combinations) + " combinations, ranked by " + r.metric + "\n";
  out += "  data: " + data_note(r) + ", " + (r.streamed ? "scanned" : "read") + " in " +
         json_writer::format_double(r.decode_seconds, 2) + " s; runs took " +
         json_writer::format_double(r.run_seconds, 2) + " s on " + std::to_string(r.jobs) +
         " jobs\n";
  if (r.interrupted) out += "  INTERRUPTED: only the finished runs are ranked\n";
  if (const size_t failed = r.failed_runs(); failed != 0) {
    out += "  FAILED: " + std::to_string(failed) + " of " + std::to_string(r.ranking.size()) +
           " runs (ranked last, no metrics)\n";
    const auto reasons = failure_reasons(r);
    for (size_t k = 0; k < reasons.size() && k < max_reasons_shown; ++k)
      out += "    " + std::to_string(reasons[k].second) + " x " + reasons[k].first + "\n";
    if (reasons.size() > max_reasons_shown)
      out += "    ... and " + std::to_string(reasons.size() - max_reasons_shown) +
             " other reasons (each run's in results.csv)\n";
  }
  if (r.failed_out_of_sample != 0)
    out += "  FAILED: " + std::to_string(r.failed_out_of_sample) +
           " out-of-sample run(s) of a fold's winner; first: " + r.out_of_sample_error + "\n";
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
  j.key("failed_runs").value(static_cast<uint64_t>(r.failed_runs()));
  j.key("failed_out_of_sample").value(static_cast<uint64_t>(r.failed_out_of_sample));
  j.key("jobs").value(static_cast<uint64_t>(r.jobs));
  j.key("decode_seconds").value(r.decode_seconds, 6);
  j.key("run_seconds").value(r.run_seconds, 6);
  j.key("data_events").value(static_cast<uint64_t>(r.data_events));
  j.key("data_streamed").value(r.streamed);
  j.key("data_copy").value(r.streamed ? "none" : r.store_copy ? "store" : "events");
  j.key("data_copy_bytes").value(static_cast<uint64_t>(r.data_bytes));
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
    if (run.failed) {
      j.key("error").value(run.error);
      j.key("metrics").null();
      j.end_object();
      continue;
    }
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
      j.key("in_sample_return_pct").value(f.is_metrics[f.best].total_return_pct, 6);
      j.key("out_of_sample_return_pct").value(f.oos.total_return_pct, 6);
    }
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str() + "\n";
}

namespace {

void write_results_csv(const sweep_options& opt, const sweep_result& res) {
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
    if (run.failed) {  // no metrics: empty cells, not zeros that read as a flat run
      line += std::string(table_metrics.size() + 2, ',');
    } else {
      for (const std::string& m : table_metrics) line += "," + num(metric_value(run.metrics, m), 6);
      line +=
          "," + fixed_to_string(run.metrics.final_equity) + "," + fixed_to_string(run.fees_paid);
    }
    line += std::string(",") + (run.failed ? "failed" : "ok") + "," + csv_field(run.error);
    csv << line << "\n";
  }
  csv.close();
  if (!csv) throw std::runtime_error((*opt.out_dir / "results.csv").string() + ": write failed");
}

// What report.html shows: the ranking with every metric, and notes on the data and the folds.
sweep_html_input html_input(const sweep_options& opt, const sweep_result& res) {
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
  const bool lower = metric_lower_is_better(opt.metric);
  in.notes.emplace_back(
      "Combinations", std::to_string(res.runs.size()) + " of " + std::to_string(res.combinations));
  in.notes.emplace_back("Ranked by", opt.metric + (lower ? " (lower is better)" : ""));
  in.notes.emplace_back(
      "Data",
      data_note(res) +
          (res.streamed ? ""
                        : ", read in " + json_writer::format_double(res.decode_seconds, 2) + " s"));
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
            num(metric_value(f.oos, opt.metric), 3) + " (" + format_iso8601(f.oos_start) + " .. " +
            format_iso8601(f.oos_end) + "), return " + num(f.oos.total_return_pct, 2) + " %";
    in.notes.emplace_back("Fold " + std::to_string(k + 1), text);
    sweep_html_input::fold chart;
    chart.title = "Fold " + std::to_string(k + 1) + ":";
    for (size_t p = 0; p < opt.params.size(); ++p)
      chart.title += " " + opt.params[p].key + "=" + res.runs[f.best].values[p];
    chart.in_sample_value = metric_value(f.is_metrics[f.best], opt.metric);
    chart.out_of_sample_value = metric_value(f.oos, opt.metric);
    // Percent from each range's first sample (its initial equity).
    auto returns = [](const std::vector<std::pair<int64_t, int64_t>>& curve) {
      std::vector<std::pair<int64_t, double>> out;
      if (curve.empty() || curve.front().second == 0) return out;
      const double base = static_cast<double>(curve.front().second);
      for (const auto& [t, e] : curve)
        out.emplace_back(t, (static_cast<double>(e) / base - 1.0) * 100.0);
      return out;
    };
    chart.in_sample = returns(f.is_curve);
    chart.out_of_sample = returns(f.oos_curve);
    if (!chart.in_sample.empty()) in.folds.push_back(std::move(chart));
  }
  if (res.interrupted) in.notes.emplace_back("Interrupted", "only finished runs are shown");
  return in;
}

}  // namespace

void sweep_util::write_sweep_files(const sweep_options& opt, const sweep_result& res) {
  write_results_csv(opt, res);
  std::ofstream(*opt.out_dir / "results.json", std::ios::trunc) << sweep_json(res);
  std::ofstream(*opt.out_dir / "best.txt", std::ios::trunc) << res.command << "\n";
  std::ofstream(*opt.out_dir / "report.html", std::ios::trunc)
      << render_sweep_html(html_input(opt, res));
}

}  // namespace cats
