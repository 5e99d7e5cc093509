#!/usr/bin/env python3
"""The NumPy peer of cats_sweep_bench: the same SMA-crossover grid over the same kline file, done
the tuned vectorised way (each distinct SMA once, from one cumulative sum; every combination's
long/flat position, returns, fees and Sharpe as whole-array operations). Only the sweep is timed,
not reading the file: NumPy works on data already in memory.

Usage: numpy_sweep.py KLINES.csv FAST_FROM:FAST_TO:STEP SLOW_FROM:SLOW_TO:STEP FEE_BPS [REPEAT]
Prints one JSON object: combinations, seconds (best of REPEAT), per_combination_s, best Sharpe.
"""
import json
import sys
import time

import numpy as np


def grid(spec):
    a, b, step = (int(x) for x in spec.split(":"))
    return list(range(a, b + 1, step))


def sweep(opens, closes, fasts, slows, fee):
    cs = np.concatenate(([0.0], np.cumsum(closes)))
    n = len(closes)
    smas = {}
    for w in sorted(set(fasts) | set(slows)):
        s = np.full(n, np.nan)
        s[w - 1:] = (cs[w:] - cs[:-w]) / w
        smas[w] = s
    # Decided at bar i's close, held from bar i+1's open to bar i+2's open (next-open fills).
    step_ret = np.zeros(n)
    step_ret[1:-1] = opens[2:] / opens[1:-1] - 1.0
    best = -np.inf
    minutes_per_year = 365.0 * 1440.0
    for f in fasts:
        for s in slows:
            if f >= s:
                continue
            pos = np.zeros(n)
            pos[1:] = (smas[f][:-1] > smas[s][:-1])  # NaN compares False: flat until ready
            changes = np.abs(np.diff(pos, prepend=0.0))
            r = pos * step_ret - changes * fee
            sd = r.std()
            sharpe = r.mean() / sd * np.sqrt(minutes_per_year) if sd > 0 else 0.0
            best = max(best, sharpe)
    return best


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    data = np.loadtxt(sys.argv[1], delimiter=",", usecols=(1, 4))
    opens, closes = data[:, 0].copy(), data[:, 1].copy()
    fasts, slows = grid(sys.argv[2]), grid(sys.argv[3])
    fee = float(sys.argv[4]) / 1e4
    repeat = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    combos = sum(1 for f in fasts for s in slows if f < s)
    best_t, best = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        best = sweep(opens, closes, fasts, slows, fee)
        best_t = min(best_t, time.perf_counter() - t0)
    print(json.dumps({"combinations": combos, "bars": len(closes), "seconds": best_t,
                      "per_combination_s": best_t / combos, "best_sharpe": best}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
