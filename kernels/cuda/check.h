// Error checks for CUDA runtime, cuBLAS and cuDNN calls: a failure becomes a ptl::Error that
// names the call, the file and line, and the library's own error string.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "base/error.h"

namespace ptl::cuda {

[[noreturn]] void fail_call(const char* call, const char* file, int line, const char* library,
                            const char* message);

inline void check_runtime(cudaError_t err, const char* call, const char* file, int line) {
  if (err != cudaSuccess) fail_call(call, file, line, "CUDA", cudaGetErrorString(err));
}
inline void check_cublas(cublasStatus_t st, const char* call, const char* file, int line) {
  if (st != CUBLAS_STATUS_SUCCESS) fail_call(call, file, line, "cuBLAS", cublasGetStatusString(st));
}
inline void check_cudnn(cudnnStatus_t st, const char* call, const char* file, int line) {
  if (st != CUDNN_STATUS_SUCCESS) fail_call(call, file, line, "cuDNN", cudnnGetErrorString(st));
}

}  // namespace ptl::cuda

#define PTL_CUDA_CHECK(call) ::ptl::cuda::check_runtime((call), #call, __FILE__, __LINE__)
#define PTL_CUBLAS_CHECK(call) ::ptl::cuda::check_cublas((call), #call, __FILE__, __LINE__)
#define PTL_CUDNN_CHECK(call) ::ptl::cuda::check_cudnn((call), #call, __FILE__, __LINE__)
// After a kernel launch: reports launch-configuration errors without synchronising.
#define PTL_CUDA_CHECK_LAUNCH() PTL_CUDA_CHECK(cudaGetLastError())
