#include "engine/device_timer.h"

#include "base/error.h"
#if PTL_WITH_CUDA
#include "kernels/cuda/events.h"
#include "kernels/cuda/memory.h"
#endif

namespace ptl {

namespace {
// The CUDA side; a CPU-only build never gets here (no CUDA tensor or device can exist there).
#if PTL_WITH_CUDA
void* record(Device d) {
  return cuda::event_record(d.index).handle;
}
double elapsed_ms(Device d, void* start, void* end) {
  return cuda::event_elapsed_ms({start, d.index}, {end, d.index});
}
void destroy(Device d, void* e) {
  cuda::Event ev{e, d.index};
  cuda::event_destroy(ev);
}
void wait(Device d) {
  cuda::synchronize(d.index);
}
#else
[[noreturn]] void no_cuda(Device d) {
  fail(str("DeviceTimer: ", d.str(), " needs a CUDA build of ptl"));
}
void* record(Device d) {
  no_cuda(d);
}
double elapsed_ms(Device d, void*, void*) {
  no_cuda(d);
}
void destroy(Device, void*) {}
void wait(Device d) {
  no_cuda(d);
}
#endif
}  // namespace

DeviceTimer::~DeviceTimer() {
  if (start_event_) destroy(device_, start_event_);
}

void DeviceTimer::start() {
  if (device_.is_cpu()) {
    t0_ = std::chrono::steady_clock::now();
    return;
  }
  if (start_event_) destroy(device_, start_event_);
  start_event_ = record(device_);
}

double DeviceTimer::stop_ms() {
  if (device_.is_cpu())
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0_)
        .count();
  void* end = record(device_);
  const double ms = elapsed_ms(device_, start_event_, end);
  destroy(device_, end);
  return ms;
}

void synchronize(Device device) {
  if (device.is_cuda()) wait(device);
}

}  // namespace ptl
