// The dtype dispatch of the `convert` kernels (kernels/contract/elementwise.inc), shared by the
// CPU and CUDA backends: f(src, dst) with src and dst cast to the element types of `from` and
// `to` (float, double, int64_t, int32_t).
#pragma once
#include <cstdint>

#include "base/dtype.h"

namespace ptl {

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
  }
}

}  // namespace ptl
