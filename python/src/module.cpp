// The `cats` Python module's native part (cats._cats): runs backtests and sweeps through the same
// engine code as the `cats` command, with the GIL released, and reads data files and run outputs
// into NumPy arrays. The Python layer (cats/__init__.py) builds the user-facing objects.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cats/config/config.hpp"
#include "cats/core/fixed.hpp"
#include "cats/plugin/loader.hpp"
#include "cats/replay/replay.hpp"
#include "cats/session/backtest.hpp"
#include "cats/session/sweep.hpp"
#include "cats/util/logging.hpp"
#include "cats/util/time.hpp"

namespace py = pybind11;
namespace fs = std::filesystem;

namespace {

// ---- Ctrl-C during a run --------------------------------------------------------------------

// While a run holds no GIL, Python cannot run its SIGINT handler: this one asks the run to stop
// (it ends with the outputs it has) and the call then raises KeyboardInterrupt.
std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) {
  interrupted.store(true);
}

// Only on the main thread, where Python's own SIGINT handling lives; a run started from another
// thread leaves Ctrl-C to Python.
class interrupt_scope {
 public:
  interrupt_scope() {
    interrupted.store(false);
    const py::module_ threading = py::module_::import("threading");
    if (!threading.attr("current_thread")().is(threading.attr("main_thread")())) return;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    installed_ = sigaction(SIGINT, &sa, &previous_) == 0;
  }
  ~interrupt_scope() {
    if (installed_) sigaction(SIGINT, &previous_, nullptr);
  }
  interrupt_scope(const interrupt_scope&) = delete;
  interrupt_scope& operator=(const interrupt_scope&) = delete;
  const std::atomic<bool>* flag() const noexcept { return &interrupted; }
  void raise_if_interrupted() const {
    if (!interrupted.load()) return;
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
  }

 private:
  struct sigaction previous_ {};
  bool installed_ = false;
};

// One run at a time in a process: runs share the logger and the SIGINT handler. A second
// Python thread that starts a run waits here, without the GIL.
std::mutex run_mutex;

std::unique_lock<std::mutex> one_run_at_a_time() {
  std::unique_lock<std::mutex> lock(run_mutex, std::defer_lock);
  py::gil_scoped_release release;
  lock.lock();
  return lock;
}

// ---- tables ------------------------------------------------------------------------------------

bool is_time_column(const std::string& name) {
  return name == "time" || name == "entry_time" || name == "exit_time" || name == "created" ||
         name == "closed";
}

// Columns the engine writes as text, whatever they hold (a series called "20" stays "20").
bool is_text_column(const std::string& name) {
  static const char* const names[] = {"strategy",  "symbol", "side",         "liquidity",
                                      "direction", "series", "panel",        "reason",
                                      "status",    "type",   "time_in_force"};
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// The records of a CSV file as the engine writes it (csv_field quotes a field with a comma, a
// quote or a line break): a quoted field may span lines.
std::vector<std::vector<std::string>> csv_records(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else if (c == '\n') {
      rows.push_back(std::move(cells));
      cells.assign(1, std::string());
    } else if (c != '\r') {
      cells.back() += c;
    }
  }
  if (cells.size() > 1 || !cells[0].empty()) rows.push_back(std::move(cells));
  return rows;
}

template <class T>
py::array_t<T> to_array(const std::vector<T>& v) {
  py::array_t<T> a(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}

py::array times_array(const std::vector<int64_t>& ns) {
  return to_array(ns).attr("view")("datetime64[ns]");
}

// One column of a run's CSV: times as datetime64[ns], whole numbers as int64, other numbers as
// float64 (an empty cell is NaN), anything else as a list of str.
py::object column(const std::string& name, const std::vector<std::string>& cells,
                  const std::string& file) {
  if (is_time_column(name)) {
    std::vector<int64_t> out;
    out.reserve(cells.size());
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells[i].empty()) {
        out.push_back(std::numeric_limits<int64_t>::min());  // NaT: an order still working
        continue;
      }
      const auto t = cats::parse_iso8601(cells[i]);
      if (!t)
        throw std::runtime_error(file + ": row " + std::to_string(i + 2) + ": " + name +
                                 " is not a time: '" + cells[i] + "'");
      out.push_back(*t);
    }
    return times_array(out);
  }
  bool integers = !cells.empty() && !is_text_column(name);
  bool numbers = integers;
  for (const std::string& c : cells) {
    if (c.empty()) {
      integers = false;
      continue;
    }
    char* end = nullptr;
    errno = 0;
    (void)std::strtoll(c.c_str(), &end, 10);
    if (*end != '\0' || errno != 0) integers = false;
    (void)std::strtod(c.c_str(), &end);
    if (*end != '\0') numbers = false;
  }
  if (integers) {
    std::vector<int64_t> out;
    for (const std::string& c : cells) out.push_back(std::strtoll(c.c_str(), nullptr, 10));
    return to_array(out);
  }
  if (numbers) {
    std::vector<double> out;
    for (const std::string& c : cells)
      out.push_back(c.empty() ? std::numeric_limits<double>::quiet_NaN()
                              : std::strtod(c.c_str(), nullptr));
    return to_array(out);
  }
  py::list out;
  for (const std::string& c : cells) out.append(py::str(c));
  return out;
}

// A CSV file of a run's outputs as {column: values}, in the file's column order.
std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot read");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

py::dict read_table(const fs::path& file) {
  std::vector<std::vector<std::string>> rows = csv_records(read_text(file));
  if (rows.empty()) throw std::runtime_error(file.string() + ": empty, no header");
  const std::vector<std::string> names = rows[0];
  std::vector<std::vector<std::string>> cols(names.size());
  for (size_t row = 1; row < rows.size(); ++row) {
    if (rows[row].size() != names.size())
      throw std::runtime_error(file.string() + ": record " + std::to_string(row + 1) + ": " +
                               std::to_string(rows[row].size()) + " fields, the header has " +
                               std::to_string(names.size()));
    for (size_t k = 0; k < names.size(); ++k) cols[k].push_back(std::move(rows[row][k]));
  }
  py::dict out;
  for (size_t k = 0; k < names.size(); ++k)
    out[py::str(names[k])] = column(names[k], cols[k], file.string());
  return out;
}

// Where the plugins are when the config does not say (engine.plugin_dir): the `cats` command
// looks next to its executable, which here is the Python interpreter; the module looks next to
// itself instead: <build>/python/cats/ -> <build>/lib/cats/plugins, or installed
// <prefix>/lib/cats/python/cats/ -> <prefix>/lib/cats/plugins. It tells the engine through
// CATS_PLUGIN_DIR (unless the user set that), so runs are configured exactly as on the command
// line.
fs::path module_plugin_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&module_plugin_dir), &info) == 0 || info.dli_fname == nullptr)
    return {};
  const fs::path here = fs::path(info.dli_fname).parent_path();
  for (const fs::path& p :
       {here / ".." / ".." / "lib" / "cats" / "plugins", here / ".." / ".." / "plugins"}) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) return p.lexically_normal();
  }
  return {};
}

void start_logging(const cats::run_config& cfg) {
  std::string err;
  if (!cats::setup_logging(cfg.engine.log_level, cfg.engine.log_file, err))
    throw cats::config_error(err);
}

// ---- backtest ----------------------------------------------------------------------------------

// Runs one backtest, writing its outputs to `out_dir` exactly as `cats backtest --out` does, and
// returns the summary JSON and the tables.
py::dict backtest(const std::string& config, const std::vector<std::string>& overrides,
                  const std::string& out_dir) {
  const std::unique_lock<std::mutex> lock = one_run_at_a_time();
  cats::run_config cfg = cats::load_config(config, overrides);
  start_logging(cfg);
  std::vector<cats::prepared_strategy> strategies = cats::prepare_strategies(cfg);
  if (strategies.empty()) throw cats::config_error(config + ": every strategy is disabled");
  cats::backtest_outcome result;
  interrupt_scope interrupt;
  {
    py::gil_scoped_release release;
    cats::run_options options;
    options.stop = interrupt.flag();
    result = cats::run_backtest(cfg, std::move(strategies), fs::path(out_dir), options);
  }
  interrupt.raise_if_interrupted();
  if (result.exit_code == 2) throw cats::config_error(result.error);
  if (result.exit_code != 0 && !result.report.any_strategy_failed())
    throw std::runtime_error(result.error.empty() ? "the backtest failed" : result.error);
  const fs::path dir(out_dir);
  py::dict out;
  out["summary"] = read_text(dir / "summary.json");
  out["error"] = result.error;  // a strategy that failed during the run: the outputs are there
  for (const char* t : {"equity", "fills", "trades", "orders", "plots"})
    out[t] = read_table(dir / (std::string(t) + ".csv"));
  out["seconds"] = result.seconds;
  return out;
}

// ---- sweep -------------------------------------------------------------------------------------

py::dict sweep(const std::string& config, const std::vector<std::string>& params,
               const std::vector<std::string>& overrides, unsigned jobs, const std::string& metric,
               double oos, unsigned folds, std::optional<uint64_t> sample, uint64_t seed,
               const std::string& out_dir) {
  const std::unique_lock<std::mutex> lock = one_run_at_a_time();
  const cats::run_config base = cats::load_config(config, overrides);
  start_logging(base);
  cats::sweep_options opt;
  opt.config = config;
  opt.overrides = overrides;
  for (const std::string& p : params) opt.params.push_back(cats::parse_sweep_param(p, base));
  opt.jobs = jobs;
  opt.metric = metric;
  opt.oos_fraction = oos;
  opt.folds = folds;
  opt.sample = sample;
  opt.seed = seed;
  opt.out_dir = fs::path(out_dir);
  cats::sweep_result r;
  interrupt_scope interrupt;
  {
    py::gil_scoped_release release;
    opt.stop = interrupt.flag();
    r = cats::run_sweep(opt);
  }
  interrupt.raise_if_interrupted();
  py::dict out;
  out["json"] = cats::sweep_json(r);
  out["failed_runs"] = r.failed_runs();
  out["any_succeeded"] = r.any_succeeded();
  return out;
}

// ---- data files --------------------------------------------------------------------------------

// Reads one data file (klines, trades, aggTrades or a recording) through the engine's readers,
// with the engine's checks, into arrays: {"bars": {...}, "trades": {...}} for what it holds.
py::dict load(const std::string& path, const std::string& format, const std::string& symbol) {
  cats::data_section data;
  cats::feed_section feed;
  feed.symbol = symbol;
  feed.files.push_back(path);
  feed.format = format;
  feed.where = path;
  data.feeds.push_back(feed);
  struct bars_t {
    std::vector<int64_t> open_time, close_time, trades;
    std::vector<double> open, high, low, close, volume, quote_volume, taker_buy_volume;
  } bars;
  struct trades_t {
    std::vector<int64_t> time, id;
    std::vector<double> price, quantity;
    std::vector<int8_t> side;
  } trades;
  std::string error;
  {
    py::gil_scoped_release release;
    cats::instrument_registry instruments;
    cats::replay_stream stream(data, instruments);
    if (!stream.open()) {
      error = stream.error();
    } else {
      auto d = [](int64_t raw) { return static_cast<double>(raw) / cats::fixed_scale; };
      while (const cats::market_event* e = stream.next()) {
        if (e->type == cats::market_event::kind::bar) {
          const cats_bar_event_t& b = e->bar;
          bars.open_time.push_back(b.open_time_ns);
          bars.close_time.push_back(b.header.exchange_ts_ns);
          bars.open.push_back(d(b.open));
          bars.high.push_back(d(b.high));
          bars.low.push_back(d(b.low));
          bars.close.push_back(d(b.close));
          bars.volume.push_back(d(b.volume));
          bars.quote_volume.push_back(d(b.quote_volume));
          bars.taker_buy_volume.push_back(d(b.taker_buy_volume));
          bars.trades.push_back(b.trade_count);
        } else if (e->type == cats::market_event::kind::trade) {
          const cats_trade_event_t& t = e->trade;
          trades.time.push_back(t.header.exchange_ts_ns);
          trades.id.push_back(static_cast<int64_t>(t.trade_id));
          trades.price.push_back(d(t.price));
          trades.quantity.push_back(d(t.quantity));
          trades.side.push_back(static_cast<int8_t>(t.aggressor_side == CATS_SIDE_BUY    ? 1
                                                    : t.aggressor_side == CATS_SIDE_SELL ? -1
                                                                                         : 0));
        }
      }
      error = stream.error();
    }
  }
  if (!error.empty()) throw std::runtime_error(error);
  py::dict out;
  if (!bars.open_time.empty()) {
    py::dict b;
    b["open_time"] = times_array(bars.open_time);
    b["close_time"] = times_array(bars.close_time);
    b["open"] = to_array(bars.open);
    b["high"] = to_array(bars.high);
    b["low"] = to_array(bars.low);
    b["close"] = to_array(bars.close);
    b["volume"] = to_array(bars.volume);
    b["quote_volume"] = to_array(bars.quote_volume);
    b["taker_buy_volume"] = to_array(bars.taker_buy_volume);
    b["trades"] = to_array(bars.trades);
    out["bars"] = b;
  }
  if (!trades.time.empty()) {
    py::dict t;
    t["time"] = times_array(trades.time);
    t["trade_id"] = to_array(trades.id);
    t["price"] = to_array(trades.price);
    t["quantity"] = to_array(trades.quantity);
    t["side"] = to_array(trades.side);
    out["trades"] = t;
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_cats, m) {
  m.doc() = "CATS engine (native part; use the cats package)";
  py::register_exception<cats::config_error>(m, "ConfigError", PyExc_ValueError);
  m.def("backtest", &backtest, py::arg("config"), py::arg("overrides"), py::arg("out_dir"));
  m.def("sweep", &sweep, py::arg("config"), py::arg("params"), py::arg("overrides"),
        py::arg("jobs"), py::arg("metric"), py::arg("oos"), py::arg("folds"), py::arg("sample"),
        py::arg("seed"), py::arg("out_dir"));
  m.def("load", &load, py::arg("path"), py::arg("format"), py::arg("symbol"));
  m.def(
      "read_table", [](const std::string& file) { return read_table(file); }, py::arg("file"));
  const fs::path plugins = module_plugin_dir();
  if (std::getenv("CATS_PLUGIN_DIR") == nullptr && !plugins.empty())
    ::setenv("CATS_PLUGIN_DIR", plugins.c_str(), 0);
  m.attr("plugin_dir") = cats::default_plugin_dir().string();
  m.attr("abi_version") = std::to_string(CATS_ABI_MAJOR) + "." + std::to_string(CATS_ABI_MINOR);
}
