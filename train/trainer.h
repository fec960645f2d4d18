// The trainer: epochs of PK batches (ReID) or shuffled batches (classification), the loss of
// the config, optimizer steps with the schedule, logs, evaluation every N epochs, checkpoints
// that resume exactly, and clean stops (NaN loss, SIGINT/SIGTERM, failed writes).
//
// run() is a loop over named steps, each usable alone: epoch_plan (the batches), train_step
// (one update), the step's log line, evaluate_after_epoch (score, best weights) and
// save_checkpoint.
//
// Exact resume: an epoch's batch plan and augmentation are seeded by (seed, epoch), the
// BConv-Cell fresh states come from the global generator, whose state is checkpointed with the
// model, the optimizer, the carried BConv-Cell states and (epoch, step). Training 2E epochs in
// one run gives bit-identical weights to E epochs, stop, resume, E epochs
// (tests/test_train_loop.cpp).
//
// Data parallelism (docs/distributed.md): started as W processes by mpirun, every rank builds
// the same global batch plan and trains its shard of each batch (whole identities); gradients,
// the logged loss and accuracy and the stop decisions are agreed over all ranks, and rank 0
// alone evaluates, logs and writes checkpoints (with every rank's BConv-Cell state rows).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "data/samplers.h"
#include "train/data_parallel.h"
#include "train/experiment.h"
#include "train/optim.h"
#include "train/run_folder.h"

namespace ptl {

class RunLog;
class StepGraph;

struct TrainSummary {
  int64_t epochs = 0, steps = 0;
  double best = -1;                         // best evaluation score (mAP or accuracy, percent)
  ModelScore last;                          // the final evaluation (of the evaluation split)
  std::optional<ModelScore> held_out_test;  // classification with val/ and test/: test, once
  double seconds = 0;
  bool interrupted = false;
  std::string best_path, last_checkpoint;
};

struct StepResult {
  double loss, triplet, ce, accuracy;
};

class Trainer {
 public:
  // start: a fresh run ("", the default), --resume "auto" or a checkpoint, --overwrite and
  // --allow-config-change, checked against train.out first (train/run_folder.h).
  // The ranks that train together are dist::world(), or `comm` (tests train one process inside
  // an MPI job with dist::single_process()).
  explicit Trainer(Config cfg, const RunStart& start = {});
  Trainer(Config cfg, const RunStart& start, dist::Communicator& comm);
  ~Trainer();
  TrainSummary run();
  Experiment& experiment() { return exp_; }
  Model& model() { return exp_.model(); }

  // The batches of `epoch` (0-based) from data.sampler, drawn from (seed, epoch) alone and
  // capped at train.max_iters_per_epoch; an empty plan is an error that says why.
  data::BatchPlan epoch_plan(int64_t epoch) const;
  // One optimizer step: forward, the loss of loss.kind, backward, update. A loss that is not
  // finite stops training with the last good checkpoint named. A bf16 run takes bf16 images.
  StepResult train_step(const Tensor& images, const Tensor& labels);
  // A checkpoint `epoch_step` iterations into the current epoch (0: at its end), with the
  // epoch's loss and accuracy sums so far; keeps train.keep_last of them; returns its path.
  std::string save_checkpoint(int64_t epoch_step, double loss_sum, double acc_sum);

  // Set by SIGINT/SIGTERM (handlers installed during run()); the trainer checkpoints and stops
  // after the current iteration.
  static void request_stop();
  // Called after every optimizer step with the global step count and the step's loss (tests
  // inject faults here and record trajectories).
  void set_step_hook(std::function<void(int64_t step, double loss)> hook) {
    step_hook_ = std::move(hook);
  }

 private:
  void restore(const Checkpoint& c, const std::string& path);
  // Data parallelism: the same job on every rank, and a batch every rank can take a part of.
  void check_data_parallel();
  void open_log(RunLog& log, int stale_temporaries);
  // Trains the rest of the current epoch; false when a stop was requested (checkpoint written).
  bool train_epoch(RunLog& log, TrainSummary& sum);
  // The step's progress line (a terminal shows every one in place; train.log and metrics.jsonl
  // get every train.log_every-th and each epoch's last). Pace: the steps this run has timed in
  // the epoch, the batch size and their seconds, for the speed and the time left, and the part
  // of those seconds spent waiting for the loader ("data wait": what a faster loader or more
  // data.workers could save).
  struct Pace {
    int64_t steps, batch;
    double seconds, waited;
  };
  void log_step(RunLog& log, const StepResult& r, double lr, int64_t it, int64_t iters,
                const Pace& pace) const;
  void end_epoch(RunLog& log, int64_t iters, double loss_sum, double acc_sum, int64_t bad_before);
  bool evaluation_due() const;
  // Scores the model after the current epoch; saves best.safetensors when the score improves.
  void evaluate_after_epoch(RunLog& log, TrainSummary& sum);
  void finish(RunLog& log, TrainSummary& sum, double seconds);

  RunFolder folder_;  // decided before the experiment is built: a refused start costs nothing
  std::string resume_command_;
  Experiment exp_;
  const Settings& s_;
  std::unique_ptr<Optimizer> opt_;
  int64_t epoch_ = 0, step_ = 0, resume_epoch_step_ = 0;
  double best_ = -1;
  std::string last_checkpoint_;
  TensorMap resume_states_;                          // BConv-Cell states of a mid-epoch checkpoint
  double resume_loss_sum_ = 0, resume_acc_sum_ = 0;  // and its epoch's sums so far
  std::vector<std::string> notes_;
  bool evaluated_last_ = false;
  std::vector<int64_t> train_labels_;  // the epoch plans draw from them
  bool tty_ = false;                   // stdout is a terminal: progress lines are drawn in place
  std::function<void(int64_t, double)> step_hook_;
  DataParallel dp_;
  double batch_share_ = 1;  // this rank's fraction of the current batch (data parallelism)
  // train.cuda_graphs (train/step_graph.h): the graph, the eager steps so far, and the epoch's
  // steps that replayed it and that did not, with the last reason (for the epoch's log line).
  static constexpr int64_t kGraphWarmupSteps = 2;
  std::unique_ptr<StepGraph> step_graph_;
  int64_t eager_steps_ = 0, epoch_replays_ = 0, epoch_eager_ = 0;
  std::string graph_eager_why_;
};

}  // namespace ptl
