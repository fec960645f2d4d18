// Row-major GEMM with bf16 operands and a float32 result on the CPU, with the arithmetic of
// Intel's VDPBF16PS, the same bits on every path (avx2 and avx512 emulate the instruction with
// float FMAs, avx512bf16 runs it: kernels/cpu/isa.h), at every blocking and thread count.
//
//   C (M, N) float32 = alpha * op(A) (M, K) bf16  x  op(B) (K, N) bf16  +  beta * C
//   op(A)(i, k) = trans_a ? A[k*lda + i] : A[i*lda + k];  op(B)(k, j) = trans_b ? B[j*ldb + k]
//   : B[k*ldb + j]; C(i, j) = C[i*ldc + j].
//
// Exactly, for each element:
//   1. The start value c0: +0 when beta is 0 (C is not read: it may hold NaN), C(i, j) when beta
//      is 1, otherwise the float product beta * C(i, j) (IEEE, rounded to nearest even). Then a
//      denormal c0 becomes a zero of its sign (VDPBF16PS reads its accumulator so).
//   2. The chain, over the pairs p = 0 .. ceil(K/2) - 1 in order, with op(A)(i, K) =
//      op(B)(K, j) = +0 when K is odd (the pad of the last pair):
//          c = dp(A(i, 2p+1), B(2p+1, j), c);  then  c = dp(A(i, 2p), B(2p, j), c)
//      the upper element of the pair first, as the SDM's pseudo-code of VDPBF16PS orders it.
//      dp(a, b, c) is one fused multiply-add: a, b and c denormal are read as zeros of their
//      sign (DAZ), a * b + c is rounded once to nearest even (the product of two bf16 is exact
//      in float32's 24-bit significand, but not in its exponent range: the sum is fused), and a
//      result that is tiny after rounding (below 2^-126 in magnitude, rounded with an unbounded
//      exponent, as x86 detects underflow) becomes a zero of its sign (FTZ).
//   3. alpha 1: C(i, j) = c, the chain having started from c0. Otherwise the chain starts from
//      +0 and C(i, j) = fma(alpha, c, c0), one IEEE rounding (no flushing); the chains then go
//      through an M x N scratch first.
//   4. Every NaN result is written as the quiet NaN 0x7FC00000 (the NaN an instruction returns
//      depends on operand order, which the paths do not share).
// K = 0 leaves the chain empty: C(i, j) = c0 with alpha 1, fma(alpha, +0, c0) otherwise.
// alpha 1 costs nothing beyond the chains (the convolutions and linear layers are to pass it);
// accumulating into C is beta 1.
// tests/gemm_bf16_reference.h is this definition in plain loops.
#pragma once
#include <cstdint>

#include "base/bf16.h"

namespace ptl::cpu {

// gemm_bf16 (kernels/contract/gemm_bf16.inc): rows (or columns) of C in fixed blocks on
// parallel_for's threads (base/parallel.h).
#include "kernels/contract/gemm_bf16.inc"

// Single-threaded, for callers that parallelise over independent products themselves.
void gemm_bf16_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                      const bf16* A, int64_t lda, const bf16* B, int64_t ldb, float beta, float* C,
                      int64_t ldc);

}  // namespace ptl::cpu
