// Row-major GEMM on the CPU through Eigen (declaration: kernels/contract/gemm.inc). Rows of C
// are split into fixed blocks (a function of the shape only) computed in parallel, so results
// do not depend on the thread count.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/gemm.inc"

// Single-threaded variant, for callers that parallelise over independent GEMMs themselves.
template <class T>
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                 const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace ptl::cpu
