#include "engine/ops/op_utils.h"

namespace ptl::ops_detail {

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  PTL_CHECK(dim >= -ndim && dim < ndim, op, ": dimension ", dim, " is out of range for a ", ndim,
            "-d tensor");
  return dim < 0 ? dim + ndim : dim;
}

void check_float(const char* op, const Tensor& t, const char* name) {
  PTL_CHECK(t.defined(), op, ": ", name, " is undefined");
  PTL_CHECK(is_float32_or_64(t.dtype()), op, ": ", name, " must be float32 or float64, got ",
            dtype_name(t.dtype()), " ", t.shape_str(),
            t.dtype() == DType::BF16 ? str(" (", op, " has no bfloat16 path)") : std::string());
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  PTL_CHECK(a.dtype() == b.dtype(), op, ": dtypes differ (", dtype_name(a.dtype()), " ",
            a.shape_str(), " vs ", dtype_name(b.dtype()), " ", b.shape_str(), ")");
  PTL_CHECK(a.device() == b.device(), op, ": devices differ (", a.device().str(), " vs ",
            b.device().str(), ")");
}

Dims3 around(const Shape& shape, int64_t dim) {
  Dims3 d{1, shape[dim], 1};
  for (int64_t i = 0; i < dim; ++i) d.outer *= shape[i];
  for (size_t i = dim + 1; i < shape.size(); ++i) d.inner *= shape[i];
  return d;
}

}  // namespace ptl::ops_detail
