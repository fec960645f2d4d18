#!/usr/bin/env bash
# Runs one of the studies shipped as configs/study_NAME.yaml, from the repository root, and
# records how it ran beside its results:
#   scripts/run_study.sh synth_shift|fashion_transfer [BUILD_DIR] [ptl study options]
# Writes studies/NAME/ (or $STUDY_OUT, for other arms than the config's): every run's folder, study.json, study.png, table.txt (the printed table)
# and run.txt (the command, commit, machine, CPU path, threads and wall time). Running it again
# skips finished runs and resumes a stopped one (ptl study), so it can be stopped at any time.
set -euo pipefail
name="${1:?usage: scripts/run_study.sh synth_shift|fashion_transfer [BUILD_DIR] [options]}"
shift
cd "$(dirname "$0")/.."
build=build
if [ $# -gt 0 ] && [ -x "$1/ptl" ]; then build="$1"; shift; fi
config="configs/study_$name.yaml"
[ -f "$config" ] || { echo "run_study.sh: no $config (studies: synth_shift, fashion_transfer)" >&2; exit 2; }
out="${STUDY_OUT:-studies/$name}"
mkdir -p "$out"
if [ "$name" = synth_shift ]; then  # the two domains of `ptl demo`, at its size
  for domain in source target; do
    [ -d "data/synth_$domain/bounding_box_train" ] ||
      "$build/ptl" synth-reid --out "data/synth_$domain" --ids 64 --domain "$domain"
  done
fi
start=$(date +%s)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
"$build/ptl" study --config "$config" --out "$out" "$@" | tee "$out/table.txt"
wall=$(($(date +%s) - start))
{
  echo "command: scripts/run_study.sh $name $*"
  echo "commit: $commit"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  echo "$("$build/ptl" --version | tail -1), threads: ${PTL_NUM_THREADS:-all cores}"
  echo "wall time of this invocation: $((wall / 60)) min $((wall % 60)) s (finished runs are skipped)"
} > "$out/run.txt"
cat "$out/run.txt"
