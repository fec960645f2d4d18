#include "models/mgn.h"

#include "models/heads.h"

namespace ptl {

namespace {
constexpr int64_t kFeats = 256;

// layer3[1:] (5 Bottlenecks, 1024 -> 1024) + layer4 (3 Bottlenecks, 1024 -> 2048, stride s).
std::shared_ptr<Sequential> make_part(int64_t layer4_stride) {
  auto part = std::make_shared<Sequential>();
  part->push_back(make_stage(BlockKind::Bottleneck, 1024, 256, 5, 1));
  part->push_back(make_stage(BlockKind::Bottleneck, 1024, 512, 3, layer4_stride));
  init_resnet_convs(*part);
  return part;
}

// Max-pools `x` in `parts` horizontal stripes: (N, C, H, W) -> `parts` x (N, C, 1, 1).
std::vector<Tensor> stripes(const Tensor& x, int64_t parts, const char* branch) {
  PTL_CHECK(x.size(2) % parts == 0, "MGN: branch ", branch, "'s map is ", x.size(2),
            " rows high, not divisible into ", parts,
            " stripes; use an input height whose ceil(H / 16) is a multiple of 6 (e.g. 384)");
  Tensor pooled = max_pool2d(x, Pool2dOptions{{x.size(2) / parts, x.size(3)}});  // (N, C, parts, 1)
  std::vector<Tensor> r;
  for (int64_t k = 0; k < parts; ++k) r.push_back(narrow(pooled, 2, k, 1));
  return r;
}
}  // namespace

const std::vector<std::string>& MGN::classifier_names() {
  static const std::vector<std::string> names{"fc_id_2048_0",  "fc_id_2048_1",  "fc_id_2048_2",
                                              "fc_id_256_1_0", "fc_id_256_1_1", "fc_id_256_2_0",
                                              "fc_id_256_2_1", "fc_id_256_2_2"};
  return names;
}

MGN::MGN(int64_t num_classes, const PTLOptions& opt) {
  ResNetConfig trunk = resnet_config("resnet50", 0);
  trunk.blocks = {3, 4, 1};  // up to layer3[0]
  trunk.planes = {64, 128, 256};
  trunk.strides = {1, 2, 2};
  backbone = register_module("backbone", std::make_shared<ResNet>(trunk));
  p1 = register_module("p1", make_part(2));
  p2 = register_module("p2", make_part(1));
  p3 = register_module("p3", make_part(1));
  int64_t side_channels = 0;
  if (opt.side_branch) {
    PTLBranchSpec spec;
    spec.taps = {{64, 1}, {256, 2}, {512, 2}, {1024, 1}};  // stem, layer1, layer2, layer3[0]
    spec.head_strides = {2, 1, 1};                         // bconv6 (p1), bconv7 (p2), bconv8 (p3)
    spec.state_mode = opt.state_mode;
    spec.state_init = opt.state_init;
    spec.fuse_bn_uniform = true;  // the release's PyTorch 0.4.1 BatchNorm2d default
    ptl = register_module("ptl", std::make_shared<PTLBranch>(spec));
    side_channels = ptl->head_channels();
  }
  reduction =
      register_module("reduction", make_reduction(2048 + side_channels, kFeats, opt.side_branch));
  // The release's classifier init: Kaiming fan_out in MGN (mgn.py), fan_in in MGN_PTL.
  for (const std::string& n : classifier_names())
    classifiers.push_back(
        register_module(n, make_classifier(kFeats, num_classes, /*fan_in=*/opt.side_branch)));
}

ModelOutput MGN::forward(const Tensor& x) {
  std::vector<Tensor> taps{backbone->stem(x)};
  for (auto& st : backbone->stages) taps.push_back(st->forward(taps.back()));
  const Tensor& x4 = taps.back();  // layer3[0]: (N, 1024, H/16, W/16)
  const Tensor maps[3] = {p1->forward(x4), p2->forward(x4), p3->forward(x4)};
  Tensor side[3];
  if (ptl) {
    Tensor z = ptl->trunk(x, taps);
    for (size_t i = 0; i < 3; ++i) side[i] = ptl->head(i, z);
  }
  const char* branch_names[3] = {"p1", "p2", "p3"};
  // Pooled vectors of branch i in `parts` stripes, each joined with its side vector.
  auto pooled = [&](size_t i, int64_t parts) {
    std::vector<Tensor> v = stripes(maps[i], parts, branch_names[i]);
    if (ptl) {
      std::vector<Tensor> s = stripes(side[i], parts, branch_names[i]);
      for (size_t k = 0; k < v.size(); ++k) v[k] = cat({v[k], s[k]}, 1);
    }
    return v;
  };
  std::vector<Tensor> vecs;
  for (auto [branch, parts] : {std::pair<size_t, int64_t>{0, 1}, {1, 1}, {2, 1}, {1, 2}, {2, 3}})
    for (Tensor& v : pooled(branch, parts)) vecs.push_back(v);
  ModelOutput out;
  std::vector<Tensor> reduced;
  for (size_t k = 0; k < vecs.size(); ++k) {
    reduced.push_back(reduce(*reduction, vecs[k]));  // (N, 256)
    out.logits.push_back(classifiers[k]->forward(reduced.back()));
  }
  out.feature = cat(reduced, 1);  // (N, 2048)
  out.triplet = {reduced[0], reduced[1], reduced[2]};
  return out;
}

}  // namespace ptl
