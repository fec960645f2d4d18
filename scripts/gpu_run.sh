#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, with gpu-bundle/ (scripts/gpu_bundle.sh)
# beside it: checks that the binaries load, runs the [cuda] tests (every op, model and a few
# training steps against the CPU backend), compute-sanitizer on a short part of them, and the
# GPU benchmarks of ptl and of the machine's PyTorch on the same shapes. Logs go to OUT
# (default: $OUT, else ./gpu-logs); a short summary is printed last.
set -uo pipefail
out="${OUT:-gpu-logs}"
mkdir -p "$out"
b=gpu-bundle
# cuBLAS and cuDNN: the machine's own, from the toolkit or from PyTorch's wheels.
libdirs="$(find /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu "$(python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null)" \
  -name 'libcudnn.so.9*' -o -name 'libcublas.so.*' 2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)"
export LD_LIBRARY_PATH="$PWD/$b/lib:$libdirs:${LD_LIBRARY_PATH:-}"
summary() { echo "$*" | tee -a "$out/summary.txt"; }

nvidia-smi -L | tee "$out/card.txt"
ldd "$b/ptl" "$b/bench_cuda" >"$out/ldd.txt" 2>&1
if grep -q "not found" "$out/ldd.txt"; then summary "ldd: missing libraries:"; grep "not found" "$out/ldd.txt" | sort -u | tee -a "$out/summary.txt"; fi

"$b/ptl_tests" "[cuda]" --durations yes >"$out/cuda_tests.log" 2>&1
summary "[cuda] tests: rc $? ($(tail -2 "$out/cuda_tests.log" | tr '\n' ' '))"
compute-sanitizer --tool memcheck --error-exitcode 9 "$b/ptl_tests" "copies, fills, dtype casts and masks on CUDA are exact" \
  >"$out/sanitizer.log" 2>&1
summary "compute-sanitizer memcheck (casts/copies case): rc $? ($(grep -c 'ERROR SUMMARY' "$out/sanitizer.log") summaries: $(grep 'ERROR SUMMARY' "$out/sanitizer.log" | head -1))"

# Layers and gate kernels: ptl (bench_cuda) beside PyTorch.
"$b/bench_cuda" --list_shapes >"$out/shapes.json"
"$b/bench_cuda" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true --benchmark_format=json \
  >"$out/bench_cuda.json" 2>"$out/bench_cuda.err"
python3 scripts/bench_gpu_ops_torch.py "$out/shapes.json" >"$out/torch_ops.jsonl" 2>"$out/torch_ops.err"
python3 - "$out" <<'PY' | tee -a "$out/summary.txt"
import json, sys
out = sys.argv[1]
# Google Benchmark names manual-time runs "<case>/manual_time"; times are in ms (Unit).
ptl = {b["run_name"].removesuffix("/manual_time"): b["real_time"]
       for b in json.load(open(f"{out}/bench_cuda.json"))["benchmarks"] if b.get("aggregate_name") == "median"}
torch = {j["name"]: j["median_ms"] for j in map(json.loads, open(f"{out}/torch_ops.jsonl"))}
print(f"{'case':44} {'ptl ms':>9} {'torch ms':>9} {'torch/ptl':>9}")
for name, t in ptl.items():
    ref = torch.get(name)
    print(f"{name:44} {t:9.3f} {ref if ref else float('nan'):9.3f} {ref / t if ref else float('nan'):9.2f}")
PY

# Whole training steps: images/s at batch 64.
for w in "resnet50 3x256x128" "resnet50 3x384x128" "mgn_ptl 3x384x128" "ptl_resnet50 3x256x128"; do
  set -- $w
  "$b/ptl" bench --model "$1" --batch 64 --input "$2" --train-step --device cuda --warmup 3 --repeat 20 \
    >"$out/ptl_$1_$2.log" 2>&1
  summary "ptl   $1 $2 train step: $(grep median_ms "$out/ptl_$1_$2.log" || tail -1 "$out/ptl_$1_$2.log")"
  python3 scripts/bench_cpu_torch.py train "$1" 64 "$2" --device cuda --warmup 3 --repeat 20 \
    >"$out/torch_$1_$2.log" 2>&1
  summary "torch $1 $2 train step: $(tail -1 "$out/torch_$1_$2.log")"
done
