#!/usr/bin/env bash
# Runs a command as N MPI processes on this machine: tests/on_mpi.sh N COMMAND... Exits 77
# (ctest: skipped) with one line where mpiexec is absent or ptl was built without MPI.
set -uo pipefail
n=$1
shift
if ! command -v mpiexec >/dev/null; then
  echo "dist: skipped, no mpiexec here (scripts/install-deps.sh installs Open MPI)"
  exit 77
fi
flags=(--oversubscribe --bind-to none)  # ctest -j2 runs other groups beside this one
[ "$(id -u)" -eq 0 ] && flags+=(--allow-run-as-root)
OMP_NUM_THREADS=1 PTL_NUM_THREADS=1 exec mpiexec "${flags[@]}" -n "$n" "$@"
