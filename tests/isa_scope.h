// Runs a scope on one CPU instruction-set path (kernels/cpu/isa.h) and restores the previous one
// at its end, also when a REQUIRE throws out of it; supported_isas() lists the paths to compare,
// and on_every_path() runs a check on each of them at each thread count.
#pragma once
#include <catch2/catch.hpp>

#include <initializer_list>
#include <vector>

#include "kernels/cpu/isa.h"
#include "tests/thread_scope.h"

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
  for (const auto isa : {cpu::Isa::avx512, cpu::Isa::avx512bf16})
    if (cpu::isa_supported(isa))
      out.push_back(isa);
    else {
      static bool said[2] = {false, false};
      bool& once = said[isa == cpu::Isa::avx512bf16];
      if (!once) WARN("this CPU has no " << cpu::isa_name(isa) << ": that path is not checked");
      once = true;
    }
  return out;
}

// Runs check() on every path of this CPU at each of `threads`, the pair named in the test output.
template <class F>
void on_every_path(const F& check, std::initializer_list<int> threads = {1, 2}) {
  for (const auto isa : supported_isas())
    for (int n : threads) {
      INFO("path " << cpu::isa_name(isa) << ", " << n << " threads");
      IsaScope path(isa);
      ThreadScope scope(n);
      check();
    }
}

}  // namespace ptl::test
