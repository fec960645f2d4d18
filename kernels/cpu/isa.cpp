#include "kernels/cpu/isa.h"

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
  fail("PTL_CPU_ISA='" + v + "': allowed: avx2, avx512 (or unset: the widest the CPU has)");
}

std::atomic<int> g_isa{-1};

}  // namespace

const char* isa_name(Isa isa) {
  return isa == Isa::avx512 ? "avx512" : "avx2";
}

bool isa_supported(Isa isa) {
  if (isa == Isa::avx2) return has_avx2();
  return has_avx2() && __builtin_cpu_supports("avx512f");
}

Isa best_isa() {
  return isa_supported(Isa::avx512) ? Isa::avx512 : Isa::avx2;
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
  return std::string(isa_name(current_isa())) + " (CPU supports: avx2" +
         (isa_supported(Isa::avx512) ? " avx512" : "") + ")";
}

}  // namespace ptl::cpu
