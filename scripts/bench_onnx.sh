#!/usr/bin/env bash
# ONNX Runtime beside ptl on one model's inference (docs/deploy.md, "Speed"): the model exported
# by `ptl export` (seeded random weights: the time does not depend on them), then rounds that
# alternate `ptl bench --inference` and ONNX Runtime on the same batch, input and thread count,
# so that load from other processes falls on both sides alike. Each side: 1 warm-up, then the
# median of 5 timed forwards; one line per round.
#   scripts/bench_onnx.sh [MODEL] [BATCH] [INPUT] [THREADS] [ROUNDS]
#   defaults: resnet50 16 3x256x128 2 3; PTL=path/to/ptl (default build/ptl);
#   ONNX Runtime from scripts/onnx-env.sh's .venv-onnx
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-resnet50} batch=${2:-16} input=${3:-3x256x128} threads=${4:-2} rounds=${5:-3}
ptl=${PTL:-$root/build/ptl}
python=$root/.venv-onnx/bin/python
[[ -x $python ]] || { echo "bench_onnx: no $python; run scripts/onnx-env.sh" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$ptl" export --model "$model" --input "$input" --batch "$batch" --out "$work/m.onnx" >/dev/null
echo "$model, batch $batch, input $input, $threads threads: median of 5 forwards (ms)"
for r in $(seq "$rounds"); do
  p=$("$ptl" bench --model "$model" --batch "$batch" --input "$input" --inference \
        --threads "$threads" --repeat 5 --warmup 1 | sed -n 's/^median_ms: \([0-9.]*\).*/\1/p')
  o=$("$python" - "$work/m.onnx" "$threads" <<'PY'
import statistics, sys, time
import numpy as np
import onnxruntime as ort
so = ort.SessionOptions()
so.intra_op_num_threads = int(sys.argv[2])
so.inter_op_num_threads = 1
s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
i = s.get_inputs()[0]
x = np.random.RandomState(0).randn(*i.shape).astype(np.float32)
s.run(None, {i.name: x})
times = []
for _ in range(5):
    t = time.perf_counter()
    s.run(None, {i.name: x})
    times.append(1000 * (time.perf_counter() - t))
print(f"{statistics.median(times):.1f}")
PY
)
  echo "round $r: ptl $p, onnxruntime $o"
done
