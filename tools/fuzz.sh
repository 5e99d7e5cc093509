#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers: builds the libFuzzer targets with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer (CMake preset `fuzz`) and runs each one for SECONDS
# (default 30), starting from inputs made by the targets' own seed generators, what earlier runs
# found (build/fuzz/corpus/<target>, kept between runs) and, when ../shared/data is there, the
# real venue messages. A crash, a leak, a timeout or an out-of-memory stops the script; the input
# is in build/fuzz/crashes/<target>/ (add it as a regression test: tests/fuzz/README.md).
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]   (targets: see `all` below)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-30}
shift || true
all=(kline_csv trade_csv binance_message okx_message record store config text byte_source
     descriptor state indicators)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all[@]}")

cmake --preset fuzz > /dev/null
cmake --build --preset fuzz --target fuzzers

shared=../shared/data
start=$(date +%s)
for t in "${targets[@]}"; do
  bin=build/fuzz/bin/${t}_libfuzzer
  corpus=build/fuzz/corpus/$t
  crashes=build/fuzz/crashes/$t
  mkdir -p "$corpus" "$crashes"
  CATS_FUZZ_SEEDS=$corpus "$bin"  # the seed generator's inputs
  opts=(-max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$crashes/" -print_final_stats=1)
  extra=()
  case $t in
    binance_message | okx_message)
      opts+=(-dict=tests/fuzz/fuzz.dict.json)
      venue=${t%_message}
      [[ -d $shared/messages/$venue ]] && extra+=("$shared/messages/$venue")
      ;;
    config) opts+=(-dict=tests/fuzz/fuzz.dict.toml) ;;
  esac
  # New inputs go to the first folder; the others are only read.
  log=build/fuzz/$t.log
  if ! "$bin" "${opts[@]}" "$corpus" "${extra[@]}" > "$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz.sh: $t FAILED; the input is in $crashes/" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz.sh: $t: $runs inputs in ${secs} s, no crash (corpus $(ls "$corpus" | wc -l) files)"
done
echo "fuzz.sh: ${#targets[@]} targets in $(( $(date +%s) - start )) s"
