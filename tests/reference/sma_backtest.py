#!/usr/bin/env python3
"""An independent reference backtest of the SMA crossover, written from the rules in docs/fill_rules.md and docs/metrics.md
("Fill rules" and "Metrics"), sharing no code with the engine. Money is exact (decimal.Decimal);
the strategy's sizing uses floats the way the reference plugin does.

    sma_backtest.py FILE [FILE...] --fast 10 --slow 30 [--fraction 1.0] [--allow-short]
                    [--fee-bps 10] [--slippage-bps 0] [--fill next_open|close]
                    [--cash 10000] [--tick 0.01] [--lot 0.00001]

Prints a JSON object with the same keys as `cats backtest --json`.
"""
import argparse
import json
import math
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, getcontext

getcontext().prec = 60
E8 = Decimal("0.00000001")
YEAR_NS = 365 * 86400 * 10**9


def q8(x, mode):
    return x.quantize(E8, rounding=mode)


def to_step(x, step, mode):
    return (x / step).to_integral_value(rounding=mode) * step


def read_bars(paths):
    bars = []
    for path in paths:
        with open(path) as f:
            for n, line in enumerate(f):
                line = line.strip()
                if not line or (n == 0 and not line[0].isdigit()):
                    continue
                c = line.split(",")
                ot, ct = int(c[0]), int(c[6])
                unit = 1000 if ot >= 10**14 else 1_000_000  # ns per file unit
                bars.append({
                    "open_ns": ot * unit,
                    "end_ns": ct * unit + unit,  # the bar is known when its interval ends
                    "open": Decimal(c[1]), "close": Decimal(c[4]),
                })
    bars.sort(key=lambda b: b["end_ns"])
    return bars


class Account:
    def __init__(self, cash, fee, slip, tick, lot):
        self.cash, self.fee, self.slip, self.tick, self.lot = cash, fee, slip, tick, lot
        self.pos = Decimal(0)
        self.mark = Decimal(0)
        self.fees = Decimal(0)
        self.trades = []
        self.trade = None  # open round trip: dict(flow, fees, entry_ns)
        self.fills = 0

    def equity(self):
        return self.cash + q8(self.pos * self.mark, ROUND_HALF_UP)

    def fill_market(self, side, qty, base, ts):
        # Slippage against the order, then the tick against the order.
        if side > 0:
            price = to_step(q8(base * (1 + self.slip), ROUND_CEILING), self.tick, ROUND_CEILING)
        else:
            price = to_step(q8(base * (1 - self.slip), ROUND_FLOOR), self.tick, ROUND_FLOOR)
        qty = to_step(qty, self.lot, ROUND_DOWN)
        # Buying power: closing is free; opening needs equity x leverage (1) for position + fee.
        closing = min(qty, abs(self.pos)) if self.pos != 0 and (self.pos > 0) != (side > 0) else Decimal(0)
        opening = qty - closing
        if opening > 0:
            closing_fee = q8(q8(closing * price, ROUND_HALF_UP) * self.fee, ROUND_CEILING)
            eq_at_price = self.cash + q8(self.pos * price, ROUND_HALF_UP) - closing_fee
            left = abs(self.pos) - closing
            headroom = eq_at_price - q8(left * price, ROUND_CEILING)
            unit_cost = price * (1 + self.fee)
            afford = Decimal(0)
            if headroom > 0:
                afford = to_step(q8(headroom / unit_cost, ROUND_FLOOR), self.lot, ROUND_DOWN)
            opening = min(opening, afford)
        qty = closing + opening
        if qty <= 0:
            return
        notional = q8(qty * price, ROUND_HALF_UP)
        fee = q8(notional * self.fee, ROUND_CEILING)
        self.fills += 1
        self.fees += fee
        self.cash -= side * notional + fee
        if self.mark == 0:  # marks come from market data; a fill only stands in for none
            self.mark = price
        # Round trips: split into the closing and the opening part, fee pro rata.
        fee_close = fee if opening == 0 else (q8(fee * closing / qty, ROUND_HALF_UP) if closing else Decimal(0))
        if closing > 0:
            self.trade["flow"] -= side * q8(closing * price, ROUND_HALF_UP)
            self.trade["fees"] += fee_close
            self.trade["closed_qty"] += closing
            self.pos += side * closing
            if self.pos == 0:
                t = self.trade
                pnl = t["flow"] - t["fees"]
                self.trades.append({"pnl": pnl, "ret": float(pnl) / float(t["entry_notional"]) * 100,
                                    "dur": ts - t["entry_ns"]})
                self.trade = None
        if opening > 0:
            n_open = q8(opening * price, ROUND_HALF_UP)
            if self.pos == 0:
                self.trade = {"flow": Decimal(0), "fees": Decimal(0), "entry_ns": ts,
                              "entry_notional": Decimal(0), "closed_qty": Decimal(0)}
            self.trade["flow"] -= side * n_open
            self.trade["fees"] += fee - fee_close
            self.trade["entry_notional"] += n_open
            self.pos += side * opening


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--fast", type=int, default=10)
    ap.add_argument("--slow", type=int, default=30)
    ap.add_argument("--fraction", type=float, default=1.0)
    ap.add_argument("--allow-short", action="store_true")
    ap.add_argument("--fee-bps", type=str, default="10")
    ap.add_argument("--slippage-bps", type=str, default="0")
    ap.add_argument("--fill", choices=["next_open", "close"], default="next_open")
    ap.add_argument("--cash", type=str, default="10000")
    ap.add_argument("--tick", type=str, default="0.01")
    ap.add_argument("--lot", type=str, default="0.00001")
    a = ap.parse_args()

    bars = read_bars(a.files)
    acct = Account(Decimal(a.cash), Decimal(a.fee_bps) / 10000, Decimal(a.slippage_bps) / 10000,
                   Decimal(a.tick), Decimal(a.lot))
    closes = []
    prev_diff, have_prev = 0, False
    pending = None  # (side, qty) waiting for the next open
    equity = [acct.equity()]
    exposed = 0

    for b in bars:
        if pending is not None:
            acct.fill_market(pending[0], pending[1], b["open"], b["open_ns"])
            pending = None
        acct.mark = b["close"]
        # The strategy sees the closed bar.
        closes.append(b["close"])
        order = None
        if len(closes) >= a.slow:
            fast = sum(closes[-a.fast:]) / a.fast
            slow = sum(closes[-a.slow:]) / a.slow
            diff = (fast > slow) - (fast < slow)
            if have_prev:
                direction = None
                if prev_diff <= 0 and diff > 0:
                    direction = 1
                elif prev_diff >= 0 and diff < 0:
                    direction = -1 if a.allow_short else 0
                if direction is not None:
                    want = Decimal(0)
                    if direction != 0:
                        eq = float(acct.equity())
                        raw = round(eq * a.fraction / float(b["close"]) * 1e8)
                        want = to_step(Decimal(raw) * E8, acct.lot, ROUND_DOWN) * direction
                    delta = want - acct.pos
                    if delta != 0:
                        order = (1 if delta > 0 else -1, abs(delta))
            prev_diff, have_prev = diff, True
        if order is not None:
            if a.fill == "close":
                acct.fill_market(order[0], order[1], b["close"], b["end_ns"])
            else:
                pending = order
        equity.append(acct.equity())
        exposed += acct.pos != 0

    # ---- metrics, as docs/metrics.md defines them ----
    n = len(bars)
    e0, en = equity[0], equity[-1]
    rets = [float(int(equity[i] / E8)) / float(int(equity[i - 1] / E8)) - 1 for i in range(1, n + 1)]
    mean = sum(rets) / n
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / (n - 1))
    dd = math.sqrt(sum(min(r, 0.0) ** 2 for r in rets) / (n - 1))
    interval = bars[0]["end_ns"] - bars[0]["open_ns"]
    ann = math.sqrt(YEAR_NS / interval)
    peak, max_dd = e0, 0.0
    for e in equity:
        peak = max(peak, e)
        max_dd = max(max_dd, (1 - float(e) / float(peak)) * 100)
    years = (bars[-1]["end_ns"] - bars[0]["open_ns"]) / YEAR_NS
    total = (float(en) / float(e0) - 1) * 100
    cagr = ((float(en) / float(e0)) ** (1 / years) - 1) * 100
    wins = [t for t in acct.trades if t["pnl"] > 0]
    losses = [t for t in acct.trades if t["pnl"] < 0]
    gp = sum(t["pnl"] for t in wins)
    gl = -sum(t["pnl"] for t in losses)
    nt = len(acct.trades)
    out = {
        "bars": n,
        "trades": nt,
        "final_equity": str(en),
        "total_return_pct": total,
        "cagr_pct": cagr,
        "max_drawdown_pct": max_dd,
        "sharpe": mean / sd * ann,
        "sortino": mean / dd * ann,
        "calmar": cagr / max_dd,
        "volatility_pct": sd * ann * 100,
        "win_rate_pct": len(wins) / nt * 100 if nt else None,
        "profit_factor": float(gp) / float(gl) if gl else None,
        "avg_trade_pnl": float(sum(t["pnl"] for t in acct.trades)) / nt if nt else None,
        "exposure_pct": exposed / n * 100,
        "fees_paid": str(acct.fees),
        "fills": acct.fills,
        "buy_hold_return_pct": (float(bars[-1]["close"]) / float(bars[0]["open"]) - 1) * 100,
        "open_position": str(acct.pos),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
