// The instruction set the CPU kernels compute with: one binary for every x86-64 machine with
// AVX2+FMA, whose GEMM micro-kernels also exist for AVX-512 and are chosen once, at start-up,
// from CPUID. PTL_CPU_ISA=avx2|avx512 forces a path. Every path gives the same bits (the lanes
// of a vector are output elements, never parts of one sum; docs/architecture.md, Determinism),
// so the choice changes the speed only.
#pragma once
#include <string>

namespace ptl::cpu {

enum class Isa { avx2, avx512 };

const char* isa_name(Isa isa);
bool isa_supported(Isa isa);  // the CPU and the operating system both support it
Isa best_isa();               // the widest supported path

// The path in use: PTL_CPU_ISA when set (an unknown or unsupported value throws ptl::Error
// naming it), otherwise best_isa(). Read once; set_isa() changes it for the whole process
// (tests run one computation on every path) and throws when the CPU lacks the path.
Isa current_isa();
void set_isa(Isa isa);

// "avx512 (AVX-512F; CPU has avx2 avx512)": the line --version, run logs and benchmarks print.
std::string isa_description();

}  // namespace ptl::cpu
