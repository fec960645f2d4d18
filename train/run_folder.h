// A run's folder (train.out) when `ptl train` starts: what is already there decides how the run
// may start, so that no earlier result is overwritten, mixed with another run's or resumed under
// another config without a word.
//
// - A folder that holds a run (config.yaml, metrics.jsonl, train.log, best.safetensors or a
//   checkpoint) is refused unless the run resumes it (--resume auto|CKPT) or --overwrite removes
//   the earlier run's files first.
// - --overwrite moves those files into DIR/.ptl-overwrite, then deletes that folder: a kill in
//   between leaves the marker folder, and every later start except another --overwrite refuses
//   the folder, so no run ever starts among a mix of two runs' files.
// - --resume auto takes the newest intact checkpoint (a truncated newest one falls back to the
//   one before, with a warning naming both); a folder without one starts fresh and says so.
// - Resuming compares the checkpoint's config with the effective one, key by key, before
//   anything is loaded into the model: a key that changes what is computed is refused unless
//   --allow-config-change names it; the others (threads, logging, checkpoints kept, train.out,
//   train.epochs) pass with a note. Every difference goes into config.yaml's history.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "train/checkpoint.h"
#include "train/config.h"

namespace ptl {

// How the user asked a run to start.
struct RunStart {
  RunStart(std::string resume_from = "") : resume(std::move(resume_from)) {}
  RunStart(const char* resume_from) : resume(resume_from) {}
  std::string resume;  // "", "auto" (the newest checkpoint in train.out, if any) or a checkpoint
  bool overwrite = false;                        // delete an earlier run's files first
  std::vector<std::string> allow_config_change;  // computing keys that may differ on resume
  // The whole command that continues this run, printed when it is stopped ("": the trainer
  // prints --resume CKPT alone).
  std::string resume_command;
};

// What prepare_run_folder decided.
struct RunFolder {
  std::string checkpoint;                 // to resume from; "" for a fresh start
  std::shared_ptr<Checkpoint> loaded;     // that checkpoint, read once (intact)
  std::vector<std::string> notes;         // printed already; train.log records them
  std::vector<ConfigDifference> changes;  // allowed differences of computing keys
  std::vector<std::string> history;       // config.yaml comment lines for every difference
};

// Checks (and with --overwrite clears) train.out for a run of `cfg` started as `start`.
// `writer`: this process owns the run's files (rank 0 of a data-parallel job); the other ranks
// get an empty RunFolder and learn the checkpoint from rank 0.
RunFolder prepare_run_folder(const Config& cfg, const RunStart& start, bool writer);

// Whether a difference in `key` changes what training computes (model, data, loss, optimizer,
// schedule, seed, device, evaluation). The others: threads, memory_limit_mb, data.workers,
// train.out, train.epochs, train.eval_every, train.log_every, train.checkpoint_every,
// train.keep_last, dist.timeout_s and the study.* keys.
bool changes_computation(const std::string& key);

// The differences of `now` from `before` that change what is computed, as one line:
// "optim.lr: 0.01 in DIR, 0.05 now; ...". Empty when there are none.
std::string computing_differences(const Config& before, const Config& now,
                                  const std::string& where);

// Whether `dir` holds an earlier run's files (or the rest of an interrupted --overwrite).
bool holds_run(const std::string& dir);

// config.yaml's text on a resumed run: the history lines of the file already there, then
// `added`, then the effective config (with comments).
std::string config_file_text(const std::string& dir, const Config& cfg,
                             const std::vector<std::string>& added);

}  // namespace ptl
