// CUDA graphs: a sequence of work on a device's ptl stream captured once and replayed with one
// launch, its memory from a private pool of the caching allocator (memory.h) that stays the
// graph's while it lives. Free of CUDA headers, as events.h.
#pragma once
#include <cstdint>
#include <functional>

namespace ptl::cuda {

// An instantiated graph (cudaGraphExec_t) with its device and memory pool.
struct Graph {
  void* exec = nullptr;
  int device = 0;
  uint64_t pool = 0;
};

// Runs `work` on the calling thread while the current stream of `device` is captured: its
// kernels, copies and library calls are recorded, not run. Work that waits for the device or
// reads device memory on the host cannot be captured: the capture then ends, the pool is
// released and a ptl::Error names the failure. The first replay runs the work for the first time.
Graph graph_capture(int device, const std::function<void()>& work);
// Queues one run of the recorded work on the current stream of the graph's device.
void graph_replay(const Graph& g);
// Destroys the graph and releases its pool (after the work queued so far: the pool's blocks are
// reused only on the stream, in order).
void graph_destroy(Graph& g) noexcept;

}  // namespace ptl::cuda
