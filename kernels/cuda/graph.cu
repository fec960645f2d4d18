#include "kernels/cuda/graph.h"

#include <atomic>
#include <cstdio>
#include <exception>
#include <string>

#include "base/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/runtime.h"

namespace ptl::cuda {

namespace {
// Pool ids are odd; stream ids are addresses of stream objects, so never odd.
uint64_t new_pool_id() {
  static std::atomic<uint64_t> next{0};
  return (next.fetch_add(1) << 1) | 1;
}

[[noreturn]] void fail_capture(const std::string& why) {
  fail(str("capturing a CUDA graph of the training step (train.cuda_graphs): ", why,
           ". Work that waits for the device or reads device memory on the host cannot be "
           "captured; turn train.cuda_graphs off"));
}

// The allocator's side of a capture: ended once, and the pool given back unless a graph was made
// from it.
struct CapturePool {
  int device;
  uint64_t id;
  bool open = true, kept = false;
  CapturePool(int d, uint64_t p) : device(d), id(p) { begin_graph_capture(d, p); }
  void end() {
    if (open) end_graph_capture(device);
    open = false;
  }
  ~CapturePool() {
    end();
    if (!kept) release_graph_pool(device, id);
  }
};

// A failed call of the capture: its error cleared (not left for the next launch check), then
// the capture's error.
void check_capture(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return;
  cudaGetLastError();
  fail_capture(str(call, ": ", cudaGetErrorString(err)));
}
}  // namespace

Graph graph_capture(int device, const std::function<void()>& work) {
  DeviceGuard guard(device);
  const cudaStream_t stream = current_stream(device);
  CapturePool pool(device, new_pool_id());
  // Thread-local: only this thread's unsafe calls (a cudaMalloc outside the allocator, a
  // synchronisation) break the capture; the loader's threads go on.
  check_capture(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
                "cudaStreamBeginCapture");
  cudaGraph_t graph = nullptr;
  try {
    work();
  } catch (const std::exception& e) {
    if (cudaStreamEndCapture(stream, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    fail_capture(e.what());
  }
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  pool.end();
  check_capture(ended, "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  check_capture(made, "cudaGraphInstantiate");
  pool.kept = true;
  return {exec, device, pool.id};
}

void graph_replay(const Graph& g) {
  PTL_CHECK(g.exec, "graph_replay: the graph was destroyed or never captured");
  DeviceGuard guard(g.device);
  PTL_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(g.exec), current_stream(g.device)));
}

void graph_destroy(Graph& g) noexcept {
  if (!g.exec) return;
  try {
    DeviceGuard guard(g.device);
    PTL_CUDA_CHECK(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(g.exec)));
    release_graph_pool(g.device, g.pool);
  } catch (const std::exception& e) {
    // Called from destructors: report; the pool then stays held (its memory is not reused).
    std::fprintf(stderr, "ptl: CUDA graph not released: %s\n", e.what());
  }
  g.exec = nullptr;
}

}  // namespace ptl::cuda
