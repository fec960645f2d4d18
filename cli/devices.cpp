// `ptl devices`: what the CUDA side of this binary sees (runtime, driver, devices or why there
// are none, cuDNN and cuBLAS versions). With --require-gpu it fails when no device is visible,
// so a GPU run's script stops before its tests skip themselves into a green result.
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "engine/device.h"

namespace {

int run(const std::vector<std::string>& argv) {
  ptl::cli::Args args(
      "usage: ptl devices [--require-gpu]\n"
      "Prints the CUDA runtime and driver versions, each visible device (or the runtime's error\n"
      "when there is none) and the cuDNN and cuBLAS versions loaded. --require-gpu: exit 3 when\n"
      "no CUDA device is visible.",
      {}, {"require-gpu"});
  if (!args.parse(argv)) return 0;
  std::fputs(ptl::cuda_report().c_str(), stdout);
  if (args.flag("require-gpu") && ptl::cuda_device_count() == 0) {
    std::fprintf(stderr, "ptl devices: no CUDA device is visible (see the line above)\n");
    return 3;
  }
  return 0;
}

PTL_COMMAND("devices", "print the CUDA runtime, devices and library versions", run);

}  // namespace
