// The dtype dispatch of the `convert` kernels (kernels/contract/elementwise.inc), shared by the
// CPU and CUDA backends: f(src, dst) with src and dst cast to the element types of `from` and
// `to` (float, double, int64_t, int32_t, bf16), and the element conversion both backends apply.
#pragma once
#include <cstdint>
#include <type_traits>

#include "base/dtype.h"
#include "kernels/elementwise_math.h"

namespace ptl {

// One element, as `tensor.to(dtype)` in PyTorch: bf16 goes through float32 both ways, as
// c10::BFloat16 does (float64 -> bf16 rounds to float32 first, then to bf16; integers likewise).
template <class To, class From>
PTL_HD To convert_value(From v) {
  if constexpr (std::is_same<From, To>::value) {
    return v;
  } else if constexpr (std::is_same<To, bf16>::value) {
    return to_bf16(static_cast<float>(v));
  } else if constexpr (std::is_same<From, bf16>::value) {
    return static_cast<To>(to_float(v));
  } else {
    return static_cast<To>(v);
  }
}

template <class F>
void dispatch_convert(const void* src, DType from, void* dst, DType to, F&& f) {
  const auto to_dst = [&](const auto* s) {
    switch (to) {
      case DType::F32:
        f(s, static_cast<float*>(dst));
        break;
      case DType::F64:
        f(s, static_cast<double*>(dst));
        break;
      case DType::I64:
        f(s, static_cast<int64_t*>(dst));
        break;
      case DType::I32:
        f(s, static_cast<int32_t*>(dst));
        break;
      case DType::BF16:
        f(s, static_cast<bf16*>(dst));
        break;
    }
  };
  switch (from) {
    case DType::F32:
      to_dst(static_cast<const float*>(src));
      break;
    case DType::F64:
      to_dst(static_cast<const double*>(src));
      break;
    case DType::I64:
      to_dst(static_cast<const int64_t*>(src));
      break;
    case DType::I32:
      to_dst(static_cast<const int32_t*>(src));
      break;
    case DType::BF16:
      to_dst(static_cast<const bf16*>(src));
      break;
  }
}

}  // namespace ptl
