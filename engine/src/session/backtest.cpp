#include "cats/session/backtest.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "cats/core/engine.hpp"
#include "cats/plugin/params.hpp"
#include "cats/report/html_report.hpp"
#include "cats/report/metrics.hpp"
#include "cats/session/session.hpp"
#include "cats/session/watchdog.hpp"
#include "cats/sim/sim_exchange.hpp"
#include "cats/util/cpu.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/time.hpp"

namespace cats {

namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error(file.string() + ": write failed");
}

// The events of a run: streamed from the files (memory bounded), or read from a decoded copy
// shared by several runs; either way through one cursor.
struct event_source {
  instrument_registry own;
  instrument_registry& instruments;
  std::unique_ptr<replay_stream> stream;
  std::unique_ptr<memory_cursor> memory;
  event_cursor* cursor = nullptr;
  std::vector<feed_info> feeds;

  // A lockstep batch's registry (its cursor fills it as recordings name instruments), or our own.
  explicit event_source(const run_options& options)
      : instruments(options.lockstep != nullptr ? *options.lockstep->instruments : own) {}

  // False with the outcome's exit code and error set.
  bool open(const run_config& cfg, const run_options& options, backtest_outcome& result) {
    if (options.lockstep != nullptr) {
      cursor = options.lockstep->cursor;  // read by the batch, offered to this run
      feeds = options.lockstep->feeds;
    } else if (options.shared) {
      instruments = options.shared->instruments();
      memory = std::make_unique<memory_cursor>(*options.shared);
      if (cfg.backtest.start_ns) memory->seek(*cfg.backtest.start_ns);
      feeds = options.shared->feeds();
      cursor = memory.get();
    } else {
      const unsigned threads =
          cfg.data.parse_threads != 0 ? cfg.data.parse_threads : usable_cores();
      stream = std::make_unique<replay_stream>(cfg.data, instruments, threads);
      if (cfg.backtest.start_ns) stream->start_at(*cfg.backtest.start_ns);  // as seek() above
      if (!stream->open()) {
        // A file that cannot be opened is a configuration error; bad content is a run failure.
        result.exit_code = stream->unreadable() ? 2 : 1;
        result.error = stream->error();
        return false;
      }
      feeds = stream->feeds();
      cursor = stream.get();
    }
    if (feeds.empty()) {
      result.exit_code = 2;
      result.error = "no data feeds in the config";
      return false;
    }
    return true;
  }
};

// Orders on an instrument with tick data (trades, quotes, books) match on the ticks; on an
// instrument with only klines, on the bars. With klines alone the equity is sampled at every bar
// close, otherwise on a fixed grid (the smallest built-bar interval, or one minute).
session_options replay_options(const event_source& src, const run_config& cfg) {
  session_options o;
  // A watchdog times each call into a strategy: a run of bars would be timed as one call.
  o.bar_spans = cfg.backtest.bar_spans && cfg.engine.callback_timeout_ms <= 0;
  o.event_flags = CATS_EVENT_FLAG_REPLAY;
  o.book_depth = 20;
  o.primary_instrument = src.feeds.front().instrument_id;
  o.bar_matched.assign(src.instruments.size() + 1, 0);
  o.bars_only = true;
  for (const feed_info& f : src.feeds) {
    o.receive_time_clock = o.receive_time_clock || f.recorded;
    if (f.ticks) {
      o.bars_only = false;
      if (f.bar_interval_ns > 0 && (o.sample_ns == 0 || f.bar_interval_ns < o.sample_ns))
        o.sample_ns = f.bar_interval_ns;
    }
  }
  for (const feed_info& f : src.feeds)
    if (!f.ticks) o.bar_matched[f.instrument_id] = 1;
  for (const feed_info& f : src.feeds)
    if (f.ticks) o.bar_matched[f.instrument_id] = 0;
  if (!o.bars_only && o.sample_ns == 0) o.sample_ns = 60 * ns_per_s;  // bars only: at each close
  return o;
}

// What the report says about the run before it starts.
void describe_run(const run_config& cfg, const event_source& src, const session_options& o,
                  backtest_report& rep) {
  const instrument_info& inst = *src.instruments.get(o.primary_instrument);
  rep.symbol = inst.symbol;
  rep.currency = inst.quote.empty() ? "QUOTE" : inst.quote;
  for (const feed_section& f : cfg.data.feeds)
    for (const fs::path& file : f.files) rep.files.push_back(file.string());
  rep.fill_model = cfg.backtest.sim.fill == fill_model::close ? "close" : "next_open";
  rep.fee_bps = cfg.backtest.fee_bps;
  rep.maker_fee_bps = cfg.backtest.maker_fee_bps;
  rep.slippage_bps = cfg.backtest.slippage_bps;
  rep.leverage = cfg.backtest.leverage;
  const bool any_bar_matched =
      std::find(o.bar_matched.begin(), o.bar_matched.end(), 1) != o.bar_matched.end();
  rep.fill_assumptions = describe_fill_rules(cfg.backtest.sim, !o.bars_only, any_bar_matched);
}

// The run's outputs: the metrics, and with --out equity.csv, fills.csv, trades.csv, orders.csv,
// summary.json and report.html.
class backtest_outputs final : public sample_listener, public plot_listener {
 public:
  backtest_outputs(const std::optional<fs::path>& dir, const portfolio& account,
                   const instrument_registry& instruments)
      : dir_(dir), account_(account), orders_(instruments), html_(&fills_) {
    fills_.metrics = &metrics_;
  }

  void set_curve(equity_curve* c) noexcept { curve_ = c; }
  void open() {
    if (!dir_) return;
    std::error_code ec;
    fs::create_directories(*dir_, ec);
    if (ec) throw std::runtime_error(dir_->string() + ": cannot create: " + ec.message());
    fills_.open(*dir_);
    orders_.open(*dir_);
    equity_csv_.open(*dir_ / "equity.csv", "time,equity,cash,position_value,drawdown_pct");
    plots_csv_.open(*dir_ / "plots.csv", "time,strategy,series,panel,value");
  }
  /// What strategies plot, when there is an output folder (else the values are dropped).
  plot_listener* plot_sink() { return dir_ ? this : nullptr; }

  // plots.csv holds every value. A series' row waits until the engine's time moves on, because
  // a second value at the same time replaces the first; rows stay in time order.
  void on_plot(std::string_view strategy, uint32_t series, std::string_view name,
               std::string_view panel, int64_t time_ns, double value) noexcept override {
    try {
      if (time_ns != plot_time_) flush_plots();
      plot_time_ = time_ns;
      auto it = std::find_if(pending_plots_.begin(), pending_plots_.end(), [&](const auto& p) {
        return p.series == series && p.strategy == strategy;
      });
      if (it == pending_plots_.end())
        pending_plots_.push_back(
            {std::string(strategy), std::string(name), std::string(panel), series, value});
      else
        it->value = value;
      html_.plot(strategy, series, name, panel, time_ns, value);
    } catch (...) {
      plot_failed_ = true;  // out of memory: the report says the plots are incomplete
    }
  }
  /// orders.csv, when there is an output folder.
  order_observer* order_sink(const engine& eng) {
    orders_.set_reasons(&eng);
    return dir_ ? &orders_ : nullptr;
  }
  /// Where the simulated exchange reports fills: report.html forwards them to fills.csv.
  fill_listener& fill_sink() { return dir_ ? static_cast<fill_listener&>(html_) : fills_; }
  metrics_accumulator& metrics() noexcept { return metrics_; }
  const fills_recorder& round_trips() const noexcept { return fills_; }

  void on_start(int64_t ts) override {
    metrics_.begin(ts, account_.equity());
    if (curve_ != nullptr) curve_->add(ts, account_.equity());
  }
  // Without files (a sweep's run, `cats backtest` without --out) only the equity counts.
  bool takes_equity_only() const noexcept override { return !dir_ && !equity_csv_.is_open(); }
  bool takes_flat_runs() const noexcept override {
    return takes_equity_only() && curve_ == nullptr;
  }
  void on_flat_samples(int64_t first_ts, int64_t last_ts, size_t n, int64_t equity) override {
    metrics_.sample_flat(first_ts, last_ts, n, equity);
  }
  void on_samples(const int64_t* ts, const int64_t* equity, size_t n, bool exposed) override {
    metrics_.sample_many(ts, equity, n, exposed);
    if (curve_ != nullptr)
      for (size_t i = 0; i < n; ++i) curve_->add(ts[i], equity[i]);
  }
  void on_sample(int64_t ts, const price_span& price) override {
    metrics_.sample(ts, account_.equity(), account_.has_exposure());
    if (curve_ != nullptr) curve_->add(ts, account_.equity());
    if (equity_csv_.is_open()) {
      std::string& o = equity_csv_.row();
      append_equity_row(o, ts, account_);
      o += ',';
      o += json_writer::format_double(metrics_.drawdown_pct(), 6);
      o += '\n';
      equity_csv_.maybe_flush();
    }
    if (dir_)
      html_.sample(ts, account_.equity(), metrics_.drawdown_pct(), price.close, price.open,
                   price.high, price.low);
  }

  void write(const backtest_report& rep, int64_t first_price) {
    if (!dir_) return;
    fills_.close();
    orders_.close();
    equity_csv_.close();
    flush_plots();
    plots_csv_.close();
    if (plot_failed_) throw std::runtime_error("plots.csv: values were lost (out of memory)");
    write_text(*dir_ / "summary.json", summary_json(rep));
    html_.set_first_price(first_price);
    write_text(*dir_ / "report.html", render_html_report(rep, html_));
  }

 private:
  const std::optional<fs::path> dir_;  // a copy: the run may outlive its caller's value
  const portfolio& account_;
  metrics_accumulator metrics_;
  fills_recorder fills_;
  orders_recorder orders_;
  report_collector html_;  // report.html; forwards fills to fills_
  equity_curve* curve_ = nullptr;
  csv_file equity_csv_;

  struct pending_plot {
    std::string strategy, name, panel;
    uint32_t series;
    double value;
  };
  void flush_plots() {
    for (const pending_plot& p : pending_plots_) {
      std::string& o = plots_csv_.row();
      o += format_iso8601(plot_time_);
      o += ',';
      o += csv_field(p.strategy);
      o += ',';
      o += csv_field(p.name);
      o += ',';
      o += csv_field(p.panel);
      o += ',';
      if (std::isfinite(p.value)) o += json_writer::format_double(p.value, -1);
      o += '\n';
    }
    pending_plots_.clear();
    plots_csv_.maybe_flush();
  }
  csv_file plots_csv_;
  std::vector<pending_plot> pending_plots_;
  int64_t plot_time_ = 0;
  bool plot_failed_ = false;
};

void report_strategies(const engine& eng, backtest_report& rep) {
  for (const auto& slot : eng.strategies()) {
    strategy_report s;
    s.name = slot->name;
    s.plugin = slot->kind();
    s.version = slot->version();
    s.params = slot->params.to_string();
    s.param_values = slot->params.entries();
    s.events = slot->events;
    s.orders = slot->orders;
    s.fills = slot->fills;
    if (slot->failure) {
      s.failed = true;
      s.failed_in = slot->failure->where;
      s.error = slot->failure->message;
      s.failed_at_ns = slot->failure->ts_ns;
    }
    rep.strategies.push_back(std::move(s));
  }
}

}  // namespace

std::vector<prepared_strategy> prepare_strategies(const run_config& cfg, bool private_copies) {
  std::vector<prepared_strategy> out;
  const fs::path plugin_dir =
      cfg.engine.plugin_dir.empty() ? default_plugin_dir() : cfg.engine.plugin_dir;
  for (const strategy_section& s : cfg.strategies) {
    if (!s.enabled) {
      spdlog::info("strategy '{}' is disabled in the config", s.name);
      continue;
    }
    std::string why;
    const fs::path file = resolve_plugin(s.plugin, plugin_dir, why);
    if (file.empty()) throw config_error(s.where + ": strategy '" + s.name + "': " + why);
    auto lib = private_copies ? plugin_library::load_copy(file, private_plugin_dir(), why)
                              : plugin_library::load(file, why);
    if (!lib) throw plugin_load_error(why);
    prepared_strategy p;
    p.name = s.name;
    p.library = lib;
    p.params = build_params(s, *lib);
    spdlog::info("strategy '{}': {} {} from {} ({})", s.name, lib->name(), lib->version(),
                 file.string(), p.params.to_string());
    out.push_back(std::move(p));
  }
  return out;
}

// One backtest's objects, from its events to its outputs, in the order they depend on each
// other. run_backtest takes it through its own cursor; a sweep's lockstep batch offers it the
// events of a cursor that several runs share.
struct backtest_run::impl {
  impl(const run_config& c, const std::optional<fs::path>& out_dir, const run_options& o)
      : cfg(c),
        options(o),
        src(o),
        opened(src.open(cfg, options, result)),
        opts(opened ? replay_options(src, c) : session_options{}),
        account(cfg.backtest.initial_cash, currency_of(src, opts, opened)),
        outputs(out_dir, account, src.instruments),
        eng(src.instruments, account),
        exchange(eng, cfg.backtest.sim),
        risk(eng, exchange, cfg.risk),
        market(eng, account, risk.watches_market() ? static_cast<broker&>(risk) : exchange, opts) {}

  static std::string currency_of(const event_source& src, const session_options& o, bool opened) {
    if (!opened) return "QUOTE";
    const instrument_info& inst = *src.instruments.get(o.primary_instrument);
    return inst.quote.empty() ? "QUOTE" : inst.quote;
  }

  const run_config& cfg;
  const run_options& options;
  backtest_outcome result;
  event_source src;
  bool opened;
  session_options opts;
  portfolio account;
  // Before the engine: it outlives the strategies, whose destruction may still plot or log.
  backtest_outputs outputs;
  engine eng;
  sim_exchange exchange;
  risk_engine risk;
  session market;
  std::unique_ptr<watchdog> dog;
  session::window window;
  session::replay_outcome replayed;
  std::chrono::steady_clock::time_point t0;
  bool ready = false;  // set up, strategies added: events may come
  // The cursor's error and counts when this run's events ended: a lockstep batch's cursor goes on
  // for the other runs, and what it meets later is not this run's.
  bool input_ended = false;
  std::string input_error;
  replay_stats input_stats;
};

backtest_run::backtest_run(const run_config& cfg, std::vector<prepared_strategy> strategies,
                           const std::optional<fs::path>& out_dir, const run_options& options)
    : impl_(std::make_unique<impl>(cfg, out_dir, options)) {
  impl& r = *impl_;
  if (!r.opened) return;
  describe_run(cfg, r.src, r.opts, r.result.report);
  r.eng.set_router(&r.risk);  // every order passes the risk checks
  // Off unless engine.callback_timeout is set: a replay has no wall clock to keep up with.
  if (cfg.engine.callback_timeout_ms > 0) {
    watchdog_options wo;
    wo.timeout_ns = cfg.engine.callback_timeout_ms * 1'000'000;
    wo.stop = options.stop;
    r.dog = std::make_unique<watchdog>(r.eng.probe(), std::move(wo));
  }
  r.exchange.set_listener(&r.outputs.fill_sink());
  r.eng.set_order_observer(r.outputs.order_sink(r.eng));
  r.eng.set_plot_listener(r.outputs.plot_sink());
  r.market.set_sample_listener(&r.outputs);
  r.outputs.set_curve(options.curve);
  r.window = {cfg.backtest.start_ns, cfg.backtest.end_ns};
  // Built bars count from the window's start (the first interval is partial), in lockstep too.
  if (r.window.start) r.eng.set_built_bars_start(*r.window.start);
  try {
    r.outputs.open();
    for (prepared_strategy& s : strategies) {
      std::string err;
      if (!r.eng.add_strategy(s.name, s.library, std::move(s.params), err)) {
        r.result.exit_code = 1;
        r.result.error = err;
        return;
      }
    }
  } catch (const std::exception& e) {
    r.result.exit_code = 1;
    r.result.error = e.what();
    return;
  }
  r.t0 = std::chrono::steady_clock::now();
  r.ready = true;
}

backtest_run::~backtest_run() = default;

bool backtest_run::ready() const noexcept {
  return impl_->ready;
}

bool backtest_run::offer(const market_event* first, size_t count, size_t uniform) {
  impl& r = *impl_;
  try {
    return r.market.replay_run(first, count, r.window, r.replayed, r.options.stop, uniform);
  } catch (const std::exception& e) {
    r.result.exit_code = 1;
    r.result.error = e.what();
    r.ready = false;
    return false;
  }
}

void backtest_run::replay() {
  impl& r = *impl_;
  try {
    r.replayed = r.market.replay(*r.src.cursor, r.window, r.options.stop, r.options.progress);
  } catch (const std::exception& e) {
    r.result.exit_code = 1;
    r.result.error = e.what();
    r.ready = false;
  }
}

void backtest_run::end_input() {
  impl& r = *impl_;
  if (r.input_ended || r.src.cursor == nullptr) return;
  r.input_ended = true;
  r.input_error = r.src.cursor->error();
  r.input_stats = r.src.cursor->stats();
}

backtest_outcome backtest_run::finish(bool interrupted) {
  impl& r = *impl_;
  if (!r.ready) return std::move(r.result);
  end_input();
  if (interrupted) r.replayed.interrupted = true;
  backtest_report& rep = r.result.report;
  try {
    rep.events = r.replayed.events;
    if (r.market.bar_runs() != 0)
      spdlog::info("{} of {} events reached the strategy in {} runs of bars (on_bars)",
                   r.market.bars_in_runs(), r.replayed.events, r.market.bar_runs());
    if (r.replayed.interrupted) {
      r.result.exit_code = 130;
      r.result.error = "interrupted";
    } else if (!r.input_error.empty()) {
      r.result.exit_code = 1;
      r.result.error = r.input_error;
    }
    report(rep);
  } catch (const std::exception& e) {
    r.result.exit_code = 1;
    r.result.error = e.what();
  }
  return std::move(r.result);
}

// The end of the run: the last sample, on_stop, the figures and the files.
void backtest_run::report(backtest_report& rep) {
  impl& r = *impl_;
  const session_options& opts = r.opts;
  rep.interval_ns = opts.bars_only ? r.market.bar_interval() : opts.sample_ns;
  const bool started = r.market.started();
  r.market.finish("end of data");
  if (r.options.curve != nullptr) r.options.curve->finish();
  r.result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - r.t0).count();

  const replay_stats& rs = r.input_stats;
  rep.rows = rs.rows;
  rep.skipped_rows = rs.skipped;
  rep.gaps = rs.gaps;
  rep.missing_bars = rs.missing_bars;
  rep.trade_id_gaps = rs.trade_id_gaps;
  rep.missing_trades = rs.missing_trades;
  rep.damaged_blocks = rs.damaged_blocks;
  rep.warnings = rs.messages;
  for (uint32_t id : r.market.matched_on_bars_without_ticks()) {
    const instrument_info* i = r.src.instruments.get(id);
    const std::string name = i != nullptr ? i->symbol : "instrument " + std::to_string(id);
    rep.warnings.push_back(
        r.market.had_ticks(id)
            ? name + ": orders matched on its bars until its first trade, quote or book arrived"
            : name +
                  ": the recording has only bars of it (no trades, quotes or books), so its "
                  "orders matched on the bars (open and close), as with klines");
    rep.fill_assumptions = describe_fill_rules(r.cfg.backtest.sim, !opts.bars_only, true);
  }
  rep.bars = r.market.samples();
  rep.metrics = r.outputs.metrics().finish(rep.interval_ns);
  rep.pnl_by_strategy = r.outputs.round_trips().by_strategy();
  rep.pnl_by_symbol = r.outputs.round_trips().by_symbol();
  rep.fees_paid = r.account.fees_paid();
  rep.final_position = r.account.position(opts.primary_instrument).quantity;
  rep.orders = r.exchange.stats();
  rep.risk = make_risk_report(r.risk, r.cfg.risk.present);
  const int64_t first = r.market.first_price(), last = r.market.last_price();
  rep.buy_hold_return_pct =
      first > 0 ? (static_cast<double>(last) / static_cast<double>(first) - 1.0) * 100.0 : 0.0;
  if (!started && r.result.error.empty()) {
    r.result.exit_code = 1;
    r.result.error =
        "no bars to replay" + std::string(r.cfg.backtest.start_ns || r.cfg.backtest.end_ns
                                              ? " between backtest.start and backtest.end"
                                              : " in the data files");
  }
  report_strategies(r.eng, rep);
  r.eng.destroy_all();
  if (rep.any_strategy_failed() && r.result.exit_code == 0) {
    r.result.exit_code = 1;
    // The first failure's own words, so a sweep can list why each run failed.
    for (const strategy_report& s : rep.strategies)
      if (s.failed) {
        r.result.error = "strategy '" + s.name + "' failed in " + s.failed_in + " at " +
                         format_iso8601(s.failed_at_ns) + ": " + s.error;
        break;
      }
  }
  r.outputs.write(rep, first);
}

backtest_outcome run_backtest(const run_config& cfg, std::vector<prepared_strategy> strategies,
                              const std::optional<fs::path>& out_dir, const run_options& options) {
  backtest_run run(cfg, std::move(strategies), out_dir, options);
  if (!run.ready()) return run.finish(false);
  run.replay();
  return run.finish(false);
}

}  // namespace cats
