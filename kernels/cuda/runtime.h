// The CUDA runtime calls the engine core needs: device discovery, device memory and copies.
// Compiled only when PTL_WITH_CUDA; every CUDA error becomes a ptl::Error with file, line and
// the runtime's error string.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

namespace ptl::cuda {

// Usable devices; 0 when there is no driver or no device (never throws).
int device_count();
void* device_alloc(size_t nbytes, int device);
void device_free(void* ptr, size_t nbytes, int device);
// The stream every ptl kernel of `device` runs on (created on first use, never the legacy
// default stream); kernels/contract/README.md.
cudaStream_t current_stream(int device);
// The device the calling thread works on (cudaGetDevice).
int current_device();

// Blocking copy between host and device memory (either side may be the device).
void copy(void* dst, bool dst_on_device, const void* src, bool src_on_device, size_t nbytes);

}  // namespace ptl::cuda
