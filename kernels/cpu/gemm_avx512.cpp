// The GEMM micro-kernels for AVX-512F: 16 floats or 8 doubles a register, and bf16 emulated
// with float FMAs (gemm_isa.inc). This file alone is compiled with -mavx512f (CMakeLists.txt);
// nothing in it is visible outside but avx512_micro_kernels(), which the GEMM drivers call only
// on a CPU with AVX-512.
#define PTL_MM(op) _mm512_##op
#define PTL_REG_F __m512
#define PTL_REG_D __m512d
#define PTL_ONE_NAN(x)                                          \
  _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), \
                     _mm512_castsi512_ps(_mm512_set1_epi32(0x7FC00000)))
#define PTL_SHAPE_F kAvx512F32
#define PTL_SHAPE_D kAvx512F64
#define PTL_ENTRY avx512_micro_kernels
#include "kernels/cpu/gemm_isa.inc"
