// The machine's float32 arithmetic peak on each CPU path (kernels/cpu/isa.h): independent fused
// multiply-add chains in registers, no memory traffic, per thread count. scripts/bench_cpu.sh
// divides every achieved GFLOP/s by the figure of the path in use (at its thread count), so
// "% of peak" means the peak this machine reaches now on the instructions ptl runs (turbo clock
// included), not a nominal one. 12 chains cover the FMA latency (4 cycles) times the two FMA
// pipes with room to spare.
//   BM_PeakFma/avx2    8-lane AVX2 FMAs (every ptl kernel can use them)
//   BM_PeakFma/avx512  16-lane AVX-512 FMAs (the GEMM micro-kernels where the CPU has them); on
//                      Zen 4 they run as two 256-bit halves, so this equals the AVX2 figure there
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <algorithm>
#include <thread>

namespace {

constexpr int kChains = 12;
constexpr int64_t kIters = 1 << 20;

// One benchmark per instruction set, each compiled for its own (target attribute) and run only
// where the CPU has it.
#define PTL_PEAK(NAME, TARGET, CPU_FLAG, VEC, LANES, SPLAT, FMA, LANE0)                            \
  __attribute__((target(TARGET))) void NAME(benchmark::State& state) {                             \
    if (!__builtin_cpu_supports(CPU_FLAG) || !__builtin_cpu_supports("fma")) {                     \
      state.SkipWithError("this CPU has no " CPU_FLAG);                                            \
      return;                                                                                      \
    }                                                                                              \
    const VEC mul = SPLAT(0.999f), add = SPLAT(0.001f);                                            \
    VEC acc[kChains];                                                                              \
    for (int i = 0; i < kChains; ++i) acc[i] = SPLAT(static_cast<float>(i));                       \
    for (auto _ : state) {                                                                         \
      for (int64_t it = 0; it < kIters; ++it)                                                      \
        _Pragma("GCC unroll 12") for (int i = 0; i < kChains; ++i) acc[i] = FMA(acc[i], mul, add); \
      for (int i = 0; i < kChains; ++i) benchmark::DoNotOptimize(acc[i]);                          \
    }                                                                                              \
    float sink = 0;                                                                                \
    for (int i = 0; i < kChains; ++i) sink += LANE0(acc[i]);                                       \
    benchmark::DoNotOptimize(sink);                                                                \
    /* Counters are summed over the threads and divided by the wall time: the machine's rate */    \
    const double flops = 2.0 * LANES * kChains * kIters * static_cast<double>(state.iterations()); \
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);     \
  }

PTL_PEAK(PeakAvx2, "avx2,fma", "avx2", __m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_cvtss_f32)
PTL_PEAK(PeakAvx512, "avx512f,fma", "avx512f", __m512, 16, _mm512_set1_ps, _mm512_fmadd_ps,
         _mm512_cvtss_f32)

const int kThreads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
BENCHMARK(PeakAvx2)
    ->Name("BM_PeakFma/avx2")
    ->DenseThreadRange(1, kThreads)
    ->UseRealTime()
    ->MinTime(0.5);
BENCHMARK(PeakAvx512)
    ->Name("BM_PeakFma/avx512")
    ->DenseThreadRange(1, kThreads)
    ->UseRealTime()
    ->MinTime(0.5);

}  // namespace

BENCHMARK_MAIN();
