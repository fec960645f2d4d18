// log-softmax, cross-entropy, pairwise distances, L2 normalisation and batch-hard mining.
#include <cmath>

#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::around;
using ops_detail::check_float;
using ops_detail::wrap_dim;

Tensor log_softmax(const Tensor& x0, int64_t dim0) {
  check_float("log_softmax", x0, "input");
  const int64_t dim = wrap_dim(dim0, x0.dim(), "log_softmax");
  Tensor x = x0.contiguous();
  auto d = around(x.shape(), dim);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), "log_softmax", [&] {
    PTL_KERNEL(x.device(), log_softmax_forward<scalar_t>)
    (x.data<scalar_t>(), y.data<scalar_t>(), d.outer, d.size, d.inner);
  });
  if (TraceRecorder* r = active_trace()) r->record({"log_softmax", {x0}, {y}, {}});
  Tensor yd = y.detach();
  return record(
      y, "log_softmax", {x0}, [yd, d](const Tensor& g0, const std::vector<bool>&) -> Grads {
        Tensor g = g0.contiguous();
        Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
        PTL_DISPATCH_FLOAT(g.dtype(), "log_softmax backward", [&] {
          PTL_KERNEL(g.device(), log_softmax_backward<scalar_t>)
          (g.data<scalar_t>(), yd.data<scalar_t>(), gx.data<scalar_t>(), d.outer, d.size, d.inner);
        });
        return {gx};
      });
}

Tensor softmax(const Tensor& x, int64_t dim) {
  return exp(log_softmax(x, dim));
}

Tensor cross_entropy(const Tensor& logits0, const Tensor& targets, double eps) {
  check_float("cross_entropy", logits0, "logits");
  PTL_CHECK(logits0.dim() == 2, "cross_entropy: logits must be (N, K), got ", logits0.shape_str());
  PTL_CHECK(
      targets.dtype() == DType::I64 && targets.dim() == 1 && targets.size(0) == logits0.size(0),
      "cross_entropy: targets must be int64 (N) = (", logits0.size(0), "), got ",
      dtype_name(targets.dtype()), " ", targets.shape_str());
  PTL_CHECK(eps >= 0 && eps <= 1, "cross_entropy: label_smoothing must be in [0, 1], got ", eps);
  const int64_t N = logits0.size(0), K = logits0.size(1);
  PTL_CHECK(N > 0 && K > 0, "cross_entropy: empty logits ", logits0.shape_str());
  PTL_CHECK(targets.device() == logits0.device(), "cross_entropy: targets are on ",
            targets.device().str(), " but logits on ", logits0.device().str());
  Tensor t = targets.contiguous();
  // CPU targets are checked here; a CUDA kernel cannot throw and makes the loss NaN instead.
  if (t.device().is_cpu())
    for (int64_t v : t.to_int_vector())
      PTL_CHECK(v >= 0 && v < K, "cross_entropy: target ", v, " is outside [0, ", K, ")");
  Tensor logits = logits0.contiguous();
  Tensor prob = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  Tensor out = Tensor::empty({}, logits.dtype(), logits.device());
  PTL_DISPATCH_FLOAT(logits.dtype(), "cross_entropy", [&] {
    PTL_KERNEL(logits.device(), cross_entropy_forward<scalar_t>)
    (logits.data<scalar_t>(), t.data<int64_t>(), prob.data<scalar_t>(), out.data<scalar_t>(), N, K,
     eps);
  });
  if (TraceRecorder* r = active_trace()) r->record({"cross_entropy", {logits0}, {out}, {}});
  return record(out, "cross_entropy", {logits0},
                [prob, t, N, K, eps](const Tensor& g, const std::vector<bool>&) -> Grads {
                  Tensor gx = Tensor::empty(prob.shape(), prob.dtype(), prob.device());
                  PTL_DISPATCH_FLOAT(prob.dtype(), "cross_entropy backward", [&] {
                    PTL_KERNEL(prob.device(), cross_entropy_backward<scalar_t>)
                    (prob.data<scalar_t>(), t.data<int64_t>(), g.data<scalar_t>(),
                     gx.data<scalar_t>(), N, K, eps);
                  });
                  return {gx};
                });
}

Tensor pairwise_sqdistance(const Tensor& x, const Tensor& y) {
  PTL_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1),
            "pairwise_distance: expects (M, D) and (N, D), got ", x.shape_str(), " and ",
            y.shape_str());
  // ||x||^2 + ||y||^2 - 2 x y^T, clamped at 0 against rounding.
  Tensor xx = sum(mul(x, x), {1}, true);                     // (M, 1)
  Tensor yy = reshape(sum(mul(y, y), {1}, false), {1, -1});  // (1, N)
  Tensor d2 = sub(add(xx, yy), mul(matmul(x, transpose(y, 0, 1)), 2.0));
  return clamp(d2, 0.0, INFINITY);
}

Tensor pairwise_distance(const Tensor& x, const Tensor& y) {
  return sqrt(clamp(pairwise_sqdistance(x, y), 1e-12, INFINITY));
}

Tensor l2_normalize(const Tensor& x0, int64_t dim0, double eps) {
  check_float("l2_normalize", x0, "input");
  const int64_t dim = wrap_dim(dim0, x0.dim(), "l2_normalize");
  Tensor x = x0.contiguous();
  auto d = around(x.shape(), dim);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor norm = Tensor::empty({d.outer * d.inner}, x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), "l2_normalize", [&] {
    PTL_KERNEL(x.device(), l2_normalize_forward<scalar_t>)
    (x.data<scalar_t>(), y.data<scalar_t>(), norm.data<scalar_t>(), d.outer, d.size, d.inner, eps);
  });
  if (TraceRecorder* r = active_trace())
    r->record({"l2_normalize", {x0}, {y}, {{"dim", {double(dim)}}, {"eps", {eps}}}});
  Tensor yd = y.detach();
  return record(y, "l2_normalize", {x0},
                [yd, norm, d, eps](const Tensor& g0, const std::vector<bool>&) -> Grads {
                  Tensor g = g0.contiguous();
                  Tensor gx = Tensor::empty(g.shape(), g.dtype(), g.device());
                  PTL_DISPATCH_FLOAT(g.dtype(), "l2_normalize backward", [&] {
                    PTL_KERNEL(g.device(), l2_normalize_backward<scalar_t>)
                    (g.data<scalar_t>(), yd.data<scalar_t>(), norm.data<scalar_t>(),
                     gx.data<scalar_t>(), d.outer, d.size, d.inner, eps);
                  });
                  return {gx};
                });
}

BatchHardMined batch_hard_mine(const Tensor& dist0, const Tensor& labels0) {
  check_float("batch_hard_mine", dist0, "dist");
  PTL_CHECK(dist0.dim() == 2 && dist0.size(0) == dist0.size(1),
            "batch_hard_mine: dist must be (N, N), got ", dist0.shape_str());
  const int64_t N = dist0.size(0);
  PTL_CHECK(labels0.dtype() == DType::I64 && labels0.dim() == 1 && labels0.size(0) == N,
            "batch_hard_mine: labels must be int64 (", N, "), got ", dtype_name(labels0.dtype()),
            " ", labels0.shape_str());
  PTL_CHECK(labels0.device() == dist0.device(), "batch_hard_mine: labels are on ",
            labels0.device().str(), " but dist on ", dist0.device().str());
  Tensor dist = dist0.detach().contiguous(), labels = labels0.contiguous();
  BatchHardMined m;
  m.pos_value = Tensor::empty({N}, dist.dtype(), dist.device());
  m.neg_value = Tensor::empty({N}, dist.dtype(), dist.device());
  m.pos_index = Tensor::empty({N}, DType::I64, dist.device());
  m.neg_index = Tensor::empty({N}, DType::I64, dist.device());
  PTL_DISPATCH_FLOAT(dist.dtype(), "batch_hard_mine", [&] {
    PTL_KERNEL(dist.device(), batch_hard_mine<scalar_t>)
    (dist.data<scalar_t>(), labels.data<int64_t>(), m.pos_value.data<scalar_t>(),
     m.pos_index.data<int64_t>(), m.neg_value.data<scalar_t>(), m.neg_index.data<int64_t>(), N);
  });
  return m;
}

Tensor gather_pairs(const Tensor& x0, const Tensor& index0) {
  check_float("gather_pairs", x0, "input");
  PTL_CHECK(x0.dim() == 2, "gather_pairs: input must be (N, M), got ", x0.shape_str());
  const int64_t N = x0.size(0), M = x0.size(1);
  PTL_CHECK(index0.dtype() == DType::I64 && index0.dim() == 1 && index0.size(0) == N,
            "gather_pairs: index must be int64 (", N, "), got ", dtype_name(index0.dtype()), " ",
            index0.shape_str());
  PTL_CHECK(index0.device() == x0.device(), "gather_pairs: index is on ", index0.device().str(),
            " but input on ", x0.device().str());
  Tensor x = x0.contiguous(), index = index0.contiguous();
  Tensor out = Tensor::empty({N}, x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), "gather_pairs", [&] {
    PTL_KERNEL(x.device(), gather_pairs_forward<scalar_t>)
    (x.data<scalar_t>(), index.data<int64_t>(), out.data<scalar_t>(), N, M);
  });
  if (TraceRecorder* r = active_trace()) r->record({"gather_pairs", {x0}, {out}, {}});
  return record(out, "gather_pairs", {x0},
                [index, N, M](const Tensor& g0, const std::vector<bool>&) -> Grads {
                  Tensor g = g0.contiguous();
                  Tensor gx = Tensor::empty({N, M}, g.dtype(), g.device());
                  PTL_DISPATCH_FLOAT(g.dtype(), "gather_pairs backward", [&] {
                    PTL_KERNEL(g.device(), gather_pairs_backward<scalar_t>)
                    (g.data<scalar_t>(), index.data<int64_t>(), gx.data<scalar_t>(), N, M);
                  });
                  return {gx};
                });
}

}  // namespace ptl
