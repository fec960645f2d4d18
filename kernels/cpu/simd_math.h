// Four-lane float sigmoid and tanh for the CPU BConv-Cell gates, evaluated in double through a
// vectorised exp and rounded to float once. glibc's scalar expf/exp calls were about half of a
// small cell's forward+backward (docs/performance.md, step 8); these run four lanes per
// instruction and stay within 0.5 float ulp of the exact functions (tests/test_simd_math.cpp).
//
// GCC/Clang vector extensions: one source, the instructions follow -march (AVX2 by default).
// C-style casts between same-size vector types reinterpret the bits; comparisons give lane masks.
#pragma once
#include <cstdint>
#include <cstring>

namespace ptl::cpu::simd {

using f32x4 = float __attribute__((vector_size(16)));
using f64x4 = double __attribute__((vector_size(32)));
using i64x4 = int64_t __attribute__((vector_size(32)));

inline f64x4 widen(f32x4 v) {
  return __builtin_convertvector(v, f64x4);
}
inline f32x4 narrow(f64x4 v) {
  return __builtin_convertvector(v, f32x4);
}

// n <= 4 floats from p; lanes past n are 0.
inline f32x4 load(const float* p, int64_t n = 4) {
  f32x4 v = {0, 0, 0, 0};
  std::memcpy(&v, p, static_cast<size_t>(n) * sizeof(float));
  return v;
}
inline void store(f32x4 v, float* p, int64_t n = 4) {
  std::memcpy(p, &v, static_cast<size_t>(n) * sizeof(float));
}

// exp(x) within 1e-14 relative (float needs 6e-8). x = k ln2 + r with |r| <= ln2/2 (Cody-Waite: k *
// kLn2Hi is exact for |k| < 2^21), exp(r) by its Taylor series to r^11 (truncation < 7e-15
// relative), and 2^k put into the exponent field. Arguments are clamped to [-708, 708], where 2^k
// stays normal; every caller rounds the result to float, for which exp(+-708) is already inf / 0.
// NaN stays NaN.
inline f64x4 exp(f64x4 x) {
  constexpr double kLog2e = 1.4426950408889634, kShift = 0x1.8p52;  // kShift: rounds to integer
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  x = x < -708.0 ? f64x4{} - 708.0 : x;
  x = x > 708.0 ? f64x4{} + 708.0 : x;
  f64x4 kd = x * kLog2e + kShift;
  const i64x4 k = (i64x4)kd - 0x4338000000000000;  // the low bits of kd hold k; 0x4338... is kShift
  kd -= kShift;
  const f64x4 r = (x - kd * kLn2Hi) - kd * kLn2Lo;
  // Estrin's scheme (latency 4 multiply-adds deep, where Horner's would be 11) on the Taylor
  // coefficients 1/n!, n <= 11.
  const f64x4 r2 = r * r, r4 = r2 * r2;
  const f64x4 q0 = (1.0 + r) + r2 * (1.0 / 2 + r * (1.0 / 6));
  const f64x4 q1 = (1.0 / 24 + r * (1.0 / 120)) + r2 * (1.0 / 720 + r * (1.0 / 5040));
  const f64x4 q2 = (1.0 / 40320 + r * (1.0 / 362880)) + r2 * (1.0 / 3628800 + r * (1.0 / 39916800));
  const f64x4 p = q0 + r4 * (q1 + r4 * q2);
  return p * (f64x4)((k + 1023) << 52);
}

// 1 / (1 + exp(-x)), rounded to float once.
inline f32x4 sigmoid(f32x4 x) {
  return narrow(1.0 / (1.0 + exp(-widen(x))));
}

// tanh(|x|) = (e - 1) / (e + 1) with e = exp(2|x|) (|x| < 1e-4: |x| - |x|^3 / 3, the next term
// below 1e-20 relative), the sign of x copied on, rounded to float once. Large |x| gives exactly
// 1 through exp's clamp; NaN stays NaN.
inline f32x4 tanh(f32x4 xf) {
  const f64x4 x = widen(xf);
  constexpr int64_t kSign = INT64_MIN;
  const i64x4 bits = (i64x4)x;
  const f64x4 ax = (f64x4)(bits & ~kSign);
  const f64x4 e = exp(2.0 * ax);
  const f64x4 t = ax < 1e-4 ? ax - ax * ax * ax / 3.0 : (e - 1.0) / (e + 1.0);
  return narrow((f64x4)((i64x4)t | (bits & kSign)));
}

}  // namespace ptl::cpu::simd
