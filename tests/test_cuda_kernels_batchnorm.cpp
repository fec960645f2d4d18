// CUDA batch norm kernels against the CPU's (tests/cuda_kernel_compare.h says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/batchnorm.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {
template <class T>
void check_batchnorm() {
  struct Case {
    int64_t N, C, S;
  };
  // S = 1 (BatchNorm1d, the flat path), small planes, planes wider than the block.
  const Case cases[] = {{32, 4, 1}, {8, 16, 49}, {2, 3, 1000}, {1, 5, 7}};
  uint32_t seed = 120;
  for (const Case& c : cases) {
    INFO("batchnorm N " << c.N << ", C " << c.C << ", S " << c.S);
    const size_t n = static_cast<size_t>(c.N * c.C * c.S), C = static_cast<size_t>(c.C);
    const auto x = test::random_values<T>(n, seed++, -2, 3);
    const auto gy = test::random_values<T>(n, seed++);
    const auto w = test::random_values<T>(C, seed++, 0.5, 1.5);
    const auto b = test::random_values<T>(C, seed++);
    const auto rm0 = test::random_values<T>(C, seed++);
    const auto rv0 = test::random_values<T>(C, seed++, 0.5, 2);

    // Statistics.
    std::vector<double> mean(C), var(C);
    cpu::batchnorm_stats(x.data(), c.N, c.C, c.S, mean.data(), var.data());
    DeviceVec<T> dx(x);
    DeviceVec<double> dmean(C), dvar(C);
    cuda::batchnorm_stats(dx.get(), c.N, c.C, c.S, dmean.get(), dvar.get());
    CHECK_WITHIN(dmean.host(), mean, (Bound{1e-10, 1e-12}));
    CHECK_WITHIN(dvar.host(), var, (Bound{1e-10, 1e-12}));

    // Prepare, training (with and without running statistics) and eval.
    const double momentum = 0.1,
                 unbias = static_cast<double>(c.N * c.S) / std::max<int64_t>(1, c.N * c.S - 1),
                 eps = 1e-5;
    for (int mode = 0; mode < 3; ++mode) {
      INFO("prepare mode " << mode);
      const bool training = mode < 2, running = mode != 1;
      std::vector<double> m = mean, v = var;
      std::vector<T> rm = rm0, rv = rv0;
      cpu::batchnorm_prepare(training, m.data(), v.data(), running ? rm.data() : nullptr,
                             running ? rv.data() : nullptr, c.C, momentum, unbias, eps);
      DeviceVec<double> dm(mean), dv(var);
      DeviceVec<T> drm(rm0), drv(rv0);
      cuda::batchnorm_prepare(training, dm.get(), dv.get(), running ? drm.get() : nullptr,
                              running ? drv.get() : nullptr, c.C, momentum, unbias, eps);
      CHECK_WITHIN(dm.host(), m, (Bound{1e-14, 0.0}));
      CHECK_WITHIN(dv.host(), v, (Bound{1e-14, 0.0}));
      CHECK_WITHIN(drm.host(), rm, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
      CHECK_WITHIN(drv.host(), rv, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
    }

    // Apply and backward from the CPU's statistics, with and without affine parameters and the
    // fused ReLU.
    std::vector<double> invstd(C);
    for (size_t k = 0; k < C; ++k) invstd[k] = 1.0 / std::sqrt(var[k] + eps);
    DeviceVec<double> dmean_c(mean), dinv(invstd);
    DeviceVec<T> dw(w), db(b), dgy(gy), dy(n), dgx(n), dgw(C), dgb(C);
    for (bool affine : {true, false})
      for (bool relu : {false, true}) {
        INFO("affine " << affine << ", relu " << relu);
        std::vector<T> y(n);
        cpu::batchnorm_apply(x.data(), mean.data(), invstd.data(), affine ? w.data() : nullptr,
                             affine ? b.data() : nullptr, y.data(), c.N, c.C, c.S, relu);
        cuda::batchnorm_apply(dx.get(), dmean_c.get(), dinv.get(), affine ? dw.get() : nullptr,
                              affine ? db.get() : nullptr, dy.get(), c.N, c.C, c.S, relu);
        CHECK_WITHIN(dy.host(), y, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
        DeviceVec<T> dmask(
            y);  // the fused ReLU's backward masks gy with the CPU's output on both sides
        for (bool training : {true, false}) {
          INFO("backward training " << training);
          std::vector<T> gx(n), gw(C), gb(C);
          cpu::batchnorm_backward(gy.data(), relu ? y.data() : nullptr, x.data(), mean.data(),
                                  invstd.data(), affine ? w.data() : nullptr, gx.data(),
                                  affine ? gw.data() : nullptr, affine ? gb.data() : nullptr, c.N,
                                  c.C, c.S, training);
          cuda::batchnorm_backward(dgy.get(), relu ? dmask.get() : nullptr, dx.get(), dmean_c.get(),
                                   dinv.get(), affine ? dw.get() : nullptr, dgx.get(),
                                   affine ? dgw.get() : nullptr, affine ? dgb.get() : nullptr, c.N,
                                   c.C, c.S, training);
          CHECK_WITHIN(dgx.host(), gx,
                       (Bound{Tol<T>::red_r, Tol<T>::red_a}));  // through batch sums
          if (affine) {
            CHECK_WITHIN(dgw.host(), gw, (Bound{Tol<T>::red_r, Tol<T>::red_a}));
            CHECK_WITHIN(dgb.host(), gb, (Bound{Tol<T>::red_r, Tol<T>::red_a}));
          }
        }
      }
  }
}
}  // namespace

TEST_CASE("cuda batch norm: statistics, prepare, apply and backward match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_batchnorm<float>();
  check_batchnorm<double>();
}

#endif  // PTL_WITH_CUDA
