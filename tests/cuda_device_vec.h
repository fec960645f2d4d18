// Device memory for the [cuda] tests that call kernels directly (test_cuda_kernels.cpp,
// test_cuda_backend.cpp). Include only where PTL_WITH_CUDA is on.
#pragma once
#include <catch2/catch.hpp>

#include <cstddef>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/memory.h"

namespace ptl::test {

// Waits for the kernels: they run on a non-blocking stream, which the blocking runtime copies
// (ptl::cuda::copy) do not wait for.
inline void device_sync() {
  PTL_CUDA_CHECK(cudaDeviceSynchronize());
}

// Device memory holding a copy of a host vector (or n uninitialised elements) on cuda:0.
template <class T>
class DeviceVec {
 public:
  explicit DeviceVec(size_t n) : n_(n), p_(static_cast<T*>(ptl::cuda::device_alloc(bytes(), 0))) {}
  explicit DeviceVec(const std::vector<T>& h) : DeviceVec(h.size()) { upload(h); }
  ~DeviceVec() { ptl::cuda::device_free(p_, bytes(), 0); }
  DeviceVec(const DeviceVec&) = delete;
  DeviceVec& operator=(const DeviceVec&) = delete;

  T* get() const { return p_; }
  void upload(const std::vector<T>& h) {
    REQUIRE(h.size() == n_);
    device_sync();
    if (n_) ptl::cuda::copy(p_, true, h.data(), false, bytes(), 0);
    device_sync();
  }
  std::vector<T> host() const {
    device_sync();
    std::vector<T> h(n_);
    if (n_) ptl::cuda::copy(h.data(), false, p_, true, bytes(), 0);
    return h;
  }

 private:
  size_t bytes() const { return n_ * sizeof(T); }
  size_t n_;
  T* p_;
};

}  // namespace ptl::test
