// Tensor: a reference-counted handle to a strided view of a Storage, plus autograd metadata.
//
// Copying a Tensor copies the handle (like torch.Tensor in Python); clone() copies data.
// Views (narrow, chunk, permute, reshape of contiguous data) share storage. Ops accept views
// and make them contiguous at the op boundary where their kernels need it.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "engine/device.h"
#include "engine/storage.h"

namespace ptl {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "(16, 3, 256, 128)"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);

struct Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape, strides;
  DType dtype = DType::F32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (non-leaf)
  // A leaf's hook, called by backward with `grad` after every gradient added into it (PyTorch's
  // post-accumulate-grad hook): data-parallel training copies the gradient into its all-reduce
  // bucket there, while it is still in cache.
  std::function<void(const Tensor&)> grad_accumulated;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialised contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  // Uninitialised contiguous CPU tensor in pinned memory (Storage): its copies to a GPU are
  // asynchronous. Ordinary memory where CUDA is missing.
  static Tensor empty_pinned(const Shape& shape, DType dtype = DType::F32);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  int64_t offset() const { return impl().offset; }
  bool is_contiguous() const;
  bool same_storage(const Tensor& o) const { return impl().storage == o.impl().storage; }

  // Raw element pointer (at the view's offset); T must match dtype().
  template <class T>
  T* data() const {
    check_dtype(dtype_of<T>::value);
    return static_cast<T*>(impl().storage->data()) + impl().offset;
  }
  void* raw_data() const {
    return static_cast<char*>(impl().storage->data()) + impl().offset * dtype_size(dtype());
  }

  // Copies (no autograd unless noted).
  Tensor contiguous() const;       // self if already contiguous; differentiable
  Tensor clone() const;            // always a fresh contiguous copy; differentiable
  Tensor to(Device device) const;  // self if already there
  // In place, for leaves such as parameters: the data moves to `device` and every handle to
  // this tensor sees it there (contiguous afterwards); an accumulated gradient is dropped.
  void move_to_(Device device);
  Tensor to(DType dtype) const;          // self if already that type; differentiable for floats
  std::vector<float> to_vector() const;  // float32/float64 data as floats, row-major
  std::vector<double> to_double_vector() const;
  std::vector<int64_t> to_int_vector() const;
  double item() const;  // value of a one-element tensor

  // Autograd.
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on = true);
  Tensor grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
  void set_grad(const Tensor& g) { impl().grad = g.impl_; }
  void zero_grad() { impl().grad.reset(); }
  // Replaces the leaf's hook (TensorImpl::grad_accumulated); an empty one removes it.
  void set_grad_accumulated_hook(std::function<void(const Tensor&)> hook) {
    impl().grad_accumulated = std::move(hook);
  }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  // Shares storage, no history: a new leaf that does not require grad.
  Tensor detach() const;
  // Reverse-mode gradient of this tensor; `grad` defaults to ones for a one-element tensor.
  void backward(const Tensor& grad = Tensor()) const;

  std::string str(int max_elems = 8) const;  // "float32(2, 3) [1, 2, ...]"
  std::string shape_str() const { return ptl::shape_str(shape()); }

  TensorImpl& impl() const {
    PTL_CHECK(impl_ != nullptr, "use of an undefined tensor");
    return *impl_;
  }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void check_dtype(DType want) const;
  std::shared_ptr<TensorImpl> impl_;
};

// A view of `base`'s storage with its own shape/strides/offset (no autograd).
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

}  // namespace ptl
