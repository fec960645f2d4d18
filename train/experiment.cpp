#include "train/experiment.h"

#include <cstdio>

#include "base/error.h"
#include "base/parallel.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "models/weights.h"

namespace ptl {

int64_t classifier_size(const Model& model, const TensorMap& weights, int64_t classes) {
  int64_t found = classes;
  for (const auto& [name, t] : model.state_dict()) {
    auto it = weights.find(name);
    if (it == weights.end() || it->second.shape() == t.shape()) continue;
    std::vector<int64_t> a = t.shape(), b = it->second.shape();
    if (a.empty() || a.size() != b.size() || a[0] != classes || (found != classes && b[0] != found))
      return classes;
    a[0] = b[0];
    if (a != b) return classes;
    found = b[0];
  }
  return found;
}

ModelOptions model_options(const ModelSettings& m, bool reid, int64_t channels) {
  ModelOptions o;
  o.in_channels = channels;
  // ReID keeps the last stage at stride 1 (a larger final map for retrieval); classification
  // trains the network as published (CIFAR ResNets: 8x8 last stage at 32x32).
  o.last_stride = m.last_stride > 0 ? m.last_stride : (reid ? 1 : 2);
  o.ptl.side_branch = m.ptl != PtlMode::Off;
  o.ptl.state_mode = epoch_state_mode(m.ptl, 0);
  o.ptl.state_init = m.state_init;
  return o;
}

StateMode epoch_state_mode(PtlMode mode, int64_t epoch) {
  const bool reset = mode == PtlMode::ResetEveryBatch || (mode == PtlMode::Release && epoch > 0);
  return reset ? StateMode::ResetEveryBatch : StateMode::Carry;
}

Experiment::Experiment(Config cfg, const dist::Communicator& comm)
    : Experiment(std::move(cfg), comm, true) {}

Experiment::Experiment(Config cfg, WithoutData)
    : Experiment(std::move(cfg), dist::world(), false) {}

Experiment::Experiment(Config cfg, const dist::Communicator& comm, bool read_data)
    : cfg_(std::move(cfg)), s_(read_settings(cfg_)) {
  if (s_.device.threads > 0) set_num_threads(s_.device.threads);
  PTL_CHECK(s_.device.device.is_cpu() || cuda_device_count() > 0, "config: device '",
            cfg_.str("device"), "' requested but no CUDA device is available",
            cuda_compiled() ? "" : " (this ptl was built without CUDA)", "; use device=cpu");
  // Data parallel on GPUs: every process of a machine takes the GPU of its local rank, whatever
  // index `device` names, so that all ranks run the same config.
  if (s_.device.device.is_cuda() && comm.size() > 1)
    s_.device.device = Device::cuda(comm.local_rank() % cuda_device_count());
  set_allow_tf32(s_.device.tf32);
  set_cudnn_engine_heuristics(s_.device.cudnn_heuristics);
  extract_.batch = s_.data.batch_size;
  extract_.workers = s_.data.workers;
  extract_.flip = s_.eval.flip;
  extract_.seed = s_.seed;
  extract_.precision = s_.train.precision;
  // Evaluation never skips (the splits were cleaned up front under skip); under error its
  // message names the fix, as training's does.
  if (s_.data.on_bad_image == data::OnBad::Error)
    extract_.stop_on_bad =
        std::make_shared<data::BadInput>(data::OnBad::Error, "data.on_bad_image=skip");
  manual_seed(s_.seed);
  data_ = read_data ? load_task_data(s_.data) : task_without_data(s_.data);
  // Without data and model.num_classes, a stand-in until load_weights reads the weights' count.
  build_model(s_.model.num_classes > 0 ? s_.model.num_classes
              : read_data              ? data_.num_classes
                                       : default_num_classes(s_.model.name));
  if (!s_.model.pretrained.empty()) load_pretrained(s_.model.pretrained);
  freeze(s_.model.freeze);
}

void Experiment::build_model(int64_t classes) {
  classes_ = classes;
  model_ = make_model(s_.model.name, classes, model_options(s_.model, data_.reid, data_.channels));
  // Moved before anything holds its parameters: weights, optimizer state and checkpoints are
  // then loaded into (and made on) the training device.
  model_->to(s_.device.device);
}

void Experiment::load_pretrained(const std::string& path) {
  // Any weights file, torchvision-named or release-named weights mapped to this model's keys
  // (models/weights.h): for MGN and MGN-PTL, layer3.1-5 and layer4 start every branch.
  const MappedState mapped = load_weights_for(path, s_.model.name);
  for (const std::string& line : mapped.lines()) note(str("pretrained weights ", path, ": ", line));
  const TensorMap ours = model_->state_dict();
  Module::LoadReport r = model_->load_state_dict(mapped.state, false, path);
  if (r.from_bf16 > 0) note(str("pretrained weights ", r.conversion_note(path)));
  note(str("pretrained weights ", path, ": ", ours.size() - r.missing.size() - r.mismatched.size(),
           " tensors loaded, ", r.missing.size(), " missing (kept at init), ", r.unexpected.size(),
           " unexpected, ", r.mismatched.size(),
           " shape mismatches skipped (e.g. a classifier for another number of classes)"));
  const size_t loaded = ours.size() - r.missing.size() - r.mismatched.size();
  PTL_CHECK(loaded > 0, path, ": no tensor matches model ", s_.model.name, ":", r.str());
  PTL_CHECK(2 * loaded >= ours.size() || s_.model.pretrained_partial, "model.pretrained ", path,
            ": only ", loaded, " of model ", s_.model.name, "'s ", ours.size(),
            " tensors match it: is it the weights of another model?", r.str(),
            "\n  set model.pretrained_partial=true to start from them anyway");
}

void Experiment::freeze(const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    int64_t n = 0;
    for (auto& [name, p] : model_->named_parameters())
      if (name.rfind(prefix, 0) == 0) {
        p.impl().requires_grad = false;
        ++n;
      }
    PTL_CHECK(n > 0, "config: model.freeze prefix '", prefix, "' matches no parameter of ",
              s_.model.name);
  }
}

void Experiment::note(const std::string& line) {
  std::printf("%s\n", line.c_str());
  notes_.push_back(line);
}

void Experiment::load_weights(const std::string& path) {
  const MappedState mapped = load_weights_for(path, s_.model.name);
  for (const std::string& line : mapped.lines()) note(str("weights ", path, ": ", line));
  const TensorMap& weights = mapped.state;
  const bool read_data = data_.train != nullptr;
  if (s_.model.num_classes == 0 && (data_.reid || !read_data)) {
    const int64_t classes = classifier_size(*model_, weights, classes_);
    if (classes != classes_) {
      // Cross-dataset evaluation: retrieval never uses the classifier, so a model trained on
      // another dataset keeps the class count of its weights (without data: always).
      build_model(classes);
      if (read_data)
        note(str("weights ", path, ": a classifier of ", classes, " classes (this data has ",
                 data_.num_classes, "; retrieval does not use it)"));
    }
  }
  const Module::LoadReport r = model_->load_state_dict(weights, true, path);
  if (r.from_bf16 > 0) note(str("weights ", r.conversion_note(path)));
}

ModelScore Experiment::evaluate() {
  if (data_.reid)
    return evaluate_reid_model(*model_, data_.query, data_.gallery, data_.eval_transform, extract_,
                               s_.eval.metric, s_.eval.rerank);
  return evaluate_classifier(*model_, data_.test, data_.eval_transform, extract_);
}

}  // namespace ptl
