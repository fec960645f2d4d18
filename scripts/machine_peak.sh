#!/usr/bin/env bash
# Prints this machine's float32 FMA peak in GFLOP/s (rounded) at T threads, as measured now by
# BUILD_DIR/bench/bench_peak (register-only FMA chains; turbo clock included). The side-by-side
# scripts divide achieved GFLOP/s by it.
# Usage: scripts/machine_peak.sh BUILD_DIR T
set -euo pipefail
peak="$1/bench/bench_peak"
[ -x "$peak" ] || { echo "machine_peak.sh: $peak not found; build it (PTL_BENCH=ON) or set PEAK" >&2; exit 1; }
"$peak" --benchmark_filter="threads:$2\$" --benchmark_format=json 2>/dev/null |
  "${PYTHON:-/usr/bin/python3}" -c '
import json, sys
runs = json.load(sys.stdin)["benchmarks"]
if not runs or "GFLOP/s" not in runs[0]:
    why = runs[0].get("error_message", "?") if runs else "no run at that thread count (more threads than cores?)"
    sys.exit("machine_peak.sh: bench_peak measured nothing: " + why + "; set PEAK")
print(round(runs[0]["GFLOP/s"]))'
