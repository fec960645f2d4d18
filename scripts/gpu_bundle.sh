#!/usr/bin/env bash
# Builds what a GPU machine that cannot install anything needs (docs/cuda.md): ptl, ptl_tests,
# bench_cuda and bench_peak for Hopper (sm_90 machine code only, no PTX), stripped, plus the shared
# libraries they need beyond glibc, libstdc++ and CUDA (cuBLAS, cuDNN and NVRTC come from that
# machine), into gpu-bundle/ (ignored by git). The device tool carries at most 64 MiB with the
# tree, so the bundle must stay under 60 MiB; this script fails above that.
#
# Usage: scripts/gpu_bundle.sh [BUILD_DIR]     (default: build-gpu)
# Then, with the device tool: run `OUT=$OUT bash scripts/gpu_run.sh` carrying gpu-bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-gpu}"
limit_mib=60
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPTL_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90-real -DPTL_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target ptl ptl_tests bench_cuda bench_peak
# The CPU-only ptl for the CPU benchmarks of `gpu_run.sh cpu`: no CUDA libraries resident, so
# its peak memory is comparable with PyTorch's (the CUDA build maps about 216 MB of them).
cmake -S . -B build-cpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPTL_CUDA=OFF -DPTL_BENCH=OFF >/dev/null
cmake --build build-cpu -j"$(nproc)" --target ptl
rm -rf gpu-bundle && mkdir -p gpu-bundle/lib
cp build-cpu/ptl gpu-bundle/ptl-cpu && strip gpu-bundle/ptl-cpu
cp "$build/ptl" "$build/tests/ptl_tests" "$build/bench/bench_cuda" "$build/bench/bench_peak" gpu-bundle/
strip gpu-bundle/ptl gpu-bundle/ptl_tests gpu-bundle/bench_cuda gpu-bundle/bench_peak
# The small PyTorch fixtures (ops, optimizers, losses, the 20-step trajectory; not the models'
# 2 GB) for the parity tests on the GPU machine's CPU, which has no PyTorch 1.13 to write them.
if [ -d "$build/parity/ops" ]; then
  mkdir -p gpu-bundle/parity
  cp -r "$build/parity/ops" "$build/parity/trajectory" "$build"/parity/*.safetensors gpu-bundle/parity/
fi
# What the binaries were built from (the GPU machine's copy of .git may be older than the tree).
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!gpu-bundle' || echo '+uncommitted changes')" \
  >gpu-bundle/COMMIT
# Libraries outside glibc/libstdc++ and outside CUDA (which the GPU machine brings itself).
for bin in gpu-bundle/ptl gpu-bundle/ptl_tests gpu-bundle/bench_cuda gpu-bundle/bench_peak; do
  ldd "$bin" | awk '/=> \// {print $3}'
done | sort -u | grep -Ev '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s)\.so|libcu|libnv' \
  | while read -r lib; do cp -L "$lib" gpu-bundle/lib/; done
size_mib=$(du -sm gpu-bundle | cut -f1)
ls -l gpu-bundle gpu-bundle/lib
echo "gpu-bundle: ${size_mib} MiB (limit ${limit_mib})"
if [ "$size_mib" -gt "$limit_mib" ]; then
  echo "gpu_bundle.sh: gpu-bundle/ is ${size_mib} MiB, over ${limit_mib} MiB: it would not travel" \
       "with the tree (64 MiB in all); build fewer CUDA architectures or targets" >&2
  exit 1
fi
