// Error checks for CUDA runtime, cuBLAS and cuDNN calls: a failure becomes a ptl::Error that
// names the call, the file and line, and the library's own error string.
#pragma once
#include <cuda_runtime.h>

#include "engine/error.h"

namespace ptl::cuda {

[[noreturn]] void fail_call(const char* call, const char* file, int line, const char* library,
                            const char* message);

inline void check_runtime(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess) fail_call(call, file, line, "CUDA", cudaGetErrorString(err));
}

}  // namespace ptl::cuda

#define PTL_CUDA_CHECK(call) ::ptl::cuda::check_runtime((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports launch-configuration errors without synchronising.
#define PTL_CUDA_CHECK_LAUNCH() PTL_CUDA_CHECK(cudaGetLastError())
