#include "kernels/cuda/check.h"
#include "kernels/cuda/events.h"
#include "kernels/cuda/runtime.h"

namespace ptl::cuda {

Event event_record(int device) {
  DeviceGuard guard(device);
  cudaEvent_t e = nullptr;
  PTL_CUDA_CHECK(cudaEventCreate(&e));
  PTL_CUDA_CHECK(cudaEventRecord(e, current_stream(device)));
  return {e, device};
}

double event_elapsed_ms(const Event& start, const Event& end) {
  auto s = static_cast<cudaEvent_t>(start.handle), e = static_cast<cudaEvent_t>(end.handle);
  PTL_CUDA_CHECK(cudaEventSynchronize(e));
  float ms = 0;
  PTL_CUDA_CHECK(cudaEventElapsedTime(&ms, s, e));
  return ms;
}

void event_destroy(Event& e) {
  if (e.handle) cudaEventDestroy(static_cast<cudaEvent_t>(e.handle));  // never throws
  e.handle = nullptr;
}

}  // namespace ptl::cuda
