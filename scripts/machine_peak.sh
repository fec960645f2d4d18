#!/usr/bin/env bash
# Prints this machine's peak in GFLOP/s (rounded) at T threads on a CPU path (avx2, avx512 or
# avx512bf16; default: the path BUILD_DIR/ptl uses here, as `ptl --version` says), as measured
# now by BUILD_DIR/bench/bench_peak (register-only chains; turbo clock included), for float32
# (FMAs; default) or bf16 (VDPBF16PS on avx512bf16; on avx2 and avx512, which emulate it with
# float FMAs, the FMA peak of that width). The side-by-side scripts divide achieved GFLOP/s by it.
# Usage: scripts/machine_peak.sh BUILD_DIR T [ISA] [float32|bf16]
set -euo pipefail
peak="$1/bench/bench_peak"
[ -x "$peak" ] || { echo "machine_peak.sh: $peak not found; build it (PTL_BENCH=ON) or set PEAK" >&2; exit 1; }
isa="${3:-$("$1/ptl" --version | sed -n 's/^CPU path: \([a-z0-9]*\).*/\1/p')}"
[ -n "$isa" ] || { echo "machine_peak.sh: cannot tell the CPU path from $1/ptl --version; pass it" >&2; exit 1; }
case "${4:-float32}:$isa" in
  float32:avx512bf16) name=BM_PeakFma/avx512 ;;  # its float kernels are the AVX-512F ones
  float32:*) name="BM_PeakFma/$isa" ;;
  bf16:avx512bf16) name=BM_PeakBf16/avx512bf16 ;;
  bf16:*) name="BM_PeakBf16/${isa}_emulated" ;;
  *) echo "machine_peak.sh: precision '$4': allowed: float32, bf16" >&2; exit 1 ;;
esac
out="$("$peak" --benchmark_filter="$name/.*threads:$2\$" --benchmark_format=json 2>/dev/null || true)"
[ -n "$out" ] || { echo "machine_peak.sh: bench_peak has no $name run at $2 threads (it runs 1 to the core count); set PEAK" >&2; exit 1; }
echo "$out" | "${PYTHON:-/usr/bin/python3}" -c '
import json, sys
runs = json.load(sys.stdin)["benchmarks"]
if not runs or "GFLOP/s" not in runs[0]:
    sys.exit("machine_peak.sh: bench_peak measured nothing: " + (runs[0].get("error_message", "?") if runs else "no run") + "; set PEAK")
print(round(runs[0]["GFLOP/s"]))'
