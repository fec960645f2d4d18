#include "layers/bconv_cell.h"

#include <algorithm>

#include "engine/autograd.h"
#include "layers/init.h"

namespace ptl {

BConvCell::BConvCell(const BConvCellSpec& spec, Generator* rng) : spec_(spec), rng_(rng) {
  gates = register_module(
      "gates",
      std::make_shared<Conv2d>(Conv2dSpec{
          spec.in, 4 * spec.out, {3, 3}, {spec.stride, spec.stride}, {1, 1}, {1, 1}, false}));
}

Tensor BConvCell::fresh(const Shape& shape, const Tensor& like, bool whole_batch) {
  Tensor s = Tensor::empty(shape, like.dtype());
  if (spec_.init == StateInit::Zeros) {
    fill_(s, 0.0);
  } else {
    Generator& g = rng_ ? *rng_ : default_generator();
    // A shard of a data-parallel batch: skip the rows of the ranks before, draw ours, skip the
    // rest (the draw is counter-based, so skipping is moving the offset).
    const bool shard = whole_batch && rows_total_ > 0;
    const uint64_t row = static_cast<uint64_t>(s.numel() / std::max<int64_t>(shape[0], 1));
    if (shard) g.set_state(g.seed(), g.offset() + static_cast<uint64_t>(rows_first_) * row);
    g.normal_(s, 0.0, spec_.init_std);
    if (shard)
      g.set_state(g.seed(),
                  g.offset() + static_cast<uint64_t>(rows_total_ - rows_first_ - shape[0]) * row);
  }
  return s.to(like.device());  // drawn on the host, so every device sees the same numbers
}

Tensor BConvCell::forward(const Tensor& x) {
  Tensor z = gates->forward(x);
  const Shape shape{z.size(0), spec_.out, z.size(2), z.size(3)};
  const bool carry = spec_.mode == StateMode::Carry && is_training();
  Tensor prev;
  if (carry && state_.defined() && state_.size(2) == shape[2] && state_.size(3) == shape[3] &&
      state_.dtype() == z.dtype()) {
    const int64_t have = state_.size(0), want = shape[0];
    NoGradGuard ng;
    if (have >= want)
      prev = narrow(state_, 0, 0, want);
    else
      prev = cat({state_, fresh({want - have, shape[1], shape[2], shape[3]}, z, false)}, 0);
  } else {
    prev = fresh(shape, z, true);
  }
  BConvGates out = bconv_gates(z, prev);
  if (carry) state_ = out.c;
  return out.h;
}

std::vector<std::pair<std::string, BConvCell*>> bconv_cells(Module& m) {
  std::vector<std::pair<std::string, BConvCell*>> out;
  for (auto& [name, mod] : m.named_modules())
    if (auto* c = dynamic_cast<BConvCell*>(mod)) out.emplace_back(name, c);
  return out;
}

}  // namespace ptl
