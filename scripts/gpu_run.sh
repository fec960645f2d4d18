#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, with gpu-bundle/ (scripts/gpu_bundle.sh)
# beside it. One visit of the project's GPU machine is short (docs/cuda.md), so every step runs
# under `timeout` inside one time budget, and the steps come in order of worth:
#   tests: the card and driver, ldd, `ptl devices --require-gpu` (stops here when no device is
#          seen), the [cuda] tests, then compute-sanitizer memcheck over the [cuda] tests with
#          exact-size device allocations (PTL_NO_CUDA_MEMORY_CACHING=1);
#   bench: bench_cuda beside the machine's PyTorch (conv layers, BConv-Cell gates, copy
#          bandwidth), then training steps of ptl and PyTorch, float32 and TF32.
#
# Usage: OUT=DIR [BUDGET_S=420] [TESTS='<Catch2 filter>'] [STEPS='<train steps>'] \
#          bash scripts/gpu_run.sh [all|tests|bench]          (default all: tests, then bench)
# TESTS replaces the test filter "[cuda]" (names with commas need them escaped: \,).
# STEPS lists "MODEL CxHxW PRECISION" triples separated by ';' (default: below).
# The logs go to a folder outside OUT; OUT gets summary.txt and gpu-logs.tar.gz only (the device
# tool brings back at most 8 files).
set -uo pipefail
cd "$(dirname "$0")/.."
phase="${1:-all}"
out="${OUT:-gpu-logs-out}"
budget="${BUDGET_S:-420}"
tests_filter="${TESTS:-[cuda]}"
steps="${STEPS:-resnet50 3x256x128 fp32;resnet50 3x256x128 tf32;mgn_ptl 3x384x128 fp32;mgn_ptl 3x384x128 tf32;resnet50 3x384x128 fp32;resnet50 3x384x128 tf32;mgn_ptl 3x256x128 fp32;mgn_ptl 3x256x128 tf32}"
b=gpu-bundle
work="$(mktemp -d)"
logs="$work/gpu-logs"
mkdir -p "$out" "$logs"
start=$SECONDS

summary() { echo "$*" | tee -a "$logs/summary.txt"; }
finish() {
  cp "$logs/summary.txt" "$out/summary.txt" 2>/dev/null
  tar -czf "$out/gpu-logs.tar.gz" -C "$work" gpu-logs
}
trap finish EXIT
left() { echo $((budget - (SECONDS - start))); }

# step NAME LIMIT_S CMD...: runs CMD under timeout (never past the budget) with its output in
# $logs/NAME.log, and writes its exit status and time to the summary. Returns CMD's status.
step() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  ((limit > l)) && limit=$l
  if ((limit < 15)); then
    summary "$name: not run (budget of ${budget} s spent)"
    return 99
  fi
  local t0=$SECONDS rc
  timeout -k 5 "$limit" "$@" >"$logs/$name.log" 2>&1
  rc=$?
  summary "$name: rc $rc in $((SECONDS - t0)) s$( ((rc == 124 || rc == 137)) && echo ", timed out at ${limit} s")"
  return $rc
}

# cuBLAS, cuDNN and NVRTC (cuDNN's runtime-compiled engines load it) of the machine: the CUDA
# toolkit's folders (lib64 is often a symbolic link: find -L) and the nvidia/*/lib folders of
# PyTorch's wheels. Set for ptl's programs only: python3 keeps its own.
site_dirs="$(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)"
search=(/usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib)
for s in $site_dirs; do search+=("$s"/nvidia/*/lib "$s"/nvidia/lib); done
libdirs="$(find -L "${search[@]}" -maxdepth 1 \( -name 'libcudnn.so.9*' -o -name 'libcublas.so.*' \
  -o -name 'libcublasLt.so.*' -o -name 'libnvrtc.so.*' -o -name 'libnvrtc-builtins.so.*' \
  -o -name 'libcudart.so.*' \) 2>/dev/null | xargs -r -n1 dirname | sort -u | paste -sd:)"
ptl_env=(env "LD_LIBRARY_PATH=$PWD/$b/lib:$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
sanitizer="$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)"

run_tests() {
  step card 20 nvidia-smi
  summary "card: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | head -1)"
  summary "library folders: ${libdirs:-none found}"
  step ldd 20 "${ptl_env[@]}" ldd "$b/ptl" "$b/ptl_tests" "$b/bench_cuda"
  if grep -q "not found" "$logs/ldd.log"; then
    summary "ldd: missing libraries: $(grep 'not found' "$logs/ldd.log" | sort -u | paste -sd' ')"
  fi
  if ! step devices 30 "${ptl_env[@]}" "$b/ptl" devices --require-gpu; then
    summary "no CUDA device seen; stopping. ptl devices said:"
    tee -a "$logs/summary.txt" <"$logs/devices.log"
    exit 3
  fi
  tee -a "$logs/summary.txt" <"$logs/devices.log"
  step cuda_tests 150 "${ptl_env[@]}" "$b/ptl_tests" "$tests_filter" --warn NoTests --durations yes
  summary "  $(grep -E '^(test cases|All tests passed)' "$logs/cuda_tests.log" | tail -1)"
  grep -E 'FAILED|failed|REQUIRE|CHECK\(|with expansion|worst element|error' "$logs/cuda_tests.log" | head -40 \
    | sed 's/^/  | /' | tee -a "$logs/summary.txt"
  # The float32 model cases again with TF32 forced off in cuBLAS and cuDNN (NVIDIA's switch): a
  # change in their outcome would mean ptl's own math-mode settings let TF32 in.
  step cuda_tests_tf32_off 60 env NVIDIA_TF32_OVERRIDE=0 "${ptl_env[@]}" "$b/ptl_tests" \
    "models on CUDA give the CPU's outputs and gradients in float32,a few SGD training steps on CUDA follow the CPU in float32" \
    --warn NoTests --durations yes
  summary "  $(grep -E '^(test cases|All tests passed)' "$logs/cuda_tests_tf32_off.log" | tail -1)"
  if [ -z "$sanitizer" ]; then
    summary "compute-sanitizer: not found"
    return
  fi
  # Exact-size allocations, so an overrun past a tensor's end is outside any allocation; the
  # [caching] tests check the caching allocator itself, which this switch turns off.
  step sanitizer 150 env PTL_NO_CUDA_MEMORY_CACHING=1 "${ptl_env[@]}" "$sanitizer" --tool memcheck \
    --error-exitcode 9 --print-limit 50 "$b/ptl_tests" "$tests_filter~[caching]" --warn NoTests --durations yes
  summary "  $(grep -E 'ERROR SUMMARY' "$logs/sanitizer.log" | tail -1) $(grep -E '^(test cases|All tests passed)' "$logs/sanitizer.log" | tail -1)"
  grep -E '^========= (Invalid|Program hit|Error|Address|Saved host)' "$logs/sanitizer.log" | sort | uniq -c | head -20 \
    | sed 's/^/  | /' | tee -a "$logs/summary.txt"
}

run_bench() {
  # Layers and gate kernels: ptl (bench_cuda) beside PyTorch, float32.
  "${ptl_env[@]}" "$b/bench_cuda" --list_shapes >"$logs/shapes.json"
  step bench_cuda 90 env PEAK_GBS=4800 "${ptl_env[@]}" "$b/bench_cuda" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true --benchmark_format=json --benchmark_out="$logs/bench_cuda.json" \
    --benchmark_out_format=json
  step torch_ops 90 python3 scripts/bench_gpu_ops_torch.py "$logs/shapes.json" --out "$logs/torch_ops.jsonl"
  python3 - "$logs" <<'PY' 2>&1 | tee -a "$logs/summary.txt"
import json, sys
logs = sys.argv[1]
try:
    runs = json.load(open(f"{logs}/bench_cuda.json"))["benchmarks"]
except Exception as e:
    sys.exit(f"bench_cuda.json unreadable: {e}")
ptl = {b["run_name"].removesuffix("/manual_time"): b for b in runs if b.get("aggregate_name") == "median"}
torch = {}
try:
    torch = {j["name"]: j for j in map(json.loads, open(f"{logs}/torch_ops.jsonl"))}
except Exception as e:
    print(f"torch_ops.jsonl unreadable: {e}")
if "copy_bandwidth" in torch:
    print(f"device-to-device copy (PyTorch): {torch['copy_bandwidth']['gbs']:.0f} GB/s")
print(f"{'case':40} {'ptl ms':>8} {'torch ms':>9} {'torch/ptl':>9} {'ptl rate':>16}")
for name, b in ptl.items():
    ref = torch.get(name, {}).get("median_ms", float("nan"))
    t = b["real_time"]
    rate = f"{b['GB/s']:.0f} GB/s" if "GB/s" in b else f"{b.get('GFLOP/s', float('nan')) / 1e3:.1f} TFLOP/s"
    print(f"{name:40} {t:8.3f} {ref:9.3f} {ref / t:9.2f} {rate:>16}")
PY
  # Whole training steps, batch 64: ptl and PyTorch alternately, each precision on both sides.
  local IFS=';'
  for s in $steps; do
    IFS=' ' read -r model input precision <<<"$s"
    local tf32=()
    [ "$precision" = tf32 ] && tf32=(--tf32)
    local tag="${model}_${input}_${precision}"
    step "ptl_$tag" 60 "${ptl_env[@]}" "$b/ptl" bench --model "$model" --batch 64 --input "$input" \
      --train-step --device cuda --warmup 3 --repeat 20 "${tf32[@]}"
    summary "  ptl   $tag: $(grep median_ms "$logs/ptl_$tag.log" || tail -1 "$logs/ptl_$tag.log")"
    step "torch_$tag" 60 python3 scripts/bench_cpu_torch.py train "$model" 64 "$input" --device cuda \
      --warmup 3 --repeat 20 "${tf32[@]}"
    summary "  torch $tag: $(tail -1 "$logs/torch_$tag.log")"
  done
}

summary "gpu_run.sh $phase at $(git rev-parse --short HEAD 2>/dev/null || echo '?'), budget ${budget} s"
case "$phase" in
  tests) run_tests ;;
  bench) run_bench ;;
  all) run_tests; run_bench ;;
  *) echo "usage: gpu_run.sh [all|tests|bench]" >&2; exit 2 ;;
esac
summary "total: $((SECONDS - start)) s"
