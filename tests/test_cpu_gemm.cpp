// The CPU GEMM (kernels/cpu/gemm.cpp) against its definition, bit for bit: every element of C is
// one fused multiply-add chain in k order, from zero (beta 0), from C (beta 1) or from beta * C,
// with alpha applied to A's elements. Checked on every instruction-set path of the machine, at 1
// and 2 threads, across the edge tiles and the K panels (K > 256), also with A packed once
// (PackedA, gemm_serial_packed).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "isa_scope.h"
#include "kernels/cpu/gemm.h"
#include "tests/compare.h"
#include "tests/test_util.h"
#include "thread_scope.h"

using ptl::test::random_values;

namespace {

template <class T>
void reference(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
               const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T& c = C[i * ldc + j];
      T acc = beta == T(0) ? T(0) : beta == T(1) ? c : beta * c;
      for (int64_t k = 0; k < K; ++k) {
        const T a = ta ? A[k * lda + i] : A[i * lda + k];
        acc = std::fma(alpha == T(1) ? a : alpha * a, tb ? B[j * ldb + k] : B[k * ldb + j], acc);
      }
      c = acc;
    }
}

template <class T>
void check_exact(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, T beta) {
  INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K << " alpha " << alpha
             << " beta " << beta << " bytes " << sizeof(T));
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
  const auto A = random_values<T>(static_cast<size_t>((ta ? K : M) * lda), 1);
  const auto B = random_values<T>(static_cast<size_t>((tb ? N : K) * ldb), 2);
  auto C0 = random_values<T>(static_cast<size_t>(M * ldc), 3);
  auto expect = C0;
  reference<T>(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, expect.data(), ldc);
  ptl::test::on_every_path([&] {
    auto C = C0;
    ptl::cpu::gemm<T>(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
    CHECK_SAME_BITS(C, expect);
    // With op(A) packed first (in parallel over the K panels), as the convolutions do.
    auto C_packed = C0;
    const ptl::cpu::PackedA<T> packed(ta, M, K, alpha, A.data(), lda);
    ptl::cpu::gemm_serial_packed<T>(packed, tb, N, B.data(), ldb, beta, C_packed.data(), ldc);
    CHECK_SAME_BITS(C_packed, expect);
  });
}

}  // namespace

TEST_CASE("CPU GEMM equals its fused multiply-add chains bit for bit on every path", "[gemm]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_exact<float>(ta, tb, 37, 45, 19, 1.0f, 0.0f);    // edge tiles in both directions
      check_exact<float>(ta, tb, 150, 70, 600, 1.0f, 1.0f);  // three K panels, two M panels
      check_exact<double>(ta, tb, 29, 33, 300, 1.0, 0.0);
    }
  check_exact<float>(false, false, 300, 260, 64, 0.5f, 0.25f);  // alpha and beta, split rows
  check_exact<float>(false, false, 24, 600, 520, 1.0f, 1.0f);   // short and wide: split columns
  check_exact<float>(false, false, 100, 40, 1300, 1.0f, 0.0f);  // four or more K panels
  check_exact<double>(true, false, 13, 9, 5, -2.0, 3.0);
  check_exact<float>(false, true, 7, 5, 0, 1.0f, 0.5f);  // K = 0 scales C
}

TEST_CASE("CPU GEMM with beta 0 never reads C", "[gemm]") {
  const int64_t M = 20, N = 18, K = 7;
  const auto A = random_values<float>(M * K, 4), B = random_values<float>(K * N, 5);
  std::vector<float> expect(M * N), C(M * N, std::nanf(""));
  reference<float>(false, false, M, N, K, 1, A.data(), K, B.data(), N, 0, expect.data(), N);
  ptl::cpu::gemm<float>(false, false, M, N, K, 1, A.data(), K, B.data(), N, 0, C.data(), N);
  CHECK_SAME_BITS(C, expect);
}
