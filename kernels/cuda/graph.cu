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
}  // namespace

Graph graph_capture(int device, const std::function<void()>& work) {
  DeviceGuard guard(device);
  const cudaStream_t stream = current_stream(device);
  const uint64_t pool = new_pool_id();
  begin_graph_capture(device, pool);
  cudaGraph_t graph = nullptr;
  // Ends the capture and gives the pool back; the capture's error, if any, is cleared.
  auto abandon = [&] {
    if (cudaStreamEndCapture(stream, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    end_graph_capture(device);
    release_graph_pool(device, pool);
  };
  // Thread-local: only this thread's unsafe calls (a cudaMalloc outside the allocator, a
  // synchronisation) break the capture; the loader's threads go on.
  const cudaError_t begun = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
  if (begun != cudaSuccess) {
    cudaGetLastError();
    end_graph_capture(device);
    release_graph_pool(device, pool);
    fail_capture(str("cudaStreamBeginCapture: ", cudaGetErrorString(begun)));
  }
  try {
    work();
  } catch (const std::exception& e) {
    abandon();
    fail_capture(e.what());
  }
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  end_graph_capture(device);
  if (ended != cudaSuccess) {
    cudaGetLastError();
    release_graph_pool(device, pool);
    fail_capture(str("cudaStreamEndCapture: ", cudaGetErrorString(ended)));
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (made != cudaSuccess) {
    cudaGetLastError();
    release_graph_pool(device, pool);
    fail_capture(str("cudaGraphInstantiate: ", cudaGetErrorString(made)));
  }
  return {exec, device, pool};
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
