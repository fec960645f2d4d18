// kernels/cpu/gemm_bf16.h's arithmetic in plain loops, one element and one step at a time,
// written from that contract (and Intel's pseudo-code of VDPBF16PS), not from the kernels: the
// oracle of tests/test_cpu_gemm_bf16.cpp. Runs under the default MXCSR (IEEE, subnormals kept)
// and does the flushing itself.
#pragma once
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "base/bf16.h"

namespace ptl::test {

inline float one_nan(float x) {
  return std::isnan(x) ? float_from_bits(0x7FC00000u) : x;
}

// Denormals are zero: a subnormal float becomes a zero of its sign.
inline float daz(float x) {
  return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x;
}

// One of VDPBF16PS's fused multiply-adds: operands read with DAZ, a * b + c rounded once to
// nearest even, and a result that is tiny after rounding to 24 bits with an unbounded exponent
// (x86's test for underflow) flushed to a zero of its sign.
inline float dp(float a, float b, float c) {
  a = daz(a);
  b = daz(b);
  c = daz(c);
  const float r = std::fma(a, b, c);         // IEEE: on the subnormal grid below 2^-126
  if (!(std::fabs(r) <= FLT_MIN)) return r;  // normal, infinite or NaN
  if (std::fabs(r) < FLT_MIN) return std::copysign(0.0f, r);  // tiny either way (or zero)
  // |r| = 2^-126: the subnormal grid (steps of 2^-149) rounds up to it exact results in
  // [2^-126 - 2^-150, 2^-126 - 2^-151) whose 24-bit rounding stays below 2^-126 (tiny, so
  // flushed). Redo the operation 2^24 times larger, where the grid is the 24-bit one. Such a
  // result needs a bit of weight 2^-150 from a * b, so |a|, |b| < 2^-8 and |c| < 2^-125: nothing
  // overflows there; other inputs with |r| = 2^-126 are not tiny, whatever s gives (inf, NaN).
  const float s = std::fma(a * 0x1p12f, b * 0x1p12f, c * 0x1p24f);
  return std::fabs(s) < 0x1p-102f ? std::copysign(0.0f, r) : r;
}

// C (M, N) = alpha op(A) op(B) + beta C, steps 1-4 of gemm_bf16.h.
inline void gemm_bf16_reference(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                                const bf16* A, int64_t lda, const bf16* B, int64_t ldb, float beta,
                                float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const auto a = [&](int64_t k) {
        return k < K ? to_float(ta ? A[k * lda + i] : A[i * lda + k]) : 0.0f;
      };
      const auto b = [&](int64_t k) {
        return k < K ? to_float(tb ? B[j * ldb + k] : B[k * ldb + j]) : 0.0f;
      };
      float& out = C[i * ldc + j];
      const float c0 = beta == 0.0f ? 0.0f : daz(beta == 1.0f ? out : beta * out);
      float c = alpha == 1.0f ? c0 : 0.0f;
      for (int64_t k = 0; k < K; k += 2) {
        c = dp(a(k + 1), b(k + 1), c);
        c = dp(a(k), b(k), c);
      }
      out = one_nan(alpha == 1.0f ? c : std::fma(alpha, c, c0));
    }
}

}  // namespace ptl::test
