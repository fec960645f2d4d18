#include "kernels/cpu/gemm.h"

#include <Eigen/Core>

#include "engine/parallel.h"

namespace ptl::cpu {

namespace {
template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Map = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using CMap = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
}  // namespace

template <class T>
void gemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  Map<T> c(C, M, N, Eigen::OuterStride<>(ldc));
  if (beta == T(0))
    c.setZero();
  else if (beta != T(1))
    c *= beta;
  if (K == 0) return;
  CMap<T> a(A, ta ? K : M, ta ? M : K, Eigen::OuterStride<>(lda));
  CMap<T> b(B, tb ? N : K, tb ? K : N, Eigen::OuterStride<>(ldb));
  if (!ta && !tb) c.noalias() += alpha * a * b;
  else if (ta && !tb) c.noalias() += alpha * a.transpose() * b;
  else if (!ta && tb) c.noalias() += alpha * a * b.transpose();
  else c.noalias() += alpha * a.transpose() * b.transpose();
}

template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  // Small problems or one thread: one call. Otherwise blocks of rows of C (or of columns
  // when C is short and wide), each at least 64 wide so the packed kernels stay efficient.
  const double flops = 2.0 * M * N * K;
  if (flops < 4e6 || num_threads() == 1) {
    gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (M >= N) {
    const int64_t block = std::max<int64_t>(64, (M + 7) / 8);
    parallel_for(M, block, [&](int64_t r0, int64_t r1) {
      const T* a0 = ta ? A + r0 : A + r0 * lda;
      gemm_serial(ta, tb, r1 - r0, N, K, alpha, a0, lda, B, ldb, beta, C + r0 * ldc, ldc);
    });
  } else {
    const int64_t block = std::max<int64_t>(64, (N + 7) / 8);
    parallel_for(N, block, [&](int64_t c0, int64_t c1) {
      const T* b0 = tb ? B + c0 * ldb : B + c0;
      gemm_serial(ta, tb, M, c1 - c0, K, alpha, A, lda, b0, ldb, beta, C + c0, ldc);
    });
  }
}

#include "kernels/contract/gemm_instances.inc"
PTL_INSTANTIATE_GEMM()

template void gemm_serial<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                 int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_serial<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                  int64_t, const double*, int64_t, double, double*, int64_t);

}  // namespace ptl::cpu
