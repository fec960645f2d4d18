#include "kernels/cpu/gemm_bf16.h"

#include <cmath>
#include <vector>

#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/gemm_micro.h"
#include "kernels/cpu/isa.h"

namespace ptl::cpu {

namespace {

// Steps 1 and 4 of gemm_bf16.h for one element; beta != 0.
float start_value(float beta, float c) {
  const float v = beta == 1.0f ? c : beta * c;
  if (std::isnan(v)) return float_from_bits(0x7FC00000u);
  return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v;
}

// `lines` lines of an operand, line l's element k at X[l*ls + k*ks] for k < kvalid, into
// slivers of W lines, each step a pair of k (gemm_micro.h):
//   dst[s*W*kp + p*W + l] = X(s*W + l, 2p) | X(s*W + l, 2p + 1) << 16
// for p < kp, with zeros past kvalid (the pad of an odd K) and in the lines past `lines`.
template <int W>
void pack_pairs(const bf16* X, int64_t ls, int64_t ks, int64_t lines, int64_t kp, int64_t kvalid,
                uint32_t* dst) {
  for (int64_t l0 = 0; l0 < lines; l0 += W, dst += W * kp) {
    const int64_t n = std::min<int64_t>(W, lines - l0);
    const bf16* s = X + l0 * ls;
    for (int64_t p = 0; p < kp; ++p) {
      const bf16* lo = s + 2 * p * ks;
      const bf16* hi = 2 * p + 1 < kvalid ? lo + ks : nullptr;
      uint32_t* d = dst + p * W;
      for (int64_t l = 0; l < n; ++l)
        d[l] = lo[l * ls].bits | (hi ? static_cast<uint32_t>(hi[l * ls].bits) << 16 : 0u);
      for (int64_t l = n; l < W; ++l) d[l] = 0;
    }
  }
}

// The bf16 tile shape and micro-kernel of the path in use, as constants for f.
template <class F>
void on_bf16_path(F&& f) {
  switch (current_isa()) {
    case Isa::avx2:
      return f(std::integral_constant<int, 0>{}, avx2_micro_kernels().bf16);
    case Isa::avx512:
      return f(std::integral_constant<int, 1>{}, avx512_micro_kernels().bf16);
    case Isa::avx512bf16:
      return f(std::integral_constant<int, 1>{}, avx512bf16_micro_kernel());
  }
}

// The chains of step 2 over K > 0, from C (accumulate) or from +0, into C.
void chains(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda,
            const bf16* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  // op(A)(i, k) = A[i*ars + k*acs], op(B)(k, j) = B[k*brs + j*bcs]
  const int64_t ars = ta ? 1 : lda, acs = ta ? lda : 1, brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
  on_bf16_path([&](auto wide, MicroKernelFn<uint32_t, float> tile) {
    constexpr TileShape s = decltype(wide)::value ? kAvx512Bf16 : kAvx2Bf16;
    uint32_t* pa = panel<uint32_t>(0, s.mc * s.kc);
    const auto a_panel = [&](int64_t pc, int64_t kc, int64_t ic, int64_t mc) -> const uint32_t* {
      pack_pairs<s.mr>(A + ic * ars + 2 * pc * acs, ars, acs, mc, kc, K - 2 * pc, pa);
      return pa;
    };
    const auto b_panel = [&](auto nr, int64_t pc, int64_t kc, int64_t jc, int64_t nc,
                             uint32_t* dst) {
      pack_pairs<decltype(nr)::value>(B + 2 * pc * brs + jc * bcs, bcs, brs, nc, kc, K - 2 * pc,
                                      dst);
    };
    gemm_blocked<s.mr, s.nr, s.kc, s.mc, uint32_t, float>(tile, a_panel, b_panel, C, ldc, M, N,
                                                          (K + 1) / 2, accumulate);
  });
}

}  // namespace

void gemm_bf16_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const bf16* A,
                      int64_t lda, const bf16* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (alpha == 1.0f) {  // the chains start from c0, written into C first where it is read
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        if (beta != 0.0f)
          C[i * ldc + j] = start_value(beta, C[i * ldc + j]);
        else if (K == 0)
          C[i * ldc + j] = 0.0f;
    if (K > 0) chains(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, beta != 0.0f);
    return;
  }
  std::vector<float> t(static_cast<size_t>(M * N), 0.0f);  // the chains from +0 (step 3)
  if (K > 0) chains(ta, tb, M, N, K, A, lda, B, ldb, t.data(), N, false);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float& c = C[i * ldc + j];
      const float r = std::fma(alpha, t[i * N + j], beta == 0.0f ? 0.0f : start_value(beta, c));
      c = std::isnan(r) ? float_from_bits(0x7FC00000u) : r;
    }
}

void gemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const bf16* A,
               int64_t lda, const bf16* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  split_gemm(M, N, K, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const bf16* a0 = ta ? A + i0 : A + i0 * lda;  // op(A) rows from i0, op(B) columns from j0
    const bf16* b0 = tb ? B + j0 * ldb : B + j0;
    gemm_bf16_serial(ta, tb, i1 - i0, j1 - j0, K, alpha, a0, lda, b0, ldb, beta, C + i0 * ldc + j0,
                     ldc);
  });
}

}  // namespace ptl::cpu
