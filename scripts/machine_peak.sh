#!/usr/bin/env bash
# Prints this machine's float32 FMA peak in GFLOP/s (rounded) at T threads, as measured now by
# BUILD_DIR/bench/bench_peak (register-only FMA chains; turbo clock included). The side-by-side
# scripts divide achieved GFLOP/s by it.
# Usage: scripts/machine_peak.sh BUILD_DIR T
set -euo pipefail
peak="$1/bench/bench_peak"
[ -x "$peak" ] || { echo "machine_peak.sh: $peak not found; build it (PTL_BENCH=ON) or set PEAK" >&2; exit 1; }
out="$("$peak" --benchmark_filter="threads:$2\$" --benchmark_format=json 2>/dev/null || true)"
[ -n "$out" ] || { echo "machine_peak.sh: bench_peak has no run at $2 threads (it runs 1 to the core count); set PEAK" >&2; exit 1; }
echo "$out" | "${PYTHON:-/usr/bin/python3}" -c '
import json, sys
run = json.load(sys.stdin)["benchmarks"][0]
if "GFLOP/s" not in run:
    sys.exit("machine_peak.sh: bench_peak measured nothing: " + run.get("error_message", "?") + "; set PEAK")
print(round(run["GFLOP/s"]))'
