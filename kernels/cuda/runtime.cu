#include "kernels/cuda/runtime.h"

#include <atomic>

#include "engine/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/math_mode.h"
#include "kernels/cuda/per_device.h"

namespace ptl::cuda {

void fail_call(const char* call, const char* file, int line, const char* library,
               const char* message) {
  fail(str(call, " failed at ", file, ":", line, " (", library, "): ", message));
}

int device_count() {
  // Asked once: the visible devices are fixed when the runtime starts, and Storage asks on every
  // pinned allocation (each loader batch).
  static const int count = [] {
    int n = 0;
    // Without a driver this returns an error ("driver version is insufficient"): no device.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error
      return 0;
    }
    return n;
  }();
  return count;
}

int current_device() {
  int d = 0;
  PTL_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

DeviceGuard::DeviceGuard(int device) : device_(device) {
  PTL_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device_) PTL_CUDA_CHECK(cudaSetDevice(device_));
}

DeviceGuard::~DeviceGuard() {
  if (previous_ != device_) cudaSetDevice(previous_);  // cannot fail for a device that was current
}

namespace {
PerDevice<cudaStream_t>& streams() {
  static auto& s = *new PerDevice<cudaStream_t>;  // leaked: per_device.h
  return s;
}
}  // namespace

cudaStream_t current_stream(int device) {
  return streams().get(device, [](int d) {
    DeviceGuard guard(d);
    cudaStream_t s = nullptr;
    PTL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return std::make_unique<cudaStream_t>(s);
  });
}

std::vector<std::pair<int, cudaStream_t>> created_streams() {
  std::vector<std::pair<int, cudaStream_t>> out;
  streams().for_each([&out](int d, cudaStream_t s) { out.emplace_back(d, s); });
  return out;
}

namespace {
std::atomic<bool> tf32_allowed{false};
}  // namespace

void set_allow_tf32(bool allow) { tf32_allowed = allow; }
bool allow_tf32() { return tf32_allowed; }

void copy_async(void* dst, bool dst_on_device, const void* src, bool src_on_device,
                size_t nbytes, int device) {
  if (nbytes == 0) return;
  const cudaMemcpyKind kind =
      dst_on_device ? (src_on_device ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                    : (src_on_device ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const cudaStream_t stream = current_stream(device);
  DeviceGuard guard(device);  // a loader thread's current device may be another
  PTL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, stream));
}

void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t nbytes,
          int device) {
  // On the ptl stream, not with cudaMemcpy: the legacy default stream does not wait for a
  // non-blocking stream, so cudaMemcpy could read a result before its kernel has written it.
  copy_async(dst, dst_on_device, src, src_on_device, nbytes, device);
  synchronize(device);
}

void synchronize(int device) {
  const cudaStream_t stream = current_stream(device);
  DeviceGuard guard(device);
  PTL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace ptl::cuda
