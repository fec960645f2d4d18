// k-reciprocal re-ranking (train/rerank) against the dense NumPy reference
// (tests/reference/reid_eval_ref.py), from features and from distance-matrix blocks.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "evaluation/distance.h"
#include "evaluation/rerank.h"
#include "reid_test_util.h"
#include "tests/compare.h"

using namespace ptl;
using Catch::Matchers::Contains;
using reid_test::f32;

namespace {

struct RerankCase {
  int64_t Q, G;
  std::vector<float> qq, qg, gg;  // the blocks the reference takes
  RerankOptions opt;
};

// The reference's parameters: defaults, k1 above the image count, k2 = 1 (no query
// expansion), lambda at both ends.
// Every re-ranked distance within 2e-6 of the reference's.
constexpr ptl::test::Bound kRerankBound{0, 2e-6};

RerankOptions params(int i) {
  const int k1s[] = {20, 3, 7, 1, 60};
  const int k2s[] = {6, 1, 2, 6, 3};
  const double lambdas[] = {0.3, 0.0, 1.0, 0.5, 0.3};
  RerankOptions o;
  o.k1 = k1s[i % 5];
  o.k2 = k2s[(i / 5) % 5];
  o.lambda = lambdas[(i / 2) % 5];
  return o;
}

std::vector<float> rerank_rows(const RandomAccessDistance& all, int64_t Q,
                               const RerankOptions& opt) {
  RerankedDistance rr(all, Q, opt);
  std::vector<float> out(Q * rr.cols());
  rr.fill_rows(0, Q, out.data());
  return out;
}

}  // namespace

TEST_CASE("re-ranking from features matches the reference", "[reid][rerank]") {
  std::mt19937_64 rng(31);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::normal_distribution<float> n01;
  ptl::test::TempDir dir;
  reid_test::RefBatch batch;
  struct FeatCase {
    int64_t Q, G, D;
    std::vector<float> x;  // (Q + G, D)
    Metric m;
    RerankOptions opt;
  };
  std::vector<FeatCase> cases;
  for (int i = 0; i < 40; ++i) {
    FeatCase c{
        uni(1, 15), uni(2, 60), i % 2 ? 16 : 4, {}, i % 3 == 2 ? Metric::Cosine : Metric::Euclidean,
        params(i)};
    const int64_t N = c.Q + c.G;
    c.x.resize(N * c.D);
    // Clusters of a few identities, so that k-reciprocal sets are not trivial.
    std::vector<float> centres(6 * c.D);
    for (float& v : centres) v = n01(rng);
    for (int64_t r = 0; r < N; ++r) {
      const int64_t id = uni(0, 5);
      for (int64_t k = 0; k < c.D; ++k) c.x[r * c.D + k] = centres[id * c.D + k] + 0.5f * n01(rng);
    }
    if (i % 4 == 0 && N > 4)  // a duplicated image: exact ties
      std::copy(c.x.begin(), c.x.begin() + c.D, c.x.begin() + (N - 1) * c.D);
    FeatureDistance all(c.x.data(), N, c.x.data(), N, c.D, c.m);
    std::vector<float> full(N * N), qq(c.Q * c.Q), qg(c.Q * c.G), gg(c.G * c.G);
    all.fill_rows(0, N, full.data());
    for (int64_t r = 0; r < N; ++r)
      for (int64_t s = 0; s < N; ++s) {
        const float v = full[r * N + s];
        if (r < c.Q && s < c.Q)
          qq[r * c.Q + s] = v;
        else if (r < c.Q)
          qg[r * c.G + s - c.Q] = v;
        else if (s >= c.Q)
          gg[(r - c.Q) * c.G + s - c.Q] = v;
      }
    const std::string p = batch.prefix(i);
    batch.tensors[p + "qq"] = f32(qq, {c.Q, c.Q});
    batch.tensors[p + "qg"] = f32(qg, {c.Q, c.G});
    batch.tensors[p + "gg"] = f32(gg, {c.G, c.G});
    batch.meta[p + "task"] = "rerank";
    batch.meta[p + "k1"] = std::to_string(c.opt.k1);
    batch.meta[p + "k2"] = std::to_string(c.opt.k2);
    batch.meta[p + "lambda"] = std::to_string(c.opt.lambda);
    cases.push_back(std::move(c));
  }
  batch.cases = int(cases.size());
  TensorMap ref = batch.run(dir);
  for (int i = 0; i < batch.cases; ++i) {
    const FeatCase& c = cases[i];
    INFO("case " << i << ": Q=" << c.Q << " G=" << c.G << " k1=" << c.opt.k1 << " k2=" << c.opt.k2
                 << " lambda=" << c.opt.lambda << " " << metric_name(c.m));
    FeatureDistance all(c.x.data(), c.Q + c.G, c.x.data(), c.Q + c.G, c.D, c.m);
    CHECK_WITHIN(rerank_rows(all, c.Q, c.opt),
                 ref.at(batch.prefix(i) + "rerank").to_double_vector(),
                 kRerankBound);  // the documented tolerance
  }
}

TEST_CASE("re-ranking from distance blocks matches the reference, ties and asymmetry included",
          "[reid][rerank]") {
  std::mt19937_64 rng(77);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::uniform_real_distribution<float> u(0.1f, 3.0f);
  ptl::test::TempDir dir;
  reid_test::RefBatch batch;
  std::vector<RerankCase> cases;
  for (int i = 0; i < 30; ++i) {
    RerankCase c{uni(1, 12), uni(2, 40), {}, {}, {}, params(i)};
    // Asymmetric blocks (the reference reads columns); i % 3 == 0: few distinct values, many ties.
    auto fill = [&](std::vector<float>& v, int64_t n) {
      v.resize(n);
      for (float& x : v) x = i % 3 == 0 ? std::floor(u(rng) * 2) + 1 : u(rng);
    };
    fill(c.qq, c.Q * c.Q);
    fill(c.qg, c.Q * c.G);
    fill(c.gg, c.G * c.G);
    for (int64_t k = 0; k < c.Q; ++k) c.qq[k * c.Q + k] = 0;
    for (int64_t k = 0; k < c.G; ++k) c.gg[k * c.G + k] = 0;
    const std::string p = batch.prefix(i);
    batch.tensors[p + "qq"] = f32(c.qq, {c.Q, c.Q});
    batch.tensors[p + "qg"] = f32(c.qg, {c.Q, c.G});
    batch.tensors[p + "gg"] = f32(c.gg, {c.G, c.G});
    batch.meta[p + "task"] = "rerank";
    batch.meta[p + "k1"] = std::to_string(c.opt.k1);
    batch.meta[p + "k2"] = std::to_string(c.opt.k2);
    batch.meta[p + "lambda"] = std::to_string(c.opt.lambda);
    cases.push_back(std::move(c));
  }
  batch.cases = int(cases.size());
  TensorMap ref = batch.run(dir);
  for (int i = 0; i < batch.cases; ++i) {
    const RerankCase& c = cases[i];
    INFO("case " << i << ": Q=" << c.Q << " G=" << c.G << " k1=" << c.opt.k1 << " k2=" << c.opt.k2);
    BlockDistance all(c.qq.data(), c.qg.data(), c.gg.data(), c.Q, c.G);
    CHECK_WITHIN(rerank_rows(all, c.Q, c.opt),
                 ref.at(batch.prefix(i) + "rerank").to_double_vector(), kRerankBound);
  }
}

TEST_CASE("re-ranking refuses above its memory bound and on bad input", "[reid][rerank]") {
  const std::vector<float> qq = {0, 1, 1, 0}, qg = {1, 2, 3, 2, 1, 3},
                           gg = {0, 1, 2, 1, 0, 1, 2, 1, 0};
  BlockDistance all(qq.data(), qg.data(), gg.data(), 2, 3);
  RerankOptions tight;
  tight.memory_limit = 1 << 20;
  CHECK_THROWS_WITH(RerankedDistance(all, 2, tight),
                    Contains("above the limit of") && Contains("GiB"));
  CHECK_THROWS_WITH(RerankedDistance(all, 0, {}), Contains("at least one query"));
  RerankOptions bad_k;
  bad_k.k1 = 0;
  CHECK_THROWS_WITH(RerankedDistance(all, 2, bad_k), Contains("k1 and k2"));
  const std::vector<float> zeros(9, 0.0f);  // holds all three all-zero blocks (4, 6 and 9 values)
  BlockDistance flat(zeros.data(), zeros.data(), zeros.data(), 2, 3);
  CHECK_THROWS_WITH(RerankedDistance(flat, 2, {}), Contains("distance 0 from every image"));
  // MSMT17 size fits the default 4 GiB limit, as docs/evaluation.md states.
  CHECK(rerank_memory_bound(11659 + 82161, RerankOptions{}) < RerankOptions{}.memory_limit);
}
