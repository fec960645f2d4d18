// Element types: F32 for training, F64 for gradient checks, I64/I32 for labels and indices,
// BF16 (base/bf16.h) for storage and casts (issue #30): an op without a bf16 path refuses it with
// an error naming the op, never computing in float32 behind the caller's back.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/bf16.h"

namespace ptl {

enum class DType : uint8_t { F32, F64, I64, I32, BF16 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
      return 4;
    case DType::F64:
      return 8;
    case DType::I64:
      return 8;
    case DType::I32:
      return 4;
    case DType::BF16:
      return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "float32";
    case DType::F64:
      return "float64";
    case DType::I64:
      return "int64";
    case DType::I32:
      return "int32";
    case DType::BF16:
      return "bfloat16";  // torch.bfloat16
  }
  return "?";
}

// Floating point, as torch.is_floating_point: casts between these keep autograd.
inline bool is_floating(DType t) {
  return t == DType::F32 || t == DType::F64 || t == DType::BF16;
}

// The dtypes the compute kernels take (every op but the casts and copies).
inline bool is_float32_or_64(DType t) {
  return t == DType::F32 || t == DType::F64;
}

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::F32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::F64;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::I64;
};
template <>
struct dtype_of<int32_t> {
  static constexpr DType value = DType::I32;
};
template <>
struct dtype_of<bf16> {
  static constexpr DType value = DType::BF16;
};

}  // namespace ptl
