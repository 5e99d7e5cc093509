"""The Python module against the `cats` command: same files byte for byte, arrays equal to the
files, engine messages in exceptions, the GIL released during a run. Run by ctest (label python)
with PYTHONPATH set to the build's python/ folder."""

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np

import cats

CATS = os.environ["CATS_BINARY"]
SOURCE = os.environ["CATS_SOURCE_DIR"]
TEST_PLUGINS = os.environ["CATS_TEST_PLUGIN_DIR"]


def run_cli(*args):
    return subprocess.run([CATS, *args], capture_output=True, text=True)


class Module(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cats-python-")
        cls.data = os.path.join(cls.dir, "bars.csv")
        r = run_cli("generate", "--out", cls.data, "--days", "20", "--seed", "3")
        assert r.returncode == 0, r.stderr
        # The bundled config on the generated data, with shorter windows so it trades.
        cls.set = {"data.files": [cls.data], "strategy.sma.fast": 60, "strategy.sma.slow": 240}
        cls.config = os.path.join(SOURCE, "config", "backtest.toml")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def cli_set(self):
        out = []
        for k, v in self.set.items():
            out += ["--set", f"{k}={cats._toml(v)}"]
        return out

    def test_backtest_writes_what_the_cli_writes_byte_for_byte(self):
        a, b = os.path.join(self.dir, "cli"), os.path.join(self.dir, "py")
        r = run_cli("backtest", "--config", self.config, *self.cli_set(), "--set",
                    'engine.log_level="warn"', "--out", a)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = cats.backtest(self.config, set=self.set, out=b)
        names = sorted(os.listdir(a))
        self.assertEqual(names, sorted(os.listdir(b)))
        self.assertIn("report.html", names)
        for name in names:
            with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
                self.assertEqual(fa.read(), fb.read(), name)
        self.assertGreater(res.metrics["trades"], 0)
        self.assertIsNone(res.error)
        self.assertEqual(res.out_dir, b)

    def test_arrays_equal_the_files(self):
        out = os.path.join(self.dir, "arrays")
        res = cats.backtest(self.config, set=self.set, out=out)
        with open(os.path.join(out, "equity.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(res.equity["equity"]), len(rows))
        self.assertEqual(len(rows), 20 * 1440)
        self.assertEqual(res.equity["time"].dtype, np.dtype("datetime64[ns]"))
        for i in (0, 1, len(rows) // 2, len(rows) - 1):
            self.assertEqual(res.equity["equity"][i], float(rows[i]["equity"]))
            self.assertEqual(str(res.equity["time"][i])[:19], rows[i]["time"][:19])
        with open(os.path.join(out, "fills.csv")) as f:
            fills = list(csv.DictReader(f))
        self.assertEqual(len(fills), len(res.fills["price"]))
        self.assertEqual([r["side"] for r in fills], list(res.fills["side"]))
        self.assertEqual([float(r["price"]) for r in fills], list(res.fills["price"]))
        self.assertEqual(res.fills["order_id"].dtype, np.dtype("int64"))
        with open(os.path.join(out, "summary.json")) as f:
            import json
            summary = json.load(f)
        self.assertEqual(res.summary, summary)
        self.assertEqual(res.metrics["sharpe"], summary["sharpe"])
        self.assertEqual(res.metrics["total_return_pct"], summary["total_return_pct"])
        try:
            import pandas  # noqa: F401
        except ImportError:
            return
        df = res.frame("trades")
        self.assertEqual(len(df), res.metrics["trades"])
        self.assertEqual(list(df.columns)[:3], ["entry_time", "exit_time", "strategy"])

    def test_sweep_results_equal_the_cli_sweep(self):
        a, b = os.path.join(self.dir, "sweep-cli"), os.path.join(self.dir, "sweep-py")
        # The module puts its log level first among the overrides (best.txt lists them).
        r = run_cli("sweep", "--config", self.config, "--set", 'engine.log_level="warn"',
                    *self.cli_set(), "--param", "strategy.fast=30,60",
                    "--param", "strategy.slow=240,480", "--jobs", "2", "--out", a)
        self.assertEqual(r.returncode, 0, r.stderr)
        s = cats.sweep(self.config, {"strategy.fast": [30, 60], "strategy.slow": [240, 480]},
                       set=self.set, jobs=2, out=b)
        for name in ("results.csv", "best.txt"):
            with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
                self.assertEqual(fa.read(), fb.read(), name)
        # The report too, but for how long decoding took.
        import re
        timing = re.compile(rb", read in [0-9.]+ s")
        with open(os.path.join(a, "report.html"), "rb") as fa, \
                open(os.path.join(b, "report.html"), "rb") as fb:
            self.assertEqual(timing.sub(b"", fa.read()), timing.sub(b"", fb.read()))
        # results.json too, but for how long the runs took.
        import json
        timing = ("decode_seconds", "run_seconds")
        with open(os.path.join(a, "results.json")) as fa, open(os.path.join(b, "results.json")) as fb:
            ja, jb = json.load(fa), json.load(fb)
        self.assertEqual({k: v for k, v in ja.items() if k not in timing},
                         {k: v for k, v in jb.items() if k not in timing})
        self.assertEqual(len(s.results), 4)
        self.assertEqual(len(s.table["sharpe"]), 4)
        self.assertEqual(s.best, s.results[0]["params"])
        self.assertEqual(s.table["sharpe"][0], s.results[0]["metrics"]["sharpe"])

    def test_load_reads_klines_exactly(self):
        bars = cats.load(self.data)
        with open(self.data) as f:
            rows = list(csv.reader(f))
        self.assertEqual(len(bars["close"]), len(rows))
        self.assertEqual(bars["open_time"][0].astype("int64"), int(rows[0][0]) * 1_000_000)
        self.assertEqual(list(bars["close"][:50]), [float(r[4]) for r in rows[:50]])
        self.assertEqual(list(bars["trades"][:50]), [int(r[8]) for r in rows[:50]])

    def test_bad_input_raises_with_the_engine_message(self):
        with self.assertRaises(ValueError) as e:
            cats.backtest(self.config, set={**self.set, "strategy.sma.fast": "ten"})
        self.assertIn("strategy.sma.fast: expected int", str(e.exception))
        self.assertIsInstance(e.exception, cats.ConfigError)
        bad = os.path.join(self.dir, "bad.toml")
        with open(bad, "w") as f:
            f.write("[backtest]\nfee_bps = \n")
        with self.assertRaises(ValueError) as e:
            cats.backtest(bad)
        self.assertIn("bad.toml:2", str(e.exception))
        with self.assertRaises(RuntimeError) as e:
            cats.load(os.path.join(self.dir, "missing.csv"))
        self.assertIn("missing.csv", str(e.exception))
        with self.assertRaises(TypeError):
            cats.backtest(self.config, set={"strategy.sma.fast": object()})

    def test_a_failing_strategy_is_reported_not_hidden(self):
        cfg = os.path.join(self.dir, "probe.toml")
        with open(cfg, "w") as f:
            f.write(f'[engine]\nplugin_dir = "{TEST_PLUGINS}"\n[data]\nsymbol = "BINANCE:BTCUSDT"\n'
                    f'files = ["{self.data}"]\n[[strategy]]\nname = "probe"\n'
                    'plugin = "probe_strategy"\n[strategy.params]\nthrow_at_bar = 10\n')
        res = cats.backtest(cfg)
        self.assertIn("strategy 'probe' failed in", res.error)
        with self.assertRaises(RuntimeError) as e:
            cats.sweep(cfg, {"strategy.throw_at_bar": [0, 10]})
        self.assertIn("1 of 2 runs failed", str(e.exception))
        s = cats.sweep(cfg, {"strategy.throw_at_bar": [0, 10]}, allow_failures=True)
        self.assertEqual(s.failed_runs, 1)
        self.assertEqual(list(s.table["status"]), ["ok", "failed"])
        self.assertTrue(np.isnan(s.table["sharpe"][1]))

    def test_the_gil_is_released_during_a_run(self):
        # While a run works in another thread, this thread keeps running Python; if the call held
        # the GIL, it could not count at all until the run returned.
        done, spins = threading.Event(), [0]
        result = {}

        def work():
            result["r"] = cats.backtest(self.config, set=self.set)
            done.set()

        t = threading.Thread(target=work)
        t.start()
        while not done.is_set():
            spins[0] += 1
        t.join()
        self.assertIn("r", result)
        self.assertGreater(spins[0], 10000)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
