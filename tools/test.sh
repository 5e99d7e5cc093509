#!/usr/bin/env bash
# Set-up, the formatting check, a release build with warnings as errors and the whole test suite;
# then the unit tests and the integration tests (the live, TLS and hot-reload ones included; not
# the real-data and SDK-install groups) again under AddressSanitizer + UndefinedBehaviorSanitizer.
# This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
start=$(date +%s)

tools/check_format.sh

cmake --preset ci
cmake --build --preset ci
ctest --preset ci

cmake --preset ci-asan
cmake --build --preset ci-asan
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset ci-asan

echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
