// ResNets with torchvision's names and initialisation: ResNet-18/34 (BasicBlock) and ResNet-50
// (Bottleneck, stride on the 3x3 conv) for ImageNet-style inputs, and the CIFAR ResNets of
// He et al. 2016 (ResNet-20/56: 3x3 stem, stages of 16/32/64 channels, option-B shortcuts) for
// 32x32 and 28x28 inputs. The stem and the stages are public so heads can tap them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/blocks.h"
#include "models/model.h"

namespace ptl {

struct ResNetConfig {
  BlockKind block = BlockKind::Bottleneck;
  std::vector<int64_t> blocks{3, 4, 6, 3};  // per stage ("layer1", "layer2", ...)
  std::vector<int64_t> planes{64, 128, 256, 512};
  std::vector<int64_t> strides{1, 2, 2, 2};  // the last one is the "last stride" option
  bool cifar_stem =
      false;  // 3x3/1 conv to planes[0], no max-pool (else 7x7/2 conv to 64 + 3x3/2 max-pool)
  int64_t in_channels = 3;
  int64_t num_classes = 1000;  // 0: no classifier (a backbone inside a bigger model)
};

// "resnet18", "resnet34", "resnet50" (ImageNet layout) or "resnet20", "resnet56" (CIFAR).
ResNetConfig resnet_config(const std::string& name, int64_t num_classes, int64_t in_channels = 3,
                           int64_t last_stride = 2);
bool is_resnet_name(const std::string& name);

class ResNet : public Model {
 public:
  explicit ResNet(const ResNetConfig& cfg);
  // stem -> stages -> global average pool (feature) -> fc (logits).
  ModelOutput forward(const Tensor& x) override;

  // conv1 - bn1 - relu (- maxpool): (N, Cin, H, W) -> (N, stem_channels, H/stem_stride, ...).
  Tensor stem(const Tensor& x);
  int64_t stem_channels() const { return cfg_.cifar_stem ? cfg_.planes[0] : 64; }
  int64_t stem_stride() const { return cfg_.cifar_stem ? 1 : 4; }
  size_t num_stages() const { return stages.size(); }
  int64_t stage_channels(size_t i) const { return cfg_.planes[i] * block_expansion(cfg_.block); }
  int64_t stage_stride(size_t i) const { return cfg_.strides[i]; }
  const ResNetConfig& config() const { return cfg_; }

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::vector<std::shared_ptr<Sequential>> stages;  // "layer1", "layer2", ...
  std::shared_ptr<Linear> fc;                       // null when num_classes is 0

 private:
  ResNetConfig cfg_;
};

}  // namespace ptl
