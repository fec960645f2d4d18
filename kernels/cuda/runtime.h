// The CUDA runtime pieces the backend shares: device discovery, the current device, one stream
// per device. Compiled only when PTL_WITH_CUDA; every CUDA error becomes a ptl::Error with file,
// line and the runtime's error string (check.h). Memory and copies: memory.h.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <cuda_runtime.h>

#include "kernels/cuda/device_guard.h"
#include "kernels/cuda/memory.h"

namespace ptl::cuda {

// Usable devices, asked once per process; 0 when there is no driver or no device (never throws).
int device_count();
// Why device_count() is 0: the runtime's error from cudaGetDeviceCount ("" when it succeeded).
const char* device_count_error();
// What the CUDA side of this process sees, one fact a line: the runtime and driver versions,
// each device (name, compute capability, multiprocessors, memory) or the runtime's error when
// there is none, and the cuDNN and cuBLAS versions loaded (runtime.cu).
std::string describe_runtime();
// True when the environment variable `name` is set to anything but "" or "0" (the switches
// PTL_NO_CUDA_MEMORY_CACHING and PTL_CUDNN_VERBOSE).
bool env_flag(const char* name);
// The device the calling thread works on (cudaGetDevice).
int current_device();

// The stream every ptl kernel of `device` runs on (created on first use, never the legacy
// default stream); kernels/contract/README.md.
cudaStream_t current_stream(int device);
// The streams created so far, with their devices.
std::vector<std::pair<int, cudaStream_t>> created_streams();
// The allocator's stream id of a stream.
inline uint64_t stream_id(cudaStream_t s) {
  return reinterpret_cast<uintptr_t>(s);
}

}  // namespace ptl::cuda
