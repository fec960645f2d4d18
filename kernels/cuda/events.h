// CUDA events for timing GPU work on a device's ptl stream (kernels/cuda/runtime.h).
#pragma once

namespace ptl::cuda {

// An opaque recorded point on the stream of `device`.
struct Event {
  void* handle = nullptr;
  int device = 0;
};
Event event_record(int device);
// Milliseconds between two recorded events; waits until `end` has completed.
double event_elapsed_ms(const Event& start, const Event& end);
void event_destroy(Event& e);

}  // namespace ptl::cuda
