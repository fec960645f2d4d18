// Row-major GEMM on the CPU through Eigen: C = alpha * op(A) * op(B) + beta * C, with
// op(X) = X or X^T. A is (M,K) after op, B is (K,N) after op, C is (M,N); lda/ldb/ldc are the
// row strides of the stored matrices. Rows of C are split into fixed blocks (a function of
// the shape only) computed in parallel, so results do not depend on the thread count.
#pragma once
#include <cstdint>

namespace ptl::cpu {

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Single-threaded variant, for callers that parallelise over independent GEMMs themselves.
template <class T>
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                 const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace ptl::cpu
