// Helpers shared by the op implementations in engine/ops/ (not part of the public API).
#pragma once
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/trace.h"
#include "kernels/dispatch.h"

// Runs the lambda `fn` with `scalar_t` bound to float or double according to `dtype`; any other
// dtype (bfloat16 included: no silent float32 fallback) is an error naming the op.
#define PTL_DISPATCH_FLOAT(dtype, op, ...)                                         \
  [&] {                                                                            \
    switch (dtype) {                                                               \
      case ::ptl::DType::F32: {                                                    \
        using scalar_t = float;                                                    \
        (void)sizeof(scalar_t);                                                    \
        return __VA_ARGS__();                                                      \
      }                                                                            \
      case ::ptl::DType::F64: {                                                    \
        using scalar_t = double;                                                   \
        (void)sizeof(scalar_t);                                                    \
        return __VA_ARGS__();                                                      \
      }                                                                            \
      default:                                                                     \
        ::ptl::fail(::ptl::str(op, ": expected a float32 or float64 tensor, got ", \
                               ::ptl::dtype_name(dtype)));                         \
    }                                                                              \
  }()

namespace ptl::ops_detail {

// Normalises a possibly negative dimension index for a tensor of `ndim` dimensions.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

// Checks that t is defined and float32 or float64 (the dtypes of the compute kernels).
void check_float(const char* op, const Tensor& t, const char* name);
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);

// Splits a shape around `dim` into (outer, size, inner) element counts.
struct Dims3 {
  int64_t outer, size, inner;
};
Dims3 around(const Shape& shape, int64_t dim);

}  // namespace ptl::ops_detail
