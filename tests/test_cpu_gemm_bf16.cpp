// The bf16 GEMM (kernels/cpu/gemm_bf16.h) against its definition, bit for bit: the reference of
// tests/gemm_bf16_reference.h, on every instruction-set path of the machine (avx2 and avx512
// emulate VDPBF16PS with float FMAs; avx512bf16 runs it) at 1, 2, 3 and 7 threads, with
// subnormal, infinite and NaN operands, odd K, edge tiles, several K panels, transposes and
// alpha/beta; hand-worked results of the instruction; and the error against float64.
#include <catch2/catch.hpp>

#include <xmmintrin.h>

#include <cfloat>
#include <cmath>
#include <vector>

#include "base/bf16.h"
#include "base/parallel.h"
#include "isa_scope.h"
#include "kernels/cpu/gemm_bf16.h"
#include "tests/compare.h"
#include "tests/gemm_bf16_reference.h"
#include "tests/test_util.h"

namespace {

using ptl::bf16;
using ptl::float_bits;
using ptl::float_from_bits;

// n bf16 values from uniform [-1, 1), with subnormal, zero, infinite, NaN and large values
// spread through them when `special` (one in 61).
std::vector<bf16> bf16_values(size_t n, unsigned seed, bool special) {
  const auto f = ptl::test::random_values<float>(n, seed);
  const uint16_t odd[] = {0x0001, 0x807F, 0x8000, 0x0000, 0x7F80, 0xFF80, 0x7FC1,
                          0xFFC0, 0x7F7F, 0x5F80, 0x0080, 0x2000, 0x1A00, 0x8040};
  std::vector<bf16> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = special && i % 61 == 7 ? bf16{odd[i / 61 % std::size(odd)]} : ptl::to_bf16(f[i]);
  return out;
}

// C's start: random floats with, when `special`, NaN, subnormals and signed zeros among them.
std::vector<float> c_values(size_t n, unsigned seed, bool special) {
  auto c = ptl::test::random_values<float>(n, seed);
  const float odd[] = {std::nanf(""), 1e-40f, -1e-39f, -0.0f, FLT_MIN, INFINITY};
  if (special)
    for (size_t i = 5; i < n; i += 53) c[i] = odd[i / 53 % std::size(odd)];
  return c;
}

// MXCSR's controls (the low 6 bits are sticky exception flags, which each thread raises on its
// own).
unsigned mxcsr_controls() {
  return _mm_getcsr() & ~0x3Fu;
}

// The emulation sets FTZ|DAZ for each tile: every thread must have the controls `want` (the
// calling thread's before the product) back after it.
void check_mxcsr_restored(unsigned want) {
  std::vector<unsigned> seen(64);
  ptl::parallel_for(64, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) seen[i] = mxcsr_controls();
  });
  for (unsigned csr : seen) CHECK(csr == want);
  volatile float half = 0.5f;  // computed at run time, under this thread's MXCSR
  CHECK(std::fpclassify(FLT_MIN * half) == FP_SUBNORMAL);
}

void check_exact(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                 bool special = true) {
  INFO("ta " << ta << " tb " << tb << " M " << M << " N " << N << " K " << K << " alpha " << alpha
             << " beta " << beta);
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
  const auto A = bf16_values(static_cast<size_t>((ta ? K : M) * lda), 1, special);
  const auto B = bf16_values(static_cast<size_t>((tb ? N : K) * ldb), 2, special);
  const auto C0 = c_values(static_cast<size_t>(M * ldc), 3, special);
  auto expect = C0;
  ptl::test::gemm_bf16_reference(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta,
                                 expect.data(), ldc);
  ptl::test::on_every_path(
      [&] {
        auto C = C0;
        const unsigned csr = mxcsr_controls();
        ptl::cpu::gemm_bf16(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(),
                            ldc);
        CHECK_SAME_BITS(C, expect);
        check_mxcsr_restored(csr);
      },
      {1, 2, 3, 7});
}

}  // namespace

TEST_CASE("bf16 GEMM equals its VDPBF16PS chains bit for bit on every path", "[gemm][bf16]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_exact(ta, tb, 37, 45, 19, 1.0f, 0.0f);    // odd K, edge tiles in both directions
      check_exact(ta, tb, 29, 70, 1201, 1.0f, 1.0f);  // 2 or 3 K panels, the last one odd
      check_exact(ta, tb, 13, 9, 1, 0.5f, 0.25f);     // one step: the pad, then k = 0
      check_exact(ta, tb, 150, 33, 64, -2.0f, 3.0f);  // two M panels, alpha and beta
    }
  check_exact(false, false, 300, 260, 64, 1.0f, 1.0f);  // split rows between threads
  check_exact(false, true, 24, 600, 520, 1.0f, 0.0f);   // short and wide: split columns
  check_exact(true, false, 100, 40, 1800, 0.5f, 1.0f);  // several K panels with alpha
  check_exact(false, false, 7, 5, 0, 1.0f, 0.5f);       // K = 0: C = c0
  check_exact(false, false, 7, 5, 0, 2.0f, 1.0f);
  check_exact(false, false, 64, 64, 512, 1.0f, 0.0f, false);  // ordinary values only
}

// Results of VDPBF16PS worked by hand from the SDM's pseudo-code (gemm_bf16.h), each a 1 x 1
// product of one row of A and one column of B: the reference and every path must give them.
TEST_CASE("bf16 GEMM gives VDPBF16PS's results in hand-worked cases", "[gemm][bf16]") {
  struct Case {
    const char* what;
    std::vector<uint16_t> a, b;  // op(A)(0, k), op(B)(k, 0) as bf16 bits
    float alpha, beta, c;
    uint32_t want;  // C(0, 0) bits
  };
  const float flt_min = FLT_MIN;
  const Case cases[] = {
      {"a subnormal bf16 (2^-133) times 1 reads as 0 (DAZ), not 2^-133",
       {0x0001},
       {0x3F80},
       1,
       0,
       0,
       0x00000000},
      {"pair order: 1 + 2^-12 * 2^-12 ties to 1, then 1 + (-1) * 1 = 0 (the other order: "
       "2^-24)",
       {0xBF80, 0x3980},
       {0x3F80, 0x3980},
       1,
       1,
       1.0f,
       0x00000000},
      {"pair order: 2^-65 * 2^-65 = 2^-130 first, flushed, then + 2^-126 (the other order: "
       "2^-126 + 2^-130)",
       {0x2000, 0x1F00},
       {0x2000, 0x1F00},
       1,
       0,
       0,
       0x00800000},
      {"2^-126 - 2^-150 is tiny after rounding to 24 bits: 0 (IEEE would round it to 2^-126)",
       {0x0000, 0x1A00},
       {0x0000, 0x9A00},
       1,
       1,
       flt_min,
       0x00000000},
      {"2^-126 - 2^-151 rounds to 2^-126 with 24 bits, so it is not tiny: 2^-126 stays",
       {0x0000, 0x1A00},
       {0x0000, 0x9980},
       1,
       1,
       flt_min,
       0x00800000},
      {"fused: -2^127 + 2^64 * 2^64 = 2^127, where a rounded product would be infinite",
       {0x0000, 0x5F80},
       {0x0000, 0x5F80},
       1,
       1,
       -0x1p127f,
       0x7F000000},
      {"a signalling NaN operand gives the quiet NaN 0x7FC00000",
       {0x7F81},
       {0x3F80},
       1,
       0,
       0,
       0x7FC00000},
      {"inf * 0 gives the quiet NaN 0x7FC00000",
       {0x3F80, 0xFF80},
       {0x3F80, 0x0000},
       1,
       0,
       0,
       0x7FC00000},
      {"odd K: the pad +0 * +0 turns a start of -0 into +0 before (-1) * 0",
       {0xBF80},
       {0x0000},
       1,
       1,
       -0.0f,
       0x00000000},
      {"a subnormal start value (beta 1) reads as +0",
       {0x0000, 0x0000},
       {0x0000, 0x0000},
       1,
       1,
       1e-40f,
       0x00000000},
      {"alpha 2, beta 1: fma(2, 1 * 1 + 1 * 1, 1) = 5",
       {0x3F80, 0x3F80},
       {0x3F80, 0x3F80},
       2,
       1,
       1.0f,
       0x40A00000},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const int64_t K = static_cast<int64_t>(c.a.size());
    std::vector<bf16> A, B;
    for (int64_t k = 0; k < K; ++k) {
      A.push_back(bf16{c.a[k]});
      B.push_back(bf16{c.b[k]});
    }
    float ref = c.c;
    ptl::test::gemm_bf16_reference(false, false, 1, 1, K, c.alpha, A.data(), K, B.data(), 1, c.beta,
                                   &ref, 1);
    CHECK(float_bits(ref) == c.want);
    ptl::test::on_every_path([&] {
      float got = c.c;
      ptl::cpu::gemm_bf16(false, false, 1, 1, K, c.alpha, A.data(), K, B.data(), 1, c.beta, &got,
                          1);
      CHECK(float_bits(got) == c.want);
    });
  }
}

// Against float64 sums of the products. Each product of two bf16 is exact in float32 and the
// chain rounds once per fused multiply-add after the first (which starts from +0 and is exact),
// so by the recursive-summation bound |C - S| <= gamma(K) * sum |a b|, gamma(n) = n u / (1 - n
// u), u = 2^-24, for S the exact sum of the bf16 products (no flushing: every |a b| here is
// above 2^-100 or zero). Against the float32 values a and b were rounded from (RNE to 8 bits:
// relative error at most 2^-9 each, so at most 2^-8 + 2^-18 on a product), the bf16 rounding
// adds (2^-8 + 2^-18) sum |a b|: the bound a bf16 product has to meet, about 256 times float32's.
TEST_CASE("bf16 GEMM is within bf16 rounding of float64", "[gemm][bf16]") {
  const int64_t M = 33, N = 21, K = 1001;
  const auto fa = ptl::test::random_values<float>(M * K, 4),
             fb = ptl::test::random_values<float>(K * N, 5);
  std::vector<bf16> A(fa.size()), B(fb.size());
  for (size_t i = 0; i < fa.size(); ++i) A[i] = ptl::to_bf16(fa[i]);
  for (size_t i = 0; i < fb.size(); ++i) B[i] = ptl::to_bf16(fb[i]);
  std::vector<float> C(M * N);
  ptl::cpu::gemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  const double u = std::ldexp(1.0, -24), gamma = K * u / (1 - K * u);
  const double bf16_product = std::ldexp(1.0, -8) + std::ldexp(1.0, -18);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double exact = 0, mag = 0, from_float = 0, mag_float = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double p = double(ptl::to_float(A[i * K + k])) * ptl::to_float(B[k * N + j]);
        const double q = double(fa[i * K + k]) * fb[k * N + j];
        exact += p;
        mag += std::fabs(p);
        from_float += q;
        mag_float += std::fabs(q);
      }
      const double c = C[i * N + j];
      INFO("C(" << i << ", " << j << ") = " << c << ", float64 " << exact);
      REQUIRE(std::isfinite(c));
      CHECK(std::fabs(c - exact) <= gamma * mag);
      CHECK(std::fabs(c - from_float) <= bf16_product * mag_float + gamma * mag);
    }
}
