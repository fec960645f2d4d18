#!/usr/bin/env bash
# Runs a command on the AVX-512 path (PTL_CPU_ISA=avx512, kernels/cpu/isa.h); exits 77, which
# ctest reports as skipped, on a CPU without AVX-512F.
#   tests/on_avx512.sh COMMAND [ARG...]
grep -qw avx512f /proc/cpuinfo || { echo "no AVX-512 on this CPU: skipped"; exit 77; }
PTL_CPU_ISA=avx512 exec "$@"
