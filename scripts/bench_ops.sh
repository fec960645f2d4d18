#!/usr/bin/env bash
# Runs the CPU GEMM/conv2d benchmarks of ptl (bench_ops, already built) and of PyTorch on the
# same shapes and thread counts, and prints them side by side.
#
# The two alternate for REPS rounds (one ptl pass, then one PyTorch pass) and the table shows
# each side's median over the rounds, so a burst of load from other users of the machine hits
# both sides alike instead of one.
#
# Usage: scripts/bench_ops.sh [BUILD_DIR]      (default: build)
# Environment: THREADS="1 2" (thread counts), REPS=5 (rounds), FILTER=regex (cases, as
#              bench_ops names them, e.g. 'conv_fwdbwd'), PEAKS="1:G 2:G" (GFLOP/s peak per
#              thread count; default: scripts/machine_peak.sh for each count in THREADS),
#              PYTHON=interpreter of the PyTorch side (default: scripts/bench-env.sh's PyTorch
#              2.15 when made, else Debian's 1.13: scripts/bench_python.sh). Both sides float32.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
bench="$build/bench/bench_ops"
[ -x "$bench" ] || { echo "bench_ops.sh: $bench not found; build the bench_ops target first" >&2; exit 1; }
THREADS="${THREADS:-1 2}"
REPS="${REPS:-5}"
FILTER="${FILTER:-.}"
source "$here/bench_python.sh"
if [ -z "${PEAKS:-}" ]; then
  PEAKS="$(for t in $THREADS; do echo -n "$t:$("$here/machine_peak.sh" "$build" "$t") "; done)"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

threads_re="$(echo "$THREADS" | tr ' ' '|')"
"$bench" --list_shapes >"$tmp/shapes.json"
version="$(torch_version "$PYTHON")"
echo "ptl: $bench; PyTorch $version ($PYTHON);" \
  "threads $THREADS; $REPS rounds; peak GFLOP/s per thread count: $PEAKS" >&2
for round in $(seq "$REPS"); do
  echo "round $round/$REPS" >&2
  "$bench" --benchmark_filter="($FILTER).*/threads:($threads_re)/" --benchmark_format=json \
    >"$tmp/ptl.$round.json"
  # shellcheck disable=SC2086
  "$PYTHON" "$here/bench_ops_torch.py" "$tmp/shapes.json" --threads $THREADS --repeats 1 \
    --filter "$FILTER" >"$tmp/torch.$round.json"
done

"$PYTHON" - "$tmp" "$REPS" "$PEAKS" "$version" <<'EOF'
import json, re, statistics, sys
tmp, rounds, version = sys.argv[1], int(sys.argv[2]), sys.argv[4]
peaks = {int(t): float(g) for t, g in (p.split(":") for p in sys.argv[3].split())}
scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
ptl, torch, flops = {}, {}, {}
for r in range(1, rounds + 1):
    for b in json.load(open(f"{tmp}/ptl.{r}.json"))["benchmarks"]:
        key = b["name"].replace("/real_time", "")
        ms = b["real_time"] * scale[b["time_unit"]]
        ptl.setdefault(key, []).append(ms)
        flops[key] = b["GFLOP/s"] * ms * 1e-3  # GFLOP per call
    for key, ms in json.load(open(f"{tmp}/torch.{r}.json")).items():
        torch.setdefault(key, []).append(ms)
print(f"ptl float32 beside PyTorch {version} float32; ratio = ptl / PyTorch; GFLOP/s and % of the float32 peak: ptl's")
print(f"{'case':<48} {'ptl ms':>9} {'torch ms':>9} {'ratio':>6} {'GFLOP/s':>8} {'% peak':>7}")
for key, samples in ptl.items():
    ms = statistics.median(samples)
    gflops = flops[key] / ms * 1e3
    ref = statistics.median(torch[key]) if key in torch else None
    ref_s = f"{ref:9.2f}" if ref else f"{'-':>9}"
    ratio_s = f"{ms / ref:6.2f}" if ref else f"{'-':>6}"
    peak = peaks[int(re.search(r"threads:(\d+)", key).group(1))]
    print(f"{key:<48} {ms:9.2f} {ref_s} {ratio_s} {gflops:8.1f} {100 * gflops / peak:6.1f}%")
EOF
