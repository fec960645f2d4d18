// The split batch-norm kernels (kernels/cuda/batchnorm_split.cu, set_split_batchnorm): their
// order of additions (kernels/cuda/bn_split.h) checked on the CPU in every build
// ([cuda_host][test_device]: the unit and cuda_logic groups), and the kernels on a GPU ([cuda])
// against the one-block kernels and the CPU, within the bound two orders of the same double sum
// can differ by, and against themselves run after run, bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "kernels/cuda/bn_split.h"
#include "tests/compare.h"
#include "tests/test_util.h"

using namespace ptl;
using ptl::cuda::BnSplit;
using ptl::cuda::kBnLanes;

namespace {

struct Shape3 {
  int64_t N, C, S;
};
// Several slices a channel: planes wider than the lanes (S > kBnLanes), narrower (slices that
// start mid-plane), S = 1 (BatchNorm1d), a slice length that is no multiple of S; and one slice.
const Shape3 kSplitShapes[] = {{16, 4, 4096}, {3, 2, 5001}, {1000, 3, 37}, {20000, 2, 1}};
const Shape3 kOneSliceShape = {4, 8, 49};

// Channel c's sum of x as the split kernels add it: each slice by one block of kBnLanes lanes
// (bn_lane_walk, then the lanes' tree), the slices visited in `order`, then bn_combine.
double split_sum(const std::vector<double>& x, const Shape3& s, int64_t c, const BnSplit& sp,
                 const std::vector<int64_t>& order) {
  const int64_t M = s.N * s.S;
  std::vector<double> slice_sums(static_cast<size_t>(sp.slices));
  for (int64_t p : order) {
    const int64_t begin = p * sp.slice_len, end = std::min(begin + sp.slice_len, M);
    std::vector<double> partial(kBnLanes);
    for (int t = 0; t < kBnLanes; ++t)
      cuda::bn_lane_walk(begin, end, t, s.C, s.S, c, [&](int64_t k) { partial[t] += x[k]; });
    for (int w = kBnLanes / 2; w > 0; w >>= 1)
      for (int t = 0; t < kBnLanes; ++t) cuda::bn_tree_level(partial.data(), t, w);
    slice_sums[static_cast<size_t>(p)] = partial[0];
  }
  return cuda::bn_combine(slice_sums.data(), sp.slices);
}

// The same order written as plain loops, without the header's helpers: element j of a slice
// goes to lane (j - begin) % kBnLanes in increasing j, lanes halve, slices add in order.
double plain_sum(const std::vector<double>& x, const Shape3& s, int64_t c, const BnSplit& sp) {
  const int64_t M = s.N * s.S;
  double total = 0;
  for (int64_t p = 0; p < sp.slices; ++p) {
    const int64_t begin = p * sp.slice_len, end = std::min(begin + sp.slice_len, M);
    std::vector<double> lane(kBnLanes);
    for (int64_t j = begin; j < end; ++j)
      lane[static_cast<size_t>((j - begin) % kBnLanes)] += x[((j / s.S) * s.C + c) * s.S + j % s.S];
    for (int w = kBnLanes / 2; w > 0; w >>= 1)
      for (int t = 0; t < w; ++t) lane[t] += lane[t + w];
    total += lane[0];
  }
  return total;
}

}  // namespace

TEST_CASE("split batch-norm sums: the cut depends on the shape only and covers each channel",
          "[cuda_host][test_device]") {
  for (const Shape3& s : kSplitShapes) {
    INFO("N " << s.N << ", C " << s.C << ", S " << s.S);
    const BnSplit sp = cuda::bn_split(s.N, s.C, s.S);
    const int64_t M = s.N * s.S;
    CHECK(sp.slices > 1);
    CHECK(sp.slices * sp.slice_len >= M);       // every element in a slice
    CHECK((sp.slices - 1) * sp.slice_len < M);  // no empty slice
    CHECK(sp.slice_len >= 4096);                // 16 elements a lane at least
    // Every element visited once, by the lane bn_split.h names.
    std::vector<int> seen(static_cast<size_t>(s.N * s.C * s.S));
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t p = 0; p < sp.slices; ++p)
        for (int t = 0; t < kBnLanes; ++t)
          cuda::bn_lane_walk(p * sp.slice_len, std::min((p + 1) * sp.slice_len, M), t, s.C, s.S, c,
                             [&](int64_t k) { ++seen[static_cast<size_t>(k)]; });
    CHECK(std::all_of(seen.begin(), seen.end(), [](int v) { return v == 1; }));
  }
  CHECK(cuda::bn_split(kOneSliceShape.N, kOneSliceShape.C, kOneSliceShape.S).slices == 1);
  CHECK(cuda::bn_split(64, 2048, 32).slices == 1);  // ResNet-50's last stage: channels enough
}

TEST_CASE("split batch-norm sums: the same bits in any order of the slices, as a plain loop",
          "[cuda_host][test_device]") {
  // Magnitudes 2^-20 to 2^20 with both signs, so any change of order shows in the rounding.
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-20, 20);
  int64_t sequential_differs = 0;
  for (const Shape3& s : kSplitShapes) {
    INFO("N " << s.N << ", C " << s.C << ", S " << s.S);
    std::vector<double> x(static_cast<size_t>(s.N * s.C * s.S));
    for (double& v : x) v = std::ldexp(mantissa(gen), exponent(gen));
    const BnSplit sp = cuda::bn_split(s.N, s.C, s.S);
    std::vector<int64_t> forward(static_cast<size_t>(sp.slices));
    std::iota(forward.begin(), forward.end(), 0);
    std::vector<int64_t> backward(forward.rbegin(), forward.rend()), shuffled = forward;
    std::shuffle(shuffled.begin(), shuffled.end(), gen);
    std::vector<double> in_order, reversed, random_order, plain, sequential;
    for (int64_t c = 0; c < s.C; ++c) {
      in_order.push_back(split_sum(x, s, c, sp, forward));
      reversed.push_back(split_sum(x, s, c, sp, backward));
      random_order.push_back(split_sum(x, s, c, sp, shuffled));
      plain.push_back(plain_sum(x, s, c, sp));
      double seq = 0;  // one running sum in flat order: another order, other bits
      for (int64_t j = 0; j < s.N * s.S; ++j) seq += x[((j / s.S) * s.C + c) * s.S + j % s.S];
      sequential.push_back(seq);
      if (seq != in_order.back()) ++sequential_differs;
    }
    CHECK_SAME_BITS(reversed, in_order);
    CHECK_SAME_BITS(random_order, in_order);
    CHECK_SAME_BITS(plain, in_order);
    // Each within the bound of any order of M double additions: (M - 1) u sum|x| apart from the
    // exact sum, so 2 (M - 1) u sum|x| from each other.
    for (int64_t c = 0; c < s.C; ++c) {
      double abs_sum = 0;
      for (int64_t j = 0; j < s.N * s.S; ++j)
        abs_sum += std::fabs(x[((j / s.S) * s.C + c) * s.S + j % s.S]);
      CHECK(std::fabs(in_order[c] - sequential[c]) <=
            2.0 * static_cast<double>(s.N * s.S) * std::ldexp(1.0, -53) * abs_sum);
    }
  }
  // The inputs are such that the order shows: a test of bits that no order could fail is none.
  CHECK(sequential_differs > 0);
}

#if PTL_WITH_CUDA
#include "kernels/cpu/batchnorm.h"
#include "kernels/cuda/math_mode.h"
#include "tests/cuda_kernel_compare.h"

using namespace ptl::test;

namespace {

// Turns the split kernels on for a scope.
struct SplitBatchnorm {
  explicit SplitBatchnorm(bool on) { cuda::set_split_batchnorm(on); }
  ~SplitBatchnorm() { cuda::set_split_batchnorm(false); }
};

// How far two orders of the same double sums may drive the results apart (each order is within
// (M - 1) u sum|terms| of the exact sum, u = 2^-53), per channel, from the inputs on the host.
struct OrderBounds {
  double mean = 0, var = 0, sg = 0, sgx = 0;
};
template <class T>
OrderBounds order_bounds(const std::vector<T>& x, const std::vector<T>& gy, const Shape3& s,
                         const std::vector<double>& mean) {
  const double u = std::ldexp(1.0, -53), M = static_cast<double>(s.N * s.S);
  OrderBounds b;
  for (int64_t c = 0; c < s.C; ++c) {
    double ax = 0, ad2 = 0, ag = 0, agx = 0;
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < s.S; ++i) {
        const size_t k = static_cast<size_t>((n * s.C + c) * s.S + i);
        const double d = static_cast<double>(x[k]) - mean[static_cast<size_t>(c)];
        ax += std::fabs(static_cast<double>(x[k]));
        ad2 += d * d;
        ag += std::fabs(static_cast<double>(gy[k]));
        agx += std::fabs(static_cast<double>(gy[k]) * d);
      }
    const double dm = (M + 1) * u * ax / M;  // one side's error in the mean (sum, division)
    b.mean = std::max(b.mean, 2 * dm);
    // The squares' sum (M + 3 roundings deep: the deviation, the square, the sum, the division)
    // and the mean's error, which moves the sum of squared deviations by M dm^2 on each side.
    b.var = std::max(b.var, 2 * ((M + 3) * u * ad2 / M + dm * dm));
    b.sg = std::max(b.sg, 2 * M * u * ag);
    // Each term g (x - mean) two roundings deep (the backward takes the same mean everywhere).
    b.sgx = std::max(b.sgx, 2 * (M + 1) * u * agx);
  }
  return b;
}

template <class T>
void check_split_kernels(const Shape3& s, uint32_t seed) {
  INFO("N " << s.N << ", C " << s.C << ", S " << s.S << ", "
            << (sizeof(T) == 4 ? "float32" : "float64") << ", slices "
            << cuda::bn_split(s.N, s.C, s.S).slices);
  const size_t n = static_cast<size_t>(s.N * s.C * s.S), C = static_cast<size_t>(s.C);
  const auto x = test::random_values<T>(n, seed, -2, 3);
  const auto gy = test::random_values<T>(n, seed + 1);
  const auto w = test::random_values<T>(C, seed + 2, 0.5, 1.5);
  const double eps = 1e-5;
  DeviceVec<T> dx(x), dgy(gy), dw(w);

  // Statistics: the CPU, the one-block kernel, the split kernel three times.
  std::vector<double> mean(C), var(C);
  cpu::batchnorm_stats(x.data(), s.N, s.C, s.S, mean.data(), var.data());
  auto device_stats = [&](bool split) {
    SplitBatchnorm on(split);
    DeviceVec<double> m(C), v(C);
    cuda::batchnorm_stats(dx.get(), s.N, s.C, s.S, m.get(), v.get());
    return std::make_pair(m.host(), v.host());
  };
  const auto one_block = device_stats(false), split = device_stats(true);
  const OrderBounds b = order_bounds(x, gy, s, mean);
  INFO("bounds: mean " << b.mean << ", var " << b.var << ", sg " << b.sg << ", sgx " << b.sgx);
  for (int run = 0; run < 2; ++run) {
    const auto again = device_stats(true);
    CHECK_SAME_BITS(again.first, split.first);
    CHECK_SAME_BITS(again.second, split.second);
  }
  CHECK_WITHIN(split.first, one_block.first, (Bound{0, b.mean}));
  CHECK_WITHIN(split.second, one_block.second, (Bound{0, b.var}));
  CHECK_WITHIN(split.first, mean, (Bound{0, b.mean}));
  CHECK_WITHIN(split.second, var, (Bound{0, b.var}));

  // Backward from the CPU's statistics, training and eval, with the fused relu's mask.
  std::vector<double> invstd(C);
  for (size_t k = 0; k < C; ++k) invstd[k] = 1.0 / std::sqrt(var[k] + eps);
  std::vector<T> y(n);
  cpu::batchnorm_apply<T>(x.data(), mean.data(), invstd.data(), w.data(), nullptr, y.data(), s.N,
                          s.C, s.S, true);
  DeviceVec<double> dmean(mean), dinv(invstd);
  DeviceVec<T> dy(y);
  double max_inv = 0, max_w = 0, max_dev = 0;
  for (size_t k = 0; k < C; ++k) {
    max_inv = std::max(max_inv, invstd[k]);
    max_w = std::max(max_w, std::fabs(static_cast<double>(w[k])));
  }
  for (size_t k = 0; k < n; ++k)
    max_dev = std::max(
        max_dev, std::fabs(static_cast<double>(x[k]) - mean[(k / static_cast<size_t>(s.S)) % C]));
  const double M = static_cast<double>(s.N * s.S), ulp = std::numeric_limits<T>::epsilon();
  for (bool relu : {false, true})
    for (bool training : {true, false}) {
      INFO("relu " << relu << ", training " << training);
      auto device_backward = [&](bool split_on) {
        SplitBatchnorm on(split_on);
        DeviceVec<T> gx(n), gw(C), gb(C);
        cuda::batchnorm_backward(dgy.get(), relu ? dy.get() : nullptr, dx.get(), dmean.get(),
                                 dinv.get(), dw.get(), gx.get(), gw.get(), gb.get(), s.N, s.C, s.S,
                                 training);
        return std::vector<std::vector<T>>{gx.host(), gw.host(), gb.host()};
      };
      std::vector<T> gx(n), gw(C), gb(C);
      cpu::batchnorm_backward(gy.data(), relu ? y.data() : nullptr, x.data(), mean.data(),
                              invstd.data(), w.data(), gx.data(), gw.data(), gb.data(), s.N, s.C,
                              s.S, training);
      const auto got = device_backward(true), ref = device_backward(false);
      for (int run = 0; run < 2; ++run) {
        const auto again = device_backward(true);
        for (size_t i = 0; i < 3; ++i) CHECK_SAME_BITS(again[i], got[i]);
      }
      // The sums' order bound, then one rounding to T apart (rtol: T's epsilon); gx also moves
      // with a = sg / M and bcoef = sgx invstd^2 / M, and by a few double roundings of its own
      // formula (the compiler may contract it differently in the two kernels).
      const Bound bw{ulp, b.sgx * max_inv}, bb{ulp, b.sg};
      // |g|, |a| <= 1 and |(x - mean) bcoef| <= max_dev^2 invstd^2 bound the formula's terms.
      const double gx_abs =
          max_inv * max_w * (b.sg / M + max_dev * b.sgx * max_inv * max_inv / M) +
          8 * std::ldexp(1.0, -53) * max_inv * max_w * (2 + max_dev * max_dev * max_inv * max_inv);
      const Bound bx{ulp, gx_abs};
      auto check_against = [&](const char* what, const std::vector<T>& wx, const std::vector<T>& ww,
                               const std::vector<T>& wb) {
        INFO("against " << what);
        CHECK_WITHIN(got[0], wx, bx);
        CHECK_WITHIN(got[1], ww, bw);
        CHECK_WITHIN(got[2], wb, bb);
      };
      check_against("the one-block kernel", ref[0], ref[1], ref[2]);
      check_against("the CPU", gx, gw, gb);
    }
}

}  // namespace

TEST_CASE(
    "cuda split batch norm: the one-block kernels' and the CPU's sums, the same bits on "
    "every run",
    "[cuda]") {
  PTL_SKIP_WITHOUT_GPU();
  uint32_t seed = 500;
  for (const Shape3& s : kSplitShapes) {
    check_split_kernels<float>(s, seed);
    check_split_kernels<double>(s, seed);
    seed += 3;
  }
  // A shape of one slice a channel stays on the one-block kernels, bit for bit.
  const Shape3& s = kOneSliceShape;
  const auto x = test::random_values<float>(static_cast<size_t>(s.N * s.C * s.S), 9, -2, 3);
  DeviceVec<float> dx(x);
  std::vector<std::vector<double>> means;
  for (bool split : {false, true}) {
    SplitBatchnorm on(split);
    DeviceVec<double> m(static_cast<size_t>(s.C)), v(static_cast<size_t>(s.C));
    cuda::batchnorm_stats(dx.get(), s.N, s.C, s.S, m.get(), v.get());
    means.push_back(m.host());
  }
  CHECK_SAME_BITS(means[1], means[0]);
}

#endif  // PTL_WITH_CUDA
