#include "engine/ops/op_utils.h"

#include "engine/precision.h"

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

bool bf16_path(const char* op, const std::vector<Tensor>& operands) {
  const bool bf16 = current_precision() == Precision::BF16;
  const Tensor* first = nullptr;  // the first defined operand: every other is on its device
  for (const Tensor& t : operands) {
    if (!t.defined()) continue;
    if (!first) first = &t;
    PTL_CHECK(bf16 || t.dtype() != DType::BF16, op, ": a bfloat16 operand ", t.shape_str(),
              " runs in bf16 precision only (train.precision: bf16, or --precision bf16)");
    if (!bf16) continue;
    PTL_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::BF16, op,
              ": bf16 precision takes float32 or bfloat16 tensors, got ", dtype_name(t.dtype()),
              " ", t.shape_str(), " (run float64 in float32 precision)");
    PTL_CHECK(t.dtype() == DType::F32 || !t.requires_grad(), op, ": a bfloat16 operand ",
              t.shape_str(), " cannot require a gradient (keep it float32)");
    PTL_CHECK(t.device() == first->device(), op, ": devices differ (", first->device().str(),
              " vs ", t.device().str(), ")");
  }
  return bf16;
}

Tensor bf16_operand(const Tensor& t) {
  return t.dtype() == DType::BF16 ? t.detach().contiguous() : t.detach().to(DType::BF16);
}

}  // namespace ptl::ops_detail
