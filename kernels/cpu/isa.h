// The instruction set the CPU kernels compute with: one binary for every x86-64 machine with
// AVX2+FMA, whose GEMM micro-kernels and some loops (parallel_for_isa below) also exist for
// AVX-512 and are chosen once, at start-up, from CPUID. PTL_CPU_ISA=avx2|avx512|avx512bf16
// forces a path. avx512bf16 is avx512 whose bf16 GEMM runs VDPBF16PS (AVX512_BF16) where the
// other two emulate it (kernels/cpu/gemm_bf16.h). Every path gives the same bits (the lanes of a
// vector are output elements, never parts of one sum; docs/architecture.md, Determinism), so
// the choice changes the speed only.
#pragma once
#include <cstdint>
#include <string>

#include "base/parallel.h"

namespace ptl::cpu {

enum class Isa { avx2, avx512, avx512bf16 };  // each path needs the ones before it

const char* isa_name(Isa isa);
bool isa_supported(Isa isa);  // the CPU and the operating system both support it
Isa best_isa();               // the widest supported path

// The path in use: PTL_CPU_ISA when set (an unknown or unsupported value throws ptl::Error
// naming it), otherwise best_isa(). Read once; set_isa() changes it for the whole process
// (tests run one computation on every path) and throws when the CPU lacks the path.
Isa current_isa();
void set_isa(Isa isa);

// "avx2 (CPU supports: avx2; bf16 products: emulated with float FMAs)": the line --version, run
// logs and benchmarks print.
std::string isa_description();

// body() compiled a second time, for AVX-512F: the whole call tree of the body is inlined into
// this function (flatten), whose target adds AVX-512F to the build's AVX2+FMA, so its loops are
// vectorised over 512-bit registers. Callees that are not inlined keep their AVX2 code, and no
// symbol other than this function's own gets AVX-512 code, so an AVX2 machine never meets it.
template <class F>
[[gnu::flatten, gnu::target("avx512f")]] void run_avx512(const F& body) {
  body();
}

// parallel_for (base/parallel.h) whose chunks run the loops compiled for the path in use: the
// build's AVX2+FMA code or run_avx512's copy. The same bits on both paths only where the loop
// has no multiply-add that the compiler may fuse or not: a lane is one output element and
// nothing is reassociated without -ffast-math, but under -ffp-contract=fast GCC decides per
// compiled loop whether a * b + c becomes one fused operation (tests/test_cpu_paths.cpp found
// batch norm's backward one rounding apart). So: element-wise forward ops, pooling and the
// optimizer updates (compiled with -ffp-contract=off) use it; batch norm, the gates and the
// element-wise backward keep one AVX2 compilation.
template <class F>
void parallel_for_isa(int64_t n, int64_t grain, const F& body) {
  const bool wide = current_isa() != Isa::avx2;
  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    if (wide)
      run_avx512([&] { body(begin, end); });
    else
      body(begin, end);
  });
}

}  // namespace ptl::cpu
