// CUDA L2 normalisation and triplet mining kernels against the CPU's (tests/cuda_kernel_compare.h
// says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/normalize.h"
#include "kernels/cpu/triplet.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {
template <class T>
void check_l2_normalize() {
  uint32_t seed = 95;
  for (const Dims3& s : kRowShapes) {
    INFO("l2_normalize (" << s.outer << ", " << s.size << ", " << s.inner << ")");
    const size_t n = static_cast<size_t>(s.outer * s.size * s.inner),
                 rows = static_cast<size_t>(s.outer * s.inner);
    auto x = test::random_values<T>(n, seed++, -2, 2);
    for (int64_t k = 0; k < s.size; ++k)
      x[static_cast<size_t>(k * s.inner)] = T(0);  // row 0 clamped at eps
    const auto g = test::random_values<T>(n, seed++);
    const double eps = 1e-12;
    std::vector<T> y(n), norm(rows), gx(n);
    cpu::l2_normalize_forward(x.data(), y.data(), norm.data(), s.outer, s.size, s.inner, eps);
    cpu::l2_normalize_backward(g.data(), y.data(), norm.data(), gx.data(), s.outer, s.size, s.inner,
                               eps);
    DeviceVec<T> dx(x), dg(g), dy_cpu(y), dnorm_cpu(norm), dy(n), dnorm(rows), dgx(n);
    cuda::l2_normalize_forward(dx.get(), dy.get(), dnorm.get(), s.outer, s.size, s.inner, eps);
    cuda::l2_normalize_backward(dg.get(), dy_cpu.get(), dnorm_cpu.get(), dgx.get(), s.outer, s.size,
                                s.inner, eps);
    CHECK_WITHIN(dy.host(), y, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
    CHECK_WITHIN(dnorm.host(), norm, (Bound{Tol<T>::red_r, Tol<T>::red_a}));
    CHECK_WITHIN(dgx.host(), gx,
                 (Bound{Tol<T>::red_r, Tol<T>::red_a}));  // through the row's dot product
  }
}

template <class T>
void check_batch_hard_mine() {
  // Distances rounded to a coarse grid (ties), a few NaNs, and labels drawn from few classes;
  // the last case has an anchor alone in its class (no positive) and N = 1 (no negative).
  struct Case {
    int64_t N, classes;
    bool nan;
  };
  const Case cases[] = {
      {64, 16, false}, {100, 7, true}, {33, 2, false}, {5, 5, false}, {1, 1, false}};
  uint32_t seed = 97;
  for (const Case& c : cases) {
    INFO("batch_hard_mine N " << c.N << ", classes " << c.classes << ", nan " << c.nan);
    const size_t n = static_cast<size_t>(c.N * c.N), N = static_cast<size_t>(c.N);
    auto dist = test::random_values<T>(n, seed++, 0, 4);
    for (T& d : dist) d = std::round(d * T(4)) / T(4);
    if (c.nan) dist[n / 3] = dist[n / 2] = std::numeric_limits<T>::quiet_NaN();
    std::vector<int64_t> labels(N);
    std::mt19937 gen(seed++);
    for (auto& l : labels) l = static_cast<int64_t>(gen() % c.classes);
    std::vector<T> pv(N), nv(N);
    std::vector<int64_t> pi(N), ni(N);
    cpu::batch_hard_mine(dist.data(), labels.data(), pv.data(), pi.data(), nv.data(), ni.data(),
                         c.N);
    DeviceVec<T> ddist(dist), dpv(N), dnv(N);
    DeviceVec<int64_t> dlabels(labels), dpi(N), dni(N);
    cuda::batch_hard_mine(ddist.get(), dlabels.get(), dpv.get(), dpi.get(), dnv.get(), dni.get(),
                          c.N);
    CHECK_SAME_BITS(dpi.host(), pi);
    CHECK_SAME_BITS(dni.host(), ni);
    CHECK_WITHIN(dpv.host(), pv, (Bound{0.0, 0.0}));  // exact; NaN matches NaN
    CHECK_WITHIN(dnv.host(), nv, (Bound{0.0, 0.0}));

    // The gather of the mined positives and its scatter backward.
    const auto g = test::random_values<T>(N, seed++);
    std::vector<T> out(N), gx(n);
    cpu::gather_pairs_forward(dist.data(), pi.data(), out.data(), c.N, c.N);
    cpu::gather_pairs_backward(g.data(), pi.data(), gx.data(), c.N, c.N);
    DeviceVec<T> dout(N), dg(g), dgx(n);
    cuda::gather_pairs_forward(ddist.get(), dpi.get(), dout.get(), c.N, c.N);
    cuda::gather_pairs_backward(dg.get(), dpi.get(), dgx.get(), c.N, c.N);
    CHECK_WITHIN(dout.host(), out, (Bound{0.0, 0.0}));
    CHECK_SAME_BITS(dgx.host(), gx);
  }
}
}  // namespace

TEST_CASE("cuda l2_normalize forward and backward match the CPU, a zero row included", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_l2_normalize<float>();
  check_l2_normalize<double>();
}

TEST_CASE(
    "cuda batch-hard mining picks the CPU's indices (ties, NaN, no positive or negative); "
    "gather_pairs",
    "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_batch_hard_mine<float>();
  check_batch_hard_mine<double>();
}

#endif  // PTL_WITH_CUDA
