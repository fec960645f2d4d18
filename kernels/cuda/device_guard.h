// Makes a CUDA device current for a scope. Free of CUDA headers, so host code that picks a
// kernel by a tensor's device (kernels/dispatch.h) may use it; compiled only when PTL_WITH_CUDA.
#pragma once

namespace ptl::cuda {

// Makes `device` current for the scope and restores the previous device after it.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  int device_ = 0;
};

}  // namespace ptl::cuda
