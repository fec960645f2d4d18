// CUDA softmax and cross-entropy kernels against the CPU's (tests/cuda_kernel_compare.h says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/softmax.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {

template <class T>
void check_log_softmax() {
  uint32_t seed = 80;
  for (const Dims3& s : kRowShapes) {
    INFO("log_softmax (" << s.outer << ", " << s.size << ", " << s.inner << ")");
    const size_t n = static_cast<size_t>(s.outer * s.size * s.inner);
    const auto x = test::random_values<T>(n, seed++, -6, 6);
    const auto g = test::random_values<T>(n, seed++);
    std::vector<T> y(n), gx(n);
    cpu::log_softmax_forward(x.data(), y.data(), s.outer, s.size, s.inner);
    cpu::log_softmax_backward(g.data(), y.data(), gx.data(), s.outer, s.size, s.inner);
    DeviceVec<T> dx(x), dg(g), dy_cpu(y), dy(n), dgx(n);
    cuda::log_softmax_forward(dx.get(), dy.get(), s.outer, s.size, s.inner);
    cuda::log_softmax_backward(dg.get(), dy_cpu.get(), dgx.get(), s.outer, s.size, s.inner);
    CHECK_WITHIN(dy.host(), y, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
    CHECK_WITHIN(dgx.host(), gx, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
  }
}

template <class T>
void check_cross_entropy() {
  struct Case {
    int64_t N, K;
    double eps;
  };
  const Case cases[] = {{64, 751, 0.1}, {16, 10, 0.0}, {3, 5000, 0.2}, {300, 40, 0.1}};
  uint32_t seed = 90;
  for (const Case& c : cases) {
    INFO("cross_entropy N " << c.N << ", K " << c.K << ", eps " << c.eps);
    const size_t n = static_cast<size_t>(c.N * c.K);
    const auto logits = test::random_values<T>(n, seed++, -5, 5);
    std::vector<int64_t> target(static_cast<size_t>(c.N));
    std::mt19937 gen(seed++);
    for (auto& t : target) t = static_cast<int64_t>(gen() % c.K);
    std::vector<T> prob(n), loss(1), gx(n);
    const std::vector<T> g = {T(0.75)};
    cpu::cross_entropy_forward(logits.data(), target.data(), prob.data(), loss.data(), c.N, c.K,
                               c.eps);
    cpu::cross_entropy_backward(prob.data(), target.data(), g.data(), gx.data(), c.N, c.K, c.eps);
    DeviceVec<T> dlogits(logits), dprob(n), dloss(1), dg(g), dprob_cpu(prob), dgx(n);
    DeviceVec<int64_t> dtarget(target);
    cuda::cross_entropy_forward(dlogits.get(), dtarget.get(), dprob.get(), dloss.get(), c.N, c.K,
                                c.eps);
    cuda::cross_entropy_backward(dprob_cpu.get(), dtarget.get(), dg.get(), dgx.get(), c.N, c.K,
                                 c.eps);
    CHECK_WITHIN(dprob.host(), prob, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
    const std::vector<T> got_loss = dloss.host();
    CHECK_WITHIN(got_loss, loss, (Bound{Tol<T>::red_r, Tol<T>::red_a}));
    CHECK_WITHIN(dgx.host(), gx, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
    cuda::cross_entropy_forward(dlogits.get(), dtarget.get(), dprob.get(), dloss.get(), c.N, c.K,
                                c.eps);
    CHECK_SAME_BITS(dloss.host(), got_loss);  // run to run: the same bits

    // A target out of range makes the loss NaN.
    std::vector<int64_t> bad = target;
    bad[bad.size() / 2] = c.K;
    DeviceVec<int64_t> dbad(bad);
    cuda::cross_entropy_forward(dlogits.get(), dbad.get(), dprob.get(), dloss.get(), c.N, c.K,
                                c.eps);
    CHECK(std::isnan(static_cast<double>(dloss.host()[0])));
  }
}
}  // namespace

TEST_CASE("cuda log_softmax forward and backward match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_log_softmax<float>();
  check_log_softmax<double>();
}

TEST_CASE(
    "cuda cross-entropy: loss on the device, NaN for a bad target, backward from a device scalar",
    "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_cross_entropy<float>();
  check_cross_entropy<double>();
}

#endif  // PTL_WITH_CUDA
