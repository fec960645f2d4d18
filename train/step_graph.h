// train.cuda_graphs: a training step's forward, loss and backward captured once as a CUDA graph
// (engine/device_graph.h) and replayed for every later step of the same shape. The optimizer
// step, the schedule and the checks of the loss stay on the host, as in an eager step, so a
// replayed step computes what an eager one does, kernel for kernel.
//
// A replay reads and writes the capture's addresses, so the StepGraph keeps what links one
// replay to the host and to the next:
// - the batch: device tensors the host batch is copied into before each replay;
// - each BConv-Cell's carried state: the state the capture read (`read`) is kept; the graph ends
//   by copying the new state (`written`) into it, and the cell holds `written` after a replay.
//   A state set on the host in between (an eager step, a resumed checkpoint) is copied into
//   `read` first;
// - gradients: each parameter's .grad is its captured gradient again after a replay (an eager
//   step in between may have replaced it);
// - host counters (BatchNorm's num_batches_tracked), incremented once by the capture's host
//   code: each later replay adds the same increments;
// - the loss terms: the captured tensors, read on the host after the replay.
// A step whose batch differs in shape or dtype from the captured one, or whose cells hold no
// carried state of the captured shape (each epoch's first step: fresh states are drawn on the
// host), runs eagerly; why_eager says why.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/device_graph.h"
#include "layers/bconv_cell.h"
#include "models/model.h"
#include "train/losses.h"

namespace ptl {

class StepGraph {
 public:
  // The step's forward and loss on device tensors (the trainer's, under its precision).
  using ForwardLoss = std::function<MgnLossResult(const Tensor& images, const Tensor& labels)>;

  // `params`: the trained parameters, whose gradients the graph writes.
  StepGraph(Model& model, std::vector<Tensor> params);
  ~StepGraph();

  // "" when the step of this host batch can run through the graph (captured at the first such
  // step), else why it runs eagerly.
  std::string why_eager(const Tensor& host_images, const Tensor& host_labels) const;
  // Copies the batch in, captures the step at the first call, replays it, and puts the cells'
  // states, the gradients and the host counters where an eager step would leave them. The
  // returned loss terms are the graph's tensors: read them before the next run.
  const MgnLossResult& run(const Tensor& host_images, const Tensor& host_labels,
                           const ForwardLoss& forward_loss);
  bool captured() const { return graph_ != nullptr; }

 private:
  void capture(const ForwardLoss& forward_loss);
  void copy_batch(const Tensor& host_images, const Tensor& host_labels);

  struct CellState {
    BConvCell* cell;
    Tensor read, written;  // the state the graph reads, and the one it writes (then copies)
  };
  struct Counter {
    Tensor buffer;         // an integer buffer on the host
    int64_t per_step = 0;  // what the capture's host code added
  };

  Model& model_;
  Device device_;
  std::vector<Tensor> params_, grads_;  // grads_: the captured gradients (undefined: none)
  std::vector<CellState> cells_;
  std::vector<Counter> counters_;
  Tensor images_, labels_;  // the static batch
  MgnLossResult loss_;
  std::unique_ptr<DeviceGraph> graph_;
};

}  // namespace ptl
