// PTL-ResNet: a ResNet plus the PTL side branch with a single (global) head
// (docs/method.md, "PTL-ResNet"), for ResNet-18/34/50 and the CIFAR ResNet-20/56.
//
// Taps: the stem, every stage but the last two, and the first block of the last-but-one stage
// (for ResNet-50: stem, layer1, layer2, layer3[0], as the release's MGN_PTL); the head cell
// pairs with the last stage. Both maps are globally max-pooled, concatenated
// (ResNet-50: 2048 + 128), reduced (1x1 conv + BN + ReLU -> min(256, C)) and classified.
// Without the side branch (the baseline) the same head sees only the backbone's vector and
// its reduction conv has no bias (MGN's convention; the release's PTL reduction has one).
// Names: backbone.* (torchvision's, no fc), ptl.*, reduction.{0,1}.*, fc.*
#pragma once
#include <memory>

#include "models/ptl_branch.h"
#include "models/resnet.h"

namespace ptl {

struct PTLOptions {
  bool side_branch = true;
  StateMode state_mode = StateMode::Carry;
  StateInit state_init = StateInit::Normal;
};

class PTLResNet : public Model {
 public:
  // backbone: a config with num_classes 0 (resnet_config(name, 0, ...)).
  PTLResNet(const ResNetConfig& backbone, int64_t num_classes, const PTLOptions& opt);
  ModelOutput forward(const Tensor& x) override;

  std::shared_ptr<ResNet> backbone;
  std::shared_ptr<PTLBranch> ptl;  // null without the side branch
  std::shared_ptr<Sequential> reduction;
  std::shared_ptr<Linear> fc;
};

}  // namespace ptl
