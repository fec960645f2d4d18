// How the row-major GEMM of kernels/contract/gemm.inc maps onto a column-major BLAS call
// (cuBLAS). Free of CUDA headers, so the tests check the mapping on any machine.
//
// A row-major (R, C) matrix with row stride ld is the column-major (C, R) matrix with leading
// dimension ld, i.e. its transpose. So the row-major C (M, N) = op(A) op(B) is computed as the
// column-major C^T (N, M) = op(B)^T op(A)^T: B is the first operand and A the second, each with
// its own transpose flag, and M and N swap places.
#pragma once
#include <algorithm>
#include <cstdint>

namespace ptl::cuda {

struct ColumnMajorGemm {
  bool trans_first, trans_second;  // op of the first operand (B) and of the second (A)
  int64_t m, n, k;
  int64_t ld_first, ld_second, ldc;
};

inline ColumnMajorGemm column_major_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N,
                                         int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
  // BLAS wants leading dimensions >= 1 even where a dimension is 0 (K == 0: C = beta C).
  auto ld = [](int64_t v) { return std::max<int64_t>(v, 1); };
  return {trans_b, trans_a, N, M, K, ld(ldb), ld(lda), ld(ldc)};
}

}  // namespace ptl::cuda
