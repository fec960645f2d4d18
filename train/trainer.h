// The trainer: epochs of PK batches (ReID) or shuffled batches (classification), the loss of
// the config, optimizer steps with the schedule, logs, evaluation every N epochs, checkpoints
// that resume exactly, and clean stops (NaN loss, SIGINT/SIGTERM, failed writes).
//
// Exact resume: an epoch's batch plan and augmentation are seeded by (seed, epoch), the
// BConv-Cell fresh states come from the global generator, whose state is checkpointed with the
// model, the optimizer, the carried BConv-Cell states and (epoch, step). Training 2E epochs in
// one run gives bit-identical weights to E epochs, stop, resume, E epochs
// (tests/test_train_loop.cpp).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/samplers.h"
#include "engine/rng.h"
#include "models/model.h"
#include "models/registry.h"
#include "train/config.h"
#include "train/model_eval.h"
#include "train/optim.h"
#include "train/task_data.h"

namespace ptl {

struct TrainSummary {
  int64_t epochs = 0, steps = 0;
  double best = -1;        // best evaluation score (mAP or accuracy, percent)
  ModelScore last;         // the final evaluation (of the evaluation split)
  std::optional<ModelScore> held_out_test;  // classification with val/ and test/: test, once
  double seconds = 0;
  bool interrupted = false;
  std::string best_path, last_checkpoint;
};

// The model a run trains, from the config's model.* keys and the data: `reid` makes
// model.last_stride=auto a stride-1 last stage (a larger final map for retrieval), `channels`
// is the images' (1 for grey datasets). `ptl info --config` builds the same.
ModelOptions model_options(const Config& cfg, bool reid, int64_t channels);

class Trainer {
 public:
  // resume: a checkpoint path, "auto" (the newest in train.out, if any), or "" (fresh start).
  explicit Trainer(Config cfg, const std::string& resume = "");
  ~Trainer();
  TrainSummary run();
  Model& model() { return *model_; }
  const TaskData& data() const { return data_; }
  ModelScore evaluate();
  // How evaluation runs the model (from the config's data.batch_size, data.workers, eval.flip
  // and seed); `ptl extract` uses the same.
  const ExtractOptions& extract_options() const { return extract_; }

  // Set by SIGINT/SIGTERM (handlers installed during run()); the trainer checkpoints and stops
  // after the current iteration.
  static void request_stop();
  // Called after every optimizer step with the global step count and the step's loss (tests
  // inject faults here and record trajectories).
  void set_step_hook(std::function<void(int64_t step, double loss)> hook) { step_hook_ = std::move(hook); }

 private:
  void build_optimizer();
  void load_pretrained(const std::string& path);
  void restore(const std::string& path);
  // A checkpoint at `epoch_step` iterations into the current epoch, with the epoch's loss and
  // accuracy sums so far; returns its path.
  std::string save(int64_t epoch_step, double loss_sum, double acc_sum);
  void note(const std::string& line);  // printed now, and written to train.log when run() starts
  // The batches of one epoch from data.sampler (data/samplers.h).
  data::BatchPlan epoch_plan(const std::vector<int64_t>& labels, Generator& rng) const;
  struct StepResult;
  StepResult train_step(const Tensor& images, const Tensor& labels);

  Config cfg_;
  TaskData data_;
  std::shared_ptr<Model> model_;
  std::unique_ptr<Optimizer> opt_;
  ExtractOptions extract_;
  Metric metric_ = Metric::Euclidean;
  bool rerank_ = false;
  std::string out_;
  int64_t epoch_ = 0, step_ = 0, resume_epoch_step_ = 0;
  double best_ = -1;
  std::string last_checkpoint_;
  TensorMap resume_states_;  // BConv-Cell states of a mid-epoch checkpoint
  double resume_loss_sum_ = 0, resume_acc_sum_ = 0;  // and its epoch's sums so far
  std::vector<std::string> notes_;
  std::function<void(int64_t, double)> step_hook_;
};

}  // namespace ptl
