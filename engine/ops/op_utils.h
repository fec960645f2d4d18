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

// Whether `op`, an op with a bf16 path, computes in bf16: the mode is BF16 (engine/precision.h).
// Then every defined operand must be a float32 or bfloat16 tensor, all on one device (the CPU or
// a GPU: both backends have the bf16 kernels), a bfloat16 one without requires_grad (a batch the
// data loader wrote as bf16); anything else (float64, mixed devices) is an error naming the op,
// never a silent computation in another precision. In float32 mode a bfloat16 operand is an error
// naming the op too.
bool bf16_path(const char* op, const std::vector<Tensor>& operands);
// t as a contiguous bfloat16 tensor, outside autograd: itself when it is one, otherwise its
// float32 values rounded (to_bf16, round to nearest even). The operand of the bf16 kernels.
Tensor bf16_operand(const Tensor& t);

}  // namespace ptl::ops_detail
