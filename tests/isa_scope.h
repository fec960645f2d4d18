// Runs a scope on one CPU instruction-set path (kernels/cpu/isa.h) and restores the previous one
// at its end, also when a REQUIRE throws out of it; supported_isas() lists the paths to compare.
#pragma once
#include <catch2/catch.hpp>

#include <vector>

#include "kernels/cpu/isa.h"

namespace ptl::test {

struct IsaScope {
  explicit IsaScope(cpu::Isa isa) : saved(cpu::current_isa()) { cpu::set_isa(isa); }
  ~IsaScope() { cpu::set_isa(saved); }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;
  cpu::Isa saved;
};

// Every path this CPU has; a missing one is named once in the test output, so a run on an
// AVX2-only machine says what it could not check.
inline std::vector<cpu::Isa> supported_isas() {
  std::vector<cpu::Isa> out{cpu::Isa::avx2};
  if (cpu::isa_supported(cpu::Isa::avx512))
    out.push_back(cpu::Isa::avx512);
  else {
    static bool said = false;
    if (!said) WARN("this CPU has no AVX-512: only the avx2 path is checked");
    said = true;
  }
  return out;
}

}  // namespace ptl::test
