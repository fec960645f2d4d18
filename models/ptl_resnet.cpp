#include "models/ptl_resnet.h"

#include <algorithm>

#include "models/heads.h"

namespace ptl {

PTLResNet::PTLResNet(const ResNetConfig& cfg, int64_t num_classes, const PTLOptions& opt) {
  PTL_CHECK(cfg.num_classes == 0 && cfg.blocks.size() >= 3,
            "PTL-ResNet: needs a backbone without classifier and with at least 3 stages");
  backbone = register_module("backbone", std::make_shared<ResNet>(cfg));
  const size_t S = backbone->num_stages();
  const int64_t final_channels = backbone->stage_channels(S - 1),
                feats = std::min<int64_t>(256, final_channels);
  int64_t side_channels = 0;
  if (opt.side_branch) {
    PTLBranchSpec spec;
    spec.image_channels = cfg.in_channels;
    spec.stem_strides =
        backbone->stem_stride() == 4 ? std::array<int64_t, 2>{2, 2} : std::array<int64_t, 2>{1, 1};
    spec.taps.push_back({backbone->stem_channels(), backbone->stage_stride(0)});
    for (size_t i = 0; i + 2 < S; ++i)
      spec.taps.push_back({backbone->stage_channels(i), backbone->stage_stride(i + 1)});
    spec.taps.push_back({backbone->stage_channels(S - 2), 1});
    spec.head_strides = {backbone->stage_stride(S - 1)};
    spec.state_mode = opt.state_mode;
    spec.state_init = opt.state_init;
    ptl = register_module("ptl", std::make_shared<PTLBranch>(spec));
    side_channels = ptl->head_channels();
  }
  reduction = register_module(
      "reduction", make_reduction(final_channels + side_channels, feats, opt.side_branch));
  fc = register_module("fc", make_classifier(feats, num_classes));
}

ModelOutput PTLResNet::forward(const Tensor& x) {
  const size_t S = backbone->num_stages();
  std::vector<Tensor> taps{backbone->stem(x)};
  for (size_t i = 0; i + 2 < S; ++i) taps.push_back(backbone->stages[i]->forward(taps.back()));
  Sequential& penult = *backbone->stages[S - 2];
  taps.push_back(penult[0]->forward(taps.back()));
  Tensor h = taps.back();
  for (size_t b = 1; b < penult.size(); ++b) h = penult[b]->forward(h);
  h = global_max_pool(backbone->stages[S - 1]->forward(h));  // (N, C, 1, 1)
  if (ptl) h = cat({h, global_max_pool(ptl->head(0, ptl->trunk(x, taps)))}, 1);
  ModelOutput out;
  out.feature = reduce(*reduction, h);
  out.logits = {fc->forward(out.feature)};
  out.triplet = {out.feature};
  return out;
}

}  // namespace ptl
