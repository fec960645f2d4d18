#include "models/summary.h"

#include <map>
#include <set>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ptl {

namespace {
// The parameter behind an edge: a leaf, or a leaf seen through a transpose (linear's W^T).
const TensorImpl* leaf_of(const Edge& e) {
  if (e.leaf) return e.leaf.get();
  if (e.fn && e.fn->op == "permute" && !e.fn->edges.empty()) return e.fn->edges[0].leaf.get();
  return nullptr;
}
}  // namespace

ModelSummary summarize(Model& model, const Shape& input) {
  PTL_CHECK(input.size() == 3, "summary: input must be (C, H, W), got ", shape_str(input));
  model.eval();
  model.reset_state();
  std::map<const TensorImpl*, std::string> names;
  ModelSummary s;
  for (auto& [n, p] : model.named_parameters()) {
    names[p.impl_ptr().get()] = n.substr(0, n.rfind('.'));
    s.parameters += p.numel();
  }
  Tensor x = zeros({1, input[0], input[1], input[2]});
  ModelOutput out = model.forward(x);

  std::map<std::string, LayerCost> costs;
  std::set<const Node*> seen;
  std::vector<std::shared_ptr<Node>> stack;
  for (auto& [n, t] : named_outputs(out))
    if (t.defined() && t.grad_fn()) stack.push_back(t.grad_fn());
  while (!stack.empty()) {
    std::shared_ptr<Node> node = stack.back();
    stack.pop_back();
    if (!seen.insert(node.get()).second) continue;
    for (const Edge& e : node->edges)
      if (e.fn) stack.push_back(e.fn);
    if ((node->op != "conv2d" && node->op != "matmul") || node->edges.size() < 2) continue;
    const TensorImpl* w = leaf_of(node->edges[1]);
    if (!w || !names.count(w)) continue;
    // conv: each output element takes Cin*KH*KW products; matmul (x W^T): `in` products.
    int64_t per_output = 1;
    for (size_t d = 1; d < w->shape.size(); ++d) per_output *= w->shape[d];
    LayerCost& c = costs[names[w]];
    c.name = names[w];
    c.weight = w->shape;
    c.output = node->out_shape;
    c.uses += 1;
    c.macs += shape_numel(node->out_shape) * per_output;
  }
  for (auto& [n, p] : model.named_parameters()) {
    auto it = costs.find(n.substr(0, n.rfind('.')));
    if (it == costs.end() || n.substr(n.rfind('.') + 1) != "weight") continue;
    s.layers.push_back(it->second);
    s.macs += it->second.macs;
  }
  model.reset_state();
  return s;
}

}  // namespace ptl
