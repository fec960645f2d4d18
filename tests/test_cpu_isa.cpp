// The CPU path (kernels/cpu/isa.h) as a user meets it: `ptl --version` names it, and a
// PTL_CPU_ISA that is misspelt or that the CPU cannot honour stops the command with one line.
#include <catch2/catch.hpp>

#include "kernels/cpu/isa.h"
#include "tests/test_util.h"

TEST_CASE("ptl names its CPU path and refuses a PTL_CPU_ISA it cannot honour", "[cli]") {
  const auto version = ptl::test::run_ptl("--version");
  CHECK(version.rc == 0);
  CHECK_THAT(version.out, Catch::Contains(std::string("CPU path: ") +
                                          ptl::cpu::isa_name(ptl::cpu::current_isa())));
  const auto typo = ptl::test::run_ptl_env("PTL_CPU_ISA=avx51", "info --model resnet20");
  CHECK(typo.rc == 1);
  CHECK(typo.out ==
        "ptl: error: PTL_CPU_ISA='avx51': allowed: avx2, avx512, avx512bf16 (or unset: the "
        "widest the CPU has)\n");
  const auto forced = ptl::test::run_ptl_env("PTL_CPU_ISA=avx512", "--version");
  if (ptl::cpu::isa_supported(ptl::cpu::Isa::avx512)) {
    CHECK(forced.rc == 0);
    CHECK_THAT(forced.out, Catch::Contains("CPU path: avx512 (") &&
                               Catch::Contains("bf16 products: emulated with float FMAs"));
  } else {
    CHECK(forced.rc == 1);
    CHECK_THAT(
        forced.out,
        Catch::Contains("PTL_CPU_ISA=avx512: this CPU (or its operating system) has no AVX-512F"));
  }
  const auto bf16 = ptl::test::run_ptl_env("PTL_CPU_ISA=avx512bf16", "info --model resnet20");
  if (ptl::cpu::isa_supported(ptl::cpu::Isa::avx512bf16)) {
    CHECK(bf16.rc == 0);
    CHECK_THAT(
        ptl::test::run_ptl_env("PTL_CPU_ISA=avx512bf16", "--version").out,
        Catch::Contains("CPU path: avx512bf16 (") && Catch::Contains("bf16 products: VDPBF16PS"));
  } else {
    CHECK(bf16.rc == 1);
    CHECK(bf16.out ==
          std::string("ptl: error: PTL_CPU_ISA=avx512bf16: this CPU (or its operating system) has "
                      "no AVX-512F with AVX512_BF16; unset PTL_CPU_ISA or set it to ") +
              ptl::cpu::isa_name(ptl::cpu::best_isa()) + "\n");
  }
}
