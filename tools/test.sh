#!/usr/bin/env bash
# Set-up, the formatting check, a release build with warnings as errors and the whole test suite,
# and a 2-minute soak under faults (tools/soak.sh runs it longer); then the unit tests and the
# integration tests (the live, TLS and hot-reload ones included; not the real-data and SDK-install
# groups) again under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer on); the
# threaded parts (live sessions, hot reload, execution, the feed queue) under ThreadSanitizer; and
# 20 s of coverage-guided fuzzing per fuzz target (tools/fuzz.sh, clang). This is what CI runs
# (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
start=$(date +%s)

tools/check_format.sh

cmake --preset ci
cmake --build --preset ci
ctest --preset ci
CATS_SOAK_SECONDS=120 ctest --preset ci-soak

cmake --preset ci-asan
cmake --build --preset ci-asan
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset ci-asan

cmake --preset tsan
cmake --build --preset tsan
ctest --preset tsan

tools/fuzz.sh 20

echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
