// The one rule for reading weights (issue #31): every command and key that takes weights
// (model.pretrained, --weights of train, eval, extract, forward, export and embed, ptl info)
// reads its file here, recognised by its first bytes, never by its name:
//   - a safetensors weights file (best.safetensors, converted weights): all its tensors;
//   - a ptl training checkpoint (safetensors, metadata format ptl-checkpoint-1): its model.*;
//   - a file of torch.save, zip or legacy (engine/pth.h): its state dict.
// Keys that all start with nn.DataParallel's "module." lose it. Mapping the keys to a model (the
// release's and torchvision's layouts) is models/weights.h, on top of this.
#pragma once
#include <string>
#include <vector>

#include "engine/safetensors.h"

namespace ptl {

// A training checkpoint's metadata "format" and the prefix of its model tensors
// (train/checkpoint.h writes them).
inline constexpr char kCheckpointFormat[] = "ptl-checkpoint-1";
inline constexpr char kCheckpointModelPrefix[] = "model.";

struct WeightsFile {
  TensorMap tensors;
  std::vector<std::string> notes;  // conversions and skipped entries, one line each
  std::string format;              // what the file is, for `ptl info --weights`
};

WeightsFile read_weights_file(const std::string& path);
// The same for a file held in memory; `what` names it in errors.
WeightsFile parse_weights_file(const std::string& bytes, const std::string& what);

// read_weights_file(path).tensors.
TensorMap load_model_weights(const std::string& path);

}  // namespace ptl
