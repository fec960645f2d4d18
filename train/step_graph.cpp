#include "train/step_graph.h"

#include "engine/ops.h"

namespace ptl {

StepGraph::StepGraph(Model& model, std::vector<Tensor> params)
    : model_(model), device_(model.device()), params_(std::move(params)) {
  for (auto& [name, cell] : bconv_cells(model_)) cells_.push_back({cell, Tensor(), Tensor()});
}

StepGraph::~StepGraph() = default;

std::string StepGraph::why_eager(const Tensor& host_images, const Tensor& host_labels) const {
  if (images_.defined() &&
      (host_images.shape() != images_.shape() || host_images.dtype() != images_.dtype() ||
       host_labels.shape() != labels_.shape()))
    return str("the batch ", dtype_name(host_images.dtype()), host_images.shape_str(),
               " is not the captured ", dtype_name(images_.dtype()), images_.shape_str());
  for (const CellState& c : cells_) {
    const Tensor& s = c.cell->state();
    const bool carried =
        c.cell->spec().mode == StateMode::Carry && s.defined() &&
        (c.written.defined() ? s.shape() == c.written.shape() && s.dtype() == c.written.dtype()
                             : s.size(0) == host_images.size(0));
    if (!carried) return "a BConv-Cell starts from a fresh state, drawn on the host";
  }
  return "";
}

void StepGraph::copy_batch(const Tensor& host_images, const Tensor& host_labels) {
  if (!images_.defined()) {
    images_ = Tensor::empty(host_images.shape(), host_images.dtype(), device_);
    labels_ = Tensor::empty(host_labels.shape(), host_labels.dtype(), device_);
  }
  // Queued behind the previous step's work on the stream (from the loader's pinned memory
  // without waiting).
  copy_(images_, host_images);
  copy_(labels_, host_labels);
}

void StepGraph::capture(const ForwardLoss& forward_loss) {
  for (Tensor& p : params_) p.zero_grad();  // last step's gradients go now, not into the graph
  for (CellState& c : cells_) c.read = c.cell->state();
  std::vector<int64_t> before;
  for (auto& [name, b] : model_.named_buffers())
    if (b.device().is_cpu() && b.dtype() == DType::I64 && b.numel() == 1) {
      counters_.push_back({b, 0});
      before.push_back(b.data<int64_t>()[0]);
    }
  graph_ = std::make_unique<DeviceGraph>(device_, [&] {
    const MgnLossResult l = forward_loss(images_, labels_);
    l.loss.backward();
    loss_ = {l.loss.detach(), l.triplet.defined() ? l.triplet.detach() : Tensor(),
             l.cross_entropy.detach(), l.summed_logits, l.labels};
    for (CellState& c : cells_) {
      c.written = c.cell->state();
      PTL_CHECK(c.written.shape() == c.read.shape(), "train.cuda_graphs: a BConv-Cell's state ",
                c.read.shape_str(), " became ", c.written.shape_str(), " in the captured step");
      copy_(c.read, c.written);  // the next replay reads the state this one wrote
    }
  });
  for (size_t i = 0; i < counters_.size(); ++i)
    counters_[i].per_step = counters_[i].buffer.data<int64_t>()[0] - before[i];
  for (const Tensor& p : params_) grads_.push_back(p.grad());
}

const MgnLossResult& StepGraph::run(const Tensor& host_images, const Tensor& host_labels,
                                    const ForwardLoss& forward_loss) {
  copy_batch(host_images, host_labels);
  if (!graph_) {
    capture(forward_loss);
  } else {
    for (CellState& c : cells_)  // a state an eager step or a checkpoint set
      if (c.cell->state().raw_data() != c.written.raw_data()) copy_(c.read, c.cell->state());
    for (Counter& c : counters_) c.buffer.data<int64_t>()[0] += c.per_step;
  }
  graph_->replay();
  for (CellState& c : cells_) c.cell->set_state(c.written);
  for (size_t i = 0; i < params_.size(); ++i)
    grads_[i].defined() ? params_[i].set_grad(grads_[i]) : params_[i].zero_grad();
  return loss_;
}

}  // namespace ptl
