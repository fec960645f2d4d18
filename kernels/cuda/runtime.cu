#include <cuda_runtime.h>

#include "engine/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/runtime.h"

#include <mutex>
#include <vector>

namespace ptl::cuda {

void fail_call(const char* call, const char* file, int line, const char* library,
               const char* message) {
  fail(str(call, " failed at ", file, ":", line, " (", library, "): ", message));
}

int device_count() {
  int n = 0;
  // Without a driver this returns an error ("driver version is insufficient"): no device.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  return n;
}

void* device_alloc(size_t nbytes, int device) {
  const int n = device_count();
  PTL_CHECK(device >= 0 && device < n, "cuda:", device, " requested but ", n,
            " CUDA device(s) are available; use --device cpu");
  PTL_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  if (nbytes == 0) return nullptr;
  cudaError_t err = cudaMalloc(&p, nbytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    fail(str("CUDA out of memory on cuda:", device, ": asked for ", nbytes, " bytes, ", free_b,
             " free of ", total_b));
  }
  PTL_CUDA_CHECK(err);
  return p;
}

void device_free(void* ptr, size_t, int device) {
  if (!ptr) return;
  cudaSetDevice(device);
  cudaFree(ptr);  // never throws from a destructor
}

int current_device() {
  int d = 0;
  PTL_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

cudaStream_t current_stream(int device) {
  static std::mutex mu;
  static std::vector<cudaStream_t> streams;
  std::lock_guard<std::mutex> lock(mu);
  if (streams.empty()) streams.assign(static_cast<size_t>(device_count()), nullptr);
  PTL_CHECK(device >= 0 && device < static_cast<int>(streams.size()), "cuda:", device, " does not exist (",
            streams.size(), " device(s))");
  if (!streams[device]) {
    PTL_CUDA_CHECK(cudaSetDevice(device));
    PTL_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[device], cudaStreamNonBlocking));
  }
  return streams[device];
}

void copy(void* dst, bool dst_dev, const void* src, bool src_dev, size_t nbytes) {
  cudaMemcpyKind kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  PTL_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind));
}

}  // namespace ptl::cuda
