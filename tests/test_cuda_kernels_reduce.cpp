// CUDA reductions kernels against the CPU's (tests/cuda_kernel_compare.h says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/reduce.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {
// Reduction shapes: rows (inner 1) and columns, few and long (two-pass) and many and short.
const Dims3 kReduceShapes[] = {{1, 1000000, 1}, {37, 1000, 1}, {5000, 7, 1}, {3, 200000, 1},
                               {1, 300000, 3},  {8, 50, 129},  {2, 1, 5},    {4, 100, 33}};

template <class T>
void check_sum_dim() {
  uint32_t seed = 40;
  for (const Dims3& s : kReduceShapes) {
    INFO("sum_dim (" << s.outer << ", " << s.size << ", " << s.inner << ")");
    const auto x = test::random_values<T>(static_cast<size_t>(s.outer * s.size * s.inner), seed++);
    std::vector<T> want(static_cast<size_t>(s.outer * s.inner));
    cpu::sum_dim(x.data(), want.data(), s.outer, s.size, s.inner);
    DeviceVec<T> dx(x), dout(want.size());
    cuda::sum_dim(dx.get(), dout.get(), s.outer, s.size, s.inner);
    const std::vector<T> got = dout.host();
    CHECK_WITHIN(got, want, (Bound{Tol<T>::red_r, Tol<T>::red_a}));
    cuda::sum_dim(dx.get(), dout.get(), s.outer, s.size, s.inner);
    CHECK_SAME_BITS(dout.host(), got);  // run to run: the same bits
  }
}

template <class T>
void check_extreme_dim() {
  const Dims3 shapes[] = {{64, 751, 1}, {8, 20, 1}, {4, 100, 33}, {3, 5000, 1}, {1, 33, 1}};
  uint32_t seed = 60;
  for (const Dims3& s : shapes)
    for (int nan_mode = 0; nan_mode < 2; ++nan_mode)
      for (bool is_max : {true, false}) {
        INFO("extreme_dim (" << s.outer << ", " << s.size << ", " << s.inner << "), max " << is_max
                             << ", NaN " << nan_mode);
        auto x =
            test::random_values<T>(static_cast<size_t>(s.outer * s.size * s.inner), seed++, -4, 4);
        for (T& v : x) v = std::round(v);  // ties
        if (nan_mode) {
          std::mt19937 gen(seed);
          for (int k = 0; k < 40; ++k) x[gen() % x.size()] = std::numeric_limits<T>::quiet_NaN();
        }
        const size_t m = static_cast<size_t>(s.outer * s.inner);
        std::vector<T> val(m);
        std::vector<int64_t> idx(m);
        cpu::extreme_dim(x.data(), val.data(), idx.data(), s.outer, s.size, s.inner, is_max);
        DeviceVec<T> dx(x), dval(m);
        DeviceVec<int64_t> didx(m);
        cuda::extreme_dim(dx.get(), dval.get(), didx.get(), s.outer, s.size, s.inner, is_max);
        CHECK_SAME_BITS(didx.host(), idx);
        CHECK_SAME_BITS(dval.host(), val);

        // Backward through the CPU's indices.
        const auto g = test::random_values<T>(m, seed++);
        std::vector<T> gx(x.size(), T(0));
        cpu::extreme_dim_backward(g.data(), idx.data(), gx.data(), s.outer, s.size, s.inner);
        DeviceVec<T> dg(g), dgx(std::vector<T>(x.size(), T(0)));
        DeviceVec<int64_t> didx_cpu(idx);
        cuda::extreme_dim_backward(dg.get(), didx_cpu.get(), dgx.get(), s.outer, s.size, s.inner);
        CHECK_SAME_BITS(dgx.host(), gx);
      }
}
}  // namespace

TEST_CASE("cuda sum_dim matches the CPU and is deterministic", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_sum_dim<float>();
  check_sum_dim<double>();
}

TEST_CASE("cuda extreme_dim: first index on ties, NaN propagates; backward", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  check_extreme_dim<float>();
  check_extreme_dim<double>();
}

#endif  // PTL_WITH_CUDA
