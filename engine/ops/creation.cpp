// Tensor creation and in-place fills/copies (no autograd).
#include <algorithm>

#include "engine/ops/op_utils.h"
#include "kernels/cpu/elementwise.h"

namespace ptl {

namespace {
template <class T>
void fill_typed(const Tensor& t, T v) {
  // Fill a contiguous tensor directly; a strided view goes through a contiguous temporary.
  T* p = t.data<T>();
  std::fill(p, p + t.numel(), v);
}

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
  PTL_CHECK(t.device().is_cpu(), "fill_: ", t.device().str(), " tensors need the CUDA backend");
  Tensor target = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  switch (t.dtype()) {
    case DType::F32: fill_typed(target, static_cast<float>(value)); break;
    case DType::F64: fill_typed(target, value); break;
    case DType::I64: fill_typed(target, static_cast<int64_t>(value)); break;
    case DType::I32: fill_typed(target, static_cast<int32_t>(value)); break;
  }
  if (!t.is_contiguous()) copy_(t, target);
}

void copy_(Tensor& dst, const Tensor& src) {
  PTL_CHECK(dst.shape() == src.shape(), "copy_: destination ", dst.shape_str(),
            " and source ", src.shape_str(), " differ in shape");
  PTL_CHECK(dst.dtype() == src.dtype(), "copy_: destination is ", dtype_name(dst.dtype()),
            ", source is ", dtype_name(src.dtype()));
  if (dst.device() != src.device() || !dst.device().is_cpu()) {
    PTL_CHECK(dst.is_contiguous() && src.is_contiguous(),
              "copy_ between devices needs contiguous tensors");
    copy_bytes(dst.raw_data(), dst.device(), src.raw_data(), src.device(),
               dst.numel() * dtype_size(dst.dtype()));
    return;
  }
  cpu::strided_copy(dst.shape(), dtype_size(dst.dtype()), src.raw_data(), src.strides(),
                    dst.raw_data(), dst.strides());
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, Device::cpu());
  fill_(t, value);
  return t.to(device);
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor scalar(double v, DType dtype) { return full({}, v, dtype); }

Tensor from_vector(const std::vector<float>& v, const Shape& shape) { return from_values(v, shape); }
Tensor from_vector(const std::vector<double>& v, const Shape& shape) { return from_values(v, shape); }
Tensor from_vector(const std::vector<int64_t>& v, const Shape& shape) { return from_values(v, shape); }

Tensor arange(int64_t n, DType dtype) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
  return from_values(v, {n}).to(dtype);
}

}  // namespace ptl
