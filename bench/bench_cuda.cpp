// GPU benchmarks (needs a CUDA build and device): conv2d at ResNet-50's layer shapes for batch
// 64 at 3x256x128, forward and forward+backward through the real op (cuDNN), and the fused
// BConv-Cell gate kernels at PTL-ResNet50's side-branch shapes.
//
// Times are CUDA-event times on ptl's stream (DeviceTimer), median of Google Benchmark's
// repetitions after warm-up. Counters: GFLOP/s for convolutions (a multiply-add is 2 FLOPs,
// backward is twice the forward), GB/s for the gate kernels (the bytes each kernel must read and
// write once), with the share of PEAK_GBS (environment, default 4800: the H200's HBM3e).
// `bench_cuda --list_shapes` prints the cases as JSON for scripts/bench_gpu_ops_torch.py;
// `--nondeterministic` lets cuDNN take non-deterministic algorithms (PyTorch's default).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/autograd.h"
#include "engine/device_timer.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace {

using namespace ptl;

constexpr int64_t kBatch = 64;
const Device kGpu = Device::cuda(0);

struct ConvCase {
  const char* name;
  int64_t C, H, W, Cout, K, stride, pad;
  int64_t OH() const { return (H + 2 * pad - K) / stride + 1; }
  int64_t OW() const { return (W + 2 * pad - K) / stride + 1; }
  double flops() const { return 2.0 * kBatch * Cout * OH() * OW() * C * K * K; }
};

// Layer l of ResNet-50 at 256x128 runs at (256/2^(l+1)) x (128/2^(l+1)).
const ConvCase kConvs[] = {
    {"stem_7x7s2_3to64", 3, 256, 128, 64, 7, 2, 3},
    {"l1_1x1_64to256", 64, 64, 32, 256, 1, 1, 0},
    {"l1_3x3_64", 64, 64, 32, 64, 3, 1, 1},
    {"l2_3x3s2_128", 128, 64, 32, 128, 3, 2, 1},
    {"l2_down_1x1s2_256to512", 256, 64, 32, 512, 1, 2, 0},
    {"l3_3x3_256", 256, 16, 8, 256, 3, 1, 1},
    {"l3_1x1_1024to256", 1024, 16, 8, 256, 1, 1, 0},
    {"l4_3x3_512", 512, 8, 4, 512, 3, 1, 1},
};

// The state maps (N, C, H, W) of PTL-ResNet50's cells at 3x256x128 (docs/models.md).
struct GateCase {
  const char* name;
  int64_t C, H, W;
};
const GateCase kGates[] = {
    {"bconv1_16x128x64", 16, 128, 64}, {"bconv2_32x64x32", 32, 64, 32},
    {"bconv3_64x64x32", 64, 64, 32},   {"bconv4_256x32x16", 256, 32, 16},
    {"bconv5_512x16x8", 512, 16, 8},
};

double peak_gbs() {
  const char* p = std::getenv("PEAK_GBS");
  return p ? std::atof(p) : 4800.0;
}

// Runs `step` under CUDA-event timing for every benchmark iteration.
template <class F>
void timed(benchmark::State& st, const F& step) {
  DeviceTimer timer(kGpu);
  step();  // warm-up: cuDNN plans, allocator pools
  synchronize(kGpu);
  for (auto _ : st) {
    timer.start();
    step();
    st.SetIterationTime(timer.stop_ms() / 1000.0);
  }
}

void BM_conv(benchmark::State& st, ConvCase c, bool backward) {
  Tensor x = randn({kBatch, c.C, c.H, c.W}).to(kGpu),
         w = mul(randn({c.Cout, c.C, c.K, c.K}), 0.05).to(kGpu);
  x.set_requires_grad(backward);
  w.set_requires_grad(backward);
  Conv2dOptions o{{c.stride, c.stride}, {c.pad, c.pad}, {1, 1}};
  Tensor gy = randn({kBatch, c.Cout, c.OH(), c.OW()}).to(kGpu);
  timed(st, [&] {
    Tensor y = conv2d(x, w, Tensor(), o);
    if (backward) {
      sum(mul(y, gy)).backward();
      x.zero_grad();
      w.zero_grad();
    }
  });
  const double flops = c.flops() * (backward ? 3 : 1);
  st.counters["GFLOP/s"] =
      benchmark::Counter(flops / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_gates(benchmark::State& st, GateCase c, bool backward) {
  Tensor z = randn({kBatch, 4 * c.C, c.H, c.W}).to(kGpu),
         c_prev = randn({kBatch, c.C, c.H, c.W}).to(kGpu);
  z.set_requires_grad(backward);
  Tensor gh = randn({kBatch, c.C, c.H, c.W}).to(kGpu);
  timed(st, [&] {
    if (!backward) {
      bconv_gates(z, c_prev);
      return;
    }
    BConvGates o = bconv_gates(z, c_prev);
    o.h.backward(gh);
    z.zero_grad();
  });
  // Forward reads z (4C) and c_prev (C), writes h and c (2C); backward reads z, c_prev and gh
  // (6C) and writes gz (4C). The timed backward case runs the forward too: 17C in all.
  const double elems = static_cast<double>(kBatch) * c.C * c.H * c.W;
  const double bytes = elems * 4.0 * (backward ? 17 : 7);
  st.counters["GB/s"] =
      benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["%peak_bw"] = benchmark::Counter(100.0 * bytes / 1e9 / peak_gbs(),
                                               benchmark::Counter::kIsIterationInvariantRate);
}

void list_shapes() {
  std::printf("{\"batch\": %lld, \"convs\": [", static_cast<long long>(kBatch));
  for (size_t i = 0; i < std::size(kConvs); ++i) {
    const ConvCase& c = kConvs[i];
    std::printf(
        "%s{\"name\": \"%s\", \"C\": %lld, \"H\": %lld, \"W\": %lld, \"Cout\": %lld, \"K\": %lld, "
        "\"stride\": %lld, \"pad\": %lld}",
        i ? ", " : "", c.name, (long long)c.C, (long long)c.H, (long long)c.W, (long long)c.Cout,
        (long long)c.K, (long long)c.stride, (long long)c.pad);
  }
  std::printf("], \"gates\": [");
  for (size_t i = 0; i < std::size(kGates); ++i)
    std::printf("%s{\"name\": \"%s\", \"C\": %lld, \"H\": %lld, \"W\": %lld}", i ? ", " : "",
                kGates[i].name, (long long)kGates[i].C, (long long)kGates[i].H,
                (long long)kGates[i].W);
  std::printf("]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--list_shapes") == 0) {
      list_shapes();
      return 0;
    }
    // cuDNN's fastest-ranked algorithms instead of deterministic ones (PyTorch's default).
    if (std::strcmp(argv[i], "--nondeterministic") == 0) set_deterministic_convolutions(false);
  }
  if (cuda_device_count() == 0) {
    std::fprintf(stderr,
                 "bench_cuda: no CUDA device (or a CPU-only build); run it on a GPU machine\n");
    return 1;
  }
  for (const ConvCase& c : kConvs) {
    benchmark::RegisterBenchmark((std::string("conv_fwd/") + c.name).c_str(), BM_conv, c, false)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("conv_fwdbwd/") + c.name).c_str(), BM_conv, c, true)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (const GateCase& c : kGates) {
    benchmark::RegisterBenchmark((std::string("gates_fwd/") + c.name).c_str(), BM_gates, c, false)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("gates_fwdbwd/") + c.name).c_str(), BM_gates, c, true)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
