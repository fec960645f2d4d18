#include "engine/device_graph.h"

#include "base/error.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/graph.h"
#endif

namespace ptl {

#if PTL_WITH_CUDA
struct DeviceGraph::Impl {
  cuda::Graph graph;
  ~Impl() { cuda::graph_destroy(graph); }
};

DeviceGraph::DeviceGraph(Device device, const std::function<void()>& work)
    : impl_(std::make_unique<Impl>()) {
  PTL_CHECK(device.is_cuda(), "device graphs are CUDA graphs; ", device.str(),
            " has none (train.cuda_graphs needs device: cuda)");
  impl_->graph = cuda::graph_capture(device.index, work);
}

void DeviceGraph::replay() {
  cuda::graph_replay(impl_->graph);
}
#else
struct DeviceGraph::Impl {};

DeviceGraph::DeviceGraph(Device device, const std::function<void()>&) {
  fail(str("device graphs need the CUDA backend; this ptl was built for the CPU only (",
           device.str(), "; rebuild with -DPTL_CUDA=ON or turn train.cuda_graphs off)"));
}

void DeviceGraph::replay() {}
#endif

DeviceGraph::~DeviceGraph() = default;

}  // namespace ptl
