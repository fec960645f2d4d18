#!/usr/bin/env bash
# ONNX Runtime for the onnx ctest group and docs/deploy.md's example: a git-ignored virtual
# environment with onnxruntime pinned from PyPI. It sees Debian's numpy, Pillow, python3-onnx and
# python3-opencv (--system-site-packages), and pip installs the wheel alone (--no-deps):
# InferenceSession needs only numpy, and onnxruntime's other requirements (protobuf among them)
# would shadow the Debian packages python3-onnx is built against.
#   bash scripts/onnx-env.sh [ENV_DIR]      ENV_DIR defaults to .venv-onnx in the repository
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=${1:-.venv-onnx}
ort_version=1.32.0
/usr/bin/python3 -m venv --system-site-packages "$env_dir"
"$env_dir/bin/python" -m pip install -q --disable-pip-version-check --no-deps \
  "onnxruntime==$ort_version"
"$env_dir/bin/python" -c "import numpy, onnxruntime
print('onnx-env: $env_dir: onnxruntime', onnxruntime.__version__, 'with numpy', numpy.__version__)"
