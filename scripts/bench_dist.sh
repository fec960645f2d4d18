#!/usr/bin/env bash
# Data-parallel training speed on one machine (docs/performance.md, "Data parallel"): for each
# case, a training step of the same global batch as 1 process x T threads and as P processes x
# T/P threads (`mpirun -np P ptl bench ...`, each rank taking its rows of the batch), the share
# of the step spent summing gradients over the ranks, and the time rank 0 waited for the slowest
# rank's backward before it (a barrier the bench adds to tell the two apart). With BASE=path of a ptl built without
# MPI (-DPTL_DIST=OFF), the one-process side is also timed with that binary: the cost of a
# distributed build at world size 1.
#
# Rounds alternate the sides (ptl 1 process, [BASE,] ptl P processes), so a burst of load hits
# all alike. A side's figure is the median over the rounds of its per-process median (WARMUP
# warm-up steps, then REPEAT timed ones).
#
# Usage: scripts/bench_dist.sh [BUILD_DIR]      (default: build)
# Environment: PROCS=2, THREADS=2 (cores used by each side), REPS=3 (rounds), REPEAT=3, WARMUP=1,
#              FILTER=regex over the case names, BASE=path of a ptl built with PTL_DIST=OFF.
set -euo pipefail
build="${1:-build}"
ptl="$(realpath "$build/ptl")"
PROCS="${PROCS:-2}"
THREADS="${THREADS:-2}"
REPS="${REPS:-3}"
REPEAT="${REPEAT:-3}"
WARMUP="${WARMUP:-1}"
FILTER="${FILTER:-.}"
BASE="${BASE:-}"
command -v mpirun >/dev/null || { echo "bench_dist.sh: no mpirun (scripts/install-deps.sh)" >&2; exit 1; }
per_rank=$((THREADS / PROCS))
[ "$per_rank" -ge 1 ] || { echo "bench_dist.sh: THREADS=$THREADS < PROCS=$PROCS" >&2; exit 1; }
flags=(--bind-to none)
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
[ "$PROCS" -gt "$(nproc)" ] && flags+=(--oversubscribe)

# model batch input (global batch)
CASES=(
  "resnet50 16 3x128x64"
  "mgn_ptl 16 3x384x128"
)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
median_of() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
step_ms() { sed -n 's/^median_ms: \([0-9.]*\).*/\1/p' "$1"; }

echo "ptl: $ptl ($("$ptl" --version | sed -n 's/^CPU path: //p')); $PROCS processes x $per_rank threads" \
  "vs 1 x $THREADS; $REPS rounds x ($WARMUP warm-up + $REPEAT timed steps); load at start:" \
  "$(uptime | sed 's/.*load average: //')" >&2
for round in $(seq "$REPS"); do
  i=0
  for c in "${CASES[@]}"; do
    i=$((i + 1))
    [[ "$c" =~ $FILTER ]] || continue
    read -r model batch input <<<"$c"
    common=(bench --model "$model" --batch "$batch" --input "$input" --train-step
      --repeat "$REPEAT" --warmup "$WARMUP")
    OMP_WAIT_POLICY=passive "$ptl" "${common[@]}" --threads "$THREADS" >"$tmp/one.$i.$round"
    if [ -n "$BASE" ]; then
      OMP_WAIT_POLICY=passive "$BASE" "${common[@]}" --threads "$THREADS" >"$tmp/base.$i.$round"
    fi
    mpirun -np "$PROCS" "${flags[@]}" -x OMP_WAIT_POLICY=passive \
      "$ptl" "${common[@]}" --threads "$per_rank" >"$tmp/dp.$i.$round" 2>"$tmp/dp.$i.$round.err"
    echo "round $round: $model: 1 process $(step_ms "$tmp/one.$i.$round") ms," \
      "${BASE:+no-MPI build $(step_ms "$tmp/base.$i.$round") ms, }$PROCS processes" \
      "$(step_ms "$tmp/dp.$i.$round") ms" >&2
  done
done

printf '%-28s %12s %12s %9s %10s %10s' "case (global batch 16)" "1x${THREADS} ms" "${PROCS}x${per_rank} ms" "ratio" "grad sum" "wait ms"
[ -n "$BASE" ] && printf ' %14s %9s' "no-MPI 1x${THREADS}" "dist/base"
printf '\n'
i=0
for c in "${CASES[@]}"; do
  i=$((i + 1))
  [[ "$c" =~ $FILTER ]] || continue
  read -r model batch input <<<"$c"
  one=$(for r in $(seq "$REPS"); do step_ms "$tmp/one.$i.$r"; done | median_of)
  dp=$(for r in $(seq "$REPS"); do step_ms "$tmp/dp.$i.$r"; done | median_of)
  share=$(for r in $(seq "$REPS"); do sed -n 's/.*gradient sum .*(\([0-9.]*\)%).*/\1/p' "$tmp/dp.$i.$r"; done | median_of)
  wait=$(for r in $(seq "$REPS"); do sed -n 's/.*after \([0-9.]*\) ms waiting.*/\1/p' "$tmp/dp.$i.$r"; done | median_of)
  # ratio: throughput of P processes over 1 process (1.00 = as fast; the target is >= 0.90)
  printf '%-28s %12.1f %12.1f %9.3f %9.1f%% %10.1f' "$model $input" "$one" "$dp" \
    "$(awk -v a="$one" -v b="$dp" 'BEGIN {print a / b}')" "$share" "$wait"
  if [ -n "$BASE" ]; then
    base=$(for r in $(seq "$REPS"); do step_ms "$tmp/base.$i.$r"; done | median_of)
    printf ' %14.1f %9.3f' "$base" "$(awk -v a="$one" -v b="$base" 'BEGIN {print a / b}')"
  fi
  printf '\n'
done
