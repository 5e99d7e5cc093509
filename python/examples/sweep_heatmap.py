"""A parameter sweep from Python: the SMA crossover's fast x slow grid on the bundled sample data,
ranked by Sharpe, shown as a heat map (matplotlib when installed, else a text table).

    PYTHONPATH=build/release/python python3 python/examples/sweep_heatmap.py [--end 2024-04-01]
"""
import argparse
import os

import numpy as np

import cats

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--config", default=os.path.join(here, "..", "..", "config", "backtest.toml"))
parser.add_argument("--data", help="klines file instead of the config's (e.g. from cats generate)")
parser.add_argument("--end", default="2024-04-01", help="last day of data to use")
parser.add_argument("--png", default="sweep_heatmap.png", help="where to save the heat map")
args = parser.parse_args()

fast = [360, 720, 1440]
slow = [2880, 4320, 7200]
overrides = {"backtest.end": args.end}
if args.data:
    overrides["data.files"] = [os.path.abspath(args.data)]
s = cats.sweep(args.config, {"strategy.fast": fast, "strategy.slow": slow}, set=overrides,
               metric="sharpe")
print(f"{len(s.results)} runs; best {s.best}")

# The ranked table back onto the grid.
grid = np.full((len(slow), len(fast)), np.nan)
for f, sl, sharpe in zip(s.table["strategy.sma.fast"], s.table["strategy.sma.slow"],
                         s.table["sharpe"]):
    grid[slow.index(int(sl)), fast.index(int(f))] = sharpe

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("sharpe (rows: slow, columns: fast)")
    print("slow\\fast " + " ".join(f"{f:>8}" for f in fast))
    for i, sl in enumerate(slow):
        print(f"{sl:>9} " + " ".join(f"{v:8.3f}" for v in grid[i]))
else:
    fig, ax = plt.subplots(figsize=(6, 4))
    im = ax.imshow(grid, origin="lower", cmap="RdYlGn")
    ax.set_xticks(range(len(fast)), [str(f) for f in fast])
    ax.set_yticks(range(len(slow)), [str(v) for v in slow])
    ax.set_xlabel("fast (bars)")
    ax.set_ylabel("slow (bars)")
    fig.colorbar(im, label="Sharpe")
    fig.savefig(args.png, dpi=120, bbox_inches="tight")
    print(f"heat map saved to {args.png}")
