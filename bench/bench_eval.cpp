// ReID evaluation at dataset sizes: features -> distances (tiled GEMM) -> CMC/mAP/mINP, and
// k-reciprocal re-ranking. Features are synthetic (identity centres plus noise, 2 cameras);
// only the evaluation is timed. Counters: peak_rss_mb (process peak so far, from getrusage).
// scripts/bench_eval.sh runs the same sizes through `ptl evaluate` beside the NumPy reference.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <cstdint>
#include <vector>

#include "evaluation/distance.h"
#include "evaluation/reid_metrics.h"
#include "evaluation/rerank.h"

namespace {

struct Data {
  int64_t Q, G, D;
  std::vector<float> x;  // (Q + G, D): queries then gallery
  ptl::ReidIds q, g;
};

// Deterministic and fast: a xorshift stream, ids cycling over `ids` persons.
Data make_data(int64_t Q, int64_t G, int64_t D, int64_t ids) {
  Data d{Q, G, D, std::vector<float>((Q + G) * D), {}, {}};
  uint64_t s = 88172645463325252ull;
  auto next = [&] {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return float(s >> 40) / float(1 << 24) - 0.5f;
  };
  std::vector<float> centres(ids * D);
  for (float& v : centres) v = next();
  for (int64_t i = 0; i < Q + G; ++i) {
    const int64_t pid = i % ids;
    (i < Q ? d.q : d.g).pids.push_back(pid);
    (i < Q ? d.q : d.g).camids.push_back(i < Q ? 0 : (i / ids) % 2 + 1);
    for (int64_t k = 0; k < D; ++k) d.x[i * D + k] = centres[pid * D + k] + 1.5f * next();
  }
  return d;
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

void BM_Evaluate(benchmark::State& st) {
  const Data d = make_data(st.range(0), st.range(1), st.range(2), st.range(3));
  for (auto _ : st) {
    ptl::FeatureDistance dist(d.x.data(), d.Q, d.x.data() + d.Q * d.D, d.G, d.D,
                              ptl::Metric::Euclidean);
    benchmark::DoNotOptimize(ptl::evaluate_reid(dist, d.q, d.g).mAP);
  }
  st.counters["gemm_gflop"] = 2.0 * d.Q * d.G * d.D / 1e9;
  st.counters["peak_rss_mb"] = peak_rss_mb();
}

void BM_Rerank(benchmark::State& st) {
  const Data d = make_data(st.range(0), st.range(1), st.range(2), st.range(3));
  const int64_t N = d.Q + d.G;
  for (auto _ : st) {
    ptl::FeatureDistance all(d.x.data(), N, d.x.data(), N, d.D, ptl::Metric::Euclidean);
    ptl::RerankedDistance rr(all, d.Q);
    benchmark::DoNotOptimize(ptl::evaluate_reid(rr, d.q, d.g).mAP);
  }
  st.counters["peak_rss_mb"] = peak_rss_mb();
}

// Market-1501: 3,368 x 15,913 (751 test ids); MSMT17: 11,659 x 82,161 (3,060 ids); 2048-d.
BENCHMARK(BM_Evaluate)
    ->Args({3368, 15913, 2048, 751})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_Evaluate)
    ->Args({11659, 82161, 2048, 3060})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_Rerank)
    ->Args({3368, 15913, 2048, 751})
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
