#include "kernels/cpu/gemm_bf16.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include <immintrin.h>

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

// pack's emulated layout from lines contiguous along k (ks = 1), 8 lines x 8 steps at a time
// through register transposes: returns the steps done, a multiple of 8 below kvalid (kc is even,
// so a group of 8 steps holds whole pairs). Lines [n, W) are left to the caller. Stores are 8
// lanes wide: when W is not a multiple of 8 (6 or 12 rows of A) a group's last lanes spill into
// the first lanes of the next step (or of the next sliver, or the buffer's padding: panel() in
// gemm_blocked.h), which are written later: groups go from the highest lanes down, steps
// upwards, as gemm.cpp's transpose_lines does.
template <int W, class D>
int64_t transposed_steps(const bf16* x, int64_t ls, int64_t n, int64_t kc, int64_t kvalid, D* dst) {
  if constexpr (!std::is_same_v<D, float>) {
    return 0;
  } else {
    const int64_t steps = std::min(kc, kvalid) / 8 * 8;
    for (int64_t t0 = 0; t0 < steps; t0 += 8)
      for (int64_t l0 = (n - 1) / 8 * 8; l0 >= 0; l0 -= 8) {
        __m256 r[8], c[8];
        for (int64_t l = 0; l < 8; ++l) {
          if (l0 + l >= n) {
            r[l] = _mm256_setzero_ps();
            continue;
          }
          // 8 bf16 as floats (shifted into the upper half), each pair's two k swapped
          const __m128i h =
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + (l0 + l) * ls + t0));
          const __m256 f = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
          r[l] = _mm256_permute_ps(f, 0xB1);
        }
        transpose8x8(r, c);
        for (int64_t k = 0; k < 8; ++k) _mm256_storeu_ps(dst + (t0 + k) * W + l0, c[k]);
      }
    return steps;
  }
}

// `lines` lines of an operand, line l's element k at X[l*ls + k*ks] for k < kvalid (zero past
// it: the pad of an odd K), into slivers of W lines of kc steps, each step as the kernel of the
// path wants it (gemm_micro.h), and zeros in the lines past `lines`:
//   VDPBF16PS (D = uint32_t, kc pairs):
//     dst[s*W*kc + p*W + l] = X(s*W + l, 2p) | X(s*W + l, 2p + 1) << 16
//   emulated (D = float, kc even):
//     dst[s*W*kc + t*W + l] = X(s*W + l, t ^ 1) as a float
template <int W, class D>
void pack(const bf16* X, int64_t ls, int64_t ks, int64_t lines, int64_t kc, int64_t kvalid,
          D* dst) {
  // step t of the line at x, whose element k is x[k*ks]
  const auto step = [&](const bf16* x, int64_t t, int64_t ks) -> D {
    const auto at = [&](int64_t k) -> uint32_t { return k < kvalid ? x[k * ks].bits : 0u; };
    if constexpr (std::is_same_v<D, uint32_t>)
      return at(2 * t) | at(2 * t + 1) << 16;
    else
      return float_from_bits(at(t ^ 1) << 16);
  };
  for (int64_t l0 = 0; l0 < lines; l0 += W, dst += W * kc) {
    const int64_t n = std::min<int64_t>(W, lines - l0);
    const bf16* x = X + l0 * ls;
    // The loops in the order of the operand's memory, so that the compiler can vectorise them.
    if (ls == 1)  // lines side by side: W contiguous values a step
      for (int64_t t = 0; t < kc; ++t)
        for (int64_t l = 0; l < n; ++l) dst[t * W + l] = step(x + l, t, ks);
    else if (ks == 1) {  // each line contiguous along k
      const int64_t done = transposed_steps<W>(x, ls, n, kc, kvalid, dst);
      for (int64_t l = 0; l < n; ++l)
        for (int64_t t = done; t < kc; ++t) dst[t * W + l] = step(x + l * ls, t, 1);
    } else
      for (int64_t t = 0; t < kc; ++t)
        for (int64_t l = 0; l < n; ++l) dst[t * W + l] = step(x + l * ls, t, ks);
    for (int64_t t = 0; t < kc; ++t) std::fill(dst + t * W + n, dst + (t + 1) * W, D(0));
  }
}

// C (M, N) = the chains of step 2 over K > 0, from C (accumulate) or from +0, with the tile
// shape S and micro-kernel of a path whose panels hold steps of type D.
template <const TileShape& S, class D>
void chains_on(MicroKernelFn<D, float> tile, bool ta, bool tb, int64_t M, int64_t N, int64_t K,
               const bf16* A, int64_t lda, const bf16* B, int64_t ldb, float* C, int64_t ldc,
               bool accumulate) {
  // op(A)(i, k) = A[i*ars + k*acs], op(B)(k, j) = B[k*brs + j*bcs]; a step covers kstep k
  const int64_t ars = ta ? 1 : lda, acs = ta ? lda : 1, brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
  constexpr int64_t kstep = std::is_same_v<D, uint32_t> ? 2 : 1;
  const int64_t steps = (K + 1) / 2 * 2 / kstep;
  D* pa = panel<D>(0, S.mc * S.kc);
  const auto a_panel = [&](int64_t pc, int64_t kc, int64_t ic, int64_t mc) -> const D* {
    const int64_t k0 = pc * kstep;
    pack<S.mr>(A + ic * ars + k0 * acs, ars, acs, mc, kc, K - k0, pa);
    return pa;
  };
  const auto b_panel = [&](auto nr, int64_t pc, int64_t kc, int64_t jc, int64_t nc, D* dst) {
    const int64_t k0 = pc * kstep;
    pack<decltype(nr)::value>(B + k0 * brs + jc * bcs, bcs, brs, nc, kc, K - k0, dst);
  };
  gemm_blocked<S.mr, S.nr, S.kc, S.mc, D, float>(tile, a_panel, b_panel, C, ldc, M, N, steps,
                                                 accumulate);
}

void chains(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const bf16* A, int64_t lda,
            const bf16* B, int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  switch (current_isa()) {
    case Isa::avx2:
      return chains_on<kAvx2F32>(avx2_micro_kernels().bf16, ta, tb, M, N, K, A, lda, B, ldb, C, ldc,
                                 accumulate);
    case Isa::avx512:
      return chains_on<kAvx512F32>(avx512_micro_kernels().bf16, ta, tb, M, N, K, A, lda, B, ldb, C,
                                   ldc, accumulate);
    case Isa::avx512bf16:
      return chains_on<kAvx512Bf16>(avx512bf16_micro_kernel(), ta, tb, M, N, K, A, lda, B, ldb, C,
                                    ldc, accumulate);
  }
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
