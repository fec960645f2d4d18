#!/usr/bin/env bash
# Today's PyTorch for the side-by-side benchmarks (issue #30): a virtual environment with torch
# 2.15.0 and torchvision 0.29.2 from PyPI, CPU only. Debian's PyTorch 1.13 (/usr/bin/python3)
# stays the oracle of the parity tests: no test needs this environment or the network.
#
# The Linux torch wheel on PyPI is CUDA 13's: libtorch_cpu.so itself links libcudart and libcupti,
# and libtorch_cuda.so (loaded by `import torch` even with no GPU) links cuBLAS, cuDNN, cuFile,
# cuSPARSELt, NVSHMEM and more, so `pip install --no-deps torch` fails at import
# ("libcufile.so.0: cannot open shared object file"). The CPU-only wheels live on
# download.pytorch.org, which the project's machines cannot reach. So torch comes with its CUDA
# dependencies (about 4 GB, pinned exactly by torch's own metadata); they are loaded, never used.
# torch's and torchvision's other dependencies are pinned here as constraints.
#
# The interpreter is Debian's /usr/bin/python3 (3.11; torch 2.15 needs >= 3.11) with python3-venv,
# which scripts/install-deps.sh installs on every machine; a pyenv or other interpreter on PATH
# differs from machine to machine.
#
# Usage: scripts/bench-env.sh [DIR]     (default: .bench-env in the repository, git-ignored)
# Then:  PYTHON=DIR/bin/python scripts/bench_cpu.sh ...   (the bench scripts find .bench-env alone)
# Prints the versions and the CPU instruction set oneDNN and PyTorch's kernels use here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
env_dir="${1:-$here/../.bench-env}"

PINS=(torch==2.15.0 torchvision==0.29.2)
CONSTRAINTS=(
  # torch 2.15's and torchvision's pure-Python Requires-Dist (sympy 1.14 needs mpmath < 1.4)
  filelock==4.3.2 typing-extensions==4.16.0 setuptools==84.2.1 sympy==1.14.0 mpmath==1.3.0
  networkx==3.6.1 jinja2==3.1.6 MarkupSafe==3.0.4 fsspec==2026.9.0 numpy==2.4.6 pillow==13.0.0
)

if [ ! -x "$env_dir/bin/python" ]; then
  /usr/bin/python3 -m venv "$env_dir"
fi
printf '%s\n' "${CONSTRAINTS[@]}" >"$env_dir/constraints.txt"
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check -c "$env_dir/constraints.txt" "${PINS[@]}"

"$env_dir/bin/python" - <<'EOF'
import sys, torch, torchvision
print(f"environment: {sys.prefix} (Python {sys.version.split()[0]})")
print(f"torch {torch.__version__}, torchvision {torchvision.__version__} "
      f"(a CUDA {torch.version.cuda} build, run on the CPU)")
print(f"PyTorch CPU capability (ATen kernels): {torch.backends.cpu.get_cpu_capability()}")
print(f"oneDNN available: {torch.backends.mkldnn.is_available()}")
# Whether PyTorch hands bf16 work to oneDNN on this CPU; where it does not (an AVX2 machine), bf16
# autocast's convolutions run in ATen's fallback code (a private call: it may move).
print(f"oneDNN bf16 supported: {torch.ops.mkldnn._is_mkldnn_bf16_supported()}")
EOF
# oneDNN names its version and the instruction set it dispatches to on its first primitive.
ONEDNN_VERBOSE=1 "$env_dir/bin/python" -c '
import torch
conv = torch.nn.Conv2d(64, 64, 3, padding=1)  # large enough to go to oneDNN
with torch.no_grad():
    conv(torch.randn(2, 64, 28, 28))
' 2>&1 | sed -n 's/^onednn_verbose,v1,info,\(oneDNN .*\|cpu,isa:.*\)/oneDNN: \1/p'
