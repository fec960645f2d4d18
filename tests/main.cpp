// Catch2 main: says in one line whether the [cuda] tests can run here.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "engine/device.h"

int main(int argc, char* argv[]) {
  if (!ptl::cuda_compiled())
    std::printf("CUDA tests: not built (CPU-only build); [cuda] tests are left out\n");
  else if (ptl::cuda_device_count() == 0)
    std::printf(
        "CUDA tests: no CUDA device here; [cuda] tests are left out of this run "
        "(run `ctest -L cuda` on a GPU machine)\n");
  return Catch::Session().run(argc, argv);
}
