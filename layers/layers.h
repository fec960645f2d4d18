// The basic layers, with PyTorch's parameter names and default initialisations.
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "engine/ops.h"
#include "layers/module.h"

namespace ptl {

struct Conv2dSpec {
  int64_t in, out;
  std::array<int64_t, 2> kernel{3, 3}, stride{1, 1}, padding{0, 0}, dilation{1, 1};
  bool bias = true;
};

// weight (out, in, KH, KW), bias (out).
class Conv2d : public UnaryModule {
 public:
  explicit Conv2d(const Conv2dSpec& spec);
  Tensor forward(const Tensor& x) override;
  const Conv2dSpec& spec() const { return spec_; }
  Tensor weight, bias;

 private:
  Conv2dSpec spec_;
};

// BatchNorm2d (N, C, H, W) and BatchNorm1d (N, C): weight, bias, running_mean, running_var,
// num_batches_tracked, as torch.
class BatchNorm : public UnaryModule {
 public:
  explicit BatchNorm(int64_t channels, double eps = 1e-5, double momentum = 0.1);
  Tensor forward(const Tensor& x) override;
  Tensor forward_relu(const Tensor& x);  // relu(forward(x)), fused (batch_norm_relu)
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps, momentum;
  // Set (by train/data_parallel.h for dist.sync_bn): training normalises with the statistics of
  // the whole batch over all processes (sync_batch_norm). Empty: this process's rows only.
  AllGatherDoubles sync;
};
using BatchNorm2d = BatchNorm;
using BatchNorm1d = BatchNorm;

// y = x W^T + b; weight (out, in).
class Linear : public UnaryModule {
 public:
  Linear(int64_t in, int64_t out, bool bias = true);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
};

class ReLU : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
};

class MaxPool2d : public UnaryModule {
 public:
  explicit MaxPool2d(Pool2dOptions o) : opt(o) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, opt); }
  Pool2dOptions opt;
};

class AvgPool2d : public UnaryModule {
 public:
  explicit AvgPool2d(Pool2dOptions o) : opt(o) {}
  Tensor forward(const Tensor& x) override { return avg_pool2d(x, opt); }
  Pool2dOptions opt;
};

class AdaptiveAvgPool2d : public UnaryModule {
 public:
  explicit AdaptiveAvgPool2d(std::array<int64_t, 2> out) : out_(out) {}
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, out_); }

 private:
  std::array<int64_t, 2> out_;
};

// Children named "0", "1", ... as torch.nn.Sequential.
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> mods);
  void push_back(std::shared_ptr<UnaryModule> m);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return mods_.size(); }
  const std::shared_ptr<UnaryModule>& operator[](size_t i) const { return mods_[i]; }

 private:
  std::vector<std::shared_ptr<UnaryModule>> mods_;
};

}  // namespace ptl
