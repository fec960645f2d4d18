// PTL_KERNEL(device, name<T>): the kernel `name` (kernels/contract/*.inc) of the backend of
// `device` (a ptl::Device). Both backends declare the same signature, so the call that follows is
// type-checked for either; a CPU-only build has only the CPU side. CUDA kernels run with the
// tensor's device current, on its stream (kernels/cuda/runtime.h), and may not have finished
// when the call returns.
#pragma once
#include <type_traits>
#include <utility>

#include "base/device.h"
#include "base/error.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/bconv.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/normalize.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/recording.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/triplet.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/device_guard.h"
#include "kernels/cuda/kernels.h"
#endif

namespace ptl {
// A kernel of either backend, called with its tensor's device current: CUDA kernels run on the
// current device's stream and cuDNN plans are made for the current device, so a thread whose
// current device is another (a loader thread, a second GPU) still runs the work on the right one.
// A CPU kernel called while the thread records (kernels/cpu/recording.h) is stored, with copies
// of its arguments, instead of run.
template <class R, class... A>
class DeviceKernel {
 public:
  DeviceKernel(const Device& device, R (*fn)(A...)) : device_(device), fn_(fn) {}
  // The kernel's own parameter types, so braced arguments ({} for default parameters) work.
  R operator()(A... args) const {
    if (device_.is_cpu()) {
      if (cpu::KernelCalls* calls = cpu::recording_calls()) {
        static_assert(std::is_void_v<R>, "a recorded kernel returns nothing");
        calls->push_back([fn = fn_, args...] { fn(args...); });
        return;
      }
      return fn_(std::forward<A>(args)...);
    }
#if PTL_WITH_CUDA
    cuda::DeviceGuard guard(device_.index);
    return fn_(std::forward<A>(args)...);
#else
    fail(str("no kernel for ", device_.str(), " in this build"));  // Storage refuses it first
#endif
  }

 private:
  Device device_;
  R (*fn_)(A...);
};

#if PTL_WITH_CUDA
template <class R, class... A>
DeviceKernel<R, A...> pick_kernel(const Device& device, R (*cpu_kernel)(A...),
                                  R (*cuda_kernel)(A...)) {
  return {device, device.is_cuda() ? cuda_kernel : cpu_kernel};
}
}  // namespace ptl

#define PTL_KERNEL(device, ...) \
  ::ptl::pick_kernel((device), &::ptl::cpu::__VA_ARGS__, &::ptl::cuda::__VA_ARGS__)
#else
// A CPU-only build cannot hold CUDA tensors (Storage refuses them); the call guards anyway.
template <class R, class... A>
DeviceKernel<R, A...> pick_kernel(const Device& device, R (*cpu_kernel)(A...)) {
  return {device, cpu_kernel};
}
}  // namespace ptl

#define PTL_KERNEL(device, ...) ::ptl::pick_kernel((device), &::ptl::cpu::__VA_ARGS__)
#endif
