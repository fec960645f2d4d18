// The collective steps of data-parallel training (docs/distributed.md), used by the trainer:
// every rank runs the same model on its shard of each batch (data/samplers.h shard_batches),
// and these keep the ranks one job:
//   start      check_same_job (the effective config and the parameter names and shapes agree),
//              broadcast_model (rank 0's parameters and buffers everywhere),
//              synchronise_batch_norm (dist.sync_bn)
//   each step  prepare_gradients (before backward: the gradients land in fused buckets as
//              backward completes them), reduce_gradients (between backward and the optimizer
//              step: the buckets summed in place), weighted_sum (the logged loss and accuracy
//              of the whole batch), broadcast_buffers (rank 0's batch norm statistics, as
//              PyTorch DDP's broadcast_buffers does)
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
  ~DataParallel();  // removes its hooks from the parameters
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;
  dist::Communicator& comm() { return comm_; }
  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }

  // Throws on every rank, naming the first differing config key (or parameter), when the ranks
  // were started with different configs or build different models.
  void check_same_job(const std::string& config_yaml);
  void broadcast_model();
  // dist.sync_bn: every BatchNorm of the model normalises with the whole batch's statistics
  // (sync_batch_norm, engine/ops.h), gathered over the ranks in forward and backward: through
  // NCCL for a CUDA model where ptl has it (as the gradient buckets), else in host memory. The
  // layers then call into this object, which must outlive their training passes.
  void synchronise_batch_norm();
  void broadcast_buffers();
  // Before backward: lays out every trainable parameter's gradient in fused buckets of one
  // dtype and device, of at most bucket_bytes, in parameter order (again only when the trainable
  // parameters change), and hooks each parameter so that backward copies its gradient, times
  // `share`, into its place as soon as it is complete, while it is still in cache. share is the
  // rank's fraction of the batch (n_r / N). The buckets live on the GPU for CUDA gradients when
  // ptl has NCCL, else in host memory.
  void prepare_gradients(double share, size_t bucket_bytes = 25 << 20);
  // After backward: grad = sum over ranks of share_r * grad_r for every trainable parameter,
  // summed in place in the buckets (rank order, dist/communicator.h); each grad is then a view
  // of its bucket, so nothing is copied back. A trainable parameter that received no gradient
  // is an error naming it.
  void reduce_gradients();
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

  // A trainable parameter's place: bucket, offset in its values, and whether this step's
  // gradient has landed there.
  struct Slot {
    std::string name;
    Tensor param;
    size_t bucket = 0;
    int64_t offset = 0;
    bool landed = false;
  };
  struct Bucket {
    Tensor flat;    // 1-D; host buckets have room for the sum's padding (dist::padded_length)
    int64_t n = 0;  // values in use
  };
  void lay_out_buckets(size_t bucket_bytes);
  void remove_hooks();
  void land(Slot& slot, const Tensor& grad);

  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;  // kept between steps: fresh 25 MB buffers cost page faults
  size_t bucket_bytes_ = 0;
  double share_ = 1;
  std::unique_ptr<dist::Communicator> gpu_comm_;
};

}  // namespace ptl
