// The CPU kernels that have an AVX-512 copy besides the GEMM (parallel_for_isa,
// kernels/cpu/isa.h), timed on each CPU path the machine has, 1 thread: a residual add + ReLU,
// a broadcast-free multiply, a 3x3 stride-2 max pooling (ResNet's stem) and an Adam update, on
// 2^20 floats (4 MB an array, so the operands live in L2/L3 as a layer's would). Reports GB/s
// over the bytes each kernel must read and write.
//
//   build/bench/bench_paths --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "base/parallel.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/optim.h"
#include "kernels/cpu/pool.h"
#include "kernels/pool_windows.h"

namespace {

constexpr int64_t kN = 1 << 20;

struct Arrays {
  std::vector<float> a = std::vector<float>(kN, 0.5f), b = std::vector<float>(kN, -0.25f),
                     y = std::vector<float>(kN), m = std::vector<float>(kN, 0.1f),
                     v = std::vector<float>(kN, 0.2f);
  std::vector<int64_t> idx = std::vector<int64_t>(kN);
};

// Runs kernel() on `isa`, reporting GB/s for `bytes` moved per call.
template <class F>
void run(benchmark::State& state, ptl::cpu::Isa isa, double bytes, const F& kernel) {
  ptl::set_num_threads(1);
  ptl::cpu::set_isa(isa);
  for (auto _ : state) kernel();
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void add_relu(benchmark::State& state, ptl::cpu::Isa isa) {
  Arrays t;
  run(state, isa, 12.0 * kN,
      [&] { ptl::cpu::add_relu_forward<float>(t.a.data(), t.b.data(), t.y.data(), kN); });
}

void multiply(benchmark::State& state, ptl::cpu::Isa isa) {
  Arrays t;
  run(state, isa, 12.0 * kN, [&] {
    ptl::cpu::binary_forward<float>(ptl::BinaryOp::Mul, {kN}, t.a.data(), {1}, t.b.data(), {1},
                                    t.y.data());
  });
}

void max_pool(benchmark::State& state, ptl::cpu::Isa isa) {
  Arrays t;
  const int64_t H = 64, W = 32, planes = kN / (H * W);
  const ptl::PoolWindows pw = ptl::fixed_pool_windows(H, W, 3, 3, 2, 2, 1, 1, false, false, false);
  const double outs = static_cast<double>(planes * pw.OH * pw.OW);
  run(state, isa, 4.0 * kN + 12.0 * outs,
      [&] { ptl::cpu::max_pool_forward<float>(t.a.data(), t.y.data(), t.idx.data(), planes, pw); });
}

void adam(benchmark::State& state, ptl::cpu::Isa isa) {
  Arrays t;
  const ptl::AdamHyper h{0.9, 0.1, 0.999, 0.001, 1e-8, 1e-4, 1.0, 0.01, 0.5, false, false};
  run(state, isa, 28.0 * kN, [&] {
    ptl::cpu::adam_update<float>(
        {ptl::AdamSlot<float>{t.y.data(), t.m.data(), t.v.data(), nullptr, t.b.data(), kN, h}});
  });
}

}  // namespace

int main(int argc, char** argv) {
  for (const auto isa : {ptl::cpu::Isa::avx2, ptl::cpu::Isa::avx512}) {
    if (!ptl::cpu::isa_supported(isa)) continue;
    const std::string path = std::string("/") + ptl::cpu::isa_name(isa);
    for (const auto& [name, fn] : {std::pair{"add_relu", add_relu}, std::pair{"multiply", multiply},
                                   std::pair{"max_pool_3x3s2", max_pool}, std::pair{"adam", adam}})
      benchmark::RegisterBenchmark((name + path).c_str(), fn, isa)->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
