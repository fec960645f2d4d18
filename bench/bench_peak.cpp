// The machine's arithmetic peak on each CPU path (kernels/cpu/isa.h): independent chains of one
// instruction in registers, no memory traffic, per thread count. scripts/bench_cpu.sh divides
// every achieved GFLOP/s by the figure of the path in use (at its thread count), so "% of peak"
// means the peak this machine reaches now on the instructions ptl runs (turbo clock included),
// not a nominal one. 12 chains cover the FMA latency (4 cycles) times the two FMA pipes with
// room to spare. A multiply-add counts 2 FLOPs, so a pair step of VDPBF16PS counts 4.
//   BM_PeakFma/avx2    8-lane AVX2 FMAs (every ptl kernel can use them)
//   BM_PeakFma/avx512  16-lane AVX-512 FMAs (the GEMM micro-kernels where the CPU has them); on
//                      Zen 4 they run as two 256-bit halves, so this equals the AVX2 figure there
//   BM_PeakBf16/avx512bf16  16-lane VDPBF16PS (the bf16 GEMM's instruction, AVX512_BF16)
//   BM_PeakBf16/avx2_emulated, /avx512_emulated  the bf16 peak of the paths that emulate
//                      VDPBF16PS: two float FMAs a pair, so the FMA figure of that width
//   BM_MicroKernelBf16/<path>  the bf16 GEMM micro-kernel (kernels/cpu/gemm_bf16.h) on packed
//                      panels that stay in L1/L2, one thread: GFLOP/s and its fraction of the
//                      path's bf16 peak measured by the same run (counter peak_fraction), both
//                      on the thread's CPU time
#include <benchmark/benchmark.h>

#include <immintrin.h>

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/gemm_micro.h"
#include "kernels/cpu/isa.h"

namespace {

constexpr int kChains = 12;
constexpr int64_t kIters = 1 << 20;

// One loop per instruction, each compiled for its own instruction set (target attribute) and
// run only where the CPU has it: `iters` rounds of kChains independent chains; returns the
// FLOPs done.
#define PTL_PEAK_LOOP(NAME, TARGET, VEC, INIT, STEP, LANE0, FLOPS_PER_STEP) \
  __attribute__((target(TARGET))) double NAME(int64_t iters) {              \
    VEC acc[kChains];                                                       \
    for (int i = 0; i < kChains; ++i) acc[i] = INIT(static_cast<float>(i)); \
    for (int64_t it = 0; it < iters; ++it)                                  \
      _Pragma("GCC unroll 12") for (int i = 0; i < kChains; ++i) STEP;      \
    float sink = 0;                                                         \
    for (int i = 0; i < kChains; ++i) sink += LANE0(acc[i]);                \
    benchmark::DoNotOptimize(sink);                                         \
    return double(FLOPS_PER_STEP) * kChains * static_cast<double>(iters);   \
  }

// a * 0.999 + 0.001 keeps the chains finite; the bf16 pairs (0.999, 0.001) likewise.
#define PTL_FMA_STEP(MM) acc[i] = MM##_fmadd_ps(acc[i], MM##_set1_ps(0.999f), MM##_set1_ps(0.001f))
PTL_PEAK_LOOP(peak_avx2, "avx2,fma", __m256, _mm256_set1_ps, PTL_FMA_STEP(_mm256), _mm256_cvtss_f32,
              2 * 8)
PTL_PEAK_LOOP(peak_avx512, "avx512f,fma", __m512, _mm512_set1_ps, PTL_FMA_STEP(_mm512),
              _mm512_cvtss_f32, 2 * 16)
PTL_PEAK_LOOP(peak_avx512bf16, "avx512f,avx512bf16", __m512, _mm512_set1_ps,
              acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)_mm512_set1_epi32(0x3A833F7F),
                                        (__m512bh)_mm512_set1_epi32(0x3F803F80)),
              _mm512_cvtss_f32, 4 * 16)

// The path's bf16 peak loop, and its micro-kernel with the tile shape.
struct Bf16Path {
  ptl::cpu::Isa isa;
  double (*peak)(int64_t);
};
constexpr Bf16Path kBf16Paths[] = {{ptl::cpu::Isa::avx2, peak_avx2},
                                   {ptl::cpu::Isa::avx512, peak_avx512},
                                   {ptl::cpu::Isa::avx512bf16, peak_avx512bf16}};

// Counters are summed over the threads and divided by the wall time: the machine's rate.
void bm_peak(benchmark::State& state, ptl::cpu::Isa isa, double (*loop)(int64_t)) {
  if (!ptl::cpu::isa_supported(isa)) {
    state.SkipWithError("this CPU lacks the path");
    return;
  }
  double flops = 0;
  for (auto _ : state) flops += loop(kIters);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
}

// CPU time of the calling thread: on a shared machine the kernel and the peak it is compared
// with both count the time this thread ran, not the time others took the core.
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// GFLOP/s of loop(iters) on this thread's CPU time, timed once after a warm-up of the same length.
double gflops_of(double (*loop)(int64_t), int64_t iters) {
  loop(iters);
  const double t0 = thread_seconds();
  const double flops = loop(iters);
  return flops * 1e-9 / (thread_seconds() - t0);
}

// The tile swept over one MC x KC panel of A against one KC x NR sliver of B, as gemm_blocked
// sweeps them (accumulating into C), with ordinary values (no NaN, no denormals).
void bm_micro_kernel_bf16(benchmark::State& state, Bf16Path path) {
  using namespace ptl::cpu;
  if (!isa_supported(path.isa)) {
    state.SkipWithError("this CPU lacks the path");
    return;
  }
  // Panels of 0.5 and 0.25: pairs of bf16 for VDPBF16PS, floats (one k a step) for the emulation.
  const bool native = path.isa == Isa::avx512bf16;
  const TileShape s = native ? kAvx512Bf16 : path.isa == Isa::avx512 ? kAvx512F32 : kAvx2F32;
  std::vector<uint32_t> a(static_cast<size_t>(s.mc * s.kc), native ? 0x3F003F00u : 0x3F000000u),
      b(static_cast<size_t>(s.kc * s.nr), native ? 0x3E803E80u : 0x3E800000u);
  std::vector<float> c(static_cast<size_t>(s.mc * s.nr));
  const auto sweep = [&](auto tile, auto* pa, auto* pb) {
    for (int64_t ir = 0; ir < s.mc; ir += s.mr)
      tile(s.kc, pa + ir * s.kc, pb, c.data() + ir * s.nr, s.nr, true);
  };
  const auto* fa = reinterpret_cast<const float*>(a.data());
  const auto* fb = reinterpret_cast<const float*>(b.data());
  const auto t0 = thread_seconds();
  for (auto _ : state)
    if (native)
      sweep(avx512bf16_micro_kernel(), a.data(), b.data());
    else
      sweep((path.isa == Isa::avx512 ? avx512_micro_kernels() : avx2_micro_kernels()).bf16, fa, fb);
  const double seconds = thread_seconds() - t0;
  const double flops = (native ? 4.0 : 2.0) * s.mc * s.nr * s.kc * state.iterations();
  const double gflops = flops * 1e-9 / seconds, peak = gflops_of(path.peak, kIters / 4);
  state.counters["GFLOP/s"] = gflops;
  state.counters["peak_GFLOP/s"] = peak;
  state.counters["peak_fraction"] = gflops / peak;
}

void register_all() {
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto each_thread_count = [&](benchmark::internal::Benchmark* b) {
    b->DenseThreadRange(1, threads)->UseRealTime()->MinTime(0.5);
  };
  each_thread_count(
      benchmark::RegisterBenchmark("BM_PeakFma/avx2", bm_peak, ptl::cpu::Isa::avx2, peak_avx2));
  each_thread_count(benchmark::RegisterBenchmark("BM_PeakFma/avx512", bm_peak,
                                                 ptl::cpu::Isa::avx512, peak_avx512));
  each_thread_count(benchmark::RegisterBenchmark("BM_PeakBf16/avx512bf16", bm_peak,
                                                 ptl::cpu::Isa::avx512bf16, peak_avx512bf16));
  each_thread_count(benchmark::RegisterBenchmark("BM_PeakBf16/avx2_emulated", bm_peak,
                                                 ptl::cpu::Isa::avx2, peak_avx2));
  each_thread_count(benchmark::RegisterBenchmark("BM_PeakBf16/avx512_emulated", bm_peak,
                                                 ptl::cpu::Isa::avx512, peak_avx512));
  for (const Bf16Path& p : kBf16Paths)
    benchmark::RegisterBenchmark(
        (std::string("BM_MicroKernelBf16/") + ptl::cpu::isa_name(p.isa)).c_str(),
        bm_micro_kernel_bf16, p)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
