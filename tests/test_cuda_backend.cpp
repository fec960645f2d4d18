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

// One shape's operands (random, fixed seeds) and the CPU kernels' or the device's results.
template <class T>
struct ConvCase {
  explicit ConvCase(const ptl::ConvGeometry& geometry)
      : g(geometry),
        x(random_values<T>(static_cast<size_t>(g.N * g.C * g.H * g.W), 4)),
        w(random_values<T>(static_cast<size_t>(g.Cout * g.K()), 5)),
        bias(random_values<T>(static_cast<size_t>(g.Cout), 6)),
        gy(random_values<T>(static_cast<size_t>(g.N * g.Cout * g.P()), 7)) {}
  ptl::ConvGeometry g;
  std::vector<T> x, w, bias, gy;
};
template <class T>
struct ConvResults {
  std::vector<T> y, gx, gw, gb, y_nobias;
};

template <class T>
ConvResults<T> cpu_conv(const ConvCase<T>& c) {
  ConvResults<T> r{std::vector<T>(c.gy.size()), std::vector<T>(c.x.size()),
                   std::vector<T>(c.w.size()), std::vector<T>(c.bias.size()),
                   std::vector<T>(c.gy.size())};
  ptl::cpu::conv2d_forward<T>(c.x.data(), c.w.data(), c.bias.data(), r.y.data(), c.g);
  ptl::cpu::conv2d_backward_input<T>(c.gy.data(), c.w.data(), r.gx.data(), c.g);
  ptl::cpu::conv2d_backward_weight<T>(c.gy.data(), c.x.data(), r.gw.data(), r.gb.data(), c.g);
  ptl::cpu::conv2d_forward<T>(c.x.data(), c.w.data(), nullptr, r.y_nobias.data(), c.g);
  return r;
}

// The device's results, written over NaN; the forward without bias is a second call of the
// same shape (the cached plan).
template <class T>
ConvResults<T> device_conv(const ConvCase<T>& c) {
  DeviceVec<T> dx(c.x), dw(c.w), dbias(c.bias), dgy(c.gy);
  DeviceVec<T> y(std::vector<T>(c.gy.size(), T(NAN))), gx(std::vector<T>(c.x.size(), T(NAN)));
  DeviceVec<T> gw(std::vector<T>(c.w.size(), T(NAN))), gb(std::vector<T>(c.bias.size(), T(NAN)));
  ConvResults<T> r;
  ptl::cuda::conv2d_forward<T>(dx.get(), dw.get(), dbias.get(), y.get(), c.g);
  ptl::cuda::conv2d_backward_input<T>(dgy.get(), dw.get(), gx.get(), c.g);
  ptl::cuda::conv2d_backward_weight<T>(dgy.get(), dx.get(), gw.get(), gb.get(), c.g);
  r.y = y.host(), r.gx = gx.host(), r.gw = gw.host(), r.gb = gb.host();
  ptl::cuda::conv2d_forward<T>(dx.get(), dw.get(), nullptr, y.get(), c.g);
  r.y_nobias = y.host();
  return r;
}

template <class T>
void check_conv(const ptl::ConvGeometry& g, double tolerance) {
  const ConvCase<T> c(g);
  const ConvResults<T> want = cpu_conv(c), got = device_conv(c);
  CHECK_WITHIN(got.y, want.y, of_largest(tolerance));
  CHECK_WITHIN(got.gx, want.gx, of_largest(tolerance));
  CHECK_WITHIN(got.gw, want.gw, of_largest(tolerance));
  CHECK_WITHIN(got.gb, want.gb, of_largest(tolerance));
  CHECK_WITHIN(got.y_nobias, want.y_nobias, of_largest(tolerance));
}

// The same bits in a and b.
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
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

// The same shapes through cuDNN's backend engines (conv_engines.h): each direction within the
// legacy path's bound of the CPU, and an engine must have run (not only the legacy fallback).
TEST_CASE("cuda conv2d through cuDNN's backend engines matches the CPU kernels", "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  const ptl::test::EngineHeuristics on(true);
  for (const auto& g : conv_shapes()) {
    INFO("input (" << g.N << ", " << g.C << ", " << g.H << ", " << g.W << "), weight (" << g.Cout
                   << ", " << g.C << ", " << g.KH << ", " << g.KW << "), stride " << g.sh << "x"
                   << g.sw << ", padding " << g.ph << "x" << g.pw << ", dilation " << g.dh << "x"
                   << g.dw);
    const uint64_t runs = ptl::cuda::conv_engine_runs();
    check_conv<float>(g, rtol<float>());
    CHECK(ptl::cuda::conv_engine_runs() > runs);
    check_conv<double>(g, rtol<double>());
  }
  ptl::cuda::set_allow_tf32(true);
  check_conv<float>(conv_shapes()[1], 1e-2);
  ptl::cuda::set_allow_tf32(false);
}

// Deterministic engines (the default rules): two runs of every direction give the same bits.
TEST_CASE("cuda conv2d through cuDNN's backend engines gives the same bits on every run",
          "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  for (const auto& g : conv_shapes()) {
    const ConvCase<float> c(g);
    const ptl::test::EngineHeuristics on(true);
    const ConvResults<float> a = device_conv(c), b = device_conv(c);
    CHECK(same_bits(a.y, b.y));
    CHECK(same_bits(a.gx, b.gx));
    CHECK(same_bits(a.gw, b.gw));
    CHECK(same_bits(a.gb, b.gb));
  }
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
