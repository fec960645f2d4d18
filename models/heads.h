// The ReID-style head shared by PTL-ResNet and MGN: a 1x1 conv + BN + ReLU "reduction" applied
// to pooled (N, C, 1, 1) vectors, and linear classifiers, with the release's initialisations.
#pragma once
#include <memory>

#include "layers/layers.h"

namespace ptl {

// conv 1x1 (in -> feats; bias as asked) + BN + ReLU. Release init: conv Kaiming-normal
// (fan_in), BN weight N(1, 0.02), BN bias 0 (a conv bias keeps torch's default).
std::shared_ptr<Sequential> make_reduction(int64_t in, int64_t feats, bool bias);
// Linear(feats -> classes); release init: Kaiming-normal weight, zero bias. The fan is the
// input's (feats; the release's MGN_PTL) or, with fan_in false, the output's (classes; the
// release's MGN baseline, mgn.py).
std::shared_ptr<Linear> make_classifier(int64_t feats, int64_t classes, bool fan_in = true);
// reduction(v) flattened: (N, C, 1, 1) -> (N, feats).
Tensor reduce(Sequential& reduction, const Tensor& pooled);
// Max over the whole map: (N, C, H, W) -> (N, C, 1, 1).
Tensor global_max_pool(const Tensor& x);

}  // namespace ptl
