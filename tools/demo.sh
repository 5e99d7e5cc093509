#!/usr/bin/env bash
# Set-up, release build, sample data, and the demo backtest of the reference plugin.
# Results go to the terminal and to out/demo/ (summary.json, fills.csv, trades.csv, equity.csv, report.html).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
sample=data/sample/BTCUSDT-1m-2024.csv
if [[ ! -f $sample ]]; then
  build/release/bin/cats generate --out "$sample" --start 2024-01-01 --days 366 --seed 42
fi
build/release/bin/cats backtest --config config/backtest.toml --out out/demo "$@"
