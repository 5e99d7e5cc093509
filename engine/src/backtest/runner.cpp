#include "cats/backtest/runner.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "cats/backtest/bar_replay.hpp"
#include "cats/backtest/html_report.hpp"
#include "cats/backtest/metrics.hpp"
#include "cats/backtest/sim_exchange.hpp"
#include "cats/book/book_builder.hpp"
#include "cats/core/engine.hpp"
#include "cats/live/record_file.hpp"
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
  rep.fill_assumptions = describe_fill_rules(cfg.backtest.sim, cfg.data.format == "cats_record");

  std::vector<bar_file> files;
  for (const fs::path& f : cfg.data.files) files.push_back({f.string(), inst_id});
  kline_reader_options ropts;
  ropts.skip_malformed = cfg.data.skip_malformed;
  bar_replay replay(std::move(files), ropts);
  if (cfg.data.format == "cats_record") {
    for (const fs::path& f : cfg.data.files) {
      std::ifstream probe(f, std::ios::binary);
      if (!probe) {
        result.exit_code = 2;
        result.error = f.string() + ": cannot open: " + std::strerror(errno);
        return result;
      }
    }
  } else if (!replay.open()) {
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
  report_collector html(&recorder);  // report.html: forwards fills to the recorder
  exchange.set_listener(out_dir ? static_cast<fill_listener*>(&html) : &recorder);
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
      if (out_dir) html.sample(ts, account.equity(), metrics.drawdown_pct(), last_close);
      ++rep.bars;
    };

    if (cfg.data.format == "cats_record") {
      // Tick-level replay of the engine's recordings: trades, best bid/ask and book updates in
      // the order they were received, on the clock they were received at (what a live strategy
      // saw). Orders fill by the tick rules of the simulated exchange. The equity curve is
      // sampled every minute of replayed time.
      constexpr int64_t sample_ns = 60 * ns_per_s;
      rep.interval_ns = sample_ns;
      book_builder books(20);
      std::unordered_map<std::string, uint32_t> ids;
      ids[inst.symbol] = inst_id;
      int64_t next_sample = 0;
      record_item it;
      bool past_end = false;
      for (const fs::path& file : cfg.data.files) {
        if (past_end) break;
        record_reader reader(file);
        while (reader.next(it)) {
          auto found = ids.find(it.symbol);
          if (found == ids.end()) {
            instrument_info extra;
            extra.symbol = it.symbol;
            split_symbol(it.symbol, "BINANCE", extra.venue, extra.name);
            guess_base_quote(extra.name, extra.base, extra.quote);
            found = ids.emplace(it.symbol, instruments.add(extra)).first;
          }
          const uint32_t id = found->second;
          cats_event_t* header = nullptr;
          switch (it.type) {
            case record_item::kind::trade:
              header = &it.trade.header;
              break;
            case record_item::kind::quote:
              header = &it.quote.header;
              break;
            case record_item::kind::bar:
              header = &it.bar.header;
              break;
            case record_item::kind::book:
              break;
          }
          const int64_t ts = header != nullptr ? header->local_ts_ns : it.book.local_ts_ns;
          ++rep.rows;
          if (cfg.backtest.start_ns && ts < *cfg.backtest.start_ns) continue;
          if (cfg.backtest.end_ns && ts >= *cfg.backtest.end_ns) {
            past_end = true;
            break;
          }
          if (!started) {
            started = true;
            eng.set_time(ts);
            eng.start();
            metrics.begin(ts, account.equity());
            next_sample = (ts / sample_ns + 1) * sample_ns;
          }
          while (ts >= next_sample) {
            take_sample(next_sample);
            next_sample += sample_ns;
          }
          // The clock never goes back, even if the recording machine's clock did.
          const int64_t now = std::max(ts, eng.now());
          eng.run_timers_until(now);
          eng.set_time(now);
          if (header != nullptr) {
            header->instrument_id = id;
            header->flags |= CATS_EVENT_FLAG_REPLAY;
          }
          switch (it.type) {
            case record_item::kind::trade:
              account.mark(id, it.trade.price);
              if (id == inst_id) {
                if (first_open == 0) first_open = it.trade.price;
                last_close = it.trade.price;
              }
              exchange.on_trade(it.trade);
              break;
            case record_item::kind::quote:
              exchange.on_quote(id, it.quote.bid_price, it.quote.bid_quantity, it.quote.ask_price,
                                it.quote.ask_quantity);
              break;
            case record_item::kind::bar:
              account.mark(id, it.bar.close);
              break;
            case record_item::kind::book: {
              it.book.instrument_id = id;
              const cats_book_event_t& ev = books.apply(it.book, it.book_flags);
              const_cast<cats_event_t&>(ev.header).flags |= CATS_EVENT_FLAG_REPLAY;
              exchange.on_quote(id, ev.bid_count != 0 ? ev.bids[0].price : 0,
                                ev.bid_count != 0 ? ev.bids[0].quantity : 0,
                                ev.ask_count != 0 ? ev.asks[0].price : 0,
                                ev.ask_count != 0 ? ev.asks[0].quantity : 0);
              header = const_cast<cats_event_t*>(&ev.header);
              break;
            }
          }
          eng.flush();
          eng.dispatch(*header);
          pending_ts = now;
        }
        if (!reader.error().empty()) {
          result.exit_code = 1;
          result.error = reader.error();
          break;
        }
      }
    } else {
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
    if (cfg.data.format != "cats_record") rep.interval_ns = replay.interval_ns();
    if (cfg.data.format != "cats_record") rep.rows = rs.rows;
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
      html.set_first_price(first_open);
      write_text(*out_dir / "report.html", render_html_report(rep, html));
    }
  } catch (const std::exception& e) {
    result.exit_code = 1;
    result.error = e.what();
  }
  return result;
}

}  // namespace cats
