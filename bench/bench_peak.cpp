// The machine's float32 arithmetic peak: independent fused multiply-add chains in registers, no
// memory traffic, per thread count. scripts/bench_cpu.sh divides every achieved GFLOP/s by this
// figure (at its thread count), so "% of peak" means the peak this machine reaches now (turbo
// clock included), not a nominal one. 12 chains cover the FMA latency (4 cycles) times the two
// FMA pipes with room to spare.
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <algorithm>
#include <thread>

namespace {

constexpr int kChains = 12;

// 8-lane AVX2 FMAs, the instructions ptl's default build (-march=x86-64-v3) computes with,
// compiled for them whatever -march says and run only where the CPU has them. On Zen 4 512-bit
// FMAs run as two 256-bit halves, so this is also the AVX-512 peak there; on a CPU with
// full-width 512-bit FMA units it is half of that.
#define PTL_AVX2_FMA __attribute__((target("avx2,fma")))
using Vec = __m256;
constexpr int kLanes = 8;
PTL_AVX2_FMA Vec splat(float v) { return _mm256_set1_ps(v); }
PTL_AVX2_FMA Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
PTL_AVX2_FMA float lane0(Vec v) { return _mm256_cvtss_f32(v); }

PTL_AVX2_FMA void BM_PeakFma(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    state.SkipWithError("this CPU has no AVX2/FMA");
    return;
  }
  constexpr int64_t kIters = 1 << 20;
  const Vec mul = splat(0.999f), add = splat(0.001f);
  Vec acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = splat(static_cast<float>(i));
  for (auto _ : state) {
    for (int64_t it = 0; it < kIters; ++it)
#pragma GCC unroll 12
      for (int i = 0; i < kChains; ++i) acc[i] = fma(acc[i], mul, add);
    for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);
  }
  float sink = 0;
  for (int i = 0; i < kChains; ++i) sink += lane0(acc[i]);
  benchmark::DoNotOptimize(sink);
  // Counters are summed over the threads and divided by the wall time: the whole machine's rate.
  const double flops = 2.0 * kLanes * kChains * kIters * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PeakFma)
    ->DenseThreadRange(1, std::max(1u, std::thread::hardware_concurrency()))
    ->UseRealTime()
    ->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
