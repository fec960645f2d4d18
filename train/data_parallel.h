// The collective steps of data-parallel training (docs/distributed.md), used by the trainer:
// every rank runs the same model on its shard of each batch (data/samplers.h shard_batches),
// and these keep the ranks one job:
//   start      check_same_job (the effective config and the parameter names and shapes agree),
//              broadcast_model (rank 0's parameters and buffers everywhere),
//              synchronise_batch_norm (dist.sync_bn)
//   each step  reduce_gradients (between backward and the optimizer step), weighted_sum (the
//              logged loss and accuracy of the whole batch), broadcast_buffers (rank 0's batch
//              norm statistics, as PyTorch DDP's broadcast_buffers does)
//   checkpoint gather_rows (the BConv-Cell states of all ranks, rows in rank order)
// Every sum adds the ranks in rank order (dist/communicator.h), so all ranks hold the same bits.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "models/model.h"

namespace ptl {

class DataParallel {
 public:
  DataParallel(dist::Communicator& comm, Model& model);
  dist::Communicator& comm() { return comm_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }

  // Throws on every rank, naming the first differing config key (or parameter), when the ranks
  // were started with different configs or build different models.
  void check_same_job(const std::string& config_yaml);
  void broadcast_model();
  // dist.sync_bn: every BatchNorm of the model normalises with the whole batch's statistics
  // (sync_batch_norm, engine/ops.h), gathered over the ranks in forward and backward.
  void synchronise_batch_norm();
  void broadcast_buffers();
  // grad = sum over ranks of share_r * grad_r for every trainable parameter, in fused buckets of
  // at most bucket_bytes, in parameter order: on the GPU through NCCL for CUDA gradients when
  // ptl has NCCL, else through the host and the communicator. share_r is the rank's fraction of the
  // batch (n_r / N), so the result is the gradient of the whole batch's mean loss. A trainable
  // parameter without a gradient is an error naming it.
  void reduce_gradients(double share, size_t bucket_bytes = 25 << 20);
  // values = sum over ranks of share_r * values_r.
  void weighted_sum(std::vector<double>& values, double share);
  // The rows of every rank's `t` (dim 0), concatenated in rank order; the ranks may hold
  // different row counts but the same trailing shape and dtype.
  Tensor gather_rows(const Tensor& t);

 private:
  dist::Communicator& comm_;
  Model& model_;
  // The NCCL communicator of this rank's GPU, made on first use.
  dist::Communicator& gpu_comm(const Device& device);

  Tensor flat32_, flat64_, device_flat_;  // reduce_gradients' buckets, kept between steps
  std::unique_ptr<dist::Communicator> gpu_comm_;
};

}  // namespace ptl
