// The ReID protocol (train/reid_metrics) and query-gallery distances (train/distance) against
// the NumPy reference tests/reference/reid_eval_ref.py, on many random cases.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "evaluation/distance.h"
#include "evaluation/reid_metrics.h"
#include "reid_test_util.h"
#include "tests/compare.h"
#include "tests/thread_scope.h"

using namespace ptl;
using Catch::Matchers::Contains;
using reid_test::f32;
using reid_test::i64;

namespace {

struct Case {
  int64_t Q = 0, G = 0;
  std::vector<float> dist;  // (Q, G)
  ReidIds q, g;
  EvalOptions opt;
};

// Small random cases that hit the protocol's corners: ties (quantised distances, duplicated
// gallery columns), distractors (pid 0) and junk ids (-1), one camera only (no valid match),
// one-image galleries, max_rank above the gallery size, CUHK03 classic draws.
Case random_case(std::mt19937_64& rng, int i) {
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  Case c;
  c.Q = uni(1, 12);
  c.G = i % 10 == 0 ? 1 : uni(1, 45);
  const int64_t P = uni(1, 6), C = i % 7 == 0 ? 1 : uni(2, 4);
  auto ids = [&](int64_t n, ReidIds& out) {
    for (int64_t k = 0; k < n; ++k) {
      out.pids.push_back(uni(0, 9) == 0 ? -1 : uni(0, P - 1));  // 0: distractor, -1: junk id
      out.camids.push_back(uni(0, C - 1));
    }
  };
  ids(c.Q, c.q);
  ids(c.G, c.g);
  std::uniform_real_distribution<float> u(0.0f, 2.0f);
  c.dist.resize(c.Q * c.G);
  for (float& d : c.dist)
    d = i % 3 == 1 ? std::floor(u(rng) * 2) : u(rng);  // i % 3 == 1: heavy ties
  if (i % 3 == 2 && c.G > 2)                           // duplicated gallery images: equal columns
    for (int64_t r = 0; r < c.Q; ++r) c.dist[r * c.G + c.G - 1] = c.dist[r * c.G + 0];
  const int64_t ranks[] = {1, 5, 10, 50, 100};
  c.opt.max_rank = ranks[uni(0, 4)];
  c.opt.cuhk03_classic = i % 4 == 3;
  c.opt.cuhk03_draws = int(uni(1, 10));
  c.opt.seed = uint64_t(uni(0, 1000));
  return c;
}

}  // namespace

TEST_CASE("reid metrics: a hand-worked query", "[reid]") {
  // Query: person 1, camera 0. Gallery by distance: 0 (1, c1) match; 1 (2, c0); 2 (1, c0) junk,
  // removed; 3 (1, c1) match; 4 (3, c0). Kept ranking: match, miss, match, miss.
  const std::vector<float> d = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  ReidIds q{{1}, {0}}, g{{1, 2, 1, 1, 3}, {1, 0, 0, 1, 0}};
  const EvalResult r = evaluate_reid(DenseDistance(d.data(), 1, 5), q, g);
  CHECK(r.cmc == std::vector<double>{1, 1, 1, 1, 1});  // max_rank 50 capped at G = 5
  CHECK(r.mAP == Approx((1.0 + 2.0 / 3) / 2).margin(1e-15));
  CHECK(r.mINP == Approx(2.0 / 3).margin(1e-15));
  CHECK(r.num_valid == 1);
}

TEST_CASE("reid metrics: camera -1 (unknown) never removes same-id entries", "[reid]") {
  // The hand-worked gallery without cameras: every same-id entry is a match.
  const std::vector<float> d = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  ReidIds q{{1}, {-1}}, g{{1, 2, 1, 1, 3}, {-1, -1, -1, -1, -1}};
  const EvalResult r = evaluate_reid(DenseDistance(d.data(), 1, 5), q, g);
  CHECK(r.num_valid == 1);
  CHECK(r.mAP == Approx((1.0 + 2.0 / 3 + 3.0 / 4) / 3).margin(1e-15));
  CHECK(r.mINP == Approx(3.0 / 4).margin(1e-15));
}

TEST_CASE("reid metrics: equal distances keep gallery order", "[reid]") {
  const std::vector<float> d = {0.5f, 0.5f, 0.5f};
  ReidIds q{{7}, {0}};
  ReidIds g{{3, 7, 4}, {1, 1, 1}};  // the match is second among equals
  const EvalResult r = evaluate_reid(DenseDistance(d.data(), 1, 3), q, g);
  CHECK(r.cmc == std::vector<double>{0, 1, 1});
  CHECK(r.mAP == Approx(0.5).margin(1e-15));
}

TEST_CASE("reid metrics match the NumPy reference on random cases", "[reid]") {
  std::mt19937_64 rng(2024);
  ptl::test::TempDir dir;
  reid_test::RefBatch batch;
  std::vector<Case> cases;
  for (int i = 0; i < 300; ++i) {
    Case c = random_case(rng, i);
    const std::string p = batch.prefix(i);
    batch.tensors[p + "distmat"] = f32(c.dist, {c.Q, c.G});
    batch.tensors[p + "query_pids"] = i64(c.q.pids);
    batch.tensors[p + "query_camids"] = i64(c.q.camids);
    batch.tensors[p + "gallery_pids"] = i64(c.g.pids);
    batch.tensors[p + "gallery_camids"] = i64(c.g.camids);
    batch.meta[p + "task"] = "eval";
    batch.meta[p + "max_rank"] = std::to_string(c.opt.max_rank);
    batch.meta[p + "cuhk03"] = c.opt.cuhk03_classic ? "1" : "0";
    batch.meta[p + "draws"] = std::to_string(c.opt.cuhk03_draws);
    batch.meta[p + "seed"] = std::to_string(c.opt.seed);
    cases.push_back(std::move(c));
  }
  batch.cases = int(cases.size());
  TensorMap ref = batch.run(dir);

  int compared = 0, refused = 0, with_skips = 0, cuhk03 = 0;
  for (int i = 0; i < batch.cases; ++i) {
    const Case& c = cases[i];
    const std::string p = batch.prefix(i);
    INFO("case " << i << ": Q=" << c.Q << " G=" << c.G << " max_rank=" << c.opt.max_rank
                 << " cuhk03=" << c.opt.cuhk03_classic);
    const std::vector<double> summary = ref.at(p + "summary").to_double_vector();
    DenseDistance dist(c.dist.data(), c.Q, c.G);
    if (summary[2] == 0) {  // no query has a match: refused with a clear message
      CHECK_THROWS_WITH(evaluate_reid(dist, c.q, c.g, c.opt), Contains("none of the"));
      ++refused;
      continue;
    }
    const EvalResult r = evaluate_reid(dist, c.q, c.g, c.opt);
    CHECK(r.num_valid == int64_t(summary[2]));
    CHECK(r.cmc == ref.at(p + "cmc").to_double_vector());  // exactly
    CHECK(std::abs(r.mAP - summary[0]) <= 1e-9);
    CHECK(std::abs(r.mINP - summary[1]) <= 1e-9);
    const std::vector<double> ap = ref.at(p + "ap").to_double_vector();
    for (int64_t k = 0; k < c.Q; ++k) {
      if (std::isnan(ap[k]))
        CHECK(std::isnan(r.ap[k]));
      else
        CHECK(std::abs(r.ap[k] - ap[k]) <= 1e-12);
    }
    ++compared;
    with_skips += r.num_skipped > 0;
    cuhk03 += c.opt.cuhk03_classic;
  }
  // The generator must really reach the corners it is meant to.
  CHECK(compared > 150);
  CHECK(refused > 5);
  CHECK(with_skips > 30);
  CHECK(cuhk03 > 30);
}

TEST_CASE("reid metrics do not depend on the tile size or the thread count", "[reid]") {
  std::mt19937_64 rng(7);
  const int64_t Q = 150, G = 700, D = 24;
  std::normal_distribution<float> n01;
  std::vector<float> qf(Q * D), gf(G * D);
  for (float& x : qf) x = n01(rng);
  for (float& x : gf) x = n01(rng);
  ReidIds q, g;
  for (int64_t i = 0; i < Q; ++i) q.pids.push_back(i % 40), q.camids.push_back(i % 3);
  for (int64_t j = 0; j < G; ++j) g.pids.push_back(j % 50), g.camids.push_back(j % 5);
  FeatureDistance dist(qf.data(), Q, gf.data(), G, D, Metric::Euclidean);
  EvalOptions big, small = big;
  small.tile_bytes = 1;  // one row block per tile
  const EvalResult a = evaluate_reid(dist, q, g, big);
  const EvalResult b = [&] {
    test::ThreadScope one(1);
    return evaluate_reid(dist, q, g, small);
  }();
  CHECK(a.cmc == b.cmc);
  CHECK(a.mAP == b.mAP);
  CHECK(a.mINP == b.mINP);
  REQUIRE(a.ap.size() == b.ap.size());  // NaN for skipped queries: compare bits
  CHECK(std::memcmp(a.ap.data(), b.ap.data(), sizeof(double) * a.ap.size()) == 0);
  CHECK(a.num_skipped > 0);
}

TEST_CASE("reid metrics: bad input gives errors naming the tensor", "[reid]") {
  const std::vector<float> d(6, 1.0f);
  ReidIds q{{1, 2}, {0, 0}}, g{{1, 2, 3}, {1, 1, 1}};
  DenseDistance dist(d.data(), 2, 3);
  ReidIds short_q{{1}, {0}}, short_cams{{1, 2, 3}, {1, 1}};
  CHECK_THROWS_WITH(evaluate_reid(dist, short_q, g), Contains("query_pids has 1 entries"));
  CHECK_THROWS_WITH(evaluate_reid(dist, q, short_cams), Contains("gallery_camids has 2 entries"));
  CHECK_THROWS_WITH(evaluate_reid(DenseDistance(d.data(), 0, 3), ReidIds{}, g),
                    Contains("query set is empty"));
  std::vector<float> nan_d = d;
  nan_d[4] = std::nanf("");
  CHECK_THROWS_WITH(evaluate_reid(DenseDistance(nan_d.data(), 2, 3), q, g),
                    Contains("query 1 to gallery image 1 is NaN"));
}

TEST_CASE("cuhk03 draws are a pure function of their inputs and cover every image", "[reid]") {
  std::vector<int> seen(5, 0);
  for (int64_t draw = 0; draw < 200; ++draw) {
    const int64_t k = cuhk03_pick(3, draw, 11, 42, 5);
    REQUIRE(k >= 0);
    REQUIRE(k < 5);
    ++seen[k];
    CHECK(cuhk03_pick(3, draw, 11, 42, 5) == k);
  }
  for (int s : seen) CHECK(s > 10);
}

// ---- distances ----

TEST_CASE("feature distances match the reference (euclidean, sqeuclidean, cosine)", "[reid]") {
  std::mt19937_64 rng(99);
  auto uni = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::normal_distribution<float> n01;
  ptl::test::TempDir dir;
  reid_test::RefBatch batch;
  struct Feat {
    int64_t R, C, D;
    std::vector<float> a, b;
    Metric m;
  };
  std::vector<Feat> cases;
  const Metric metrics[] = {Metric::Euclidean, Metric::SqEuclidean, Metric::Cosine};
  const int64_t dims[] = {1, 7, 64, 300};
  for (int i = 0; i < 18; ++i) {
    Feat f{uni(1, 250), uni(1, 900), dims[i % 4], {}, {}, metrics[i % 3]};
    f.a.resize(f.R * f.D);
    f.b.resize(f.C * f.D);
    for (float& x : f.a) x = n01(rng);
    for (float& x : f.b) x = n01(rng);
    if (f.C > 3)
      std::copy(f.a.begin(), f.a.begin() + f.D, f.b.begin() + 2 * f.D);  // a query in the gallery
    if (f.C > 5)
      std::fill(f.b.begin() + 5 * f.D, f.b.begin() + 6 * f.D, 0.0f);  // an all-zero feature
    const std::string p = batch.prefix(i);
    batch.tensors[p + "a"] = f32(f.a, {f.R, f.D});
    batch.tensors[p + "b"] = f32(f.b, {f.C, f.D});
    batch.meta[p + "task"] = "distance";
    batch.meta[p + "metric"] = metric_name(f.m);
    cases.push_back(std::move(f));
  }
  batch.cases = int(cases.size());
  TensorMap ref = batch.run(dir);
  for (int i = 0; i < batch.cases; ++i) {
    const Feat& f = cases[i];
    INFO("case " << i << ": " << metric_name(f.m) << " R=" << f.R << " C=" << f.C << " D=" << f.D);
    FeatureDistance dist(f.a.data(), f.R, f.b.data(), f.C, f.D, f.m);
    std::vector<float> got(f.R * f.C);
    dist.fill_rows(0, f.R, got.data());
    const std::vector<double> want = ref.at(batch.prefix(i) + "dist").to_double_vector();
    // float32 GEMM error grows with the feature size; compare euclidean as squares, within 1e-6
    // of the size of the terms (|a|^2 + |b|^2, about 4 D; 1 for cosine).
    std::vector<double> g(got.begin(), got.end()), w = want;
    if (f.m == Metric::Euclidean)
      for (size_t k = 0; k < g.size(); ++k) {
        g[k] *= g[k];
        w[k] *= w[k];
      }
    CHECK_WITHIN(g, w, (test::Bound{0, 1e-6 * (f.m == Metric::Cosine ? 1.0 : 4.0 * f.D)}));
    // Single entries agree with the GEMM to float rounding.
    for (int t = 0; t < 20; ++t) {
      const int64_t r = uni(0, f.R - 1), c = uni(0, f.C - 1);
      CHECK(dist.at(r, c) ==
            Approx(got[r * f.C + c]).margin(1e-5 * (f.m == Metric::Cosine ? 1 : 4 * f.D)));
    }
  }
}

TEST_CASE("feature distances: any row range gives the same bits; duplicates are exact ties",
          "[reid]") {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> n01;
  const int64_t N = 500, D = 48;
  std::vector<float> x(N * D);
  for (float& v : x) v = n01(rng);
  for (int64_t j : {100, 401, 499})  // copies of row 3 at other block positions
    std::copy(x.begin() + 3 * D, x.begin() + 4 * D, x.begin() + j * D);
  for (Metric m : {Metric::Euclidean, Metric::Cosine}) {
    FeatureDistance all(x.data(), N, x.data(), N, D, m);
    std::vector<float> full(N * N);
    all.fill_rows(0, N, full.data());
    for (auto [r0, r1] : {std::pair<int64_t, int64_t>{0, 1}, {95, 97}, {150, 420}, {499, 500}}) {
      std::vector<float> part((r1 - r0) * N);
      all.fill_rows(r0, r1, part.data());
      CHECK(std::equal(part.begin(), part.end(), full.begin() + r0 * N));
    }
    int64_t asym = 0, tie_breaks = 0;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j) asym += full[i * N + j] != full[j * N + i];
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j : {100, 401, 499}) tie_breaks += full[i * N + j] != full[i * N + 3];
    CHECK(asym == 0);        // what re-ranking relies on
    CHECK(tie_breaks == 0);  // duplicated features tie exactly, wherever they sit
  }
}
