// A piece of device work captured once and replayed without the host: CUDA graphs
// (kernels/cuda/graph.h). The trainer's train.cuda_graphs replays a training step's forward,
// loss and backward this way (train/step_graph.h).
//
// Capture runs the host code once while the device's stream records: nothing is computed until
// the first replay, and every replay reads and writes the addresses the capture used. So a
// replay sees new data only through tensors that outlive the graph and are written in place
// between replays (a static batch, carried states); host-side effects of the captured code (a
// counter incremented on the host, a random draw) happen once, at capture. Memory the capture
// allocates comes from a private pool that stays the graph's while it lives.
//
// On the CPU a graph is a stand-in with the same rules (kernels/cpu/recording.h): the kernels
// are recorded with their arguments and a replay calls them, without the host code around them;
// the memory recorded work allocates or frees stays the graph's; a host read of a tensor the
// recorded work computes fails, as it fails a capture on a GPU. It lets the cuda_logic tests run
// the code around graphs where there is no GPU; the trainer offers graphs on CUDA only.
#pragma once
#include <functional>
#include <memory>

#include "base/device.h"

namespace ptl {

class DeviceGraph {
 public:
  // Captures `work` on the stream of `device` (or records it on the CPU). Work that waits for the
  // device or reads device memory on the host fails the capture with a ptl::Error that says so.
  // A CPU-only build refuses CUDA devices.
  DeviceGraph(Device device, const std::function<void()>& work);
  ~DeviceGraph();
  DeviceGraph(const DeviceGraph&) = delete;
  DeviceGraph& operator=(const DeviceGraph&) = delete;
  // Queues one run of the captured work on the device's stream; returns without waiting.
  void replay();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ptl
