// The one micro-kernel of kernels/cpu/gemm_micro.h, written once over a vector type V:
//   V::Reg (a register of V::lanes elements of V::T), V::load/store (unaligned), V::zero,
//   V::splat (broadcast one element), V::fma(a, b, c) = a * b + c rounded once.
// Included only by the per-ISA files, which instantiate it with their own V in an unnamed
// namespace, so each instantiation is private to a file compiled for its instruction set.
#pragma once
#include <cstdint>

namespace ptl::cpu {

// c (MR, NV * V::lanes), rows ldc apart: one fused multiply-add chain per element (gemm_micro.h).
template <class V, int MR, int NV>
void micro_tile(int64_t kc, const typename V::T* a, const typename V::T* b, typename V::T* c,
                int64_t ldc, bool accumulate) {
  using Reg = typename V::Reg;
  constexpr int L = V::lanes, NR = NV * L;
  Reg acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = accumulate ? V::load(c + i * ldc + v * L) : V::zero();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    Reg bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * L);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const Reg ai = V::splat(a[i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fma(ai, bv[v], acc[i][v]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) V::store(c + i * ldc + v * L, acc[i][v]);
}

}  // namespace ptl::cpu
