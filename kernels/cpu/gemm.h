// Row-major GEMM on the CPU (declaration: kernels/contract/gemm.inc): packed panels and a
// micro-kernel for the instruction set in use (kernels/cpu/gemm_micro.h, isa.h). Each element of
// C is one fused multiply-add chain in k order, so the bits depend on the shape alone: not on
// the instruction set, the blocking or the thread count (rows of C are split into fixed blocks
// computed in parallel).
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/gemm.inc"

// Single-threaded variant, for callers that parallelise over independent GEMMs themselves.
template <class T>
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace ptl::cpu
