// The recorder that turns a traced forward pass (engine/trace.h) into an ONNX graph: every op
// the forward runs becomes ONNX nodes, the model's parameters and buffers (known by tensor
// identity) become named initializers, and ops that read only parameters (linear's W^T) are
// folded into initializers of their own. An op without a mapping, a training-mode op, or a
// tensor that comes from neither the input, a parameter nor a traced op stops the trace with
// an error naming the op.
//
// Mapped ops (ptl -> ONNX): conv2d -> Conv; batch_norm(_relu) -> BatchNormalization (+ Relu);
// relu, sigmoid, tanh, exp, log, sqrt, abs, neg -> the same; add/sub/mul/div -> Add/Sub/Mul/Div
// (numpy broadcasting in both); add_scalar, mul_scalar, pow, clamp -> Add/Mul/Pow/Clip with
// constants; add_relu -> Add + Relu; max/avg_pool2d -> MaxPool/AveragePool (GlobalMaxPool /
// GlobalAveragePool when the window is the whole map); adaptive pools -> the global pools or
// pools of equal windows; matmul -> MatMul; reshape -> Reshape; permute -> Transpose;
// narrow -> Slice; cat -> Concat; l2_normalize -> ReduceL2, Max(eps), Div; bconv_gates with a
// zero state (the mean of the release's N(0, 0.001^2) draw) -> Slice, Sigmoid, Tanh, Mul:
// h = sigmoid(z_o) * tanh(sigmoid(z_i) * tanh(z_g)).
#pragma once
#include <map>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "engine/trace.h"

namespace ptl {

class OnnxGraphRecorder : public TraceRecorder {
 public:
  // dynamic_batch: dimension 0 of the input is symbolic, so no node may fix it.
  OnnxGraphRecorder(onnx::GraphProto& graph, bool dynamic_batch);
  // A constant known by name: a parameter or buffer (emitted only when a node reads it).
  void add_constant(const std::string& name, const Tensor& t);
  // The graph input.
  void add_input(const std::string& name, const Tensor& x);
  // The ONNX value computed for `t` (a traced op's output or the input); fails otherwise.
  std::string value_of(const Tensor& t, const char* what) const;
  void record(TracedOp op) override;

 private:
  struct Known {
    std::string name;
    Tensor constant;  // defined for constants (initializers)
  };
  const Known* find(const Tensor& t) const;
  // The name of input `t` of `op`, emitting its initializer on first use.
  std::string use(const Tensor& t, const TracedOp& op);
  std::string fresh(const std::string& hint);
  onnx::NodeProto& node(const std::string& type, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs);
  std::string ints(const std::vector<int64_t>& v);  // an int64 initializer
  std::string scalar(double v);                     // a float32 scalar initializer
  void map_op(const TracedOp& op, const std::vector<std::string>& in, const std::string& out);
  void map_bconv_gates(const TracedOp& op, const std::string& z, const std::string& out);

  onnx::GraphProto& graph_;
  bool dynamic_batch_;
  std::map<const TensorImpl*, Known> known_;
  std::vector<Tensor> keep_;  // every traced tensor, alive, so that no address is reused
  std::map<std::string, bool> emitted_;
  int64_t counter_ = 0;
};

}  // namespace ptl
