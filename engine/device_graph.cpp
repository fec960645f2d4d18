#include "engine/device_graph.h"

#include "base/error.h"
#include "engine/storage.h"
#include "kernels/cpu/recording.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/graph.h"
#endif

namespace ptl {

struct DeviceGraph::Impl {
  Device device;
  cpu::KernelCalls calls;                  // the CPU's: the recorded kernel calls
  std::shared_ptr<RecordedMemory> memory;  // and the memory they use
#if PTL_WITH_CUDA
  cuda::Graph graph;
  ~Impl() {
    cuda::graph_destroy(graph);
  }
#endif
};

namespace {
// Records `work` on the CPU: its kernel calls into `calls`, the memory it allocates and frees
// into `memory`; the thread records nothing afterwards, whether or not work throws.
void record_on_cpu(const std::function<void()>& work, cpu::KernelCalls& calls,
                   const std::shared_ptr<RecordedMemory>& memory) {
  PTL_CHECK(!cpu::recording_calls(), "a graph is already being recorded on this thread");
  struct Recording {
    Recording(cpu::KernelCalls& c, const std::shared_ptr<RecordedMemory>& m) {
      cpu::recording_calls() = &c;
      recording_memory() = m;
    }
    ~Recording() {
      cpu::recording_calls() = nullptr;
      recording_memory().reset();
    }
  } recording(calls, memory);
  work();
}
}  // namespace

DeviceGraph::DeviceGraph(Device device, const std::function<void()>& work)
    : impl_(std::make_unique<Impl>()) {
  impl_->device = device;
  if (device.is_cpu()) {
    impl_->memory = std::make_shared<RecordedMemory>();
    record_on_cpu(work, impl_->calls, impl_->memory);
    return;
  }
#if PTL_WITH_CUDA
  impl_->graph = cuda::graph_capture(device.index, work);
#else
  fail(str("device graphs on ", device.str(),
           " need the CUDA backend; this ptl was built for the CPU only (rebuild with "
           "-DPTL_CUDA=ON or turn train.cuda_graphs off)"));
#endif
}

void DeviceGraph::replay() {
  if (impl_->device.is_cpu()) {
    for (const auto& call : impl_->calls) call();
    return;
  }
#if PTL_WITH_CUDA
  cuda::graph_replay(impl_->graph);
#endif
}

DeviceGraph::~DeviceGraph() = default;

}  // namespace ptl
