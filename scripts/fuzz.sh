#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers (docs/reliability.md, "Fuzzing").
#   scripts/fuzz.sh [SECONDS] [RUNS] [TARGET...]
# Builds the libFuzzer targets with clang in build-fuzz/ (ASan + UBSan) and runs them (all, or
# the TARGETs named: json, image, ...) one after the other, each from a copy of its seed corpus
# in tests/fuzz/corpus/<target>/, until SECONDS (default 20) or RUNS executions (default: no
# limit). Prints per target the executions done and the coverage reached (libFuzzer's `cov`,
# instrumented edges); exits non-zero on a finding, whose input is kept under
# build-fuzz/fuzz-runs/<target>/findings/. Without clang it says so in one line and exits 77
# (skipped).
# CMAKE_BUILD_PARALLEL_LEVEL sets the build's jobs.
set -euo pipefail
secs=${1:-20}
runs=${2:--1}
shift $(($# < 2 ? $# : 2))
cd "$(dirname "$0")/.."
if ! command -v clang++ >/dev/null; then
  echo "fuzz: skipped (clang++ not found; libFuzzer needs clang)"
  exit 77  # ctest's fuzz_short: skipped, not passed
fi
build=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DPTL_FUZZ=ON -DPTL_CUDA=OFF -DPTL_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzz_targets

# No allocation stacks: the YAML and image targets allocate on every run and go ~35% faster
# without them. Rerun a finding's input (build-fuzz/tests/fuzz/fuzz_<target> FILE) for full reports.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0}
findings=0
names=("$@")
[ ${#names[@]} -gt 0 ] || for src in tests/fuzz/fuzz_*.cpp; do names+=("$(basename "$src" .cpp | sed 's/^fuzz_//')"); done
for name in "${names[@]}"; do
  target=fuzz_$name
  work=$build/fuzz-runs/$name
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/findings"
  cp tests/fuzz/corpus/"$name"/* "$work/corpus/"
  start=$(date +%s)
  rc=0
  "$build/tests/fuzz/$target" "$work/corpus" -max_total_time="$secs" -runs="$runs" \
    -artifact_prefix="$work/findings/" -print_final_stats=1 >"$work/log.txt" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - start))
  # The final statistics when the run ended normally, else the last progress line.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt")
  [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$work/log.txt" | tail -1 | tr -d '#')
  cov=$(grep -o ' cov: [0-9]*' "$work/log.txt" | tail -1 | tr -dc 0-9)
  printf '%-12s %9s executions in %4d s, coverage %s edges' "$name" "${execs:-?}" "$elapsed" "${cov:-?}"
  # libFuzzer keeps an input that took over 10 s (-report_slow_units) as slow-unit-*, and on a
  # shared machine a stall can do that. Such an input is a finding only if it is slow run alone.
  for slow in "$work"/findings/slow-unit-*; do
    [ -e "$slow" ] || continue
    t0=$(date +%s%N)
    "$build/tests/fuzz/$target" "$slow" >/dev/null 2>&1 || true
    ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$ms" -lt 10000 ]; then
      mkdir -p "$work/slow-under-load"
      mv "$slow" "$work/slow-under-load/"
      printf ' (a slow unit, %d ms alone: kept in %s, not a finding)' "$ms" "$work/slow-under-load"
    fi
  done
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/findings")" ]; then
    findings=1
    echo ": FINDING (exit $rc), input in $work/findings/, log $work/log.txt"
    grep -m1 -A12 -E '^==[0-9]+==ERROR|runtime error|terminate called|deadly signal' "$work/log.txt" || tail -20 "$work/log.txt"
  else
    echo ": ok"
  fi
done
exit "$findings"
