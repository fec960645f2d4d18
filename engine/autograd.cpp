#include "engine/autograd.h"

#include <atomic>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops.h"

namespace ptl {

namespace {
thread_local bool g_grad_mode = true;
std::atomic<uint64_t> g_seq{0};

// Adds `g` into the running gradient `acc` (undefined means zero so far).
void accumulate(Tensor& acc, const Tensor& g) {
  acc = acc.defined() ? add(acc, g) : g;
}

// The same into a leaf's .grad, then the leaf's hook.
void accumulate_into_leaf(TensorImpl& leaf, const Tensor& g) {
  Tensor acc = leaf.grad ? Tensor(leaf.grad) : Tensor();
  accumulate(acc, g);
  leaf.grad = acc.impl_ptr();
  if (leaf.grad_accumulated) leaf.grad_accumulated(acc);
}
}  // namespace

bool grad_mode_enabled() {
  return g_grad_mode;
}
NoGradGuard::NoGradGuard() : prev_(g_grad_mode) {
  g_grad_mode = false;
}
NoGradGuard::~NoGradGuard() {
  g_grad_mode = prev_;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_mode) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(Tensor out, const char* op, const std::vector<Tensor>& inputs, BackwardFn fn) {
  if (!needs_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->seq = g_seq.fetch_add(1);
  node->out_shape = out.shape();
  node->out_dtype = out.dtype();
  node->backward = std::move(fn);
  for (const Tensor& t : inputs) {
    Edge e;
    if (t.defined() && t.requires_grad()) {
      if (t.grad_fn())
        e.fn = t.grad_fn();
      else
        e.leaf = t.impl_ptr();
    }
    node->edges.push_back(std::move(e));
  }
  out.impl().grad_fn = std::move(node);
  out.impl().requires_grad = true;
  return out;
}

void run_backward(const Tensor& root, const Tensor& grad) {
  PTL_CHECK(root.requires_grad(), "backward: tensor ", root.shape_str(),
            " does not require grad (no parameter or input with requires_grad reaches it)");
  PTL_CHECK(grad.shape() == root.shape(), "backward: gradient has shape ", grad.shape_str(),
            " but the tensor has shape ", root.shape_str());
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    accumulate_into_leaf(root.impl(), grad);
    return;
  }

  // Count, for every reachable Node, how many Nodes feed gradient into it.
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack{root.grad_fn().get()};
  std::unordered_set<Node*> seen{stack[0]};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    PTL_CHECK(n->backward != nullptr, "backward: the graph through '", n->op,
              "' was already freed by an earlier backward (build the graph again)");
    for (const Edge& e : n->edges) {
      if (!e.fn) continue;
      pending[e.fn.get()]++;
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }

  // Ready Nodes run newest first: a deterministic order whatever the graph's shape.
  auto newer = [](const std::shared_ptr<Node>& a, const std::shared_ptr<Node>& b) {
    return a->seq < b->seq;
  };
  std::priority_queue<std::shared_ptr<Node>, std::vector<std::shared_ptr<Node>>, decltype(newer)>
      ready(newer);
  std::unordered_map<Node*, Tensor> grads;
  grads[root.grad_fn().get()] = grad;
  ready.push(root.grad_fn());

  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.top();
    ready.pop();
    Tensor g = std::move(grads[node.get()]);
    grads.erase(node.get());
    std::vector<bool> need(node->edges.size());
    for (size_t i = 0; i < need.size(); ++i) need[i] = node->edges[i].active();
    Grads in_grads = node->backward(g, need);
    PTL_CHECK(in_grads.size() == node->edges.size(), "backward of '", node->op, "' returned ",
              in_grads.size(), " gradients for ", node->edges.size(), " inputs");
    std::vector<Edge> edges = std::move(node->edges);
    node->release();  // frees the saved activations of this op now
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.active() || !in_grads[i].defined()) continue;
      if (e.leaf) {
        PTL_CHECK(in_grads[i].shape() == e.leaf->shape, "backward of '", node->op, "': gradient ",
                  in_grads[i].shape_str(), " for an input of shape ", shape_str(e.leaf->shape));
        accumulate_into_leaf(*e.leaf, in_grads[i]);
        continue;
      }
      PTL_CHECK(in_grads[i].shape() == e.fn->out_shape, "backward of '", node->op, "': gradient ",
                in_grads[i].shape_str(), " for an input of shape ", shape_str(e.fn->out_shape));
      accumulate(grads[e.fn.get()], in_grads[i]);
      if (--pending[e.fn.get()] == 0) ready.push(e.fn);
    }
  }
}

}  // namespace ptl
