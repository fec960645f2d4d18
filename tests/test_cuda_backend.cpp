// The CUDA backend against the CPU kernels, on raw device pointers: cuBLAS GEMM, cuDNN
// convolutions, the device and pinned caching allocators. [cuda] tests need a GPU; without one
// they return at once (tests/main.cpp says so in one line), and CPU-only builds leave them out.
#include <catch2/catch.hpp>

#if PTL_WITH_CUDA
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/device.h"
#include "kernels/cpu/conv.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/math_mode.h"
#include "kernels/cuda/memory.h"
#include "tests/compare.h"
#include "tests/cuda_device_vec.h"
#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace {

using ptl::test::DeviceVec;
using ptl::test::random_values;

// Bounds: rtol * max|want| for every element (sums of terms in [-1, 1]).
ptl::test::Bound of_largest(double rtol) {
  return {0, 0, rtol};
}

template <class T>
double rtol() {
  return std::is_same_v<T, float> ? 1e-4 : 1e-10;
}

template <class T>
void check_gemm(bool ta, bool tb, double tolerance) {
  const int64_t M = 37, N = 23, K = 19, pad = 3;
  const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  const auto A = random_values<T>(static_cast<size_t>((ta ? K : M) * lda), 1);
  const auto B = random_values<T>(static_cast<size_t>((tb ? N : K) * ldb), 2);
  const auto C0 = random_values<T>(static_cast<size_t>(M * ldc), 3);
  for (T beta : {T(0), T(0.5)}) {
    INFO("ta " << ta << " tb " << tb << " beta " << beta);
    std::vector<T> want = C0;
    ptl::cpu::gemm<T>(ta, tb, M, N, K, T(1.5), A.data(), lda, B.data(), ldb, beta, want.data(),
                      ldc);
    DeviceVec<T> a(A), b(B), c(C0);
    ptl::cuda::gemm<T>(ta, tb, M, N, K, T(1.5), a.get(), lda, b.get(), ldb, beta, c.get(), ldc);
    CHECK_WITHIN(c.host(), want, of_largest(tolerance));  // the padding columns stay as they were
  }
}

template <class T>
void check_conv(const ptl::ConvGeometry& g, double tolerance) {
  const auto nx = static_cast<size_t>(g.N * g.C * g.H * g.W);
  const auto nw = static_cast<size_t>(g.Cout * g.K());
  const auto ny = static_cast<size_t>(g.N * g.Cout * g.P());
  const auto x = random_values<T>(nx, 4), w = random_values<T>(nw, 5);
  const auto bias = random_values<T>(static_cast<size_t>(g.Cout), 6);
  const auto gy = random_values<T>(ny, 7);
  DeviceVec<T> dx(x), dw(w), dbias(bias), dgy(gy);

  std::vector<T> y(ny), gx(nx), gw(nw), gb(static_cast<size_t>(g.Cout));
  ptl::cpu::conv2d_forward<T>(x.data(), w.data(), bias.data(), y.data(), g);
  ptl::cpu::conv2d_backward_input<T>(gy.data(), w.data(), gx.data(), g);
  ptl::cpu::conv2d_backward_weight<T>(gy.data(), x.data(), gw.data(), gb.data(), g);

  DeviceVec<T> out_y(std::vector<T>(ny, T(NAN))), out_gx(std::vector<T>(nx, T(NAN)));
  DeviceVec<T> out_gw(std::vector<T>(nw, T(NAN))), out_gb(std::vector<T>(gb.size(), T(NAN)));
  ptl::cuda::conv2d_forward<T>(dx.get(), dw.get(), dbias.get(), out_y.get(), g);
  ptl::cuda::conv2d_backward_input<T>(dgy.get(), dw.get(), out_gx.get(), g);
  ptl::cuda::conv2d_backward_weight<T>(dgy.get(), dx.get(), out_gw.get(), out_gb.get(), g);
  CHECK_WITHIN(out_y.host(), y, of_largest(tolerance));
  CHECK_WITHIN(out_gx.host(), gx, of_largest(tolerance));
  CHECK_WITHIN(out_gw.host(), gw, of_largest(tolerance));
  CHECK_WITHIN(out_gb.host(), gb, of_largest(tolerance));

  // Without bias, and a second call of the same shape (the cached plan).
  std::vector<T> y_nobias(ny);
  ptl::cpu::conv2d_forward<T>(x.data(), w.data(), nullptr, y_nobias.data(), g);
  ptl::cuda::conv2d_forward<T>(dx.get(), dw.get(), nullptr, out_y.get(), g);
  CHECK_WITHIN(out_y.host(), y_nobias, of_largest(tolerance));
}

const std::vector<ptl::ConvGeometry>& conv_shapes() {
  static const std::vector<ptl::ConvGeometry> shapes = {
      ptl::test::conv_geometry(2, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1),    // 3x3, same padding
      ptl::test::conv_geometry(3, 5, 11, 10, 6, 3, 3, 2, 2, 1, 1, 1, 1),  // strided
      ptl::test::conv_geometry(2, 8, 6, 5, 7, 1, 1, 1, 1, 0, 0, 1, 1),    // pointwise
      ptl::test::conv_geometry(2, 4, 13, 12, 3, 5, 3, 2, 1, 2, 0, 1, 2),  // rectangular, dilated
      ptl::test::conv_geometry(1, 16, 8, 4, 32, 3, 3, 1, 1, 2, 2, 2, 2),  // dilated, late-layer map
  };
  return shapes;
}

}  // namespace

TEST_CASE("cuda gemm matches the CPU GEMM for every transpose", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_gemm<float>(ta, tb, rtol<float>());
      check_gemm<double>(ta, tb, rtol<double>());
    }
}

TEST_CASE("cuda gemm with K = 0 scales C by beta", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  const std::vector<float> C0 = random_values<float>(12, 8);
  DeviceVec<float> c(C0);
  ptl::cuda::gemm<float>(false, false, 3, 4, 0, 1.0f, nullptr, 0, nullptr, 4, 0.5f, c.get(), 4);
  std::vector<float> want = C0;
  for (float& v : want) v *= 0.5f;
  CHECK_WITHIN(c.host(), want, of_largest(1e-6));
}

TEST_CASE("cuda gemm with TF32 allowed stays close to FP32", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  ptl::cuda::set_allow_tf32(true);
  check_gemm<float>(false, true, 1e-2);  // TF32 keeps 10 mantissa bits
  ptl::cuda::set_allow_tf32(false);
}

TEST_CASE("cuda conv2d forward and backward match the CPU kernels", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  for (const auto& g : conv_shapes()) {
    INFO("input (" << g.N << ", " << g.C << ", " << g.H << ", " << g.W << "), weight (" << g.Cout
                   << ", " << g.C << ", " << g.KH << ", " << g.KW << "), stride " << g.sh << "x"
                   << g.sw << ", padding " << g.ph << "x" << g.pw << ", dilation " << g.dh << "x"
                   << g.dw);
    check_conv<float>(g, rtol<float>());
    check_conv<double>(g, rtol<double>());
  }
}

TEST_CASE("cuda conv2d with TF32 allowed stays close to FP32", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  ptl::cuda::set_allow_tf32(true);
  check_conv<float>(conv_shapes()[1], 1e-2);
  ptl::cuda::set_allow_tf32(false);
}

TEST_CASE("cuda device memory is cached and reused", "[cuda][caching]") {
  PTL_SKIP_WITHOUT_GPU();
  ptl::cuda::empty_cache();
  const auto before = ptl::cuda::memory_stats(0);
  void* p = ptl::cuda::device_alloc(3 << 20, 0);
  auto s = ptl::cuda::memory_stats(0);
  CHECK(s.allocated == before.allocated + (3 << 20));
  ptl::cuda::device_free(p, 3 << 20, 0);
  void* q = ptl::cuda::device_alloc(3 << 20, 0);
  CHECK(q == p);  // same stream, same size: the cached block
  CHECK(ptl::cuda::memory_stats(0).cache_hits == s.cache_hits + 1);
  ptl::cuda::device_free(q, 3 << 20, 0);
  ptl::cuda::empty_cache();
  CHECK(ptl::cuda::memory_stats(0).reserved == before.reserved);
}

TEST_CASE("cuda out of memory names the request and the allocator's holdings", "[cuda][caching]") {
  PTL_SKIP_WITHOUT_GPU();
  const size_t huge = size_t(1) << 50;  // 1 PiB
  CHECK_THROWS_WITH(ptl::cuda::device_alloc(huge, 0),
                    Catch::Contains("cuda:0 out of memory: asked for 1125899906842624 bytes") &&
                        Catch::Contains("reserved") && Catch::Contains("cudaMemGetInfo"));
  void* p = ptl::cuda::device_alloc(1024, 0);  // the allocator still works
  CHECK(p != nullptr);
  ptl::cuda::device_free(p, 1024, 0);
}

TEST_CASE("cuda pinned buffers round-trip through async copies", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  const size_t n = 1 << 16;
  const auto values = random_values<float>(n, 9);
  void* dev = ptl::cuda::device_alloc(n * sizeof(float), 0);
  {
    ptl::cuda::PinnedBuffer in(n * sizeof(float)), out(n * sizeof(float));
    std::memcpy(in.data(), values.data(), n * sizeof(float));
    ptl::cuda::copy_async(dev, true, in.data(), false, n * sizeof(float), 0);
    ptl::cuda::copy_async(out.data(), false, dev, true, n * sizeof(float), 0);
    ptl::cuda::synchronize(0);
    CHECK(std::memcmp(out.data(), values.data(), n * sizeof(float)) == 0);
  }
  ptl::cuda::synchronize(0);  // the freed buffers' events have completed
  const auto hits = ptl::cuda::pinned_memory_stats().cache_hits;
  ptl::cuda::PinnedBuffer again(n * sizeof(float));  // reuses a returned buffer
  CHECK(ptl::cuda::pinned_memory_stats().cache_hits == hits + 1);
  ptl::cuda::device_free(dev, n * sizeof(float), 0);
}
#endif  // PTL_WITH_CUDA
