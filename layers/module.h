// Module: named parameters, buffers and child modules whose dotted names match PyTorch
// state-dict keys ("layer1.0.conv1.weight"), train/eval mode, freezing, and state-dict
// load/save with a full report of missing, unexpected and mismatched keys.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace ptl {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Recursive, in registration order, with dotted names.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  // This module ("") and every descendant, depth first, with dotted names.
  std::vector<std::pair<std::string, Module*>> named_modules();
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;

  // Parameters and buffers, as torch's state_dict().
  TensorMap state_dict() const;

  struct LoadReport {
    std::vector<std::string> missing, unexpected, mismatched;  // mismatched: "name: ours vs theirs"
    size_t model_tensors = 0;                                  // the module's state-dict size
    size_t from_bf16 = 0;  // bfloat16 tensors loaded into float32 ones
    bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
    std::string str() const;
    // The note for the user about `source` ("" when nothing was converted from bfloat16).
    std::string conversion_note(const std::string& source) const;
  };
  // Copies matching tensors into this module's parameters and buffers (converting float
  // dtypes: bf16 weights into a float32 model are widened exactly, and counted in from_bf16).
  // strict: any missing, unexpected or mismatched key throws one Error listing all of them, and
  // nothing is changed. Non-strict: loads what matches and returns the report.
  LoadReport load_state_dict(const TensorMap& state, bool strict = true,
                             const std::string& source = "state dict");

  // Training mode for this module and its children (batch norm statistics, BConv-Cell resets).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every floating parameter and buffer to `device` in place (handles held elsewhere
  // follow); integer buffers (counters such as num_batches_tracked) stay on the host, where
  // they are counted. Latent states are reset.
  void to(Device device);
  // The device of the first floating parameter (the CPU for a module without parameters).
  Device device() const;

  // Frozen parameters take no gradient (and so no update).
  void set_frozen(bool frozen);
  void zero_grad();

  // Called by the trainer at the start of every epoch and before evaluation; modules with
  // state across batches (BConvCell) override it.
  virtual void reset_state();

 protected:
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    children_.emplace_back(name, m);
    return m;
  }

 private:
  void collect(const std::string& prefix, bool params,
               std::vector<std::pair<std::string, Tensor>>& out) const;
  std::vector<std::pair<std::string, Tensor>> params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module with one input and one output, the unit of Sequential.
class UnaryModule : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace ptl
