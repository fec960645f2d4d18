// The micro-kernel of kernels/cpu/gemm_micro.h, written once over a vector type V:
//   V::P (a packed step of a and b), V::T (an element of C), V::Reg (a register of V::lanes
//   elements of C), V::load/store (unaligned; store also makes every NaN one NaN where the
//   contract asks it, gemm_bf16.h), V::zero, V::splat (broadcast one step of a) and
//   V::fma(a, b, c): one step of the chain, a * b + c rounded once (for VDPBF16PS, its pair),
//   V::load_b (a vector of steps of b).
// Included only by the per-ISA files, which instantiate them with their own V in an unnamed
// namespace, so each instantiation is private to a file compiled for its instruction set.
#pragma once
#include <cstdint>

namespace ptl::cpu {

// c (MR, NV * V::lanes), rows ldc apart: one chain per element (gemm_micro.h).
template <class V, int MR, int NV>
void micro_tile(int64_t kc, const typename V::P* a, const typename V::P* b, typename V::T* c,
                int64_t ldc, bool accumulate) {
  using Reg = typename V::Reg;
  constexpr int L = V::lanes, NR = NV * L;
  Reg acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = accumulate ? V::load(c + i * ldc + v * L) : V::zero();
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    typename V::BReg bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = V::load_b(b + v * L);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const auto ai = V::splat(a[i]);
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
