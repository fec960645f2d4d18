#!/usr/bin/env bash
# Builds what a GPU machine that cannot install anything needs (../docs/cuda.md): ptl,
# ptl_tests and bench_cuda for Hopper (sm_90), plus the shared libraries they need beyond glibc
# and the CUDA libraries (cuBLAS and cuDNN come from that machine), into gpu-bundle/ (ignored
# by git, small enough for the device tool's 64 MiB carry).
#
# Usage: scripts/gpu_bundle.sh [BUILD_DIR]     (default: build-gpu)
# Then, with the device tool: run `bash scripts/gpu_run.sh` carrying gpu-bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-gpu}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPTL_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DPTL_BENCH=ON >/dev/null
cmake --build "$build" -j2 --target ptl ptl_tests bench_cuda
rm -rf gpu-bundle && mkdir -p gpu-bundle/lib
cp "$build/ptl" "$build/tests/ptl_tests" "$build/bench/bench_cuda" gpu-bundle/
# Libraries outside glibc/libstdc++ and outside CUDA (which the GPU machine brings itself).
for bin in gpu-bundle/ptl gpu-bundle/ptl_tests gpu-bundle/bench_cuda; do
  ldd "$bin" | awk '/=> \// {print $3}'
done | sort -u | grep -Ev '/(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s)\.so|libcu|libnv' \
  | while read -r lib; do cp -L "$lib" gpu-bundle/lib/; done
du -sh gpu-bundle
