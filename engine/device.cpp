#include "engine/device.h"

#include "engine/error.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/runtime.h"
#endif

namespace ptl {

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    try {
      return cuda(std::stoi(s.substr(5)));
    } catch (const std::exception&) {
    }
  }
  fail(ptl::str("unknown device '", s, "': use cpu, cuda or cuda:N"));
}

bool cuda_compiled() { return PTL_WITH_CUDA != 0; }

int cuda_device_count() {
#if PTL_WITH_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

}  // namespace ptl
