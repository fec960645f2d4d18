#!/usr/bin/env bash
# Runs `ptl demo` for several seeds and prints mean and spread of each table row.
# Usage: scripts/demo_seeds.sh [BUILD_DIR] [SEEDS...]   (default: build 0 1 2)
# Each seed's outputs go to demo_s<seed>/ (logs in demo_s<seed>.log); a seed whose log already
# holds a finished table is not run again.
set -euo pipefail
build="${1:-build}"
[ $# -gt 0 ] && shift
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(0 1 2)
for s in "${seeds[@]}"; do
  if ! grep -q "^curves:" "demo_s$s.log" 2>/dev/null; then
    "$build/ptl" demo --out "demo_s$s" --seed "$s" > "demo_s$s.log" 2>&1
  fi
done
# Table rows look like: "<name>  12.34%  23.45%  34.56%  100.0s"; summarise per row name.
for s in "${seeds[@]}"; do
  sed -n '/^run (target domain test set)/,/^curves:/p' "demo_s$s.log" | grep '%' | sed 's/   (source test set)//'
done | awk '
  { n = NF; name = $1; for (i = 2; i <= n - 4; i++) name = name " " $i
    if (!(name in cnt)) order[++rows] = name
    cnt[name]++
    for (k = 0; k < 4; k++) { v = $(n - 3 + k); gsub(/[%s]/, "", v); s[name, k] += v; q[name, k] += v * v } }
  END {
    printf "%-40s %16s %16s %16s %14s   (mean +- std over seeds)\n", "run", "mAP", "Rank-1", "Rank-5", "time s"
    for (r = 1; r <= rows; r++) { name = order[r]; c = cnt[name]; printf "%-40s", name
      for (k = 0; k < 4; k++) { m = s[name, k] / c; v = q[name, k] / c - m * m; if (v < 0) v = 0
        printf " %9.2f +- %4.2f", m, sqrt(v) }
      printf "   n=%d\n", c } }'
