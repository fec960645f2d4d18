// Host-side planning of the CUDA kernels (kernels/cuda/strided_index.h, pool_table.h,
// work_split.h, extreme_rule.h), checked on the CPU in
// every build: strided-index packing, reduction splits, the (value, index) rule of the max/min
// tree reductions, the pooling window tables and the backward gathers (the very functions the
// kernels call), and the optimizer's chunk plan.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "kernels/cpu/pool.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cuda/extreme_rule.h"
#include "kernels/cuda/pool_table.h"
#include "kernels/cuda/strided_index.h"
#include "kernels/cuda/work_split.h"
#include "tests/cuda_kernel_data.h"

using namespace ptl;
using ptl::cuda::StridedIndex;

namespace {

// Offsets of operand k at every row-major index, computed the slow way.
std::vector<int64_t> naive_offsets(const std::vector<int64_t>& shape,
                                   const std::vector<int64_t>& strides) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (size_t d = shape.size(); d-- > 0;) {
      off += (rem % shape[d]) * strides[d];
      rem /= shape[d];
    }
    out[static_cast<size_t>(i)] = off;
  }
  return out;
}

template <int K>
StridedIndex<K> index_of(const std::vector<int64_t>& shape,
                         const std::vector<std::vector<int64_t>>& strides) {
  const std::vector<int64_t>* ptrs[K];
  for (int k = 0; k < K; ++k) ptrs[k] = &strides[static_cast<size_t>(k)];
  return cuda::make_strided_index<K>(shape, ptrs);
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("strided index: size-1 dimensions dropped, mergeable dimensions merged", "[cuda_host]") {
  SECTION("contiguous operands become one contiguous dimension") {
    const auto ix = index_of<2>({2, 3, 4}, {{12, 4, 1}, {12, 4, 1}});
    CHECK(ix.nd == 1);
    CHECK(ix.size[0] == 24);
    CHECK(ix.contiguous());
  }
  SECTION("size-1 dimensions disappear whatever their stride") {
    const auto ix = index_of<2>({1, 4, 1, 5}, {{99, 5, 7, 1}, {0, 5, 3, 1}});
    CHECK(ix.nd == 1);
    CHECK(ix.numel() == 20);
    CHECK(ix.contiguous());
  }
  SECTION("a broadcast operand keeps the dimensions apart") {
    const auto ix = index_of<2>({4, 3, 5}, {{15, 5, 1}, {0, 1, 0}});
    CHECK(ix.nd == 3);
    CHECK_FALSE(ix.contiguous());
  }
  SECTION("a broadcast over the leading dimensions merges those") {
    const auto ix = index_of<2>({4, 3, 5}, {{15, 5, 1}, {0, 0, 1}});
    CHECK(ix.nd == 2);
    CHECK(ix.size[0] == 12);
    CHECK(ix.size[1] == 5);
    CHECK(ix.stride[1][0] == 0);
  }
  SECTION("negative strides merge when they line up") {
    const auto ix = index_of<2>({3, 4}, {{-4, -1}, {4, 1}});
    CHECK(ix.nd == 1);
    CHECK(ix.stride[0][0] == -1);
    CHECK_FALSE(ix.contiguous());
  }
  SECTION("a transpose does not merge") {
    const auto ix = index_of<2>({3, 4}, {{1, 3}, {4, 1}});
    CHECK(ix.nd == 2);
  }
  SECTION("zero-size and 0-d shapes") {
    CHECK(index_of<2>({3, 0, 2}, {{0, 2, 1}, {0, 2, 1}}).numel() == 0);
    const auto scalar = index_of<2>({}, {{}, {}});
    CHECK(scalar.nd == 0);
    CHECK(scalar.numel() == 1);
    CHECK(scalar.contiguous());
    int64_t off[2] = {5, 5};
    scalar.offsets(int64_t(0), off);
    CHECK((off[0] == 0 && off[1] == 0));
  }
  SECTION("more than 8 dimensions, or a stride vector of the wrong length, is refused") {
    const std::vector<int64_t> nine(9, 1);
    CHECK_THROWS_WITH(index_of<1>(nine, {nine}), Catch::Contains("at most 8"));
    CHECK_THROWS_WITH(index_of<1>({2, 3}, {{1}}), Catch::Contains("entries"));
  }
}

TEST_CASE("strided index offsets equal the row-major walk for random shapes and strides",
          "[cuda_host]") {
  std::mt19937 gen(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int nd = static_cast<int>(gen() % 9);  // 0..8 dimensions
    std::vector<int64_t> shape(static_cast<size_t>(nd));
    for (auto& s : shape) s = 1 + gen() % 3;
    std::vector<std::vector<int64_t>> strides(3, std::vector<int64_t>(static_cast<size_t>(nd)));
    for (auto& st : strides) {
      const int kind = static_cast<int>(gen() % 3);
      if (kind == 0) {
        st = row_major_strides(shape);  // contiguous
      } else {
        for (auto& s : st)
          s = static_cast<int64_t>(gen() % 41) - 20;  // anything, 0 and negative included
      }
      if (kind == 2 && nd > 0) st[gen() % nd] = 0;  // a broadcast dimension
    }
    const auto ix = index_of<3>(shape, strides);
    REQUIRE(ix.nd <= nd);
    std::vector<std::vector<int64_t>> want;
    for (const auto& st : strides) want.push_back(naive_offsets(shape, st));
    const int64_t n = ix.numel();
    REQUIRE(n == static_cast<int64_t>(want[0].size()));
    for (int64_t i = 0; i < n; ++i) {
      int64_t o64[3], o32[3];
      ix.offsets(i, o64);
      ix.offsets(static_cast<int32_t>(i), o32);
      for (int k = 0; k < 3; ++k) {
        REQUIRE(o64[k] == want[k][static_cast<size_t>(i)]);
        REQUIRE(o32[k] == want[k][static_cast<size_t>(i)]);
      }
    }
  }
}

TEST_CASE("reduction splits cover every element and depend only on the shape", "[cuda_host]") {
  CHECK(cuda::split_parts(5000, 1 << 20, 1024, 1 << 14) == 1);  // enough rows already
  CHECK(cuda::split_parts(1, 1000, 1024, 1 << 14) == 1);        // short rows
  CHECK(cuda::split_parts(1, int64_t(1) << 30, 1024, 1 << 14) == 1024);
  for (int64_t reductions : {1, 3, 100, 1023})
    for (int64_t size : {1, 63, 64, 129, 1000, 65537, 1 << 20, 12345679}) {
      const int64_t parts = cuda::split_parts(reductions, size, 1024, 64);
      REQUIRE(parts >= 1);
      REQUIRE(parts <= 1024);
      const int64_t chunk = (size + parts - 1) / parts;
      CHECK(parts * chunk >= size);  // every element in a part
      if (parts > 1) CHECK(chunk >= 64);
    }
}

TEST_CASE(
    "the (value, index) rule of the max/min reductions gives the sequential answer in any order",
    "[cuda_host]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double pool[] = {0.0, -0.0, 1.0, 2.0, 2.0, -3.0, nan};
  std::mt19937 gen(11);
  for (int trial = 0; trial < 400; ++trial) {
    const int64_t n = 1 + gen() % 90;
    std::vector<double> x(static_cast<size_t>(n));
    const bool with_nan = trial % 3 == 0;
    for (auto& v : x) v = pool[gen() % (with_nan ? 7 : 6)];
    for (bool is_max : {true, false}) {
      double want_v = 0;
      int64_t want_i = 0;
      cpu::extreme_dim(x.data(), &want_v, &want_i, 1, n, 1, is_max);
      // Lane-strided partial scans and a shuffle-down tree, as the row kernel (reduce.cu).
      double lv[32];
      int64_t li[32];
      for (int lane = 0; lane < 32; ++lane) {
        li[lane] = n;  // no element
        lv[lane] = 0;
        for (int64_t s = lane; s < n; s += 32)
          if (li[lane] == n || cuda::extreme_takes_over(x[s], s, lv[lane], li[lane], is_max)) {
            lv[lane] = x[s];
            li[lane] = s;
          }
      }
      for (int off = 16; off > 0; off >>= 1)
        for (int lane = 0; lane + off < 32; ++lane) {
          const int o = lane + off;
          if (li[o] < n && (li[lane] >= n ||
                            cuda::extreme_takes_over(lv[o], li[o], lv[lane], li[lane], is_max))) {
            lv[lane] = lv[o];
            li[lane] = li[o];
          }
        }
      REQUIRE(li[0] == want_i);
      REQUIRE(same_bits(lv[0], want_v));
      // And a fold in a random order.
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
      std::shuffle(order.begin(), order.end(), gen);
      double bv = x[order[0]];
      int64_t bi = order[0];
      for (size_t k = 1; k < order.size(); ++k)
        if (cuda::extreme_takes_over(x[order[k]], order[k], bv, bi, is_max)) {
          bv = x[order[k]];
          bi = order[k];
        }
      REQUIRE(bi == want_i);
      REQUIRE(same_bits(bv, want_v));
    }
  }
}

namespace {
std::vector<PoolWindows> pool_geometries() {
  return {
      test::fixed_pool_windows(9, 7, 3, 2, 1, false, false, false),  // ResNet stem max pool
      test::fixed_pool_windows(9, 7, 3, 2, 1, true, true, true),     // ceil mode, count_include_pad
      test::fixed_pool_windows(8, 8, 2, 2, 0, false, true, false),   // non-overlapping
      test::fixed_pool_windows(10, 11, 2, 3, 0, false, true, false),  // stride > kernel: gaps
      test::fixed_pool_windows(5, 6, 5, 1, 2, true, true, false),  // windows larger than the stride
      test::adaptive_pool_windows(12, 4, 6, 1),                    // MGN stripes
      test::adaptive_pool_windows(7, 5, 3, 4),                     // overlapping adaptive windows
      test::adaptive_pool_windows(3, 2, 1, 1),                     // global
  };
}
}  // namespace

TEST_CASE("pool tables: layout, covering ranges and divisors", "[cuda_host]") {
  for (const PoolWindows& pw : pool_geometries()) {
    const cuda::PoolTable t = cuda::make_pool_table(pw);
    const cuda::PoolTableView v = cuda::view_pool_table(t, t.words.data());
    REQUIRE(t.words.size() == static_cast<size_t>(2 * pw.OH + 2 * pw.OW + 2 * pw.H + 2 * pw.W +
                                                  static_cast<int64_t>(pw.divisor.size())));
    for (int64_t o = 0; o < pw.OH; ++o) CHECK((v.h0[o] == pw.h0[o] && v.h1[o] == pw.h1[o]));
    for (int64_t o = 0; o < pw.OW; ++o) CHECK((v.w0[o] == pw.w0[o] && v.w1[o] == pw.w1[o]));
    // Along one axis: lo[i] and hi[i] are the first and last output whose window [b0, b1) holds
    // input i (n_out and -1 when none does).
    const auto check_covering = [](const int64_t* lo, const int64_t* hi, int64_t n_in,
                                   int64_t n_out, const auto& b0, const auto& b1) {
      for (int64_t i = 0; i < n_in; ++i) {
        int64_t want_lo = n_out, want_hi = -1;
        for (int64_t o = 0; o < n_out; ++o)
          if (b0[o] <= i && i < b1[o])
            want_lo = std::min(want_lo, o), want_hi = std::max(want_hi, o);
        CHECK(lo[i] == want_lo);
        CHECK(hi[i] == want_hi);
      }
    };
    check_covering(v.hlo, v.hhi, pw.H, pw.OH, pw.h0, pw.h1);
    check_covering(v.wlo, v.whi, pw.W, pw.OW, pw.w0, pw.w1);
    if (pw.divisor.empty()) {
      CHECK(v.divisor == nullptr);
    } else {
      for (size_t i = 0; i < pw.divisor.size(); ++i) CHECK(same_bits(v.divisor[i], pw.divisor[i]));
    }
  }
  PoolWindows bad = test::adaptive_pool_windows(4, 4, 2, 2);
  bad.h1.pop_back();
  CHECK_THROWS_WITH(cuda::make_pool_table(bad), Catch::Contains("row and"));
}

TEST_CASE("pooling backward gathers equal the CPU scatters bit for bit", "[cuda_host]") {
  const int64_t planes = 3;
  uint32_t seed = 1;
  for (PoolWindows pw : pool_geometries()) {
    if (pw.divisor.empty())  // give every geometry divisors so both poolings run on it
      for (int64_t i = 0; i < pw.OH; ++i)
        for (int64_t j = 0; j < pw.OW; ++j)
          pw.divisor.push_back(static_cast<double>((pw.h1[i] - pw.h0[i]) * (pw.w1[j] - pw.w0[j])));
    const cuda::PoolTable t = cuda::make_pool_table(pw);
    const cuda::PoolTableView v = cuda::view_pool_table(t, t.words.data());
    const int64_t in = pw.H * pw.W, out = pw.OH * pw.OW;
    // Few distinct values: ties, and inputs that are the maximum of several windows.
    std::vector<float> x =
        test::random_values<float>(static_cast<size_t>(planes * in), seed++, 0, 4);
    for (float& e : x) e = std::floor(e);
    const std::vector<float> gy =
        test::random_values<float>(static_cast<size_t>(planes * out), seed++);
    std::vector<float> y(static_cast<size_t>(planes * out));
    std::vector<int64_t> idx(y.size());
    cpu::max_pool_forward(x.data(), y.data(), idx.data(), planes, pw);
    std::vector<float> want(static_cast<size_t>(planes * in)), got(want.size());
    cpu::max_pool_backward(gy.data(), idx.data(), want.data(), planes, pw);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t h = 0; h < pw.H; ++h)
        for (int64_t w = 0; w < pw.W; ++w)
          got[p * in + h * pw.W + w] =
              cuda::max_pool_gather(v, idx.data() + p * out, gy.data() + p * out, h, w);
    CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);

    cpu::avg_pool_backward(gy.data(), want.data(), planes, pw);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t h = 0; h < pw.H; ++h)
        for (int64_t w = 0; w < pw.W; ++w)
          got[p * in + h * pw.W + w] = cuda::avg_pool_gather(v, gy.data() + p * out, h, w);
    CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("multi-tensor chunk plans cover every element of every slot once", "[cuda_host]") {
  const std::vector<int64_t> ns = {0, 1, 16384, 16385, 100000, 0, 7};
  const int64_t chunk = 16384;
  const auto items = cuda::plan_chunks(ns, chunk);
  std::vector<std::vector<int>> seen(ns.size());
  for (size_t s = 0; s < ns.size(); ++s) seen[s].assign(static_cast<size_t>(ns[s]), 0);
  int32_t last_slot = -1;
  for (const auto& it : items) {
    REQUIRE(it.slot >= last_slot);  // slot by slot
    last_slot = it.slot;
    REQUIRE(it.begin % chunk == 0);
    REQUIRE(it.begin < ns[it.slot]);
    for (int64_t i = it.begin; i < std::min(ns[it.slot], it.begin + chunk); ++i) ++seen[it.slot][i];
  }
  for (const auto& s : seen)
    for (int c : s) REQUIRE(c == 1);
  CHECK(items.size() == 1 + 1 + 2 + 7 + 1);
  CHECK(cuda::plan_chunks({}, chunk).empty());
  CHECK_THROWS(cuda::plan_chunks({4}, 0));
}
