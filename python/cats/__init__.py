"""CATS from Python: backtests and sweeps on the engine itself, results as NumPy arrays.

    import cats
    r = cats.backtest("config/backtest.toml", set={"strategy.sma.fast": 720})
    r.metrics["sharpe"], r.equity["equity"], r.fills["price"]
    r.frame("trades")                      # a pandas DataFrame, when pandas is installed

    s = cats.sweep("config/backtest.toml", {"strategy.fast": range(10, 60, 10),
                                            "strategy.slow": [120, 240]})
    s.table["sharpe"], s.best

    bars = cats.load("data/sample/BTCUSDT-1m-2024.csv")   # klines; format="binance_trades" …

Runs are the `cats` command's own code: `backtest(..., out=DIR)` writes the same files as
`cats backtest --out DIR`, byte for byte. The GIL is released while a run works; Ctrl-C stops it
and raises KeyboardInterrupt. Bad configs raise cats.ConfigError (a ValueError) with the engine's
message, naming file, line and key; failed runs raise RuntimeError with the engine's message.
"""

import json as _json
import os as _os
import shutil as _shutil
import tempfile as _tempfile

import numpy as _np

from ._cats import ConfigError, abi_version, plugin_dir  # noqa: F401
from . import _cats

__all__ = ["backtest", "sweep", "load", "read_table", "BacktestResult", "SweepResult",
           "ConfigError", "abi_version", "plugin_dir"]


def _toml(value):
    """A Python value as the TOML literal --set expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _json.dumps(value)  # a TOML basic string: the same escapes
    if isinstance(value, (list, tuple, range)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot express {value!r} ({type(value).__name__}) as a TOML value")


def _value_text(value):
    """A swept value as the command line writes it: booleans in TOML's words, others as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "," in text:
        raise ValueError(f"a swept value cannot contain a comma: {value!r}")
    return text


def _overrides(set, log_level):
    out = []
    if set is None:
        set = {}
    if isinstance(set, dict):
        out += [f"{k}={_toml(v)}" for k, v in set.items()]
        keys = set.keys()
    else:  # already "key=value" strings, as on the command line
        out += list(set)
        keys = [s.split("=", 1)[0] for s in set]
    if log_level is not None and "engine.log_level" not in keys:
        out.insert(0, f"engine.log_level={_toml(log_level)}")
    return out


def _columns(table):
    """Lists of str (the native side's string columns) become NumPy object arrays."""
    return {k: (_np.array(v, dtype=object) if isinstance(v, list) else v) for k, v in table.items()}


def _frame(table):
    try:
        import pandas
    except ImportError as e:
        raise ImportError("frame() needs pandas (Debian: python3-pandas); the arrays are in "
                          "the result's attributes") from e
    return pandas.DataFrame(table)


class _Outputs:
    def __init__(self, out, keep):
        self.keep = keep
        self.dir = out if out is not None else _tempfile.mkdtemp(prefix="cats-")

    def done(self):
        if not self.keep:
            _shutil.rmtree(self.dir, ignore_errors=True)


class BacktestResult:
    """One backtest: the summary (as summary.json), its metrics, and the tables of the run's CSV
    files as dicts of NumPy arrays (times as datetime64[ns])."""

    def __init__(self, native, out_dir):
        self.summary = _json.loads(native["summary"])
        # The summary's figures (returns, drawdown, ratios, trade statistics, counts); the
        # nested parts (settings, data, strategies, risk) stay in `summary`.
        self.metrics = {k: v for k, v in self.summary.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool)}
        self.equity = _columns(native["equity"])
        self.fills = _columns(native["fills"])
        self.trades = _columns(native["trades"])
        self.orders = _columns(native["orders"])
        self.plots = _columns(native["plots"])
        self.error = native["error"] or None  # a strategy failed during the run
        self.seconds = native["seconds"]
        self.out_dir = out_dir

    def frame(self, name="equity"):
        """equity, fills, trades, orders or plots as a pandas DataFrame."""
        return _frame(getattr(self, name))

    def __repr__(self):
        m = self.metrics
        return (f"<cats.BacktestResult return {m.get('total_return_pct')} % "
                f"sharpe {m.get('sharpe')} trades {m.get('trades')}>")


def backtest(config, set=None, out=None, log_level="warn"):
    """Runs `cats backtest --config CONFIG [--set k=v]... [--out OUT]` and returns its results.

    set: {"key": value} (Python values become TOML) or ["key=toml", ...] as on the command line.
    out: a folder to keep the run's files in (by default they are read and removed).
    log_level: the engine's log level unless `set` gives engine.log_level (None: the config's).
    """
    outputs = _Outputs(out, keep=out is not None)
    try:
        native = _cats.backtest(_os.fspath(config), _overrides(set, log_level),
                                _os.fspath(outputs.dir))
        return BacktestResult(native, out)
    finally:
        outputs.done()


class SweepResult:
    """A sweep: results.json as `results` (ranked, best first) and `table`, one NumPy array per
    parameter and metric in rank order; `best` is the best run's parameters."""

    def __init__(self, native, out_dir):
        self.summary = _json.loads(native["json"])
        self.results = self.summary["results"]
        self.failed_runs = native["failed_runs"]
        self.out_dir = out_dir
        self.best = self.results[0]["params"] if native["any_succeeded"] else None
        params = list(self.results[0]["params"]) if self.results else []
        metrics = next((list(r["metrics"]) for r in self.results if r["metrics"]), [])
        columns = {k: [r["params"][k] for r in self.results] for k in params}
        columns["status"] = [r["status"] for r in self.results]
        for m in metrics:  # a failed run has no metrics: NaN
            columns[m] = [(r["metrics"] or {}).get(m) for r in self.results]
        self.table = {}
        for k, v in columns.items():
            try:
                self.table[k] = _np.array([_np.nan if x is None else float(x) for x in v])
            except (TypeError, ValueError):
                self.table[k] = _np.array(v, dtype=object)

    def frame(self):
        """The ranked table as a pandas DataFrame."""
        return _frame(self.table)

    def __repr__(self):
        return f"<cats.SweepResult {len(self.results)} runs, best {self.best}>"


def sweep(config, params, set=None, jobs=0, metric="sharpe", oos=0.0, walk_forward=0,
          sample=None, seed=1, out=None, allow_failures=False, log_level="warn"):
    """Runs `cats sweep`: params is {"strategy.fast": values, ...} (a list, a range, or the
    command line's "from:to:step" string). Raises RuntimeError when a run failed, unless
    allow_failures (failed runs are ranked last with status "failed")."""
    specs = []
    for key, values in params.items():
        if isinstance(values, str):
            specs.append(f"{key}={values}")
        else:
            specs.append(f"{key}=" + ",".join(_value_text(v) for v in values))
    outputs = _Outputs(out, keep=out is not None)
    try:
        native = _cats.sweep(_os.fspath(config), specs, _overrides(set, log_level), jobs, metric,
                             oos, walk_forward, sample, seed, _os.fspath(outputs.dir))
        result = SweepResult(native, out)
    finally:
        outputs.done()
    if not native["any_succeeded"]:
        raise RuntimeError("no run of the sweep succeeded: " +
                           "; ".join(sorted({r.get("error", "") for r in result.results})))
    oos_failed = result.summary.get("failed_out_of_sample", 0)
    if (result.failed_runs or oos_failed) and not allow_failures:
        reasons = sorted({r["error"] for r in result.results if r["status"] == "failed"})
        more = f" and {len(reasons) - 5} other reasons" if len(reasons) > 5 else ""
        raise RuntimeError(f"{result.failed_runs} of {len(result.results)} runs failed"
                           + (f", {oos_failed} out-of-sample" if oos_failed else "")
                           + " (allow_failures=True keeps a partial sweep): "
                           + "; ".join(reasons[:5]) + more)
    return result


def load(path, format=None, symbol="BINANCE:BTCUSDT"):
    """Reads a data file through the engine's readers into NumPy arrays: a dict of columns for
    klines (open_time, close_time, open, high, low, close, volume, …) or trades (time, trade_id,
    price, quantity, side +1 buy / -1 sell / 0 unknown). format: binance_klines (default for .csv/.zip/.gz),
    binance_trades, binance_agg_trades, cats_record (default for .catsrec, which may hold both:
    then a dict {"bars": …, "trades": …})."""
    path = _os.fspath(path)
    if format is None:
        format = "cats_record" if path.endswith(".catsrec") else "binance_klines"
    native = _cats.load(path, format, symbol)
    if format == "cats_record":
        return native
    if not native:
        return {}
    return next(iter(native.values()))


def read_table(path):
    """A CSV file written by a run (fills.csv, equity.csv, …) as a dict of NumPy arrays."""
    return _columns(_cats.read_table(_os.fspath(path)))
