// Training checkpoints: one safetensors file holding the model ("model.<name>"), the optimizer
// ("optim.<key>"), BConv-Cell states ("state.<name>") and the RNG streams ("rng.<name>" =
// [seed, offset]), with epoch, step, best metric and the effective config in the metadata.
// Written atomically (temporary file, fsync, rename, folder fsync): a failed write leaves the
// previous checkpoint intact.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "engine/safetensors.h"
#include "engine/weights_file.h"  // load_model_weights: any weights file, checkpoints included

namespace ptl {

struct Checkpoint {
  TensorMap model, optim, states;
  std::map<std::string, std::pair<uint64_t, uint64_t>> rng;  // name -> (seed, offset)
  int64_t epoch = 0;                                         // completed epochs
  int64_t step = 0;                                          // completed iterations
  int64_t epoch_step = 0;  // iterations done within the epoch being trained (0 at boundaries)
  double best = -1;        // best evaluation metric so far (mAP or accuracy)
  // Mid-epoch: the sums of the epoch's step losses and accuracies so far (its epoch_loss and
  // epoch_acc average over the whole epoch, resumed or not).
  double epoch_loss_sum = 0, epoch_acc_sum = 0;
  std::string config_yaml;
};

void save_checkpoint(const std::string& path, const Checkpoint& c);
Checkpoint load_checkpoint(const std::string& path);

// Checkpoint files in `dir` named ckpt_e<EPOCH>_s<STEP>.safetensors, oldest first.
std::vector<std::string> list_checkpoints(const std::string& dir);
// Deletes all but the newest `keep` of them.
void prune_checkpoints(const std::string& dir, int64_t keep);
std::string checkpoint_name(int64_t epoch, int64_t step);

}  // namespace ptl
