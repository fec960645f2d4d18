#include "layers/layers.h"

#include "engine/autograd.h"
#include "layers/init.h"

namespace ptl {

Conv2d::Conv2d(const Conv2dSpec& s) : spec_(s) {
  PTL_CHECK(s.in > 0 && s.out > 0, "Conv2d: channel counts must be positive, got ", s.in, " -> ",
            s.out);
  weight = register_parameter("weight", Tensor::empty({s.out, s.in, s.kernel[0], s.kernel[1]}));
  if (s.bias) bias = register_parameter("bias", Tensor::empty({s.out}));
  init::torch_default_(weight, bias);
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, weight, bias, {spec_.stride, spec_.padding, spec_.dilation});
}

BatchNorm::BatchNorm(int64_t c, double eps_, double momentum_) : eps(eps_), momentum(momentum_) {
  weight = register_parameter("weight", ones({c}));
  bias = register_parameter("bias", zeros({c}));
  running_mean = register_buffer("running_mean", zeros({c}));
  running_var = register_buffer("running_var", ones({c}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::I64));
}

Tensor BatchNorm::forward(const Tensor& x) {
  if (is_training()) num_batches_tracked.data<int64_t>()[0] += 1;
  if (is_training() && sync)
    return sync_batch_norm(x, weight, bias, running_mean, running_var, momentum, eps, false, sync);
  return batch_norm(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}

Tensor BatchNorm::forward_relu(const Tensor& x) {
  if (is_training()) num_batches_tracked.data<int64_t>()[0] += 1;
  if (is_training() && sync)
    return sync_batch_norm(x, weight, bias, running_mean, running_var, momentum, eps, true, sync);
  return batch_norm_relu(x, weight, bias, running_mean, running_var, is_training(), momentum, eps);
}

Linear::Linear(int64_t in, int64_t out, bool has_bias) {
  weight = register_parameter("weight", Tensor::empty({out, in}));
  if (has_bias) bias = register_parameter("bias", Tensor::empty({out}));
  init::torch_default_(weight, bias);
}

Tensor Linear::forward(const Tensor& x) {
  return linear(x, weight, bias);
}

Sequential::Sequential(std::vector<std::shared_ptr<UnaryModule>> mods) {
  for (auto& m : mods) push_back(std::move(m));
}

void Sequential::push_back(std::shared_ptr<UnaryModule> m) {
  register_module(std::to_string(mods_.size()), m);
  mods_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& m : mods_) h = m->forward(h);
  return h;
}

}  // namespace ptl
