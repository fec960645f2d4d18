// CUDA pooling kernels against the CPU's (tests/cuda_kernel_compare.h says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/pool.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {
template <class T>
void check_pool() {
  const PoolWindows geometries[] = {
      test::fixed_pool_windows(32, 16, 3, 2, 1, false, false, false),  // ResNet stem max pool
      test::fixed_pool_windows(9, 7, 3, 2, 1, true, true, true),  // ceil mode, count_include_pad
      test::fixed_pool_windows(8, 8, 2, 2, 0, false, true, false),
      test::fixed_pool_windows(10, 11, 2, 3, 0, false, true, false),  // stride > kernel: gaps
      test::adaptive_pool_windows(24, 8, 6, 1),                       // MGN stripes
      test::adaptive_pool_windows(7, 5, 3, 4),
      test::adaptive_pool_windows(24, 8, 1, 1),                        // global
      test::fixed_pool_windows(32, 16, 3, 2, 1, false, false, false),  // a cached geometry again
  };
  const int64_t planes = 2 * 64;
  uint32_t seed = 150;
  int case_no = 0;
  for (PoolWindows pw : geometries) {
    INFO("pool geometry " << case_no++ << ": " << pw.H << "x" << pw.W << " -> " << pw.OH << "x"
                          << pw.OW);
    const size_t in = static_cast<size_t>(planes * pw.H * pw.W),
                 out = static_cast<size_t>(planes * pw.OH * pw.OW);
    auto x = test::random_values<T>(in, seed++, 0, 6);
    for (T& v : x) v = std::floor(v);  // ties
    x[in / 3] = std::numeric_limits<T>::quiet_NaN();
    const auto gy = test::random_values<T>(out, seed++);
    DeviceVec<T> dx(x), dgy(gy), dy(out), dgx(in);

    std::vector<T> y(out), gx(in);
    std::vector<int64_t> idx(out);
    cpu::max_pool_forward(x.data(), y.data(), idx.data(), planes, pw);
    cpu::max_pool_backward(gy.data(), idx.data(), gx.data(), planes, pw);
    DeviceVec<int64_t> didx(out), didx_cpu(idx);
    cuda::max_pool_forward(dx.get(), dy.get(), didx.get(), planes, pw);
    cuda::max_pool_backward(dgy.get(), didx_cpu.get(), dgx.get(), planes, pw);
    CHECK_SAME_BITS(didx.host(), idx);
    CHECK_SAME_BITS(dy.host(), y);
    CHECK_SAME_BITS(dgx.host(), gx);  // the CPU's additions in the CPU's order

    if (pw.divisor.empty()) continue;
    cpu::avg_pool_forward(x.data(), y.data(), planes, pw);
    cpu::avg_pool_backward(gy.data(), gx.data(), planes, pw);
    cuda::avg_pool_forward(dx.get(), dy.get(), planes, pw);
    cuda::avg_pool_backward(dgy.get(), dgx.get(), planes, pw);
    CHECK_WITHIN(dy.host(), y, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
    CHECK_WITHIN(dgx.host(), gx, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
  }
}
}  // namespace

TEST_CASE("cuda max and average pooling through windows match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_pool<float>();
  check_pool<double>();
}

#endif  // PTL_WITH_CUDA
