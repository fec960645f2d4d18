// One object per CUDA device (a stream, an allocator, a cuBLAS or cuDNN handle), created on the
// device's first use. Instances are meant to be leaked (`static auto& x = *new PerDevice<T>`):
// destroying CUDA objects at process exit races with the CUDA runtime's own teardown, and the
// driver reclaims everything of the process anyway (PyTorch leaks its allocator for this reason).
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "kernels/cuda/runtime.h"

namespace ptl::cuda {

template <class T>
class PerDevice {
 public:
  // The object of `device`, made by make(device) -> std::unique_ptr<T> on first use; throws for
  // a device that does not exist.
  template <class Make>
  T& get(int device, Make make) {
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.empty()) items_.resize(static_cast<size_t>(device_count()));
    PTL_CHECK(device >= 0 && device < static_cast<int>(items_.size()), "cuda:", device,
              " requested but ", items_.size(), " CUDA device(s) are available; use --device cpu");
    auto& item = items_[static_cast<size_t>(device)];
    if (!item) item = make(device);
    return *item;
  }

  // f(device, T&) for each object made so far.
  template <class F>
  void for_each(F f) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t d = 0; d < items_.size(); ++d)
      if (items_[d]) f(static_cast<int>(d), *items_[d]);
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<T>> items_;
};

// The handle of a CUDA library (cuBLAS, cuDNN) for `device`: made on the device's first use by
// create(&h) with the device current, bound to the device's current stream by set_stream; a
// failing status goes to check (check_cublas, check_cudnn of check.h). One leaked PerDevice per
// handle type.
template <class Handle, class Status>
Handle library_handle(int device, Status (*create)(Handle*),
                      Status (*set_stream)(Handle, cudaStream_t),
                      void (*check)(Status, const char*, const char*, int)) {
  static auto& handles = *new PerDevice<Handle>;  // leaked: file comment
  return handles.get(device, [&](int d) {
    DeviceGuard guard(d);
    Handle h = nullptr;
    check(create(&h), "creating the handle", __FILE__, __LINE__);
    check(set_stream(h, current_stream(d)), "setting the handle's stream", __FILE__, __LINE__);
    return std::make_unique<Handle>(h);
  });
}

}  // namespace ptl::cuda
