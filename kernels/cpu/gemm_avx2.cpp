// The GEMM micro-kernels for AVX2+FMA: 8 floats or 4 doubles a register (gemm_isa.inc).
#define PTL_MM(op) _mm256_##op
#define PTL_REG_F __m256
#define PTL_REG_D __m256d
#define PTL_SHAPE_F kAvx2F32
#define PTL_SHAPE_D kAvx2F64
#define PTL_ENTRY avx2_micro_kernels
#include "kernels/cpu/gemm_isa.inc"
