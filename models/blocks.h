// The residual blocks of torchvision's ResNets, with its parameter names, and its _make_layer.
//
// Shortcuts are identity when the shape is kept and a 1x1 conv (stride s) + BN projection
// ("downsample", He et al.'s option B) when it changes; the CIFAR ResNets use the same.
#pragma once
#include <memory>

#include "layers/layers.h"

namespace ptl {

enum class BlockKind { Basic, Bottleneck };
// Output channels per `planes`: 1 for BasicBlock, 4 for Bottleneck.
int64_t block_expansion(BlockKind kind);

// ResNet-18/34, CIFAR ResNets: relu(bn2(conv2(relu(bn1(conv1 3x3/s (x))))) + shortcut(x)).
class BasicBlock : public UnaryModule {
 public:
  BasicBlock(int64_t in, int64_t planes, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Sequential> downsample;  // null for an identity shortcut
};

// ResNet-50 (torchvision v1.5): 1x1 -> 3x3 (stride here) -> 1x1 (4 * planes), + shortcut.
class Bottleneck : public UnaryModule {
 public:
  Bottleneck(int64_t in, int64_t planes, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Conv2d> conv1, conv2, conv3;
  std::shared_ptr<BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<Sequential> downsample;
};

// torchvision's _make_layer: `blocks` blocks of `planes` taking `in` channels; the first has
// `stride` (and the projection if needed), children "0", "1", ...
std::shared_ptr<Sequential> make_stage(BlockKind kind, int64_t in, int64_t planes, int64_t blocks,
                                       int64_t stride);
// torchvision's ResNet conv initialisation on every 4-d parameter of `m`: Kaiming-normal,
// fan_out, ReLU gain (BN weight 1 / bias 0 is BatchNorm's own default).
void init_resnet_convs(Module& m);

}  // namespace ptl
