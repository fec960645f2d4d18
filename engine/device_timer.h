// Times work on a device: wall clock on the CPU, CUDA events on the device's stream on a GPU
// (so the figure is GPU time, not the host's time to enqueue it).
#pragma once
#include <chrono>

#include "engine/device.h"

namespace ptl {

class DeviceTimer {
 public:
  explicit DeviceTimer(Device device) : device_(device) {}
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;
  void start();
  // Milliseconds since start(); on a GPU it waits for the work queued in between.
  double stop_ms();

 private:
  Device device_;
  std::chrono::steady_clock::time_point t0_;
  void* start_event_ = nullptr;  // CUDA only
};

// Waits for all work queued on the device (nothing to wait for on the CPU).
void synchronize(Device device);

}  // namespace ptl
