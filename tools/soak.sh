#!/usr/bin/env bash
# The soak: `cats live` against the fake exchange for MINUTES (default 30) with a fault every 2-4 s
# (drops, stalls, malformed frames, sequence gaps, bad checksums, stale snapshots, 429s, the
# process stopped as a slow consumer, hot reloads), then checks books, trades, the strategy's
# state, RSS, open files and threads (tests/integration/soak_test.cpp says what exactly).
# tools/test.sh runs a 2-minute one. Usage: tools/soak.sh [MINUTES] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-30}
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 ]] || { echo "usage: tools/soak.sh [MINUTES] [SEED]" >&2; exit 2; }
cmake --preset release > /dev/null
cmake --build --preset release
export CATS_SOAK_SECONDS=$(( minutes * 60 ))
[[ -n ${2:-} ]] && export CATS_SOAK_SEED=$2
ctest --preset soak --timeout $(( CATS_SOAK_SECONDS + 600 ))
