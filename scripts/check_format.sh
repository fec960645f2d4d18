#!/usr/bin/env bash
# The formatting check (.clang-format: Google's style at 100 columns): lists every C++/CUDA
# source that clang-format would change and exits 1 when there is one.
#   scripts/check_format.sh [--fix] [SOURCE_DIR]
# --fix rewrites the files in place instead.
set -euo pipefail
fix=0
if [[ ${1:-} == --fix ]]; then fix=1; shift; fi
cd "${1:-$(dirname "$0")/..}"
command -v clang-format >/dev/null || { echo "check_format: clang-format is missing (scripts/install-deps.sh installs it)"; exit 1; }

mapfile -t files < <(find base kernels engine dist layers models data evaluation train pictures cli tests bench \
                       -path tests/fuzz/corpus -prune -o \
                       \( -name '*.h' -o -name '*.cpp' -o -name '*.cu' -o -name '*.cuh' -o -name '*.inc' \) -print | sort)
if [[ $fix == 1 ]]; then
  clang-format -i "${files[@]}"
  echo "formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if (( ${#bad[@]} )); then
  printf 'not formatted (scripts/check_format.sh --fix): %s\n' "${bad[@]}"
  exit 1
fi
echo "format: ${#files[@]} files as .clang-format says ($(clang-format --version | grep -o 'version [0-9.]*'))"
