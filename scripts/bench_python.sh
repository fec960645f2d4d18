# Sourced by the side-by-side bench scripts (scripts/bench_*.sh): sets PYTHON, the interpreter of
# the PyTorch side. PYTHON=... chooses one; otherwise the bench environment of
# scripts/bench-env.sh (today's PyTorch, 2.15) when it exists; otherwise Debian's /usr/bin/python3
# (PyTorch 1.13, the parity oracle), with a line saying so.
bench_env_python="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.bench-env/bin/python"
torch_version() { "$1" -c 'import torch; print(torch.__version__)'; }
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$bench_env_python" ]; then
    PYTHON="$bench_env_python"
  else
    PYTHON=/usr/bin/python3
    echo "note: no bench environment ($bench_env_python; scripts/bench-env.sh makes it):" \
      "the PyTorch side is Debian's, PyTorch $(torch_version "$PYTHON")" >&2
  fi
fi
