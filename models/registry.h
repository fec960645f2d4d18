// Models by name: make_model("mgn_ptl", 751) and the defaults the CLI needs.
//
//   resnet18, resnet34, resnet50      torchvision layout (input 3x224x224)
//   resnet20, resnet56                CIFAR layout, He et al. 2016 (3x32x32; 1x28x28 with
//   in_channels 1) ptl_resnet18/34/50, ptl_resnet20/56   the same backbones + PTL side branch, one
//   global head mgn, mgn_ptl                      MGN and MGN-PTL (3x384x128)
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/ptl_resnet.h"

namespace ptl {

struct ModelOptions {
  int64_t in_channels = 3;
  int64_t last_stride = 2;  // ResNets and PTL-ResNets (MGN fixes its own)
  PTLOptions ptl;           // side_branch false turns ptl_* / mgn_ptl into their baselines
};

std::shared_ptr<Model> make_model(const std::string& name, int64_t num_classes,
                                  const ModelOptions& opt = {});
const std::vector<std::string>& model_names();
// The class count the CLI assumes without --num-classes: 751 (Market-1501) for MGN, 10 for the
// CIFAR models, 1000 otherwise.
int64_t default_num_classes(const std::string& name);
// The input a model is made for, (C, H, W).
Shape default_input(const std::string& name);
// Parses "3x384x128" into (C, H, W).
Shape parse_input_shape(const std::string& s);

}  // namespace ptl
