// CUDA BConv-Cell gates kernels against the CPU's (tests/cuda_kernel_compare.h says how).
#include <catch2/catch.hpp>

#include "engine/device.h"

#if PTL_WITH_CUDA
#include "kernels/cpu/bconv.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl;
using namespace ptl::test;

namespace {
template <class T>
void check_bconv(int64_t N, int64_t C, int64_t S) {
  INFO("N " << N << ", C " << C << ", S " << S);
  const size_t n = static_cast<size_t>(N * C * S);
  const auto z = test::random_values<T>(4 * n, 170, -3, 3);
  const auto c_prev = test::random_values<T>(n, 171);
  const auto gh = test::random_values<T>(n, 172);
  std::vector<T> h(n), c(n), gz(4 * n);
  cpu::bconv_gates_forward(z.data(), c_prev.data(), h.data(), c.data(), N, C, S);
  cpu::bconv_gates_backward(z.data(), c_prev.data(), gh.data(), gz.data(), N, C, S);
  DeviceVec<T> dz(z), dc_prev(c_prev), dgh(gh), dh(n), dc(n), dgz(4 * n);
  cuda::bconv_gates_forward(dz.get(), dc_prev.get(), dh.get(), dc.get(), N, C, S);
  cuda::bconv_gates_backward(dz.get(), dc_prev.get(), dgh.get(), dgz.get(), N, C, S);
  CHECK_WITHIN(dh.host(), h, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
  CHECK_WITHIN(dc.host(), c, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
  CHECK_WITHIN(dgz.host(), gz, (Bound{Tol<T>::ew_r, Tol<T>::ew_a}));
}
}  // namespace

TEST_CASE("cuda BConv-Cell gates forward and backward match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  // Planes (C*S) of 280 elements run 16-byte packs (4 floats, 2 doubles); of 99, one per thread.
  for (int64_t C : {8, 3}) {
    const int64_t S = C == 8 ? 35 : 33;
    check_bconv<float>(4, C, S);
    check_bconv<double>(4, C, S);
  }
}

#endif  // PTL_WITH_CUDA
