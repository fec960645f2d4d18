#include "models/blocks.h"

#include "layers/init.h"

namespace ptl {

namespace {
std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return std::make_shared<Conv2d>(
      Conv2dSpec{in, out, {k, k}, {stride, stride}, {k / 2, k / 2}, {1, 1}, false});
}
// The projection shortcut, or null when the block keeps the shape.
std::shared_ptr<Sequential> projection(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<UnaryModule>>{
      conv(in, out, 1, stride), std::make_shared<BatchNorm2d>(out)});
}
}  // namespace

int64_t block_expansion(BlockKind kind) {
  return kind == BlockKind::Basic ? 1 : 4;
}

BasicBlock::BasicBlock(int64_t in, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in, planes, 3, stride));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, 1));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  if (auto d = projection(in, planes, stride)) downsample = register_module("downsample", d);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor h = bn1->forward_relu(conv1->forward(x));
  h = bn2->forward(conv2->forward(h));
  return add_relu(h, downsample ? downsample->forward(x) : x);
}

Bottleneck::Bottleneck(int64_t in, int64_t planes, int64_t stride) {
  conv1 = register_module("conv1", conv(in, planes, 1, 1));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", conv(planes, planes, 3, stride));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  conv3 = register_module("conv3", conv(planes, 4 * planes, 1, 1));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(4 * planes));
  if (auto d = projection(in, 4 * planes, stride)) downsample = register_module("downsample", d);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor h = bn1->forward_relu(conv1->forward(x));
  h = bn2->forward_relu(conv2->forward(h));
  h = bn3->forward(conv3->forward(h));
  return add_relu(h, downsample ? downsample->forward(x) : x);
}

std::shared_ptr<Sequential> make_stage(BlockKind kind, int64_t in, int64_t planes, int64_t blocks,
                                       int64_t stride) {
  auto stage = std::make_shared<Sequential>();
  const int64_t out = planes * block_expansion(kind);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t block_in = b == 0 ? in : out, s = b == 0 ? stride : 1;
    if (kind == BlockKind::Basic)
      stage->push_back(std::make_shared<BasicBlock>(block_in, planes, s));
    else
      stage->push_back(std::make_shared<Bottleneck>(block_in, planes, s));
  }
  return stage;
}

void init_resnet_convs(Module& m) {
  for (auto& [name, p] : m.named_parameters())
    if (p.dim() == 4) init::kaiming_normal_(p, /*use_fan_in=*/false);
}

}  // namespace ptl
