#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, with gpu-bundle/ (scripts/gpu_bundle.sh)
# beside it. One visit of the project's GPU machine is short (docs/cuda.md), so every step runs
# under `timeout` inside one time budget, and the steps come in order of worth:
#   tests: the card and driver, ldd, `ptl devices --require-gpu` (stops here when no device is
#          seen), the [cuda] tests, the float32 model cases again with TF32 forced off
#          (NVIDIA_TF32_OVERRIDE=0), then compute-sanitizer memcheck over the [cuda] tests with
#          exact-size device allocations (PTL_NO_CUDA_MEMORY_CACHING=1);
#   accuracy: the two float32 accuracy tests (tests/test_cuda_ops.cpp: the model cases and the
#          SGD steps, with deterministic direct-sum cuDNN algorithms) ACCURACY_RUNS (3) times in
#          fresh processes, every tensor's device and CPU errors logged (PTL_CUDA_ACCURACY_LOG); the
#          summary gives each run's largest needed ratio and its tensor, from which
#          kFloat32ErrorRatio is set (runs on one card repeat; runs on other cards and visits add);
#   bench: bench_cuda beside the machine's PyTorch (conv layers, BConv-Cell gates, copy
#          bandwidth), ptl's ResNet-50 step without and with --cudnn-heuristics (cuDNN's
#          backend-API engines), then training steps of ptl and PyTorch, float32 and TF32,
#          deterministic cuDNN algorithms and cuDNN's first choice;
#   recipe: the paper's recipe (configs/market1501_mgn_ptl.yaml) end to end on the GPU, on a
#          synthetic Market-layout set of RECIPE_IDS (100) identities at 384x128: 2 epochs with
#          evaluation; the same run stopped by SIGINT mid-epoch 2 and resumed with --resume auto
#          (its best weights and metrics.jsonl compared with the uninterrupted run's); `ptl eval`
#          of the best weights on the GPU beside the logged score; the first step's loss on the
#          CPU beside the GPU's; the step time, images/s and the loader's share ("data wait");
#   cpu:   the machine's CPU, which may have AVX-512 where the build machine has not
#          (kernels/cpu/isa.h): the GEMM and golden-bits tests on every path, the unit and
#          parity groups on the AVX-512 path, bench_peak per path, and ptl's CPU steps on each
#          path beside the machine's PyTorch, pinned to 2 cores with 2 threads (ROUNDS rounds,
#          cores CPUS).
#
# Usage: OUT=DIR [BUDGET_S=420] [TESTS='<Catch2 filter>'] [STEPS='<train steps>'] \
#          bash scripts/gpu_run.sh [all|tests|accuracy|bench|recipe|cpu] ...   (default all: tests,
#          accuracy, then bench; several phases run in the order given: `gpu_run.sh all recipe`)
# PYTHON (default python3) runs the PyTorch side of the cpu phase.
# TESTS replaces the test filter "[cuda]" (names with commas need them escaped: \,).
# STEPS lists "MODEL CxHxW PRECISION ALGOS" separated by ';' (default: below); PRECISION fp32,
# tf32 or bf16 (PyTorch: autocast bf16 with TF32; ptl: --precision bf16 with TF32 for its float32
# ops, docs/cuda.md "bf16 on CUDA"), ALGOS det (deterministic cuDNN algorithms on both sides) or
# fast (cuDNN's first choice), and an optional fifth field split-bn or graphs: ptl's step again
# with --split-bn (the split batch-norm kernels) or --cuda-graphs (the step replayed as a CUDA
# graph, train.cuda_graphs), both off by default until measured (docs/cuda.md); PyTorch not rerun.
# MGN needs an input height whose ceil(H / 16) is a multiple of 6 (384, not 256).
# The logs go to a folder outside OUT; OUT gets summary.txt and gpu-logs.tar.gz only (the device
# tool brings back at most 8 files).
set -uo pipefail
cd "$(dirname "$0")/.."
phases=("${@:-all}")
out="${OUT:-gpu-logs-out}"
budget="${BUDGET_S:-420}"
tests_filter="${TESTS:-[cuda]}"
steps="${STEPS:-resnet50 3x256x128 fp32 det;resnet50 3x256x128 fp32 fast;resnet50 3x256x128 tf32 det;resnet50 3x256x128 tf32 fast;resnet50 3x256x128 tf32 fast split-bn;resnet50 3x256x128 tf32 fast graphs;resnet50 3x256x128 bf16 fast;mgn_ptl 3x384x128 fp32 det;mgn_ptl 3x384x128 fp32 fast;mgn_ptl 3x384x128 tf32 fast;mgn_ptl 3x384x128 tf32 fast split-bn;mgn_ptl 3x384x128 bf16 fast;mgn_ptl 3x384x128 bf16 fast graphs;resnet50 3x384x128 fp32 fast;resnet50 3x384x128 tf32 fast}"
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
    "models on CUDA are as accurate as the CPU in float32,a few SGD training steps on CUDA are as accurate as the CPU in float32" \
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

run_accuracy() {
  local i tsv
  for ((i = 1; i <= ${ACCURACY_RUNS:-3}; ++i)); do
    tsv="$logs/accuracy_$i.tsv"
    rm -f "$tsv"
    step "accuracy_$i" 120 env PTL_CUDA_ACCURACY_LOG="$tsv" "${ptl_env[@]}" "$b/ptl_tests" \
      "models on CUDA are as accurate as the CPU in float32,a few SGD training steps on CUDA are as accurate as the CPU in float32" \
      --warn NoTests --durations yes
    summary "  $(grep -E '^(test cases|All tests passed)' "$logs/accuracy_$i.log" | tail -1)"
    [ -s "$tsv" ] && summary "  largest ratio needed: $(sort -t$'\t' -k7,7g "$tsv" | tail -1 |
      awk -F'\t' '{printf "%s (%s, %s): device error %s, CPU error %s, size %s", $7, $1, $2, $3, $4, $5}')"
  done
}

run_bench() {
  # Layers and gate kernels: ptl (bench_cuda) beside PyTorch, float32; each side twice for the
  # convolutions: with deterministic cuDNN algorithms (ptl's default, PyTorch's
  # cudnn.deterministic) and with cuDNN's first-ranked ones (PyTorch's default). The chosen
  # algorithms go to the log (PTL_CUDNN_VERBOSE).
  "${ptl_env[@]}" "$b/bench_cuda" --list_shapes >"$logs/shapes.json"
  local gb=(--benchmark_repetitions=3 --benchmark_min_time=0.2 --benchmark_report_aggregates_only=true)
  step bench_cuda 60 env PEAK_GBS=4800 PTL_CUDNN_VERBOSE=1 "${ptl_env[@]}" "$b/bench_cuda" "${gb[@]}" \
    --benchmark_out="$logs/bench_cuda.json" --benchmark_out_format=json
  step bench_cuda_fast 40 env PTL_CUDNN_VERBOSE=1 "${ptl_env[@]}" "$b/bench_cuda" --nondeterministic "${gb[@]}" \
    --benchmark_filter=^conv --benchmark_out="$logs/bench_cuda_fast.json" --benchmark_out_format=json
  step torch_ops 40 python3 scripts/bench_gpu_ops_torch.py "$logs/shapes.json" --out "$logs/torch_ops.jsonl"
  step torch_ops_det 40 python3 scripts/bench_gpu_ops_torch.py "$logs/shapes.json" --deterministic \
    --out "$logs/torch_ops_det.jsonl"
  python3 - "$logs" <<'PY' 2>&1 | tee -a "$logs/summary.txt"
import json, sys
logs = sys.argv[1]

def ptl(name):
    try:
        runs = json.load(open(f"{logs}/{name}.json"))["benchmarks"]
    except Exception as e:
        print(f"{name}.json unreadable: {e}")
        return {}
    return {b["run_name"].removesuffix("/manual_time"): b for b in runs if b.get("aggregate_name") == "median"}

def torch(name):
    try:
        return {j["name"]: j for j in map(json.loads, open(f"{logs}/{name}.jsonl"))}
    except Exception as e:
        print(f"{name}.jsonl unreadable: {e}")
        return {}

det, fast, t_fast, t_det = ptl("bench_cuda"), ptl("bench_cuda_fast"), torch("torch_ops"), torch("torch_ops_det")
if "copy_bandwidth" in t_fast:
    print(f"device-to-device copy (PyTorch): {t_fast['copy_bandwidth']['gbs']:.0f} GB/s")
nan = float("nan")
ms = lambda d, k: d[k]["real_time"] if k in d else nan
tms = lambda d, k: d[k]["median_ms"] if k in d else nan
print("ms, median; det: deterministic cuDNN algorithms on both sides; fast: cuDNN's first choice (PyTorch's default)")
print(f"{'case':38} {'ptl det':>8} {'torch det':>9} {'ratio':>6} {'ptl fast':>8} {'torch':>8} {'ratio':>6} {'ptl rate (det)':>16}")
for name, b in det.items():
    pd, td, pf, tf = ms(det, name), tms(t_det, name), ms(fast, name), tms(t_fast, name)
    rate = f"{b['GB/s']:.0f} GB/s" if "GB/s" in b else f"{b.get('GFLOP/s', nan) / 1e3:.1f} TFLOP/s"
    print(f"{name:38} {pd:8.3f} {td:9.3f} {td / pd:6.2f} {pf:8.3f} {tf:8.3f} {tf / pf:6.2f} {rate:>16}")
print("ratio: PyTorch time / ptl time (above 1: ptl faster)")
PY
  # cuDNN's backend-API engines (ptl bench --cudnn-heuristics, off by default, docs/cuda.md):
  # ResNet-50's float32 step, deterministic engines, without and with the switch alternately,
  # twice; the switch's runs log each chosen engine and every fallback (PTL_CUDNN_VERBOSE).
  local r kind heur_args=(bench --model resnet50 --batch 64 --input 3x256x128 --train-step
    --device cuda --warmup 3 --repeat 20)
  for r in 1 2; do
    for kind in legacy heuristics; do
      local flag=()
      [ "$kind" = heuristics ] && flag=(--cudnn-heuristics)
      step "ptl_conv_${kind}_$r" 60 env PTL_CUDNN_VERBOSE=1 "${ptl_env[@]}" "$b/ptl" "${heur_args[@]}" \
        "${flag[@]}"
      summary "  ptl resnet50 3x256x128 fp32 det, $kind engines: $(grep median_ms "$logs/ptl_conv_${kind}_$r.log" ||
        tail -1 "$logs/ptl_conv_${kind}_$r.log")"
    done
    summary "  backend engines chosen: $(grep -c ': backend engine ' "$logs/ptl_conv_heuristics_$r.log"), legacy" \
      "fallbacks: $(grep -c 'no backend engine' "$logs/ptl_conv_heuristics_$r.log")"
  done
  grep -m5 'no backend engine' "$logs/ptl_conv_heuristics_1.log" | sed 's/^/  | /' | tee -a "$logs/summary.txt"
  # Whole training steps, batch 64: ptl and PyTorch alternately, at the same precision and with
  # the same kind of cuDNN algorithms (det: deterministic on both sides; fast: cuDNN's first).
  local IFS=';'
  for s in $steps; do
    IFS=' ' read -r model input precision algos variant <<<"$s"
    local ptl_flags=() torch_flags=()
    [ "$precision" != fp32 ] && ptl_flags+=(--tf32) && torch_flags+=(--tf32)
    [ "$precision" = bf16 ] && ptl_flags+=(--precision bf16) && torch_flags+=(--amp-bf16)
    if [ "$algos" = det ]; then torch_flags+=(--deterministic); else ptl_flags+=(--nondeterministic); fi
    local tag="${model}_${input}_${precision}_${algos}"
    if [ -n "$variant" ]; then
      tag+="_$variant"
      local switch=--split-bn
      [ "$variant" = graphs ] && switch=--cuda-graphs
      step "ptl_$tag" 60 "${ptl_env[@]}" "$b/ptl" bench --model "$model" --batch 64 --input "$input" \
        --train-step --device cuda --warmup 3 --repeat 20 "${ptl_flags[@]}" "$switch"
      summary "  ptl   $tag: $(grep median_ms "$logs/ptl_$tag.log" || tail -1 "$logs/ptl_$tag.log")"
      continue
    fi
    step "ptl_$tag" 60 "${ptl_env[@]}" "$b/ptl" bench --model "$model" --batch 64 --input "$input" \
      --train-step --device cuda --warmup 3 --repeat 20 "${ptl_flags[@]}"
    summary "  ptl   $tag: $(grep median_ms "$logs/ptl_$tag.log" || tail -1 "$logs/ptl_$tag.log")"
    step "torch_$tag" 60 python3 scripts/bench_cpu_torch.py train "$model" 64 "$input" --device cuda \
      --warmup 3 --repeat 20 "${torch_flags[@]}"
    summary "  torch $tag: $(tail -1 "$logs/torch_$tag.log")"
  done
}

run_recipe() {
  local data="$work/recipe_data" runs="$work/recipe" dev="${RECIPE_DEVICE:-cuda}"
  step recipe_data 120 "$b/ptl" synth-reid --out "$data" --ids "${RECIPE_IDS:-100}" --size 384x128 --seed 1 ||
    return
  # The recipe's config, overridden only where this machine differs: the data, 2 epochs each
  # evaluated, and no ImageNet weights file (there is none on the GPU machine).
  local args=(--config configs/market1501_mgn_ptl.yaml "device=$dev" "data.root=$data" model.pretrained=
    train.epochs=2 train.eval_every=1 train.log_every=1)
  step recipe_train 300 "${ptl_env[@]}" "$b/ptl" train "${args[@]}" "train.out=$runs/straight"
  summary "  $(grep -E '^(evaluation after|done:)' "$logs/recipe_train.log" | paste -sd' ' | cut -c1-300)"
  summary "  last step: $(grep -o '[0-9.]* img/s' "$logs/recipe_train.log" | tail -1)," \
    "$(grep -o 'data wait [0-9]*%' "$logs/recipe_train.log" | tail -1) (the epoch's time spent waiting for the loader)"
  # Stopped by SIGINT in the middle of epoch 2, then resumed: the files must equal the straight run's.
  "${ptl_env[@]}" "$b/ptl" train "${args[@]}" "train.out=$runs/stopped" >"$logs/recipe_stopped.log" 2>&1 &
  local job=$! t0=$SECONDS
  while kill -0 "$job" 2>/dev/null && ! grep -q "^epoch 2/2 iter 2/" "$logs/recipe_stopped.log"; do
    ((SECONDS - t0 > 300)) && break
    sleep 0.2
  done
  kill -INT "$job" 2>/dev/null
  local rc=0
  wait "$job" || rc=$?
  summary "recipe_stop: SIGINT in epoch 2: exit code $rc (130 expected); $(grep -m1 '^interrupted at' "$logs/recipe_stopped.log" | cut -c1-60)"
  step recipe_resume 200 "${ptl_env[@]}" "$b/ptl" train "${args[@]}" "train.out=$runs/stopped" --resume auto
  local same=differ
  cmp -s "$runs/straight/best.safetensors" "$runs/stopped/best.safetensors" &&
    cmp -s "$runs/straight/metrics.jsonl" "$runs/stopped/metrics.jsonl" && same=identical
  summary "  stopped + resumed vs straight: best.safetensors and metrics.jsonl $same"
  step recipe_eval 200 "${ptl_env[@]}" "$b/ptl" eval "${args[@]}" --weights "$runs/straight/best.safetensors"
  summary "  eval: $(grep -m1 mAP "$logs/recipe_eval.log" | cut -c1-120); logged best: $(grep -o 'best [0-9.]*%' "$logs/recipe_train.log" | tail -1)"
  # The first step on the CPU (stopped after it), beside the GPU's first logged loss.
  "$b/ptl" train "${args[@]}" device=cpu "train.out=$runs/cpu" >"$logs/recipe_cpu.log" 2>&1 &
  job=$! t0=$SECONDS
  while kill -0 "$job" 2>/dev/null && ! grep -q "^epoch 1/2 iter 1/" "$logs/recipe_cpu.log"; do
    ((SECONDS - t0 > 200)) && break
    sleep 0.5
  done
  kill -INT "$job" 2>/dev/null
  wait "$job"
  summary "  first step's loss: $dev $(grep -m1 -o 'loss [0-9.]*' "$logs/recipe_train.log"), cpu $(grep -m1 -o 'loss [0-9.]*' "$logs/recipe_cpu.log")"
}

run_cpu() {
  step lscpu 20 lscpu
  summary "cpu: $(grep -m1 'Model name' "$logs/lscpu.log" | sed 's/ *Model name: *//'), $(nproc) cores;" \
    "AVX-512 flags: $(grep -o 'avx512[a-z0-9_]*' /proc/cpuinfo | sort -u | paste -sd' ')"
  summary "ptl --version: $("${ptl_env[@]}" "$b/ptl" --version | tail -1)"
  step golden 120 "${ptl_env[@]}" PTL_NUM_THREADS=2 "$b/ptl_tests" "[gemm],[determinism]" --warn NoTests
  summary "  $(grep -E '^(test cases|All tests passed)' "$logs/golden.log" | tail -1)"
  grep -E 'FAILED|with expansion|fingerprint|warning' -A2 "$logs/golden.log" | head -20 | sed 's/^/  | /' \
    | tee -a "$logs/summary.txt"
  local isa=avx512
  "${ptl_env[@]}" "$b/ptl" --version | grep -q 'CPU supports: avx2 avx512' || isa=avx2
  step "unit_$isa" 150 "${ptl_env[@]}" PTL_CPU_ISA=$isa PTL_NUM_THREADS=2 PTL_TEST_BINARY="$PWD/$b/ptl" \
    "$b/ptl_tests" "~[parity]~[cuda]~[fuzz]~[recipe]" --warn NoTests
  summary "  $(grep -E '^(test cases|All tests passed)' "$logs/unit_$isa.log" | tail -1)"
  step "parity_$isa" 60 "${ptl_env[@]}" PTL_CPU_ISA=$isa PTL_NUM_THREADS=2 PTL_PARITY_DIR="$b/parity" "$b/ptl_tests" \
    "[parity]~[models]" --warn NoTests
  summary "  $(grep -E '^(test cases|All tests passed)' "$logs/parity_$isa.log" | tail -1)"
  step peak 40 "${ptl_env[@]}" "$b/bench_peak" --benchmark_filter='threads:(1|2)$' --benchmark_min_time=0.3
  grep -E 'GFLOP' "$logs/peak.log" | awk '{print "  " $1, $NF}' | tee -a "$logs/summary.txt"
  # Steps of each path and of PyTorch, alternating within each of ROUNDS rounds (default 1),
  # pinned to the cores CPUS (default 2,3: core 0 takes the machine's interrupts); each process
  # under a wrapper that prints its peak resident memory. ptl is the bundle's CPU-only build.
  cat >"$work/rss.py" <<'PY'
import resource, subprocess, sys
rc = subprocess.run(sys.argv[1:]).returncode
print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
sys.exit(rc)
PY
  local py="${PYTHON:-python3}" cpus="${CPUS:-2,3}" round w cpu_ptl="$b/ptl-cpu"
  [ -x "$cpu_ptl" ] || cpu_ptl="$b/ptl"  # an older bundle: the CUDA build (more memory resident)
  for round in $(seq "${ROUNDS:-1}"); do
    for w in "train resnet50 16 3x128x64" "train resnet50 16 3x256x128" "infer resnet50 16 3x128x64" \
             "infer resnet50 16 3x256x128" "cell 128:1 16 512x24x8" "cell 256:2 16 128x96x32" \
             "cell 16:2 16 3x384x128"; do
      local kind what batch input
      read -r kind what batch input <<<"$w"
      local flags=(--batch "$batch" --input "$input" --threads 2 --warmup 1 --repeat 3)
      case "$kind" in
        train) flags+=(--model "$what" --train-step) ;;
        infer) flags+=(--model "$what" --inference) ;;
        cell) flags+=(--cell "$what" --train-step) ;;
      esac
      local tag="${kind}_${what/:/-}_${input}_r$round" p
      for p in avx2 $([ "$isa" = avx512 ] && echo avx512); do
        step "cpu_${tag}_$p" 60 "${ptl_env[@]}" PTL_CPU_ISA=$p "$py" "$work/rss.py" taskset -c "$cpus" \
          "$cpu_ptl" bench "${flags[@]}"
        summary "  ptl $p $w (round $round): $(grep -h -E 'median_ms|peak_rss' "$logs/cpu_${tag}_$p.log" | paste -sd' ')"
      done
      step "cpu_${tag}_torch" 60 "$py" "$work/rss.py" taskset -c "$cpus" "$py" scripts/bench_cpu_torch.py $w \
        --threads 2 --warmup 1 --repeat 3
      summary "  torch $w (round $round): $(tail -2 "$logs/cpu_${tag}_torch.log" | paste -sd' ')"
    done
  done
}

summary "gpu_run.sh ${phases[*]}, binaries built at $(cat "$b/COMMIT" 2>/dev/null || echo '?'), budget ${budget} s"
for phase in "${phases[@]}"; do
  case "$phase" in
    tests) run_tests ;;
    bench) run_bench ;;
    all) run_tests; run_accuracy; run_bench ;;
    accuracy) run_accuracy ;;
    recipe) run_recipe ;;
    cpu) run_cpu ;;
    *) echo "usage: gpu_run.sh [all|tests|accuracy|bench|recipe|cpu] ..." >&2; exit 2 ;;
  esac
done
summary "total: $((SECONDS - start)) s"
