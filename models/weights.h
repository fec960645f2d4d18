// The one rule for weights mapped to a model (issue #31): the file read by engine/weights_file.h
// (safetensors weights, a training checkpoint, a .pth of torch.save), its keys mapped to
// `model_name`'s by adapt_state_dict (ours, the authors' release or torchvision's ResNet,
// models/release_keys.h). model.pretrained, --weights of train, eval, extract, forward, export and
// embed, and `ptl info --weights` all load through here.
#pragma once
#include <string>

#include "engine/weights_file.h"
#include "models/release_keys.h"

namespace ptl {

// The mapped state; its lines() say what was converted, skipped or ignored.
MappedState load_weights_for(const std::string& path, const std::string& model_name);
// The same for a file already read (`ptl info --weights` prints what the file holds first).
MappedState map_weights_file(WeightsFile file, const std::string& model_name);

}  // namespace ptl
