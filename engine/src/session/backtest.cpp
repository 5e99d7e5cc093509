#include "cats/session/backtest.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "cats/book/book_builder.hpp"
#include "cats/core/engine.hpp"
#include "cats/replay/replay.hpp"
#include "cats/report/html_report.hpp"
#include "cats/report/metrics.hpp"
#include "cats/sim/sim_exchange.hpp"
#include "cats/util/json_writer.hpp"
#include "cats/util/progress.hpp"
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
                              const std::optional<fs::path>& out_dir, const run_options& options) {
  backtest_outcome result;
  backtest_report& rep = result.report;

  // The events come from the files (streamed, memory bounded) or from a decoded copy shared by
  // several runs; either way through one cursor.
  instrument_registry instruments;
  std::unique_ptr<replay_stream> stream;
  std::unique_ptr<memory_cursor> memory;
  event_cursor* cursor = nullptr;
  std::vector<feed_info> feeds;
  if (options.shared) {
    instruments = options.shared->instruments();
    memory = std::make_unique<memory_cursor>(*options.shared);
    if (cfg.backtest.start_ns) memory->seek(*cfg.backtest.start_ns);
    feeds = options.shared->feeds();
    cursor = memory.get();
  } else {
    stream = std::make_unique<replay_stream>(cfg.data, instruments);
    if (!stream->open()) {
      // A file that cannot be opened is a configuration error; bad content is a run failure.
      result.exit_code = stream->unreadable() ? 2 : 1;
      result.error = stream->error();
      return result;
    }
    feeds = stream->feeds();
    cursor = stream.get();
  }
  if (feeds.empty()) {
    result.exit_code = 2;
    result.error = "no data feeds in the config";
    return result;
  }
  const uint32_t inst_id = feeds.front().instrument_id;
  const instrument_info& inst = *instruments.get(inst_id);

  // Orders on an instrument with tick data (trades, quotes, books) match on the ticks; on an
  // instrument with only klines, on the bars. With klines alone the equity is sampled at every bar
  // close, otherwise on a fixed grid (the smallest built-bar interval, or one minute).
  std::vector<uint8_t> bar_matched(instruments.size() + 1, 0);
  bool bars_only = true;
  int64_t sample_ns = 0;
  for (const feed_info& f : feeds) {
    if (f.ticks) {
      bars_only = false;
      if (f.bar_interval_ns > 0 && (sample_ns == 0 || f.bar_interval_ns < sample_ns))
        sample_ns = f.bar_interval_ns;
    }
  }
  for (const feed_info& f : feeds)
    if (!f.ticks) bar_matched[f.instrument_id] = 1;
  for (const feed_info& f : feeds)
    if (f.ticks) bar_matched[f.instrument_id] = 0;
  if (sample_ns == 0) sample_ns = 60 * ns_per_s;
  auto matches_bars = [&](uint32_t id) { return id < bar_matched.size() && bar_matched[id] != 0; };

  rep.symbol = inst.symbol;
  rep.currency = inst.quote.empty() ? "QUOTE" : inst.quote;
  for (const feed_section& f : cfg.data.feeds)
    for (const fs::path& file : f.files) rep.files.push_back(file.string());
  rep.fill_model = cfg.backtest.sim.fill == fill_model::close ? "close" : "next_open";
  rep.fee_bps = cfg.backtest.fee_bps;
  rep.maker_fee_bps = cfg.backtest.maker_fee_bps;
  rep.slippage_bps = cfg.backtest.slippage_bps;
  rep.leverage = cfg.backtest.leverage;
  bool any_bar_matched = false;
  for (const feed_info& f : feeds)
    any_bar_matched = any_bar_matched || matches_bars(f.instrument_id);
  rep.fill_assumptions = describe_fill_rules(cfg.backtest.sim, !bars_only, any_bar_matched);

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
  book_builder books(20);
  progress_bar progress(options.progress, "events");

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
    bool started = false;
    int64_t pending_ts = 0;   // bars only: close time of the bars whose sample is not yet taken
    int64_t next_sample = 0;  // tick data: the next point of the sampling grid
    int64_t first_open = 0, last_close = 0;
    int64_t last_sampled = INT64_MIN;
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
      last_sampled = ts;
    };
    auto start_at = [&](int64_t ts) {
      started = true;
      eng.set_time(ts);
      eng.start();
      metrics.begin(ts, account.equity());
      next_sample = (ts / sample_ns + 1) * sample_ns;
    };
    // Moves the clock to a tick event's time (never back, even if a recording machine's clock
    // went back), firing the timers due before it and taking the grid samples it passes.
    auto advance_to = [&](int64_t ts) {
      if (!bars_only)
        while (ts >= next_sample) {
          take_sample(next_sample);
          next_sample += sample_ns;
        }
      const int64_t now = std::max(ts, eng.now());
      eng.run_timers_until(now);
      eng.set_time(now);
      pending_ts = now;
    };
    auto note_price = [&](uint32_t id, int64_t open, int64_t close) {
      if (id != inst_id) return;
      if (first_open == 0) first_open = open;
      last_close = close;
    };

    uint64_t seen = 0, events = 0;
    // A bar that opened before backtest.end closes up to its interval after it: events are read
    // that far past the end, so that every feed's last bar in the window is replayed.
    int64_t horizon = 0;
    while (const replay_event* ev = cursor->next()) {
      if ((++seen & 0xFFFF) == 0 && options.stop != nullptr && options.stop->load()) {
        result.exit_code = 130;
        result.error = "interrupted";
        break;
      }
      if ((seen & 0x3FFF) == 0) progress.update(cursor->progress(), seen);
      // The window: bars by their open time, every other event by its time.
      const bool is_bar = ev->type == replay_event::kind::bar;
      const int64_t t = is_bar ? ev->bar.open_time_ns : ev->ts;
      if (cfg.backtest.start_ns && t < *cfg.backtest.start_ns) continue;
      if (cfg.backtest.end_ns && t >= *cfg.backtest.end_ns) {
        if (ev->ts - horizon >= *cfg.backtest.end_ns) break;
        continue;
      }
      if (is_bar && ev->bar.interval_ns > horizon) horizon = ev->bar.interval_ns;
      ++events;
      if (!is_bar) {  // a tick: the clock moves to it first
        if (!started) start_at(ev->ts);
        advance_to(ev->ts);
      }
      switch (ev->type) {
        case replay_event::kind::bar: {
          const cats_bar_event_t& bar = ev->bar;
          const int64_t close_ts = bar.header.exchange_ts_ns;
          const uint32_t id = bar.header.instrument_id;
          if (!started) {
            // Strategies start at the first bar's open, so that now_ns() in on_start is a real
            // time.
            start_at(bar.open_time_ns);
          } else if (bars_only && close_ts != pending_ts) {
            take_sample(pending_ts);
          }
          // With klines only the equity is sampled at every close: the shortest interval
          // annualises the statistics.
          if (bars_only && (rep.interval_ns == 0 || bar.interval_ns < rep.interval_ns))
            rep.interval_ns = bar.interval_ns;
          if (!ev->built) note_price(id, bar.open, bar.close);
          if (bars_only || matches_bars(id)) {
            pending_ts = close_ts;
            // The bar opens: timers due before it fire, waiting orders fill at its prices.
            eng.run_timers_until(bar.open_time_ns);
            if (eng.now() < bar.open_time_ns) eng.set_time(bar.open_time_ns);
            exchange.on_bar_open(bar);
            eng.flush();
            // The bar closes: timers inside it fire, the account is marked, close-mode orders
            // fill, and the strategies see the bar. (Grid samples before the close still see the
            // previous close; the one at the close is taken by the next event.)
            if (!bars_only) {
              advance_to(close_ts - 1);
              pending_ts = close_ts;
            }
            eng.run_timers_until(close_ts);
            eng.set_time(close_ts);
            account.mark(id, bar.close);
            exchange.on_bar_close(bar);
          } else {
            // A bar of an instrument with ticks (built from its trades, or recorded): the trades
            // already marked the account and matched the orders.
            advance_to(close_ts - 1);
            eng.run_timers_until(close_ts);
            eng.set_time(std::max(close_ts, eng.now()));
            pending_ts = eng.now();
            if (!ev->built) account.mark(id, bar.close);
          }
          eng.flush();
          eng.dispatch(bar.header);
          break;
        }
        case replay_event::kind::trade: {
          const cats_trade_event_t& trade = ev->trade;
          account.mark(trade.header.instrument_id, trade.price);
          note_price(trade.header.instrument_id, trade.price, trade.price);
          exchange.on_trade(trade);
          eng.flush();
          eng.dispatch(trade.header);
          break;
        }
        case replay_event::kind::quote: {
          const cats_quote_event_t& quote = ev->quote;
          exchange.on_quote(quote.header.instrument_id, quote.bid_price, quote.bid_quantity,
                            quote.ask_price, quote.ask_quantity);
          eng.flush();
          eng.dispatch(quote.header);
          break;
        }
        case replay_event::kind::book: {
          const cats_book_event_t& bev = books.apply(*ev->book, ev->book_flags);
          const_cast<cats_event_t&>(bev.header).flags |= CATS_EVENT_FLAG_REPLAY;
          exchange.on_quote(bev.header.instrument_id, bev.bid_count != 0 ? bev.bids[0].price : 0,
                            bev.bid_count != 0 ? bev.bids[0].quantity : 0,
                            bev.ask_count != 0 ? bev.asks[0].price : 0,
                            bev.ask_count != 0 ? bev.asks[0].quantity : 0);
          eng.flush();
          eng.dispatch(bev.header);
          break;
        }
      }
    }
    if (!cursor->error().empty()) {
      result.exit_code = 1;
      result.error = cursor->error();
    }
    progress.finish(seen);
    rep.events = events;
    if (!bars_only) rep.interval_ns = sample_ns;
    if (started && pending_ts != last_sampled)
      take_sample(pending_ts);
    else if (!started)
      eng.start();  // no bars: strategies still get on_start before on_stop
    eng.stop();
    exchange.finish("end of data");
    eng.flush();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    const replay_stats rs = cursor->stats();
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
