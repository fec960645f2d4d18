#include "engine/device.h"

#include "base/error.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/math_mode.h"
#include "kernels/cuda/runtime.h"
#endif

namespace ptl {

bool cuda_compiled() {
  return PTL_WITH_CUDA != 0;
}

int cuda_device_count() {
#if PTL_WITH_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

std::string cuda_report() {
#if PTL_WITH_CUDA
  return cuda::describe_runtime();
#else
  return "CUDA: not built (this ptl is CPU only; rebuild with -DPTL_CUDA=ON)\n";
#endif
}

void set_deterministic_convolutions(bool deterministic) {
#if PTL_WITH_CUDA
  cuda::set_deterministic_convolutions(deterministic);
#else
  (void)deterministic;  // the CPU kernels are always deterministic
#endif
}

void set_direct_convolutions(bool direct) {
#if PTL_WITH_CUDA
  cuda::set_direct_convolutions(direct);
#else
  (void)direct;         // the CPU convolutions are always direct sums
#endif
}

void set_split_batchnorm(bool split) {
#if PTL_WITH_CUDA
  cuda::set_split_batchnorm(split);
#else
  (void)split;          // the CPU's statistics have one order
#endif
}

void set_cudnn_engine_heuristics(bool on) {
#if PTL_WITH_CUDA
  cuda::set_cudnn_engine_heuristics(on);
#else
  (void)on;             // the CPU has no cuDNN
#endif
}

void set_allow_tf32(bool allow) {
#if PTL_WITH_CUDA
  cuda::set_allow_tf32(allow);
#else
  PTL_CHECK(!allow, "TF32 needs the CUDA backend; this ptl was built for the CPU only");
#endif
}

DeviceMemory device_memory(Device device) {
  if (device.is_cpu()) return {};
#if PTL_WITH_CUDA
  const AllocatorStats s = cuda::memory_stats(device.index);
  return {s.allocated, s.peak_allocated, s.reserved};
#else
  fail(str("device_memory: ", device.str(), " needs a CUDA build of ptl"));
#endif
}

void reset_peak_device_memory(Device device) {
#if PTL_WITH_CUDA
  if (device.is_cuda()) cuda::reset_peak_memory(device.index);
#else
  (void)device;
#endif
}

}  // namespace ptl
