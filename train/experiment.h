// One experiment: a configuration made concrete. The model (its weights initialised from the
// seed, the pretrained ones loaded and the frozen prefixes marked) on its device, the datasets
// with their transforms, and how evaluation runs the model. `ptl train` trains one (Trainer),
// `ptl eval` and `ptl extract` load trained weights into one, the demo and the study build one
// per run.
//
// Building one sets the process-wide state a run needs, in this order, so that a seed gives the
// same weights however the experiment is used: thread count, TF32, the global generator's seed,
// then data, model, device, pretrained weights.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.h"
#include "evaluation/model_eval.h"
#include "models/model.h"
#include "models/registry.h"
#include "train/config.h"
#include "train/settings.h"
#include "train/task_data.h"

namespace ptl {

// The model options of the settings on data of this kind: `reid` makes last_stride auto a
// stride-1 last stage (a larger final map for retrieval), `channels` is the images' (1 for grey
// datasets). `ptl info --config` builds the same.
ModelOptions model_options(const ModelSettings& m, bool reid, int64_t channels);

// The class count of the classifiers in `weights` when it differs from the model's `classes`:
// every tensor whose shape differs has `classes` rows in the model and the same other number
// of rows in the file (and no other difference). Otherwise `classes`: the strict load then
// reports what does not match. (`ptl export` sizes its model from the weights this way.)
int64_t classifier_size(const Model& model, const TensorMap& weights, int64_t classes);

// The BConv-Cell state mode of training epoch `epoch` (0-based) under model.ptl = `mode`:
// release carries in epoch 0 and resets every batch after (docs/method.md), the others keep
// theirs. A function of the epoch, so a resumed run gets the mode of the epoch it resumes in.
StateMode epoch_state_mode(PtlMode mode, int64_t epoch);

class Experiment {
 public:
  // `comm`: the data-parallel job this process belongs to; on GPUs its local rank picks the
  // device (a one-process job keeps the configured device).
  explicit Experiment(Config cfg, const dist::Communicator& comm = dist::world());
  // The model alone, for images from elsewhere (`ptl embed`, `ptl search`): data.root is not
  // read (data() is task_without_data's), and without model.num_classes the classifiers take
  // the class count of the weights load_weights loads.
  struct WithoutData {};
  Experiment(Config cfg, WithoutData);
  const Config& config() const { return cfg_; }
  const Settings& settings() const { return s_; }
  Model& model() { return *model_; }
  const TaskData& data() const { return data_; }
  // How evaluation and `ptl extract` run the model: data.batch_size, data.workers, eval.flip and
  // the seed of evaluation's own random stream.
  const ExtractOptions& extract_options() const { return extract_; }
  // Lines about what was loaded (pretrained weights, bf16 conversions), for the run's log.
  const std::vector<std::string>& notes() const { return notes_; }

  // Trained weights of this very model (best.safetensors, a checkpoint, a .pth or a release
  // checkpoint: models/weights.h): every tensor must match, except that a ReID config without
  // model.num_classes takes the class count of the weights' classifiers (evaluation on another
  // dataset: retrieval never uses the classifier).
  void load_weights(const std::string& path);
  // The score on the evaluation split: mAP and CMC (ReID) or accuracy (classification).
  ModelScore evaluate();

 private:
  Experiment(Config cfg, const dist::Communicator& comm, bool read_data);
  void build_model(int64_t classes);
  void load_pretrained(const std::string& path);
  void note(const std::string& line);  // printed and kept in notes()
  void freeze(const std::vector<std::string>& prefixes);

  Config cfg_;
  Settings s_;
  TaskData data_;
  std::shared_ptr<Model> model_;
  int64_t classes_ = 0;  // the classifiers' size model_ was built with
  ExtractOptions extract_;
  std::vector<std::string> notes_;
};

}  // namespace ptl
