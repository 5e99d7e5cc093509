#!/usr/bin/env bash
# Downloads real monthly kline files from Binance's public data site (data.binance.vision) and
# unpacks them into data/binance/, ready for `cats backtest`. Needs internet access (the test
# machines have none, so this script is documented but not run by the test suite).
#
#   tools/fetch_binance_klines.sh BTCUSDT 1m 2024-01 2024-06        # spot, Jan..Jun 2024
#   MARKET=futures/um tools/fetch_binance_klines.sh BTCUSDT 1h 2023-01 2023-12
#
# Every archive is checked against the .CHECKSUM file Binance publishes next to it.
# `cats data download` does the same natively (resumable, tested against the fake exchange) and
# can convert to the block store; this script stays for machines without a build.
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: $0 SYMBOL INTERVAL FROM(YYYY-MM) TO(YYYY-MM)" >&2
  exit 2
fi
symbol=$1 interval=$2 from=$3 to=$4
market=${MARKET:-spot}
base="https://data.binance.vision/data/${market}/monthly/klines/${symbol}/${interval}"
out="$(dirname "$0")/../data/binance"
mkdir -p "$out"
for tool in curl unzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "$0: needs $tool" >&2; exit 1; }
done

month=$from
files=()
while [[ ! "$month" > "$to" ]]; do
  name="${symbol}-${interval}-${month}"
  if [[ ! -f "$out/$name.csv" ]]; then
    echo "fetching $name"
    curl -fsSL -o "$out/$name.zip" "$base/$name.zip"
    curl -fsSL -o "$out/$name.zip.CHECKSUM" "$base/$name.zip.CHECKSUM"
    (cd "$out" && sha256sum -c "$name.zip.CHECKSUM")
    unzip -o -q "$out/$name.zip" -d "$out"
    rm -f "$out/$name.zip" "$out/$name.zip.CHECKSUM"
  fi
  files+=("\"data/binance/$name.csv\"")
  month=$(date -d "$month-01 +1 month" +%Y-%m)
done

list=$(IFS=,; echo "${files[*]}")
echo
echo "Run a backtest on them (paths relative to the repository root):"
echo "  build/release/bin/cats backtest --config config/backtest.toml \\"
echo "    --set 'data.files=[${list}]' --set data.symbol=BINANCE:${symbol}"
