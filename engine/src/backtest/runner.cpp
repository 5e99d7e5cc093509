#include "cats/backtest/runner.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>

#include "cats/backtest/bar_replay.hpp"
#include "cats/backtest/metrics.hpp"
#include "cats/backtest/sim_exchange.hpp"
#include "cats/core/engine.hpp"
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

}  // namespace

backtest_outcome run_backtest(const run_config& cfg, std::vector<prepared_strategy> strategies,
                              const std::optional<fs::path>& out_dir) {
  backtest_outcome result;
  backtest_report& rep = result.report;

  instrument_registry instruments;
  instrument_info inst;
  inst.symbol = cfg.data.symbol;
  split_symbol(cfg.data.symbol, "BINANCE", inst.venue, inst.name);
  inst.base = cfg.data.base;
  inst.quote = cfg.data.quote;
  inst.tick_size = cfg.data.tick_size;
  inst.lot_size = cfg.data.lot_size;
  inst.min_quantity = cfg.data.min_quantity;
  inst.min_notional = cfg.data.min_notional;
  const uint32_t inst_id = instruments.add(inst);

  rep.symbol = cfg.data.symbol;
  rep.currency = inst.quote.empty() ? "QUOTE" : inst.quote;
  for (const fs::path& f : cfg.data.files) rep.files.push_back(f.string());
  rep.fill_model = cfg.backtest.sim.fill == fill_model::close ? "close" : "next_open";
  rep.fee_bps = cfg.backtest.fee_bps;
  rep.maker_fee_bps = cfg.backtest.maker_fee_bps;
  rep.slippage_bps = cfg.backtest.slippage_bps;
  rep.leverage = cfg.backtest.leverage;

  std::vector<bar_file> files;
  for (const fs::path& f : cfg.data.files) files.push_back({f.string(), inst_id});
  kline_reader_options ropts;
  ropts.skip_malformed = cfg.data.skip_malformed;
  bar_replay replay(std::move(files), ropts);
  if (!replay.open()) {
    // A file that cannot be opened is a configuration error; bad content is a run failure.
    result.exit_code = replay.unreadable() ? 2 : 1;
    result.error = replay.error();
    return result;
  }

  portfolio account(cfg.backtest.initial_cash, rep.currency);
  engine eng(instruments, account);
  sim_exchange exchange(eng, cfg.backtest.sim);
  eng.set_router(&exchange);
  metrics_accumulator metrics;
  fills_recorder recorder;
  recorder.metrics = &metrics;
  exchange.set_listener(&recorder);
  csv_file equity_csv;

  try {
    if (out_dir) {
      std::error_code ec;
      fs::create_directories(*out_dir, ec);
      if (ec) throw std::runtime_error(out_dir->string() + ": cannot create: " + ec.message());
      recorder.open(*out_dir);
      equity_csv.open(*out_dir / "equity.csv", "time,equity,cash,position_value,drawdown_pct");
    }

    for (prepared_strategy& s : strategies) {
      std::string err;
      if (!eng.add_strategy(s.name, s.library, std::move(s.params), err)) {
        result.exit_code = 1;
        result.error = err;
        return result;
      }
    }

    const auto t0 = std::chrono::steady_clock::now();
    cats_bar_event_t bar{};
    bool started = false;
    int64_t pending_ts = 0;  // close time of the bars whose equity sample is not yet taken
    int64_t first_open = 0, last_close = 0;
    auto take_sample = [&](int64_t ts) {
      const bool exposed = account.has_exposure();
      metrics.sample(ts, account.equity(), exposed);
      if (equity_csv.is_open()) {
        std::string& o = equity_csv.row();
        append_time(o, ts);
        o += ',';
        append_fixed(o, account.equity());
        o += ',';
        append_fixed(o, account.cash());
        o += ',';
        append_fixed(o, account.equity() - account.cash());
        o += ',';
        o += json_writer::format_double(metrics.drawdown_pct(), 6);
        o += '\n';
        equity_csv.maybe_flush();
      }
      ++rep.bars;
    };

    for (;;) {
      const bar_replay::status st = replay.next(bar);
      if (st == bar_replay::status::error) {
        result.exit_code = 1;
        result.error = replay.error();
        break;
      }
      if (st == bar_replay::status::end) break;
      if (cfg.backtest.start_ns && bar.open_time_ns < *cfg.backtest.start_ns) continue;
      if (cfg.backtest.end_ns && bar.open_time_ns >= *cfg.backtest.end_ns) break;
      const int64_t close_ts = bar.header.exchange_ts_ns;
      if (!started) {
        // Strategies start at the first bar's open, so that now_ns() in on_start is a real time.
        started = true;
        eng.set_time(bar.open_time_ns);
        eng.start();
        metrics.begin(bar.open_time_ns, account.equity());
      } else if (close_ts != pending_ts) {
        take_sample(pending_ts);
      }
      pending_ts = close_ts;
      if (bar.header.instrument_id == inst_id) {
        if (first_open == 0) first_open = bar.open;
        last_close = bar.close;
      }
      // The bar opens: timers due before it fire, waiting orders fill at its prices.
      eng.run_timers_until(bar.open_time_ns);
      if (eng.now() < bar.open_time_ns) eng.set_time(bar.open_time_ns);
      exchange.on_bar_open(bar);
      eng.flush();
      // The bar closes: timers inside it fire, the account is marked, close-mode orders fill,
      // and the strategies see the bar.
      eng.run_timers_until(close_ts);
      eng.set_time(close_ts);
      account.mark(bar.header.instrument_id, bar.close);
      exchange.on_bar_close(bar);
      eng.flush();
      eng.dispatch(bar.header);
    }
    if (started)
      take_sample(pending_ts);
    else
      eng.start();  // no bars: strategies still get on_start before on_stop
    eng.stop();
    exchange.finish("end of data");
    eng.flush();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const replay_stats rs = replay.stats();
    rep.interval_ns = replay.interval_ns();
    rep.rows = rs.rows;
    rep.skipped_rows = rs.skipped;
    rep.gaps = rs.gaps;
    rep.missing_bars = rs.missing_bars;
    rep.warnings = rs.messages;
    rep.metrics = metrics.finish(rep.interval_ns);
    rep.fees_paid = account.fees_paid();
    rep.final_position = account.position(inst_id).quantity;
    rep.orders = exchange.stats();
    rep.buy_hold_return_pct =
        first_open > 0
            ? (static_cast<double>(last_close) / static_cast<double>(first_open) - 1.0) * 100.0
            : 0.0;
    if (!started && result.error.empty()) {
      result.exit_code = 1;
      result.error =
          "no bars to replay" + std::string(cfg.backtest.start_ns || cfg.backtest.end_ns
                                                ? " between backtest.start and backtest.end"
                                                : " in the data files");
    }
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
    eng.destroy_all();
    if (rep.any_strategy_failed() && result.exit_code == 0) {
      result.exit_code = 1;
      result.error = "a strategy failed during the run (see the summary)";
    }

    if (out_dir) {
      recorder.close();
      equity_csv.close();
      write_text(*out_dir / "summary.json", summary_json(rep));
    }
  } catch (const std::exception& e) {
    result.exit_code = 1;
    result.error = e.what();
  }
  return result;
}

}  // namespace cats
