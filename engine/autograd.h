// Reverse-mode autograd on a dynamic tape (flashlight-style closures).
//
// An op that produces `out` from inputs that require grad attaches a Node to `out`: the Node
// holds one Edge per input (the input's own Node, or the leaf tensor whose .grad receives the
// gradient) and a closure that maps d(loss)/d(out) to d(loss)/d(input_i). The closure captures
// only what its backward needs (detached, so there are no reference cycles). Backward visits
// Nodes in reverse creation order and releases each Node's closure as soon as it has run, so
// saved activations are freed while backward proceeds.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace ptl {

struct Edge {
  std::shared_ptr<Node> fn;          // non-leaf input: its producer
  std::shared_ptr<TensorImpl> leaf;  // leaf input that requires grad
  bool active() const { return fn || leaf; }
};

// Gradients w.r.t. each input, in input order; an undefined Tensor means "none".
using Grads = std::vector<Tensor>;
// need[i] is false for inputs that take no gradient: the closure may skip computing them.
using BackwardFn = std::function<Grads(const Tensor& grad_out, const std::vector<bool>& need)>;

struct Node {
  std::string op;  // name used in error messages ("conv2d")
  std::vector<Edge> edges;
  BackwardFn backward;
  uint64_t seq = 0;  // creation order; backward runs in decreasing seq
  Shape out_shape;   // for checking incoming gradients
  DType out_dtype = DType::F32;
  void release() {
    backward = nullptr;
    edges.clear();
  }
};

// Is gradient recording on (false inside a NoGradGuard or during backward)?
bool grad_mode_enabled();

class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True when grad mode is on and at least one input requires grad.
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a Node to `out` if needs_grad(inputs); returns `out`.
// Undefined tensors in `inputs` (optional arguments such as a missing bias) are allowed.
Tensor record(Tensor out, const char* op, const std::vector<Tensor>& inputs, BackwardFn fn);

// Runs backward from `root` with the initial gradient `grad` (same shape as root).
void run_backward(const Tensor& root, const Tensor& grad);

}  // namespace ptl
