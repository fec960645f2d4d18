#!/usr/bin/env bash
# Installs everything ptl needs to build and test on Debian 12, from Debian's packages only.
# CUDA (toolkit, cuBLAS, cuDNN 9) is optional and found under /usr/local/cuda when present.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ninja-build pkg-config clang clang-format libclang-rt-14-dev \
  libstb-dev catch2 libbenchmark-dev libyaml-cpp-dev zlib1g-dev libopenmpi-dev openmpi-bin \
  python3-torch python3-torchvision python3-pil python3-numpy python3-matplotlib \
  dataset-fashion-mnist libonnx-dev libprotobuf-dev protobuf-compiler python3-onnx \
  python3-opencv python3-venv >/dev/null
# ONNX Runtime from PyPI for the onnx ctest group (the group skips without it).
bash "$(dirname "$0")/onnx-env.sh" ||
  echo "install-deps: warning: scripts/onnx-env.sh failed; the onnx ctest group will skip"
