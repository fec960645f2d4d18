// bfloat16: the upper 16 bits of an IEEE float32 (1 sign, 8 exponent, 7 mantissa bits), the
// storage type of ptl's mixed precision (issue #30). Conversions follow PyTorch's
// `tensor.to(torch.bfloat16)` (c10::BFloat16): round to nearest, ties to even; every NaN becomes
// the quiet NaN 0x7FC0; infinities and signed zeros are kept; float32 subnormals round like any
// other value (no flush). bf16 -> float32 is exact (a shift).
#pragma once
#include <cstdint>
#include <cstring>

// Host and device functions under nvcc, so the CUDA cast kernel rounds with the same code.
#if defined(__CUDACC__)
#define PTL_BF16_HD __host__ __device__ inline
#else
#define PTL_BF16_HD inline
#endif

namespace ptl {

struct bf16 {
  uint16_t bits;
};

PTL_BF16_HD uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

PTL_BF16_HD float float_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

PTL_BF16_HD bf16 to_bf16(float f) {
  const uint32_t u = float_bits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return bf16{0x7FC0};  // NaN, any payload or sign
  // Adding 0x7FFF plus the lowest kept bit rounds half-way cases to the even neighbour; a carry
  // out of the mantissa steps the exponent (the largest finite values round to infinity).
  const uint32_t rounding_bias = 0x7FFFu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>((u + rounding_bias) >> 16)};
}

PTL_BF16_HD float to_float(bf16 h) {
  return float_from_bits(static_cast<uint32_t>(h.bits) << 16);
}

}  // namespace ptl
