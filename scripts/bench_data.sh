#!/usr/bin/env bash
# Data-pipeline speed per core: ptl (bench_data, already built) beside torchvision + PIL on the
# same Market-sized JPEGs (128x64, written by `ptl synth-reid`): decode + resize to 256x128 +
# flip + random erasing + normalise, one thread each, in the same run.
#
# Usage: scripts/bench_data.sh [BUILD_DIR]      (default: build)
# Environment: IMAGES=folder of .jpg (default: a fresh synthetic Market-1501 training folder),
#              REPS=3, PYTHON=interpreter with torchvision and PIL (default: scripts/bench-env.sh's,
#              torchvision 0.29.2, when made, else Debian's: scripts/bench_python.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
bench="$build/bench/bench_data"
ptl="$build/ptl"
[ -x "$bench" ] && [ -x "$ptl" ] || { echo "bench_data.sh: build the bench_data and ptl targets in $build first" >&2; exit 1; }
REPS="${REPS:-3}"
source "$here/bench_python.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ -z "${IMAGES:-}" ]; then
  "$ptl" synth-reid --out "$tmp/synth" --ids 200 --seed 0 >/dev/null
  IMAGES="$tmp/synth/bounding_box_train"
fi
echo "images: $(ls "$IMAGES" | wc -l) JPEGs in $IMAGES" >&2

PTL_BENCH_IMAGES="$IMAGES" PTL_NUM_THREADS=1 "$bench" --benchmark_repetitions="$REPS" \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$tmp/ptl.json"
"$PYTHON" "$here/bench_data_torchvision.py" "$IMAGES" --repeats "$REPS" >"$tmp/tv.json"

"$PYTHON" - "$tmp/ptl.json" "$tmp/tv.json" <<'PY'
import json, sys
import PIL, torch, torchvision
print(f"ptl beside torchvision {torchvision.__version__} (PyTorch {torch.__version__}) + PIL {PIL.__version__}; uint8 decode, float32 tensors")
ptl = json.load(open(sys.argv[1]))
tv = json.load(open(sys.argv[2]))
rate = {}
for b in ptl["benchmarks"]:
    if b.get("aggregate_name") == "median":
        rate[b["run_name"]] = b["items_per_second"]
print(f"{'stage (one thread)':40s} {'images/s':>10s}")
for name, r in rate.items():
    print(f"  ptl {name:36s} {r:10.0f}")
print(f"  torchvision+PIL pipeline{'':16s} {tv['images_per_second']:10.0f}")
p = rate.get("BM_pipeline_one_thread")
if p:
    print(f"ptl / torchvision per core: {p / tv['images_per_second']:.2f}x")
PY
