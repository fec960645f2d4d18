// batch_norm for (N, C) and (N, C, H, W) inputs, as torch.nn.functional.batch_norm.
#include <algorithm>

#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::check_float;

namespace {
// (N, C, S) of x, S = H * W (1 for (N, C)), after checking the arguments against it.
struct NormShape {
  int64_t N, C, S;
};
NormShape check_batch_norm(const char* op, const Tensor& x0, const Tensor& weight,
                           const Tensor& bias, const Tensor& running_mean,
                           const Tensor& running_var, bool training) {
  check_float(op, x0, "input");
  PTL_CHECK(x0.dim() == 2 || x0.dim() == 4, op, ": input must be (N, C) or (N, C, H, W), got ",
            x0.shape_str());
  const int64_t N = x0.size(0), C = x0.size(1), S = x0.dim() == 4 ? x0.size(2) * x0.size(3) : 1;
  auto check_param = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return;
    PTL_CHECK(t.dim() == 1 && t.size(0) == C && t.dtype() == x0.dtype() && t.is_contiguous() &&
                  t.device() == x0.device(),
              op, ": ", name, " ", t.shape_str(), " (", dtype_name(t.dtype()), " on ",
              t.device().str(), ") does not match ", C, " channels of ", dtype_name(x0.dtype()),
              " input ", x0.shape_str(), " on ", x0.device().str());
  };
  check_param(weight, "weight");
  check_param(bias, "bias");
  check_param(running_mean, "running_mean");
  check_param(running_var, "running_var");
  PTL_CHECK(training || (running_mean.defined() && running_var.defined()), op,
            ": evaluation mode needs running_mean and running_var");
  return {N, C, S};
}

Tensor batch_norm_impl(const Tensor& x0, const Tensor& weight, const Tensor& bias,
                       Tensor running_mean, Tensor running_var, bool training, double momentum,
                       double eps, bool relu) {
  const NormShape shape =
      check_batch_norm("batch_norm", x0, weight, bias, running_mean, running_var, training);
  const int64_t N = shape.N, C = shape.C, S = shape.S;
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
  if (TraceRecorder* r = active_trace())
    r->record({relu ? "batch_norm_relu" : "batch_norm",
               {x0, weight, bias, running_mean, running_var},
               {y},
               {{"training", {training ? 1.0 : 0.0}}, {"eps", {eps}}}});
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

// Each process contributes (its count M_r, then C values a_r, then C values b_r); returns the
// gathered blocks, one per process in process order.
struct Gathered {
  std::vector<double> all;
  int64_t C;
  size_t processes() const { return all.size() / static_cast<size_t>(2 * C + 1); }
  double count(size_t r) const { return all[r * static_cast<size_t>(2 * C + 1)]; }
  double a(size_t r, int64_t c) const { return all[r * static_cast<size_t>(2 * C + 1) + 1 + c]; }
  double b(size_t r, int64_t c) const {
    return all[r * static_cast<size_t>(2 * C + 1) + 1 + C + c];
  }
};

// This process's block (count, then a and b for the caller's kernel to write at data() + 1 and
// data() + 1 + C) as a float64 tensor on `device`, where the gather takes it.
Tensor new_block(double count, int64_t C, Device device) {
  Tensor block = Tensor::empty({2 * C + 1}, DType::F64, device);
  Tensor head = narrow(block, 0, 0, 1);
  fill_(head, count);
  return block;
}

// Every process's block in process order, read on the host.
Gathered gather_blocks(const AllGatherDoubles& all_gather, const Tensor& mine, int64_t C) {
  Gathered g{all_gather(mine).to(Device::cpu()).to_double_vector(), C};
  PTL_CHECK(!g.all.empty() && g.all.size() % static_cast<size_t>(mine.numel()) == 0,
            "sync_batch_norm: the processes disagree on the number of channels");
  return g;
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

Tensor sync_batch_norm(const Tensor& x0, const Tensor& weight, const Tensor& bias,
                       Tensor running_mean, Tensor running_var, double momentum, double eps,
                       bool relu, const AllGatherDoubles& all_gather) {
  const NormShape shape =
      check_batch_norm("sync_batch_norm", x0, weight, bias, running_mean, running_var, true);
  const int64_t N = shape.N, C = shape.C, S = shape.S;
  Tensor x = x0.contiguous();
  const Device device = x.device();
  // Every process's count, mean and biased variance, combined on the host in process order
  // (Chan et al.): mean = sum M_r mean_r / M, var = sum M_r (var_r + (mean_r - mean)^2) / M.
  const double count = static_cast<double>(N * S);
  Tensor mine = new_block(count, C, device);
  PTL_DISPATCH_FLOAT(x.dtype(), "sync_batch_norm", [&] {
    PTL_KERNEL(device, batchnorm_stats<scalar_t>)
    (x.data<scalar_t>(), N, C, S, mine.data<double>() + 1, mine.data<double>() + 1 + C);
  });
  const Gathered stats = gather_blocks(all_gather, mine, C);
  double total = 0;
  for (size_t r = 0; r < stats.processes(); ++r) total += stats.count(r);
  PTL_CHECK(total > 1, "sync_batch_norm: training needs more than one value per channel");
  std::vector<double> m(static_cast<size_t>(C)), v(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, m2 = 0;
    for (size_t r = 0; r < stats.processes(); ++r) sum += stats.count(r) * stats.a(r, c);
    m[c] = sum / total;
    for (size_t r = 0; r < stats.processes(); ++r) {
      const double d = stats.a(r, c) - m[c];
      m2 += stats.count(r) * (stats.b(r, c) + d * d);
    }
    v[c] = m2 / total;
  }
  // `invstd` first holds the variance (batchnorm_prepare).
  Tensor mean = from_vector(m, {C}).to(device), invstd = from_vector(v, {C}).to(device);
  Tensor w = weight.defined() ? weight.contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), device);
  PTL_DISPATCH_FLOAT(x.dtype(), "sync_batch_norm", [&] {
    auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
    PTL_KERNEL(device, batchnorm_prepare<scalar_t>)
    (true, mean.data<double>(), invstd.data<double>(), ptr(running_mean), ptr(running_var), C,
     momentum, total / (total - 1), eps);
    PTL_KERNEL(device, batchnorm_apply<scalar_t>)
    (x.data<scalar_t>(), mean.data<double>(), invstd.data<double>(), ptr(w), ptr(b),
     y.data<scalar_t>(), N, C, S, relu);
  });
  if (TraceRecorder* r = active_trace()) r->record({"sync_batch_norm", {x0}, {y}, {}});
  if (!needs_grad({x0, weight, bias})) return y;
  Tensor xd = x.detach(), wd = w.defined() ? w.detach() : Tensor(),
         yd = relu ? y.detach() : Tensor();
  return record(
      y, relu ? "sync_batch_norm_relu" : "sync_batch_norm", {x0, weight, bias},
      [=](const Tensor& gy0, const std::vector<bool>& need) -> Grads {
        Tensor gy = gy0.contiguous();
        Grads r(3);
        // This process's sums: sg = sum(gy) at 1, sgx = sum(gy * (x - mean)) at 1 + C.
        Tensor sums = new_block(count, C, device);
        const Tensor sg = narrow(sums, 0, 1, C), sgx = narrow(sums, 0, 1 + C, C);
        PTL_DISPATCH_FLOAT(gy.dtype(), "sync_batch_norm backward", [&] {
          auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
          PTL_KERNEL(device, batchnorm_grad_sums<scalar_t>)
          (gy.data<scalar_t>(), ptr(yd), xd.data<scalar_t>(), mean.data<double>(), N, C, S,
           sums.data<double>() + 1, sums.data<double>() + 1 + C);
        });
        // weight and bias: this process's sums (the caller weights and sums them).
        if (need[1]) r[1] = mul(sgx, invstd).to(gy.dtype());
        if (need[2]) r[2] = sg.clone().to(gy.dtype());
        // x: the whole batch's sums, each process's weighted by its share M_r / M (gathered
        // whatever this process needs: every process must take part).
        const Gathered all = gather_blocks(all_gather, sums, C);
        if (!need[0]) return r;
        std::vector<double> a(static_cast<size_t>(C)), bsum(static_cast<size_t>(C));
        for (int64_t c = 0; c < C; ++c)
          for (size_t q = 0; q < all.processes(); ++q) {
            const double share = all.count(q) / total;
            a[c] += share * all.a(q, c);
            bsum[c] += share * all.b(q, c);
          }
        const Tensor ga = from_vector(a, {C}).to(device), gb = from_vector(bsum, {C}).to(device);
        r[0] = Tensor::empty(xd.shape(), gy.dtype(), device);
        PTL_DISPATCH_FLOAT(gy.dtype(), "sync_batch_norm backward", [&] {
          auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
          PTL_KERNEL(device, batchnorm_grad_input<scalar_t>)
          (gy.data<scalar_t>(), ptr(yd), xd.data<scalar_t>(), mean.data<double>(),
           invstd.data<double>(), ptr(wd), ga.data<double>(), gb.data<double>(),
           r[0].data<scalar_t>(), N, C, S);
        });
        return r;
      });
}

}  // namespace ptl
