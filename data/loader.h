// A multi-threaded batch loader: N worker threads decode and augment whole batches of a
// BatchPlan into a bounded window of ready batches, handed out strictly in plan order.
//
// Determinism: sample j of batch b is augmented with Generator(mix_seed(mix_seed(seed, b), j)),
// so the batches are identical for any worker count (0 = load on the caller's thread). A
// data-parallel rank loads its shard of each batch with j counted from the shard's position in
// the whole batch (LoaderOptions::positions), so the shards together are the one-process batch.
// Errors: a worker's exception (e.g. "<file>: truncated image") is re-thrown by next() when its
// batch is due. With BadInput policy Skip, a sample whose image fails to load is left out of its
// batch (which is then shorter) and counted in the BadInput instead.
// Shutdown: the destructor stops the workers after their current batch and joins them.
#pragma once
#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/bad_input.h"
#include "data/samplers.h"
#include "data/source.h"
#include "data/transform.h"
#include "engine/tensor.h"

namespace ptl::data {

struct Batch {
  int64_t number = -1;  // position in the plan
  Tensor images;        // float32 or bfloat16 (LoaderOptions::images) (n, 3, H, W), normalised
  Tensor labels;        // int64 (n)
  Tensor camids;        // int64 (n), -1 when unknown
  Tensor indices;       // int64 (n): dataset indices
  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
};

struct LoaderOptions {
  int workers = 2;   // 0: no threads, batches are built inside next()
  int prefetch = 4;  // most batches claimed but not yet handed out (>= 1)
  uint64_t seed = 0;
  // Receives bad-image reports; nullptr means errors are thrown (policy Error).
  std::shared_ptr<BadInput> bad;
  // Batches in pinned host memory, so their copies to a GPU are asynchronous (training on CUDA).
  bool pin_memory = false;
  // positions[b]: where batch b's first sample sits in its whole batch (a data-parallel shard,
  // data/samplers.h shard_batches); empty: 0 for every batch.
  std::vector<int64_t> positions;
  // The images' dtype: float32, or bfloat16 for a model in bf16 precision (engine/precision.h),
  // which then gets no float32 copy of the batch: each sample is written as bf16 when the batch
  // is assembled, its values the float32 pixels rounded as Tensor::to(DType::BF16) rounds them,
  // so the model's first convolution multiplies the same bits either way.
  DType images = DType::F32;
};

class Loader {
 public:
  Loader(std::shared_ptr<const DataSource> source, Transform transform, BatchPlan plan,
         LoaderOptions opts = {});
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch in plan order; false after the last. Re-throws a worker's error.
  bool next(Batch& out);
  int64_t num_batches() const { return static_cast<int64_t>(plan_.size()); }

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  Slot build(int64_t b) const;
  void worker();

  std::shared_ptr<const DataSource> source_;
  Transform transform_;
  BatchPlan plan_;
  LoaderOptions opts_;

  std::mutex mu_;
  std::condition_variable work_cv_, ready_cv_;
  int64_t claimed_ = 0, delivered_ = 0;
  bool stop_ = false;
  std::map<int64_t, Slot> ready_;
  std::vector<std::thread> threads_;
};

}  // namespace ptl::data
