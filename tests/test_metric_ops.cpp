// The metric-learning kernels on the CPU (kernels/contract/normalize.inc, triplet.inc) through
// their ops: batch-hard mining (first index on ties, NaN propagates, -1 without a positive or a
// negative), gather_pairs' scatter backward, l2_normalize against its composition from generic
// ops, and the triplet loss's batch check. The CUDA twins: test_cuda_kernels.cpp; the
// gradients: op_cases.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "tests/gradcheck.h"
#include "train/losses.h"

using namespace ptl;
using Catch::Contains;

namespace {
template <class T>
Tensor dist_of(const std::vector<double>& v, int64_t N) {
  return from_vector(v, {N, N}).to(std::is_same_v<T, float> ? DType::F32 : DType::F64);
}
}  // namespace

TEMPLATE_TEST_CASE("batch_hard_mine: hardest positive and negative, first index on ties",
                   "[metric]", float, double) {
  // Labels 0 0 1 0 1: anchor 0 has positives 1 and 3 at equal distance (2), negatives 2 and 4
  // at equal distance (1); the first index wins each tie. The diagonal (0) is never a positive.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor labels = from_vector(std::vector<int64_t>{0, 0, 1, 0, 1}, {5});
  Tensor dist = dist_of<TestType>({0, 2,   1,   2, 1,    //
                                   2, 0,   3,   5, 0.5,  //
                                   1, 3,   0,   4, 9,    //
                                   2, 5,   4,   0, 4,    //
                                   1, 0.5, nan, 4, 0},
                                  5);
  BatchHardMined m = batch_hard_mine(dist, labels);
  CHECK(m.pos_index.to_int_vector() == std::vector<int64_t>{1, 3, 4, 1, 2});
  CHECK(m.neg_index.to_int_vector() == std::vector<int64_t>{2, 4, 0, 2, 1});
  const std::vector<double> pv = m.pos_value.to_double_vector(),
                            nv = m.neg_value.to_double_vector();
  CHECK(pv[0] == 2);
  CHECK(pv[1] == 5);
  CHECK(pv[2] == 9);
  CHECK(nv[1] == 0.5);
  CHECK(nv[3] == 4);
  // Row 4: its only positive is NaN (propagates, as max does); negatives 1 (0.5) and 0 (1).
  CHECK(std::isnan(pv[4]));
  CHECK(nv[4] == 0.5);
}

TEMPLATE_TEST_CASE("batch_hard_mine: a row without a positive or a negative gets -1 and NaN",
                   "[metric]", float, double) {
  // Labels 0 1 1: anchor 0 has no positive; with one class only, nobody has a negative.
  Tensor labels = from_vector(std::vector<int64_t>{0, 1, 1}, {3});
  Tensor dist = dist_of<TestType>({0, 1, 2, 1, 0, 3, 2, 3, 0}, 3);
  BatchHardMined m = batch_hard_mine(dist, labels);
  CHECK(m.pos_index.to_int_vector() == std::vector<int64_t>{-1, 2, 1});
  CHECK(m.neg_index.to_int_vector() == std::vector<int64_t>{1, 0, 0});
  CHECK(std::isnan(m.pos_value.to_double_vector()[0]));

  Tensor same = from_vector(std::vector<int64_t>{4, 4, 4}, {3});
  BatchHardMined s = batch_hard_mine(dist, same);
  CHECK(s.pos_index.to_int_vector() == std::vector<int64_t>{2, 2, 1});
  CHECK(s.neg_index.to_int_vector() == std::vector<int64_t>{-1, -1, -1});
  for (double v : s.neg_value.to_double_vector()) CHECK(std::isnan(v));

  BatchHardMined one =
      batch_hard_mine(dist_of<TestType>({0}, 1), from_vector(std::vector<int64_t>{7}, {1}));
  CHECK(one.pos_index.to_int_vector() == std::vector<int64_t>{-1});
  CHECK(one.neg_index.to_int_vector() == std::vector<int64_t>{-1});
}

TEST_CASE("gather_pairs picks x[i, index[i]] and scatters the gradient back", "[metric]") {
  Tensor x = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3}).set_requires_grad();
  Tensor out = gather_pairs(x, from_vector(std::vector<int64_t>{2, 0}, {2}));
  CHECK(out.to_double_vector() == std::vector<double>{3, 4});
  sum(mul(out, from_vector(std::vector<double>{10, -1}, {2}))).backward();
  CHECK(x.grad().to_double_vector() == std::vector<double>{0, 0, 10, -1, 0, 0});
}

TEST_CASE("l2_normalize equals x / max(|x|, eps) from generic ops, forward and backward",
          "[metric]") {
  for (int64_t dim : {0, 1, 2}) {
    INFO("dim " << dim);
    Tensor x0 = test::uniform64({3, 4, 5}, 90 + static_cast<uint64_t>(dim));
    Tensor g = test::uniform64({3, 4, 5}, 95);
    Tensor a = x0.clone().set_requires_grad(), b = x0.clone().set_requires_grad();
    Tensor ya = l2_normalize(a, dim);
    Tensor yb = div(b, clamp(sqrt(sum(mul(b, b), {dim}, true)), 1e-12, INFINITY));
    sum(mul(ya, g)).backward();
    sum(mul(yb, g)).backward();
    const auto va = ya.to_double_vector(), vb = yb.to_double_vector();
    const auto ga = a.grad().to_double_vector(), gb = b.grad().to_double_vector();
    for (size_t i = 0; i < va.size(); ++i) {
      CHECK(va[i] == Approx(vb[i]).epsilon(1e-12).margin(1e-14));
      CHECK(ga[i] == Approx(gb[i]).epsilon(1e-10).margin(1e-12));
    }
  }
}

TEST_CASE("l2_normalize of a zero row is zero with gradient g / eps", "[metric]") {
  Tensor x = from_vector(std::vector<double>{0, 0, 0, 3, 4, 0}, {2, 3}).set_requires_grad();
  Tensor y = l2_normalize(x, 1, 1e-6);
  CHECK(y.to_double_vector() == std::vector<double>{0, 0, 0, 0.6, 0.8, 0});
  sum(mul(y, from_vector(std::vector<double>{1, -2, 3, 0, 0, 0}, {2, 3}))).backward();
  const auto gx = x.grad().to_double_vector();
  CHECK(gx[0] == Approx(1e6));
  CHECK(gx[1] == Approx(-2e6));
  CHECK(gx[2] == Approx(3e6));
}

TEST_CASE("the triplet loss names a batch without a positive or a negative", "[metric]") {
  Tensor f = test::uniform64({4, 3}, 99);
  CHECK_THROWS_WITH(
      batch_hard_triplet(f, from_vector(std::vector<int64_t>{0, 0, 1, 2}, {4}), 0.3),
      Contains("sample 2 (label 1)") && Contains("use a PK sampler with K >= 2 and P >= 2"));
  CHECK_THROWS_WITH(
      batch_hard_triplet(f, from_vector(std::vector<int64_t>{5, 5, 5, 5}, {4}), 0.3),
      Contains("sample 0 (label 5)") && Contains("use a PK sampler with K >= 2 and P >= 2"));
  TripletResult r = batch_hard_triplet(f, from_vector(std::vector<int64_t>{0, 1, 0, 1}, {4}), 0.3);
  CHECK(std::isfinite(r.loss.item()));
}
