// The run's configuration as typed fields, read once from a checked Config (train/config.h).
//
// Config checks every value against its key's rule when it is set, so reading here cannot
// fail: an enum key becomes the enum whose declaration order is the order of its rule's
// names ("enum:pk|pk_release|shuffle" -> Sampler::Pk, PkRelease, Shuffle), and the trainer,
// the experiment and the commands read fields, never key strings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/bad_input.h"
#include "engine/device.h"
#include "engine/precision.h"
#include "evaluation/distance.h"
#include "layers/bconv_cell.h"
#include "train/config.h"
#include "train/scheduler.h"

namespace ptl {

enum class PtlMode { Carry, ResetEveryBatch, Off, Release };  // model.ptl
enum class Sampler { Pk, PkRelease, Shuffle };                // data.sampler
enum class OptimKind { Adam, AdamW, Sgd };                    // optim.name
enum class LossKind { Mgn, Ce, CeTriplet };                   // loss.kind

struct DeviceSettings {
  Device device;
  bool tf32 = false;
  bool cudnn_heuristics = false;  // cuDNN backend-API engines for convolutions
  int threads = 0;                // 0: PTL_NUM_THREADS or all cores
  int64_t memory_limit_mb = 0;    // 0: 95% of what is available at the start
};

struct ModelSettings {
  std::string name;
  int64_t num_classes = 0;  // 0: the training identities or classes
  PtlMode ptl = PtlMode::Carry;
  StateInit state_init = StateInit::Normal;
  int64_t last_stride = 0;          // 0: auto (1 for ReID, 2 for classification)
  std::string pretrained;           // empty: random initialisation
  bool pretrained_partial = false;  // less than half of the model may match `pretrained`
  std::vector<std::string> freeze;
};

struct DataSettings {
  std::string format, root;
  int height = 0, width = 0;
  Sampler sampler = Sampler::Pk;
  int p = 0, k = 0;
  int64_t batch_size = 0;
  int workers = 0;
  double flip = 0, erasing = 0;
  int pad = 0;
  std::vector<int64_t> classes;  // classification: the kept classes, in label order; empty: all
  int64_t per_class = 0;         // classification: training images per class; 0: all
  data::OnBad on_bad_image = data::OnBad::Error;
  bool msmt17_train_val = false;  // MSMT17: list_train + list_val
};

struct OptimSettings {
  OptimKind kind = OptimKind::Adam;
  double lr = 0, side_lr = 0, weight_decay = 0, momentum = 0;  // side_lr 0: lr
  bool amsgrad = false, nesterov = false;
};

struct LossSettings {
  LossKind kind = LossKind::Mgn;
  double margin = 0, label_smoothing = 0;
};

struct TrainSettings {
  int64_t epochs = 0, eval_every = 0, log_every = 0, checkpoint_every = 0, keep_last = 0;
  int64_t max_iters_per_epoch = 0;  // 0: the whole epoch
  std::string out;
  Precision precision = Precision::F32;  // of training, evaluation and extraction
  bool cuda_graphs = false;              // steps replayed as CUDA graphs (train/step_graph.h)
};

struct EvalSettings {
  Metric metric = Metric::Euclidean;
  bool rerank = false, flip = false;
};

struct DistSettings {
  bool sync_bn = false;  // batch statistics of the whole batch over all processes
  double timeout_s = 0;  // a collective waiting longer for the other ranks ends the job
};

struct Settings {
  uint64_t seed = 0;
  DeviceSettings device;
  ModelSettings model;
  DataSettings data;
  OptimSettings optim;
  ScheduleSpec schedule;
  LossSettings loss;
  TrainSettings train;
  EvalSettings eval;
  DistSettings dist;
};

Settings read_settings(const Config& cfg);

}  // namespace ptl
