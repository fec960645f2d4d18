// Reductions: sum/mean over any set of dimensions, max/min along one dimension with indices.
#include <algorithm>

#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::around;
using ops_detail::check_float;
using ops_detail::wrap_dim;

namespace {
// Sum over one dimension of a contiguous tensor, keeping it as size 1.
Tensor sum_one_dim(const Tensor& x, int64_t dim) {
  auto d = around(x.shape(), dim);
  Shape out_shape = x.shape();
  out_shape[dim] = 1;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), "sum", [&] {
    PTL_KERNEL(x.device(), sum_dim<scalar_t>)
    (x.data<scalar_t>(), out.data<scalar_t>(), d.outer, d.size, d.inner);
  });
  return out;
}

// Broadcasts g (reduced shape with keepdim) back to `shape`.
Tensor expand_to(const Tensor& g, const Shape& shape) {
  return add(zeros(shape, g.dtype(), g.device()), g);
}
}  // namespace

Tensor sum(const Tensor& a, const std::vector<int64_t>& dims0, bool keepdim) {
  check_float("sum", a, "input");
  std::vector<bool> reduce(a.dim(), false);
  for (int64_t d : dims0) reduce[wrap_dim(d, a.dim(), "sum")] = true;
  Shape kept_shape = a.shape(), out_shape;
  for (int64_t i = 0; i < a.dim(); ++i) {
    if (reduce[i]) kept_shape[i] = 1;
    if (!reduce[i] || keepdim) out_shape.push_back(kept_shape[i]);
  }
  Tensor out;
  {
    NoGradGuard ng;
    // Adjacent reduced dimensions are merged into one pass by reshaping around them.
    Tensor x = a.contiguous();
    Shape cur = x.shape();
    for (int64_t i = a.dim() - 1; i >= 0; --i) {
      if (!reduce[i]) continue;
      int64_t j = i;
      while (j > 0 && reduce[j - 1]) --j;
      Shape merged(cur.begin(), cur.begin() + j);
      int64_t n = 1;
      for (int64_t k = j; k <= i; ++k) n *= cur[k];
      merged.push_back(n);
      merged.insert(merged.end(), cur.begin() + i + 1, cur.end());
      x = sum_one_dim(reshape(x, merged), j);
      for (int64_t k = j; k <= i; ++k) cur[k] = 1;
      x = reshape(x, cur);
      i = j;
    }
    out = reshape(x, out_shape);
  }
  if (TraceRecorder* r = active_trace()) r->record({"sum", {a}, {out}, {}});
  return record(
      out, "sum", {a},
      [in_shape = a.shape(), kept_shape](const Tensor& g, const std::vector<bool>&) -> Grads {
        return {expand_to(reshape(g, kept_shape), in_shape)};
      });
}

Tensor sum(const Tensor& a) {
  std::vector<int64_t> all(a.dim());
  for (int64_t i = 0; i < a.dim(); ++i) all[i] = i;
  return sum(a, all, false);
}

Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  int64_t n = 1;
  for (int64_t d : dims) n *= a.size(d);
  PTL_CHECK(n > 0, "mean: reducing over an empty dimension of ", a.shape_str());
  return mul(sum(a, dims, keepdim), 1.0 / static_cast<double>(n));
}

Tensor mean(const Tensor& a) {
  PTL_CHECK(a.numel() > 0, "mean: empty tensor ", a.shape_str());
  return mul(sum(a), 1.0 / static_cast<double>(a.numel()));
}

namespace {
ValuesIndices extreme(const Tensor& a, int64_t dim0, bool keepdim, bool is_max) {
  const char* name = is_max ? "max" : "min";
  check_float(name, a, "input");
  const int64_t dim = wrap_dim(dim0, a.dim(), name);
  PTL_CHECK(a.size(dim) > 0, name, ": dimension ", dim, " of ", a.shape_str(), " is empty");
  Tensor x = a.contiguous();
  auto d = around(x.shape(), dim);
  Shape kept = x.shape();
  kept[dim] = 1;
  Tensor val = Tensor::empty(kept, x.dtype(), x.device()),
         idx = Tensor::empty(kept, DType::I64, x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), name, [&] {
    PTL_KERNEL(x.device(), extreme_dim<scalar_t>)
    (x.data<scalar_t>(), val.data<scalar_t>(), idx.data<int64_t>(), d.outer, d.size, d.inner,
     is_max);
  });
  Tensor idx_kept = idx;
  if (!keepdim) {
    val = squeeze(val, dim);
    idx = squeeze(idx, dim);
  }
  if (TraceRecorder* r = active_trace()) r->record({name, {a}, {val, idx}, {}});
  // The gradient goes to the selected element only.
  Tensor vout = record(
      val, name, {a},
      [idx_kept, kept, shape = a.shape(), d](const Tensor& g0, const std::vector<bool>&) -> Grads {
        Tensor g = reshape(g0, kept).contiguous();
        Tensor gx = zeros(shape, g.dtype(), g.device());
        PTL_DISPATCH_FLOAT(g.dtype(), "max/min backward", [&] {
          PTL_KERNEL(g.device(), extreme_dim_backward<scalar_t>)
          (g.data<scalar_t>(), idx_kept.data<int64_t>(), gx.data<scalar_t>(), d.outer, d.size,
           d.inner);
        });
        return {gx};
      });
  return {vout, idx};
}
}  // namespace

ValuesIndices max(const Tensor& a, int64_t dim, bool keepdim) {
  return extreme(a, dim, keepdim, true);
}
ValuesIndices min(const Tensor& a, int64_t dim, bool keepdim) {
  return extreme(a, dim, keepdim, false);
}
Tensor max(const Tensor& a) {
  return max(reshape(a, {-1}), 0).values;
}
Tensor min(const Tensor& a) {
  return min(reshape(a, {-1}), 0).values;
}

}  // namespace ptl
