// Optimizers over parameter groups: SGD (momentum, Nesterov, weight decay) and Adam (AMSGrad,
// PyTorch's L2-style weight decay, or decoupled AdamW), bit-compatible in formula with
// torch.optim, for float32 and float64 parameters. Frozen groups and parameters without a
// gradient are skipped, as in PyTorch.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"
#include "kernels/optim_math.h"

namespace ptl {

struct ParamGroup {
  std::string name;  // e.g. "backbone", "side_branch"
  std::vector<Tensor> params;
  double lr = 0;  // the scheduler scales base_lr into lr
  double base_lr = 0;
  double weight_decay = 0;
  bool frozen = false;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  std::vector<ParamGroup>& groups() { return groups_; }
  // State for checkpoints: every buffer as "g<group>.p<param>.<name>" plus "step" counters.
  virtual TensorMap state_dict() const = 0;
  virtual void load_state_dict(const TensorMap& state) = 0;

 protected:
  // f(group, index, parameter, gradient) for every parameter of a non-frozen group that has a
  // gradient (after checking it).
  void each_update(const std::function<void(size_t, size_t, Tensor&, const Tensor&)>& f);
  std::vector<ParamGroup> groups_;
};

struct SgdOptions {
  double momentum = 0.9, dampening = 0;  // weight decay is per group
  bool nesterov = false;
};

class Sgd : public Optimizer {
 public:
  Sgd(std::vector<ParamGroup> groups, SgdOptions o);
  void step() override;
  TensorMap state_dict() const override;
  void load_state_dict(const TensorMap& state) override;

 private:
  SgdOptions o_;
  std::vector<std::vector<Tensor>> buf_;  // momentum buffers, undefined until the first step
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool amsgrad = false, decoupled = false;  // decoupled = AdamW
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions o);
  void step() override;
  TensorMap state_dict() const override;
  void load_state_dict(const TensorMap& state) override;

 private:
  struct State {
    Tensor m, v, vmax;
    int64_t step = 0;
  };
  AdamOptions o_;
  std::vector<std::vector<State>> state_;
};

}  // namespace ptl
