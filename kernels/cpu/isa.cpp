#include "kernels/cpu/isa.h"

#include <cpuid.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "base/error.h"

// This file is compiled for baseline x86-64 (CMakeLists.txt), so the start-up check below runs
// on any x86-64 CPU and can say what is missing instead of dying on an illegal instruction.

namespace ptl::cpu {

namespace {

bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// Runs before any constructor of the program's own code (priority 101 precedes the default),
// which the compiler may already have built with AVX2 instructions.
__attribute__((constructor(101))) void require_avx2() {
  if (has_avx2()) return;
  const char msg[] =
      "ptl: this CPU lacks AVX2 and FMA, which every ptl build needs (x86-64-v3: Intel Haswell, "
      "AMD Zen or later)\n";
  [[maybe_unused]] ssize_t n = write(2, msg, sizeof msg - 1);
  _exit(1);
}

// AVX512_BF16: CPUID leaf 7, sub-leaf 1, EAX bit 5 (the operating system's support of the
// AVX-512 registers is checked with AVX-512F, whose registers it uses).
bool has_avx512_bf16() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || eax < 1) return false;  // sub-leaves
  __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx);
  return (eax >> 5) & 1u;
}

Isa parse_env() {
  const char* env = std::getenv("PTL_CPU_ISA");
  if (!env || !*env) return best_isa();
  const std::string v = env;
  if (v == "avx2") return Isa::avx2;
  if (v == "avx512") {
    PTL_CHECK(isa_supported(Isa::avx512),
              "PTL_CPU_ISA=avx512: this CPU (or its operating system) has no AVX-512F; unset "
              "PTL_CPU_ISA or set it to avx2");
    return Isa::avx512;
  }
  if (v == "avx512bf16") {
    PTL_CHECK(isa_supported(Isa::avx512bf16),
              "PTL_CPU_ISA=avx512bf16: this CPU (or its operating system) has no AVX-512F with "
              "AVX512_BF16; unset PTL_CPU_ISA or set it to ",
              isa_name(best_isa()));
    return Isa::avx512bf16;
  }
  fail("PTL_CPU_ISA='" + v +
       "': allowed: avx2, avx512, avx512bf16 (or unset: the widest the CPU has)");
}

std::atomic<int> g_isa{-1};

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx2:
      return "avx2";
    case Isa::avx512:
      return "avx512";
    case Isa::avx512bf16:
      return "avx512bf16";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  const bool avx512 = has_avx2() && __builtin_cpu_supports("avx512f");
  switch (isa) {
    case Isa::avx2:
      return has_avx2();
    case Isa::avx512:
      return avx512;
    case Isa::avx512bf16:
      return avx512 && has_avx512_bf16();
  }
  return false;
}

Isa best_isa() {
  for (const Isa isa : {Isa::avx512bf16, Isa::avx512})
    if (isa_supported(isa)) return isa;
  return Isa::avx2;
}

Isa current_isa() {
  int v = g_isa.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(parse_env());
    g_isa.store(v, std::memory_order_relaxed);
  }
  return static_cast<Isa>(v);
}

void set_isa(Isa isa) {
  PTL_CHECK(isa_supported(isa), "CPU path ", isa_name(isa), ": this CPU does not support it");
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
}

std::string isa_description() {
  std::string out = std::string(isa_name(current_isa())) + " (CPU supports: avx2";
  for (const Isa isa : {Isa::avx512, Isa::avx512bf16})
    if (isa_supported(isa)) out += std::string(" ") + isa_name(isa);
  return out + (current_isa() == Isa::avx512bf16 ? "; bf16 products: VDPBF16PS)"
                                                 : "; bf16 products: emulated with float FMAs)");
}

}  // namespace ptl::cpu
