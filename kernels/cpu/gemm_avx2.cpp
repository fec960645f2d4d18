// The GEMM micro-kernels for AVX2+FMA: 8 floats or 4 doubles a register, and bf16 emulated
// with float FMAs (gemm_isa.inc).
#define PTL_MM(op) _mm256_##op
#define PTL_REG_F __m256
#define PTL_REG_D __m256d
#define PTL_ONE_NAN(x)                                                    \
  _mm256_blendv_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC00000)), \
                   _mm256_cmp_ps(x, x, _CMP_UNORD_Q))
#define PTL_SHAPE_F kAvx2F32
#define PTL_SHAPE_D kAvx2F64
#define PTL_ENTRY avx2_micro_kernels
#include "kernels/cpu/gemm_isa.inc"
