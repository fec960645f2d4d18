// The CPU's stand-in for a CUDA graph capture (engine/device_graph.h), so that the code around
// graphs runs where there is no GPU (the cuda_logic tests): while a recording is active on the
// thread, a CPU kernel called through PTL_KERNEL (kernels/dispatch.h) is stored with copies of
// its arguments instead of run, and a replay runs the stored calls in order on the same
// pointers, as a GPU replays a graph's kernels without the host code around them.
#pragma once
#include <functional>
#include <vector>

namespace ptl::cpu {

using KernelCalls = std::vector<std::function<void()>>;

// The calls being recorded on this thread, or null when kernels run (the default). Inline: every
// CPU kernel call asks.
inline KernelCalls*& recording_calls() {
  thread_local KernelCalls* calls = nullptr;
  return calls;
}

}  // namespace ptl::cpu
