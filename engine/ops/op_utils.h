// Helpers shared by the op implementations in engine/ops/ (not part of the public API).
#pragma once
#include <memory>
#include <vector>

#include "base/bf16.h"
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
// Then every defined operand must be a float32 CPU tensor; anything else (float64, a CUDA tensor:
// that backend has no bf16 kernels yet) is an error naming the op, never a silent computation in
// another precision.
bool bf16_path(const char* op, const std::vector<Tensor>& operands);
// t (float32) with every value rounded to bf16 (to_bf16, round to nearest even) and kept as
// float32: exact, so a float kernel multiplies the bf16 values exactly and accumulates in float32.
Tensor round_to_bf16(const Tensor& t);
// t (float32) rounded to bf16 storage, row-major: the operand of kernels/cpu/gemm_bf16.h.
std::shared_ptr<const std::vector<bf16>> bf16_values(const Tensor& t);

}  // namespace ptl::ops_detail
