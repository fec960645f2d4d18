// The row-major-to-column-major mapping of the cuBLAS GEMM (kernels/cuda/gemm_layout.h), run
// through a textbook column-major BLAS GEMM on the CPU and compared with the CPU kernel.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cuda/gemm_layout.h"
#include "tests/test_util.h"

using ptl::test::random_values;

namespace {

// The BLAS definition: column-major C (m, n) = alpha op(A) op(B) + beta C, C not read when
// beta == 0 (as cuBLAS).
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A,
               int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < m; ++i) {
      double sum = 0;
      for (int64_t l = 0; l < k; ++l)
        sum += (ta ? A[l + i * lda] : A[i + l * lda]) * (tb ? B[j + l * ldb] : B[l + j * ldb]);
      double& c = C[i + j * ldc];
      c = alpha * sum + (beta == 0 ? 0 : beta * c);
    }
}

void check_mapping(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double beta) {
  INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K << " beta " << beta);
  const int64_t pad = 2;
  const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const auto A =
      random_values<double>(static_cast<size_t>(std::max<int64_t>(1, (ta ? K : M) * lda)), 1);
  const auto B =
      random_values<double>(static_cast<size_t>(std::max<int64_t>(1, (tb ? N : K) * ldb)), 2);
  const auto C0 = random_values<double>(static_cast<size_t>(M * ldc), 3);
  std::vector<double> want = C0, got = C0;
  ptl::cpu::gemm<double>(ta, tb, M, N, K, 1.25, A.data(), lda, B.data(), ldb, beta, want.data(),
                         ldc);
  const auto c = ptl::cuda::column_major_gemm(ta, tb, M, N, K, lda, ldb, ldc);
  blas_gemm(c.trans_first, c.trans_second, c.m, c.n, c.k, 1.25, B.data(), c.ld_first, A.data(),
            c.ld_second, beta, got.data(), c.ldc);
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(std::abs(got[i] - want[i]) < 1e-12);
}

}  // namespace

TEST_CASE("row-major GEMM maps onto a column-major BLAS call", "[gemm_layout]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (double beta : {0.0, 0.5}) {
        check_mapping(ta, tb, 7, 5, 3, beta);
        check_mapping(ta, tb, 1, 9, 4, beta);  // a row vector
        check_mapping(ta, tb, 6, 1, 8, beta);  // a column vector
      }
}

TEST_CASE("column-major GEMM mapping keeps leading dimensions valid for K = 0", "[gemm_layout]") {
  const auto c = ptl::cuda::column_major_gemm(true, true, 3, 4, 0, 0, 0, 4);
  CHECK(c.ld_first == 1);
  CHECK(c.ld_second == 1);
  CHECK(c.m == 4);
  CHECK(c.n == 3);
  CHECK(c.k == 0);
  check_mapping(false, false, 3, 4, 0, 0.5);
}
