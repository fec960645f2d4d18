#include "engine/tensor.h"

#include <sstream>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/dispatch.h"
#include "kernels/strides.h"

namespace ptl {

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  return row_major_strides(s);
}

namespace {
Tensor allocate(const Shape& shape, DType dtype, Device device, bool pinned) {
  PTL_CHECK(shape.size() <= 8, "tensors have at most 8 dimensions, got ", ::ptl::shape_str(shape));
  for (int64_t d : shape)
    PTL_CHECK(d >= 0, "negative dimension in shape ", ::ptl::shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(shape_numel(shape) * dtype_size(dtype), device, pinned);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  return allocate(shape, dtype, device, false);
}
Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  return allocate(shape, dtype, Device::cpu(), true);
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  PTL_CHECK(d >= -n && d < n, "dimension ", d, " out of range for shape ", shape_str());
  return shape()[d < 0 ? d + n : d];
}

bool Tensor::is_contiguous() const {
  const Shape& sh = shape();
  const Shape& st = strides();
  int64_t expect = 1;
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] == 1) continue;
    if (st[i] != expect) return false;
    expect *= sh[i];
  }
  return true;
}

void Tensor::check_dtype(DType want) const {
  PTL_CHECK(dtype() == want, "tensor ", shape_str(), " has dtype ", dtype_name(dtype()),
            ", accessed as ", dtype_name(want));
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = Tensor::empty(shape(), dtype(), device());
  copy_(out, *this);
  return record(out, "clone", {*this},
                [](const Tensor& g, const std::vector<bool>&) -> Grads { return {g}; });
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = Tensor::empty(shape(), dtype(), d);
  copy_(out, *this);  // from pinned memory only queued: the storage stays alive until it has run
  Device from = device();
  return record(
      out, "to_device", {*this},
      [from](const Tensor& g, const std::vector<bool>&) -> Grads { return {g.to(from)}; });
}

void Tensor::move_to_(Device d) {
  PTL_CHECK(is_leaf(), "move_to_: ", shape_str(),
            " is the result of an op; only leaves move in place");
  if (d == device()) return;
  Tensor moved = detach().to(d);
  TensorImpl& self = impl();
  self.storage = moved.impl().storage;
  self.offset = moved.offset();
  self.strides = moved.strides();
  self.grad.reset();
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor src = contiguous();
  Tensor out = Tensor::empty(shape(), t, device());
  PTL_KERNEL(out.device(), convert)(src.raw_data(), dtype(), out.raw_data(), t, numel());
  if (!is_floating(t) || !is_floating(dtype())) return out;
  DType from = dtype();
  return record(
      out, "to_dtype", {*this},
      [from](const Tensor& g, const std::vector<bool>&) -> Grads { return {g.to(from)}; });
}

namespace {
// A host read of a tensor that recorded work has not computed yet: on a GPU the capture would
// fail at this read (it waits for the device), so the CPU's stand-in fails too.
void check_host_readable(const Tensor& t) {
  PTL_CHECK(!t.impl().storage->recorded_unrun(), "a host read of ", t.shape_str(),
            ", which the work being recorded for a graph computes and has not run: work that "
            "reads the device on the host cannot be captured");
}
}  // namespace

std::vector<double> Tensor::to_double_vector() const {
  check_host_readable(*this);
  NoGradGuard ng;
  Tensor c = to(Device::cpu()).to(DType::F64).contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

std::vector<float> Tensor::to_vector() const {
  check_host_readable(*this);
  NoGradGuard ng;
  Tensor c = to(Device::cpu()).to(DType::F32).contiguous();
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

std::vector<int64_t> Tensor::to_int_vector() const {
  check_host_readable(*this);
  NoGradGuard ng;
  Tensor c = to(Device::cpu()).to(DType::I64).contiguous();
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

double Tensor::item() const {
  PTL_CHECK(numel() == 1, "item(): tensor ", shape_str(), " has ", numel(), " elements, not 1");
  return to_double_vector()[0];
}

Tensor& Tensor::set_requires_grad(bool on) {
  PTL_CHECK(!on || is_floating(dtype()), "requires_grad needs a floating tensor, got ",
            dtype_name(dtype()));
  PTL_CHECK(is_leaf(), "set_requires_grad: only leaf tensors (not op outputs) can change it");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::detach() const {
  return make_view(*this, shape(), strides(), offset());
}

void Tensor::backward(const Tensor& grad) const {
  Tensor g = grad;
  if (!g.defined()) {
    PTL_CHECK(numel() == 1, "backward() without a gradient needs a one-element tensor, got ",
              shape_str(), "; pass the gradient explicitly");
    g = ones(shape(), dtype(), device());
  }
  run_backward(*this, g);
}

std::string Tensor::str(int max_elems) const {
  std::ostringstream os;
  os << dtype_name(dtype()) << shape_str() << " [";
  std::vector<double> v = to_double_vector();
  for (size_t i = 0; i < v.size() && static_cast<int>(i) < max_elems; ++i)
    os << (i ? ", " : "") << v[i];
  if (static_cast<int>(v.size()) > max_elems) os << ", ...";
  os << "]";
  return os.str();
}

}  // namespace ptl
