#!/usr/bin/env bash
# Set-up, release build and the whole test suite; then the unit tests and the integration tests
# (the live, TLS and hot-reload ones included; not the real-data and SDK-install groups) again
# under AddressSanitizer + UndefinedBehaviorSanitizer. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
start=$(date +%s)

cmake --preset release
cmake --build --preset release
ctest --preset release

cmake --preset asan-ubsan
cmake --build --preset asan-ubsan
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset asan-ubsan

echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
