#!/usr/bin/env bash
# The onnx ctest group: tests/onnx/check_onnx.py under the Python of scripts/onnx-env.sh's
# environment, or Debian's /usr/bin/python3 where there is none (ONNX Runtime's checks then
# skip, and the group with them).
#   tests/onnx/run.sh PTL_BINARY SOURCE_DIR WORK_DIR ENV_DIR
set -euo pipefail
ptl=$1 source=$2 work=$3 env_dir=$4
python=/usr/bin/python3
[[ -x $env_dir/bin/python ]] && python=$env_dir/bin/python
rm -rf "$work"
exec "$python" "$source/tests/onnx/check_onnx.py" "$ptl" "$source" "$work"
