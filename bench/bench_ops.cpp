// CPU GEMM (float32, and bf16 operands: gemm_bf16/*) and conv2d at ResNet-50's layer shapes
// (batch 16, input 3x256x128), 1 and 2 threads, and the GEMM micro-kernel alone on each CPU path.
//
// GEMM cases call kernels/cpu/gemm directly; conv2d cases call the real op, ptl::conv2d, and
// for forward+backward run ptl's autograd (input and weight gradients, no bias, as ResNet's
// convs). Each case reports a GFLOP/s counter (a multiply-add counts 2 FLOPs; backward is
// counted as twice the forward FLOPs). `bench_ops --list_shapes` prints the conv cases as
// JSON for scripts/bench_ops_torch.py, so both sides run the same shapes.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "base/parallel.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/gemm_micro.h"
#include "kernels/cpu/isa.h"

namespace {

constexpr int64_t kBatch = 16;

struct GemmCase {
  const char* name;
  bool trans_b;
  int64_t M, N, K;
};

// C (M,N) = A (M,K) op(B). The 1x1 convs are (Cout, Cin) x (Cin, batch*H*W); the stem is one
// image's im2col product; the classifier is x (16, 2048) W^T.
const GemmCase kGemms[] = {
    {"stem_im2col_64x8192x147", false, 64, 8192, 147},
    {"l1_1x1_256to64", false, 64, kBatch * 64 * 32, 256},
    {"l2_1x1_128to512", false, 512, kBatch * 32 * 16, 128},
    {"l3_1x1_256to1024", false, 1024, kBatch * 16 * 8, 256},
    {"l4_1x1_2048to512", false, 512, kBatch * 8 * 4, 2048},
    {"fc_2048to751", true, kBatch, 751, 2048},
    {"fc_2048to1000", true, kBatch, 1000, 2048},
};

struct ConvCase {
  const char* name;
  int64_t C, H, W, Cout, KH, KW, stride, pad;
  int64_t OH() const { return (H + 2 * pad - KH) / stride + 1; }
  int64_t OW() const { return (W + 2 * pad - KW) / stride + 1; }
  double flops() const { return 2.0 * kBatch * Cout * OH() * OW() * C * KH * KW; }
};

// Layer l runs at (256/2^(l+1)) x (128/2^(l+1)); the strided convs open layers 2..4.
const ConvCase kConvs[] = {
    {"stem_7x7s2_3to64", 3, 256, 128, 64, 7, 7, 2, 3},
    {"l1_1x1_64to256", 64, 64, 32, 256, 1, 1, 1, 0},
    {"l1_3x3_64", 64, 64, 32, 64, 3, 3, 1, 1},
    {"l2_3x3s2_128", 128, 64, 32, 128, 3, 3, 2, 1},
    {"l2_down_1x1s2_256to512", 256, 64, 32, 512, 1, 1, 2, 0},
    {"l3_3x3_256", 256, 16, 8, 256, 3, 3, 1, 1},
    {"l3_1x1_1024to256", 1024, 16, 8, 256, 1, 1, 1, 0},
    {"l4_3x3_512", 512, 8, 4, 512, 3, 3, 1, 1},
    {"l4_1x1_512to2048", 512, 8, 4, 2048, 1, 1, 1, 0},
};

void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// gemm/*: float operands; gemm_bf16/*: the same values as bf16 (kernels/cpu/gemm_bf16.h).
template <class T>
void bm_gemm(benchmark::State& state, const GemmCase& c) {
  ptl::set_num_threads(static_cast<int>(state.range(0)));
  const auto value = [](float v) {
    if constexpr (std::is_same_v<T, float>)
      return v;
    else
      return ptl::to_bf16(v);
  };
  std::vector<T> a(c.M * c.K), b(c.K * c.N);
  std::vector<float> out(c.M * c.N);
  for (size_t i = 0; i < a.size(); ++i) a[i] = value(static_cast<float>(i % 7) * 0.1f);
  for (size_t i = 0; i < b.size(); ++i) b[i] = value(static_cast<float>(i % 5) * 0.1f);
  for (auto _ : state) {
    if constexpr (std::is_same_v<T, float>)
      ptl::cpu::gemm<float>(false, c.trans_b, c.M, c.N, c.K, 1.f, a.data(), c.K, b.data(),
                            c.trans_b ? c.K : c.N, 0.f, out.data(), c.N);
    else
      ptl::cpu::gemm_bf16(false, c.trans_b, c.M, c.N, c.K, 1.f, a.data(), c.K, b.data(),
                          c.trans_b ? c.K : c.N, 0.f, out.data(), c.N);
    benchmark::DoNotOptimize(out.data());
  }
  set_gflops(state, 2.0 * c.M * c.N * c.K);
}

void bm_conv(benchmark::State& state, const ConvCase& c, bool backward) {
  ptl::set_num_threads(static_cast<int>(state.range(0)));
  ptl::manual_seed(0);
  ptl::Tensor x = ptl::randn({kBatch, c.C, c.H, c.W});
  ptl::Tensor w = ptl::randn({c.Cout, c.C, c.KH, c.KW});
  ptl::Tensor gy = ptl::randn({kBatch, c.Cout, c.OH(), c.OW()});
  x.set_requires_grad(backward);
  w.set_requires_grad(backward);
  ptl::Conv2dOptions opt;
  opt.stride = {c.stride, c.stride};
  opt.padding = {c.pad, c.pad};
  for (auto _ : state) {
    ptl::Tensor y = ptl::conv2d(x, w, ptl::Tensor(), opt);
    if (backward) {
      x.zero_grad();
      w.zero_grad();
      y.backward(gy);
    }
    benchmark::DoNotOptimize(y.raw_data());
  }
  set_gflops(state, c.flops() * (backward ? 3 : 1));
}

// The float micro-kernel alone on panels that stay in L1/L2, one thread: one sliver of B (KC x
// NR) against the MC / MR slivers of one packed A panel, as gemm.cpp's inner loops run it
// (KC and MC of the path, gemm_micro.h). The gap to bench_peak is the micro-kernel's own loss;
// the gap from here to a convolution's GFLOP/s is packing, im2col and memory traffic.
void bm_micro_kernel(benchmark::State& state, ptl::cpu::Isa isa) {
  if (!ptl::cpu::isa_supported(isa)) {
    state.SkipWithError("this CPU lacks the path");
    return;
  }
  const bool wide = isa == ptl::cpu::Isa::avx512;
  const ptl::cpu::TileShape s = wide ? ptl::cpu::kAvx512F32 : ptl::cpu::kAvx2F32;
  const auto tile = (wide ? ptl::cpu::avx512_micro_kernels() : ptl::cpu::avx2_micro_kernels()).f32;
  std::vector<float> a(static_cast<size_t>(s.mc * s.kc), 0.5f),
      b(static_cast<size_t>(s.kc * s.nr), 0.25f), c(static_cast<size_t>(s.mc * s.nr));
  for (auto _ : state)
    for (int64_t ir = 0; ir < s.mc; ir += s.mr)
      tile(s.kc, a.data() + ir * s.kc, b.data(), c.data() + ir * s.nr, s.nr, true);
  set_gflops(state, 2.0 * s.mc * s.nr * s.kc);
}

// Every case at 1 and 2 threads, timed by the wall clock (CPU time would count one thread).
void configure(benchmark::internal::Benchmark* b) {
  b->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
}

void register_all() {
  for (const auto isa : {ptl::cpu::Isa::avx2, ptl::cpu::Isa::avx512})
    benchmark::RegisterBenchmark((std::string("micro_kernel/") + ptl::cpu::isa_name(isa)).c_str(),
                                 bm_micro_kernel, isa)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  for (const GemmCase& c : kGemms) {
    configure(
        benchmark::RegisterBenchmark((std::string("gemm/") + c.name).c_str(), bm_gemm<float>, c));
    configure(benchmark::RegisterBenchmark((std::string("gemm_bf16/") + c.name).c_str(),
                                           bm_gemm<ptl::bf16>, c));
  }
  for (const ConvCase& c : kConvs) {
    configure(benchmark::RegisterBenchmark((std::string("conv_fwd/") + c.name).c_str(), bm_conv, c,
                                           false));
    configure(benchmark::RegisterBenchmark((std::string("conv_fwdbwd/") + c.name).c_str(), bm_conv,
                                           c, true));
  }
}

// {"gemm": [...], "conv": [...]}: the cases, for scripts/bench_ops_torch.py.
void list_shapes() {
  auto ll = [](int64_t v) { return static_cast<long long>(v); };
  const char* sep = "";
  std::printf("{\"gemm\": [");
  for (const GemmCase& c : kGemms) {
    std::printf("%s\n  {\"name\": \"%s\", \"trans_b\": %s, \"M\": %lld, \"N\": %lld, \"K\": %lld}",
                sep, c.name, c.trans_b ? "true" : "false", ll(c.M), ll(c.N), ll(c.K));
    sep = ",";
  }
  sep = "";
  std::printf("],\n\"conv\": [");
  for (const ConvCase& c : kConvs) {
    std::printf(
        "%s\n  {\"name\": \"%s\", \"N\": %lld, \"C\": %lld, \"H\": %lld, \"W\": %lld, "
        "\"Cout\": %lld, \"KH\": %lld, \"KW\": %lld, \"stride\": %lld, \"pad\": %lld}",
        sep, c.name, ll(kBatch), ll(c.C), ll(c.H), ll(c.W), ll(c.Cout), ll(c.KH), ll(c.KW),
        ll(c.stride), ll(c.pad));
    sep = ",";
  }
  std::printf("]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--list_shapes") == 0) {
    list_shapes();
    return 0;
  }
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
