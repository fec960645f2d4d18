#include "kernels/cpu/recording.h"

namespace ptl::cpu {

KernelCalls*& recording_calls() {
  thread_local KernelCalls* calls = nullptr;
  return calls;
}

}  // namespace ptl::cpu
