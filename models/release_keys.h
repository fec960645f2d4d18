// Weights saved by other code, mapped to our state-dict keys.
//
// The authors' release (ZJULearning/PTL mgn_ptl.py and mgn.py; mgn.py as GNAYUOHZ/ReID-MGN) names
// its modules as ours do (models/mgn.h), so its keys map one to one, except that
//   - nn.DataParallel checkpoints prefix every key with "module.": removed;
//   - MGN_PTL's `backbone` keeps the whole torchvision ResNet-50, but only conv1, bn1, layer1,
//     layer2 and layer3.0 take part in the forward pass: backbone.layer3.{1..5}.*,
//     backbone.layer4.* and backbone.fc.* are ignored (listed in a notice);
//   - MGN's `backbone` is nn.Sequential(conv1, bn1, relu, maxpool, layer1, layer2, layer3[0]):
//     backbone.0.* -> backbone.conv1.*, backbone.1.* -> backbone.bn1.*, backbone.4.* ->
//     backbone.layer1.*, backbone.5.* -> backbone.layer2.*, backbone.6.* -> backbone.layer3.0.*.
// torchvision's ResNet keys (conv1.weight, layer1.0.conv1.weight, fc.weight, ...) map to
//   resnet*:      unchanged
//   ptl_resnet*:  backbone.<key>; fc.* ignored (the model has its own classifier)
//   mgn, mgn_ptl: conv1/bn1/layer1/layer2/layer3.0 -> backbone.<key>; layer3.<k> (k >= 1) ->
//                 p{1,2,3}.0.<k-1>.*; layer4.* -> p{1,2,3}.1.*; fc.* ignored. This is how the
//                 release starts MGN from an ImageNet ResNet-50.
#pragma once
#include <string>
#include <vector>

#include "engine/safetensors.h"

namespace ptl {

struct MappedState {
  TensorMap state;                         // keys as our model names them
  std::vector<std::string> ignored;        // source keys our model does not use
  std::vector<std::string> file_notes;     // what reading the file converted or skipped
  std::string notice() const;              // one line naming the ignored keys' groups, or ""
  std::vector<std::string> lines() const;  // file_notes, then notice() when there is one
};

MappedState map_release_keys(const TensorMap& release);
MappedState map_torchvision_resnet(const TensorMap& tv, const std::string& model_name);
// Recognises the layout of `state` (ours, the release's or torchvision's) and maps it for
// `model_name`; our own layout passes through unchanged.
MappedState adapt_state_dict(const TensorMap& state, const std::string& model_name);

}  // namespace ptl
