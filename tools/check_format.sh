#!/usr/bin/env bash
# Fails (and lists the files) when a C or C++ file of the repository differs from what
# clang-format makes of it with the repository's .clang-format. Fix with: tools/check_format.sh --fix
# Files under tests/layout/ are fixtures for other checks and are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=${CLANG_FORMAT:-clang-format}
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | grep -v '^tests/layout/')
else  # an unpacked archive
  mapfile -t files < <(find engine sdk plugins tests tools -name '*.[ch]' -o -name '*.[ch]pp' |
    grep -v '^tests/layout/' | sort)
fi
if [[ ${1:-} == --fix ]]; then
  "$clang_format" -i "${files[@]}"
  exit 0
fi
# One run over every file; each unformatted place is reported as "file:line:col: error: ...".
mapfile -t bad < <("$clang_format" --dry-run --Werror "${files[@]}" 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "check_format: ${#bad[@]} file(s) not formatted with .clang-format (run tools/check_format.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
