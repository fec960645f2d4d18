// batch_norm for (N, C) and (N, C, H, W) inputs, as torch.nn.functional.batch_norm.
#include <cmath>
#include <vector>

#include "engine/ops/op_utils.h"
#include "kernels/cpu/batchnorm.h"
#include "kernels/cpu/batchnorm_relu.h"

namespace ptl {

using ops_detail::check_float_cpu;

namespace {
Tensor batch_norm_impl(const Tensor& x0, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                       Tensor running_var, bool training, double momentum, double eps, bool relu) {
  check_float_cpu("batch_norm", x0, "input");
  PTL_CHECK(x0.dim() == 2 || x0.dim() == 4, "batch_norm: input must be (N, C) or (N, C, H, W), got ",
            x0.shape_str());
  const int64_t N = x0.size(0), C = x0.size(1), S = x0.dim() == 4 ? x0.size(2) * x0.size(3) : 1;
  auto check_param = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return;
    PTL_CHECK(t.dim() == 1 && t.size(0) == C && t.dtype() == x0.dtype(), "batch_norm: ", name, " ",
              t.shape_str(), " (", dtype_name(t.dtype()), ") does not match ", C, " channels of ",
              dtype_name(x0.dtype()), " input ", x0.shape_str());
  };
  check_param(weight, "weight");
  check_param(bias, "bias");
  check_param(running_mean, "running_mean");
  check_param(running_var, "running_var");
  PTL_CHECK(training || (running_mean.defined() && running_var.defined()),
            "batch_norm: evaluation mode needs running_mean and running_var");
  PTL_CHECK(!training || N * S > 1, "batch_norm: training needs more than one value per channel, got input ",
            x0.shape_str());

  Tensor x = x0.contiguous();
  std::vector<double> mean(C), invstd(C);
  if (training) {
    std::vector<double> var(C);
    PTL_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
      cpu::batchnorm_stats<scalar_t>(x.data<scalar_t>(), N, C, S, mean.data(), var.data());
    });
    for (int64_t c = 0; c < C; ++c) invstd[c] = 1.0 / std::sqrt(var[c] + eps);
    if (running_mean.defined() && running_var.defined()) {
      // PyTorch keeps the unbiased variance in running_var.
      const double unbias = static_cast<double>(N * S) / static_cast<double>(N * S - 1);
      PTL_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
        scalar_t* rm = running_mean.data<scalar_t>();
        scalar_t* rv = running_var.data<scalar_t>();
        for (int64_t c = 0; c < C; ++c) {
          rm[c] = static_cast<scalar_t>((1 - momentum) * rm[c] + momentum * mean[c]);
          rv[c] = static_cast<scalar_t>((1 - momentum) * rv[c] + momentum * var[c] * unbias);
        }
      });
    }
  } else {
    std::vector<double> rm = running_mean.to_double_vector(), rv = running_var.to_double_vector();
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = rm[c];
      invstd[c] = 1.0 / std::sqrt(rv[c] + eps);
    }
  }
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  PTL_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    (relu ? cpu::batchnorm_apply_relu<scalar_t> : cpu::batchnorm_apply<scalar_t>)(
        x.data<scalar_t>(), mean.data(), invstd.data(), w.defined() ? w.data<scalar_t>() : nullptr,
        b.defined() ? b.data<scalar_t>() : nullptr, y.data<scalar_t>(), N, C, S);
  });
  if (!needs_grad({x0, weight, bias})) return y;
  // The fused relu's backward masks gy with y > 0, so it keeps y (shared with whatever reads y
  // next, e.g. the following convolution); y is saved without its history (no cycle).
  Tensor xd = x.detach(), wd = w.defined() ? w.detach() : Tensor(), yd = relu ? y.detach() : Tensor();
  return record(y, relu ? "batch_norm_relu" : "batch_norm", {x0, weight, bias},
                [=](const Tensor& gy0, const std::vector<bool>& need) -> Grads {
    Tensor gy = gy0.contiguous();
    Grads r(3);
    if (need[0]) r[0] = Tensor::empty(xd.shape(), gy.dtype());
    if (need[1]) r[1] = Tensor::empty({C}, gy.dtype());
    if (need[2]) r[2] = Tensor::empty({C}, gy.dtype());
    PTL_DISPATCH_FLOAT(gy.dtype(), "batch_norm backward", [&] {
      auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
      if (yd.defined())
        cpu::batchnorm_backward_relu<scalar_t>(gy.data<scalar_t>(), yd.data<scalar_t>(), xd.data<scalar_t>(),
                                               mean.data(), invstd.data(), ptr(wd), ptr(r[0]), ptr(r[1]),
                                               ptr(r[2]), N, C, S, training);
      else
        cpu::batchnorm_backward<scalar_t>(gy.data<scalar_t>(), xd.data<scalar_t>(), mean.data(), invstd.data(),
                                          ptr(wd), ptr(r[0]), ptr(r[1]), ptr(r[2]), N, C, S, training);
    });
    return r;
  });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                  Tensor running_var, bool training, double momentum, double eps) {
  return batch_norm_impl(x, weight, bias, running_mean, running_var, training, momentum, eps, false);
}

Tensor batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor running_mean,
                       Tensor running_var, bool training, double momentum, double eps) {
  return batch_norm_impl(x, weight, bias, running_mean, running_var, training, momentum, eps, true);
}

}  // namespace ptl
