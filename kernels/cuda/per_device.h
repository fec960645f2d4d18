// One object per CUDA device (a stream, an allocator, a cuBLAS or cuDNN handle), created on the
// device's first use. Instances are meant to be leaked (`static auto& x = *new PerDevice<T>`):
// destroying CUDA objects at process exit races with the CUDA runtime's own teardown, and the
// driver reclaims everything of the process anyway (PyTorch leaks its allocator for this reason).
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "engine/error.h"
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

}  // namespace ptl::cuda
