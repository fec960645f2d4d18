#!/usr/bin/env bash
# Writes every PyTorch reference fixture into $1 by running tests/parity/gen_*.py.
set -euo pipefail
out="$1"
py="${PTL_PYTHON:-/usr/bin/python3}"
mkdir -p "$out"
"$py" -c "import torch" 2>/dev/null || {
  echo "parity fixtures need PyTorch under $py (Debian: apt-get install python3-torch)" >&2
  exit 1
}
shopt -s nullglob
for gen in "$(dirname "$0")"/gen_*.py; do
  echo "running $(basename "$gen")"
  "$py" "$gen" "$out"
done
