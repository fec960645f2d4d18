// The bf16 GEMM micro-kernel with AVX512_BF16: VDPBF16PS itself, 16 pairs a register, on the
// kAvx512Bf16 tile (gemm_micro.h). This file alone is compiled with -mavx512bf16
// (CMakeLists.txt); nothing in it is visible outside but avx512bf16_micro_kernel(), which the
// bf16 GEMM calls only on a CPU with AVX512_BF16 (cpu::Isa::avx512bf16).
#include <immintrin.h>

#include "kernels/cpu/gemm_micro.h"
#include "kernels/cpu/gemm_tile.h"

namespace ptl::cpu {

namespace {

// micro_tile's vector type: a step of the chain is one VDPBF16PS, which reads its accumulator,
// its pairs and their products as gemm_bf16.h defines (whatever MXCSR holds).
struct Dot {
  using T = float;
  using P = uint32_t;
  using Reg = __m512;
  using BReg = __m512bh;
  static constexpr int lanes = 16;
  static Reg load(const T* p) { return _mm512_loadu_ps(p); }
  static BReg load_b(const P* p) { return (BReg)_mm512_loadu_si512(p); }
  static void store(T* p, Reg v) {  // every NaN as the quiet NaN 0x7FC00000
    const Reg nan = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC00000));
    _mm512_storeu_ps(p, _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), nan));
  }
  static Reg zero() { return _mm512_setzero_ps(); }
  static BReg splat(P w) { return (BReg)_mm512_set1_epi32(static_cast<int>(w)); }
  static Reg fma(BReg a, BReg b, Reg c) { return _mm512_dpbf16_ps(c, a, b); }
};

void tile_bf16(int64_t kc, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, bool acc) {
  micro_tile<Dot, kAvx512Bf16.mr, kAvx512Bf16.nr / Dot::lanes>(kc, a, b, c, ldc, acc);
}

}  // namespace

MicroKernelFn<uint32_t, float> avx512bf16_micro_kernel() {
  return tile_bf16;
}

}  // namespace ptl::cpu
