// The CUDA devices this machine has and the switches of the CUDA backend. A CPU-only build
// refuses CUDA devices with a clear message at allocation time (see storage.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/device.h"

namespace ptl {

// True when this binary was built with the CUDA backend.
bool cuda_compiled();
// Number of usable CUDA devices; 0 when none (or when the driver is missing), never throws.
int cuda_device_count();
// The CUDA runtime, driver, devices (or why there are none) and library versions, one fact a
// line; a CPU-only build says it has no CUDA backend. For `ptl devices` and the GPU run's log.
std::string cuda_report();

// Lets float GEMMs and convolutions on CUDA use TF32 tensor cores (as PyTorch's allow_tf32);
// off by default. A CPU-only build accepts only false.
void set_allow_tf32(bool allow);
// Whether CUDA convolutions must use deterministic cuDNN algorithms (default true: the same bits
// on every run). false: cuDNN's fastest-ranked algorithm, as PyTorch's default; results may
// then vary in the last bits between runs. Nothing to switch in a CPU-only build.
void set_deterministic_convolutions(bool deterministic);
// Whether CUDA convolutions may use only deterministic algorithms that sum products directly:
// never FFT or Winograd (default false; the float32 accuracy tests turn it on). A CPU-only build
// has nothing to switch.
void set_direct_convolutions(bool direct);
// Whether CUDA batch-norm statistics and gradient sums may split a channel over several blocks
// when the channels are too few to fill the GPU (kernels/cuda/batchnorm_split.h; default false
// until a GPU run proves it). Deterministic either way. Nothing to switch in a CPU-only build.
void set_split_batchnorm(bool split);
// Whether CUDA convolutions take cuDNN's backend-API engines (chosen by its heuristics under the
// same rules, the legacy algorithms the fallback; default false, not yet measured on a GPU).
// A CPU-only build has nothing to switch.
void set_cudnn_engine_heuristics(bool on);

// Bytes of device memory held by tensors now and at most since the last reset, and reserved by
// the caching allocator (CUDA only; zeros on the CPU, where the process's peak RSS tells).
struct DeviceMemory {
  size_t allocated = 0, peak_allocated = 0, reserved = 0;
};
DeviceMemory device_memory(Device device);
void reset_peak_device_memory(Device device);

}  // namespace ptl
