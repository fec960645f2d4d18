// batch_norm for (N, C) and (N, C, H, W) inputs, as torch.nn.functional.batch_norm.
#include <algorithm>

#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::check_float;

namespace {
Tensor batch_norm_impl(const Tensor& x0, const Tensor& weight, const Tensor& bias,
                       Tensor running_mean, Tensor running_var, bool training, double momentum,
                       double eps, bool relu) {
  check_float("batch_norm", x0, "input");
  PTL_CHECK(x0.dim() == 2 || x0.dim() == 4,
            "batch_norm: input must be (N, C) or (N, C, H, W), got ", x0.shape_str());
  const int64_t N = x0.size(0), C = x0.size(1), S = x0.dim() == 4 ? x0.size(2) * x0.size(3) : 1;
  auto check_param = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return;
    PTL_CHECK(t.dim() == 1 && t.size(0) == C && t.dtype() == x0.dtype() && t.is_contiguous() &&
                  t.device() == x0.device(),
              "batch_norm: ", name, " ", t.shape_str(), " (", dtype_name(t.dtype()), " on ",
              t.device().str(), ") does not match ", C, " channels of ", dtype_name(x0.dtype()),
              " input ", x0.shape_str(), " on ", x0.device().str());
  };
  check_param(weight, "weight");
  check_param(bias, "bias");
  check_param(running_mean, "running_mean");
  check_param(running_var, "running_var");
  PTL_CHECK(training || (running_mean.defined() && running_var.defined()),
            "batch_norm: evaluation mode needs running_mean and running_var");
  PTL_CHECK(!training || N * S > 1,
            "batch_norm: training needs more than one value per channel, got input ",
            x0.shape_str());

  Tensor x = x0.contiguous();
  // Per-channel statistics in double on the input's device; `invstd` first holds the variance.
  Tensor mean = Tensor::empty({C}, DType::F64, x.device()),
         invstd = Tensor::empty({C}, DType::F64, x.device());
  const double unbias =
      static_cast<double>(N * S) / static_cast<double>(std::max<int64_t>(N * S - 1, 1));
  PTL_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
    if (training) PTL_KERNEL(x.device(), batchnorm_stats<scalar_t>)
    (x.data<scalar_t>(), N, C, S, mean.data<double>(), invstd.data<double>());
    PTL_KERNEL(x.device(), batchnorm_prepare<scalar_t>)
    (training, mean.data<double>(), invstd.data<double>(), ptr(running_mean), ptr(running_var), C,
     momentum, unbias, eps);
  });
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    PTL_KERNEL(x.device(), batchnorm_apply<scalar_t>)
    (x.data<scalar_t>(), mean.data<double>(), invstd.data<double>(),
     w.defined() ? w.data<scalar_t>() : nullptr, b.defined() ? b.data<scalar_t>() : nullptr,
     y.data<scalar_t>(), N, C, S, relu);
  });
  if (!needs_grad({x0, weight, bias})) return y;
  // The fused relu's backward masks gy with y > 0, so it keeps y (shared with whatever reads y
  // next, e.g. the following convolution); y is saved without its history (no cycle).
  Tensor xd = x.detach(), wd = w.defined() ? w.detach() : Tensor(),
         yd = relu ? y.detach() : Tensor();
  return record(
      y, relu ? "batch_norm_relu" : "batch_norm", {x0, weight, bias},
      [=](const Tensor& gy0, const std::vector<bool>& need) -> Grads {
        Tensor gy = gy0.contiguous();
        Grads r(3);
        if (need[0]) r[0] = Tensor::empty(xd.shape(), gy.dtype(), gy.device());
        if (need[1]) r[1] = Tensor::empty({C}, gy.dtype(), gy.device());
        if (need[2]) r[2] = Tensor::empty({C}, gy.dtype(), gy.device());
        PTL_DISPATCH_FLOAT(gy.dtype(), "batch_norm backward", [&] {
          auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
          PTL_KERNEL(gy.device(), batchnorm_backward<scalar_t>)
          (gy.data<scalar_t>(), ptr(yd), xd.data<scalar_t>(), mean.data<double>(),
           invstd.data<double>(), ptr(wd), ptr(r[0]), ptr(r[1]), ptr(r[2]), N, C, S, training);
        });
        return r;
      });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum, double eps) {
  return batch_norm_impl(x, weight, bias, running_mean, running_var, training, momentum, eps,
                         false);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       Tensor running_mean, Tensor running_var, bool training, double momentum,
                       double eps) {
  return batch_norm_impl(x, weight, bias, running_mean, running_var, training, momentum, eps, true);
}

}  // namespace ptl
