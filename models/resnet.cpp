#include "models/resnet.h"

namespace ptl {

bool is_resnet_name(const std::string& n) {
  return n == "resnet18" || n == "resnet34" || n == "resnet50" || n == "resnet20" ||
         n == "resnet56";
}

ResNetConfig resnet_config(const std::string& name, int64_t num_classes, int64_t in_channels,
                           int64_t last_stride) {
  PTL_CHECK(is_resnet_name(name), "unknown ResNet '", name,
            "' (resnet18, resnet34, resnet50, resnet20, resnet56)");
  PTL_CHECK(last_stride == 1 || last_stride == 2, "ResNet: last stride must be 1 or 2, got ",
            last_stride);
  ResNetConfig c;
  c.num_classes = num_classes;
  c.in_channels = in_channels;
  if (name == "resnet20" || name == "resnet56") {  // 6n + 2 layers
    const int64_t n = name == "resnet20" ? 3 : 9;
    c.block = BlockKind::Basic;
    c.blocks = {n, n, n};
    c.planes = {16, 32, 64};
    c.strides = {1, 2, last_stride};
    c.cifar_stem = true;
    return c;
  }
  c.strides.back() = last_stride;
  if (name == "resnet50") return c;
  c.block = BlockKind::Basic;
  c.blocks =
      name == "resnet18" ? std::vector<int64_t>{2, 2, 2, 2} : std::vector<int64_t>{3, 4, 6, 3};
  return c;
}

ResNet::ResNet(const ResNetConfig& cfg) : cfg_(cfg) {
  PTL_CHECK(!cfg.blocks.empty() && cfg.blocks.size() == cfg.planes.size() &&
                cfg.blocks.size() == cfg.strides.size(),
            "ResNet: blocks, planes and strides need one entry per stage");
  const int64_t k = cfg.cifar_stem ? 3 : 7, s = cfg.cifar_stem ? 1 : 2;
  conv1 = register_module(
      "conv1",
      std::make_shared<Conv2d>(Conv2dSpec{
          cfg.in_channels, stem_channels(), {k, k}, {s, s}, {k / 2, k / 2}, {1, 1}, false}));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(stem_channels()));
  int64_t in = stem_channels();
  for (size_t i = 0; i < cfg.blocks.size(); ++i) {
    stages.push_back(
        register_module("layer" + std::to_string(i + 1),
                        make_stage(cfg.block, in, cfg.planes[i], cfg.blocks[i], cfg.strides[i])));
    in = stage_channels(i);
  }
  if (cfg.num_classes > 0)
    fc = register_module("fc", std::make_shared<Linear>(in, cfg.num_classes));
  init_resnet_convs(*this);
}

Tensor ResNet::stem(const Tensor& x) {
  PTL_CHECK(x.dim() == 4 && x.size(1) == cfg_.in_channels, "ResNet: expects input (N, ",
            cfg_.in_channels, ", H, W), got ", x.shape_str());
  Tensor h = bn1->forward_relu(conv1->forward(x));
  if (cfg_.cifar_stem) return h;
  return max_pool2d(h, Pool2dOptions{{3, 3}, {2, 2}, {1, 1}});
}

ModelOutput ResNet::forward(const Tensor& x) {
  PTL_CHECK(fc, "ResNet: built without a classifier (num_classes 0); call stem() and the stages");
  Tensor h = stem(x);
  for (auto& st : stages) h = st->forward(h);
  ModelOutput out;
  out.feature = flatten(adaptive_avg_pool2d(h, {1, 1}), 1);  // (N, C)
  out.logits = {fc->forward(out.feature)};
  out.triplet = {out.feature};
  return out;
}

}  // namespace ptl
