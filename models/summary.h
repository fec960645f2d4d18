// A model's layer table and multiply-accumulate count, read off the autograd graph of one
// forward pass (batch 1, eval mode): every conv2d and matmul node knows its output shape and
// its weight, so no module needs hooks and layers used several times (MGN's shared reduction)
// count once per use.
#pragma once
#include <string>
#include <vector>

#include "models/model.h"

namespace ptl {

struct LayerCost {
  std::string name;      // the weight's module, e.g. "layer1.0.conv1" or "fc"
  Shape weight, output;  // output of the last use, batch 1
  int64_t uses = 0;
  int64_t macs = 0;  // over all uses, per image
};

struct ModelSummary {
  std::vector<LayerCost> layers;  // in parameter order
  int64_t parameters = 0;
  int64_t macs = 0;  // per image: convolutions and linear layers (element-wise work not counted)
};

// input: (C, H, W). Leaves the model in eval mode with its BConv-Cell states reset.
ModelSummary summarize(Model& model, const Shape& input);

}  // namespace ptl
