// Catch2 main: says in one line whether the [cuda] tests can run here; ends a run in which tests
// skipped (tests/skip.h) with kSkipExitCode, naming them, unless a test failed; and fails a run
// with the CPU as the [cuda] tests' device (cuda_logic) that compared nothing.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "engine/device.h"
#include "tests/compare.h"
#include "tests/skip.h"

int main(int argc, char* argv[]) {
  if (!ptl::cuda_compiled())
    std::printf("CUDA tests: not built (CPU-only build); [cuda] tests are left out\n");
  else if (ptl::cuda_device_count() == 0)
    std::printf(
        "CUDA tests: no CUDA device here; [cuda] tests are left out of this run "
        "(run `ctest -L cuda` on a GPU machine)\n");
  const int rc = Catch::Session().run(argc, argv);
  if (rc != 0) return rc;
  if (std::getenv("PTL_TEST_DEVICE") != nullptr && ptl::test::compared_elements() == 0) {
    std::printf("PTL_TEST_DEVICE is set but no test compared anything: nothing was checked\n");
    return 1;
  }
  if (!ptl::test::skips().empty()) {
    std::printf("%zu test case(s) skipped:\n", ptl::test::skips().size());
    for (const std::string& s : ptl::test::skips()) std::printf("  %s\n", s.c_str());
    return ptl::test::kSkipExitCode;
  }
  return 0;
}
