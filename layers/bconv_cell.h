// BConvCell: a batch-related convolutional cell (docs/method.md).
//
// One 3x3 convolution without bias ("gates", weight (4*out, in, 3, 3)) gives the four gate
// pre-activations i, f, o, g; the fused bconv_gates op turns them and the latent state of the
// previous mini-batch into the output h (N, out, H', W') and the new state.
//
// State rules (each tested in tests/test_bconv_cell.cpp):
// - StateMode::Carry (default, the paper's): the new state is kept, detached, for the next
//   forward; StateMode::ResetEveryBatch: every forward starts from a fresh state. spec().mode
//   may change between forwards (the trainer's model.ptl=release: Carry in epoch 1, then
//   ResetEveryBatch; train/experiment.h epoch_state_mode).
// - Evaluation mode: every forward starts from a fresh state and leaves the carried state alone.
// - reset_state() (the trainer calls it at the start of every epoch and before evaluation)
//   drops the state; a fresh state is N(0, 0.001^2) from the engine's generator, or zeros.
// - A smaller batch uses the first N slots of the state; a larger batch keeps the stored slots
//   and gets fresh ones for the extra samples; a different spatial size starts fresh.
// - The state is not part of state_dict() (as in the authors' release): checkpoints taken at
//   epoch boundaries resume exactly because every epoch starts from a reset state; the trainer
//   saves state() separately for mid-epoch checkpoints.
#pragma once
#include "engine/rng.h"
#include "layers/layers.h"

namespace ptl {

enum class StateMode { Carry, ResetEveryBatch };
enum class StateInit { Normal, Zeros };

struct BConvCellSpec {
  int64_t in, out, stride = 1;
  StateMode mode = StateMode::Carry;
  StateInit init = StateInit::Normal;
  double init_std = 1e-3;
};

class BConvCell : public UnaryModule {
 public:
  explicit BConvCell(const BConvCellSpec& spec, Generator* rng = nullptr);
  Tensor forward(const Tensor& x) override;
  void reset_state() override { state_ = Tensor(); }

  const Tensor& state() const { return state_; }
  // Sets the carried state on the cell's device: a checkpoint's states are read on the host, and
  // a cell on CUDA would otherwise be handed a CPU state at its next forward.
  void set_state(const Tensor& s) { state_ = s.to(device()); }
  BConvCellSpec& spec() { return spec_; }
  // Data parallelism: this process trains rows [first, first + n) of a batch of `total` rows.
  // A fresh state for the whole local batch is then those rows of the state one process would
  // draw for the whole batch, and the generator advances past all `total` rows, as one
  // process's would. total 0: the batch is all local (the default).
  void set_batch_rows(int64_t first, int64_t total) {
    rows_first_ = first;
    rows_total_ = total;
  }
  std::shared_ptr<Conv2d> gates;

 private:
  Tensor fresh(const Shape& shape, const Tensor& like, bool whole_batch);
  BConvCellSpec spec_;
  Generator* rng_;
  Tensor state_;  // (N, out, H', W'), detached
  int64_t rows_first_ = 0, rows_total_ = 0;
};

// Every BConvCell in `m` with its dotted name, in module order.
std::vector<std::pair<std::string, BConvCell*>> bconv_cells(Module& m);

}  // namespace ptl
