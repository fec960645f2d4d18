// Tensor creation and in-place fills/copies (no autograd).
#include <algorithm>

#include "engine/ops/op_utils.h"

namespace ptl {

namespace {
template <class T>
Tensor from_values(const std::vector<T>& v, const Shape& shape) {
  PTL_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "from_vector: ", v.size(),
            " values do not fill shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, dtype_of<T>::value);
  std::copy(v.begin(), v.end(), t.data<T>());
  return t;
}
}  // namespace

void fill_(Tensor& t, double value) {
  // Fill a contiguous tensor directly; a strided view goes through a contiguous temporary.
  Tensor target = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype(), t.device());
  const int64_t n = target.numel();
  switch (t.dtype()) {
    case DType::F32:
      PTL_KERNEL(t.device(), fill<float>)(target.data<float>(), n, static_cast<float>(value));
      break;
    case DType::F64:
      PTL_KERNEL(t.device(), fill<double>)(target.data<double>(), n, value);
      break;
    case DType::I64:
      PTL_KERNEL(t.device(), fill<int64_t>)(target.data<int64_t>(), n, static_cast<int64_t>(value));
      break;
    case DType::I32:
      PTL_KERNEL(t.device(), fill<int32_t>)(target.data<int32_t>(), n, static_cast<int32_t>(value));
      break;
    case DType::BF16:  // through float32, as c10::BFloat16
      PTL_KERNEL(t.device(), fill<bf16>)
      (target.data<bf16>(), n, to_bf16(static_cast<float>(value)));
      break;
  }
  if (!t.is_contiguous()) copy_(t, target);
}

void copy_(Tensor& dst, const Tensor& src) {
  PTL_CHECK(dst.shape() == src.shape(), "copy_: destination ", dst.shape_str(), " and source ",
            src.shape_str(), " differ in shape");
  PTL_CHECK(dst.dtype() == src.dtype(), "copy_: destination is ", dtype_name(dst.dtype()),
            ", source is ", dtype_name(src.dtype()));
  if (dst.device() != src.device()) {
    // Between devices: bytes of contiguous tensors; a strided side goes through a temporary.
    // From pinned memory the copy is only queued, as Tensor::to's.
    Tensor s = src.contiguous();
    Tensor d = dst.is_contiguous() ? dst : Tensor::empty(dst.shape(), dst.dtype(), dst.device());
    copy_bytes(d.raw_data(), d.device(), s.raw_data(), s.device(),
               d.numel() * dtype_size(d.dtype()), s.impl().storage->pinned());
    if (!dst.is_contiguous()) copy_(dst, d);
    return;
  }
  PTL_KERNEL(dst.device(), strided_copy)
  (dst.shape(), dtype_size(dst.dtype()), src.raw_data(), src.strides(), dst.raw_data(),
   dst.strides());
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  fill_(t, value);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}
Tensor ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, 1.0, dtype, device);
}
Tensor zeros_like(const Tensor& t) {
  return zeros(t.shape(), t.dtype(), t.device());
}
Tensor scalar(double v, DType dtype) {
  return full({}, v, dtype);
}

Tensor from_vector(const std::vector<float>& v, const Shape& shape) {
  return from_values(v, shape);
}
Tensor from_vector(const std::vector<double>& v, const Shape& shape) {
  return from_values(v, shape);
}
Tensor from_vector(const std::vector<int64_t>& v, const Shape& shape) {
  return from_values(v, shape);
}

Tensor arange(int64_t n, DType dtype) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return from_values(v, {n}).to(dtype);
}

}  // namespace ptl
