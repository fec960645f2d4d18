// MGN (Multiple Granularity Network) and MGN-PTL, as docs/method.md and the authors'
// release (ZJULearning/PTL mgn_ptl.py) describe them, without the release's unused copies.
//
// backbone: ResNet-50 up to layer3[0] (N, 1024, H/16, W/16); then three branches, each
// layer3[1:] + layer4: p1 with layer4's stride 2 (H/32), p2 and p3 with stride 1 (H/16).
// p1 is max-pooled globally; p2 globally and in 2 horizontal stripes; p3 globally and in 3.
// With the side branch (MGN-PTL) the head cells bconv6/7/8 pair with p1/p2/p3 and are pooled
// the same way; each pooled vector is concatenated with its side vector (2048 + 128).
// The 8 vectors go one by one through the shared reduction (-> 256; in training every call
// uses its own batch statistics and updates the running ones, as the release) and their own
// classifier. Output: feature = the 8 reduced vectors concatenated (N, 2048), logits = the 8
// classifiers', triplet = the 3 global reduced features.
// Input 384x128 by default; any size whose p2/p3 map height (ceil(H/16)) is divisible by 2 and
// 3 works (H = 96, 192, 288, 384, ...); others fail with a message saying so.
// Names (the release's): backbone.{conv1,bn1,layer1,layer2,layer3.0}.*, p1.0.<k>.* (layer3[1+k]),
// p1.1.<k>.* (layer4[k]), p2.*, p3.*, ptl.*, reduction.*, fc_id_2048_{0,1,2}.*,
// fc_id_256_1_{0,1}.*, fc_id_256_2_{0,1,2}.*
#pragma once
#include <memory>
#include <vector>

#include "models/ptl_resnet.h"

namespace ptl {

class MGN : public Model {
 public:
  // side_branch false: MGN; true: MGN-PTL.
  MGN(int64_t num_classes, const PTLOptions& opt);
  ModelOutput forward(const Tensor& x) override;
  bool reid() const override { return true; }

  // The classifier names in output order: global p1, p2, p3, then p2's 2 and p3's 3 stripes.
  static const std::vector<std::string>& classifier_names();

  std::shared_ptr<ResNet> backbone;
  std::shared_ptr<Sequential> p1, p2, p3;
  std::shared_ptr<PTLBranch> ptl;  // null for MGN
  std::shared_ptr<Sequential> reduction;
  std::vector<std::shared_ptr<Linear>> classifiers;
};

}  // namespace ptl
