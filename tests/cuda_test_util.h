// Helpers of the [cuda] tests: skipping without a device, comparing a CUDA result with the CPU.
#pragma once
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "engine/device.h"
#include "engine/tensor.h"
#include "tests/compare.h"
#include "tests/skip.h"

namespace ptl::test {

// The device the [cuda] op tests compare with the CPU: cuda:0, or PTL_TEST_DEVICE (e.g. "cpu",
// to check the tests' own logic on a machine without a GPU: both sides must then agree exactly).
inline Device test_device() {
  const char* env = std::getenv("PTL_TEST_DEVICE");
  return env ? Device::parse(env) : Device::cuda(0);
}

}  // namespace ptl::test

// Ends the test case as skipped (tests/skip.h) unless `runnable`: the cuda group reports itself
// skipped on a machine without a GPU instead of passing.
#define PTL_SKIP_UNLESS(runnable)                \
  do {                                           \
    if (!(runnable)) PTL_SKIP("no CUDA device"); \
  } while (0)
// Tests on raw device memory (ptl::cuda:: kernels) need a GPU whatever PTL_TEST_DEVICE says.
#define PTL_SKIP_WITHOUT_GPU() PTL_SKIP_UNLESS(::ptl::cuda_device_count() > 0)
// Tests through the ops run on test_device(): they need a GPU only when that is CUDA.
#define PTL_SKIP_WITHOUT_CUDA() \
  PTL_SKIP_UNLESS(!::ptl::test::test_device().is_cuda() || ::ptl::cuda_device_count() > 0)

namespace ptl::test {

// Forces deterministic direct-sum convolution algorithms on CUDA for a scope.
struct DirectConvolutions {
  DirectConvolutions() { set_direct_convolutions(true); }
  ~DirectConvolutions() { set_direct_convolutions(false); }
};

// cuDNN's backend-API engines for CUDA convolutions on (or off) for a scope; off after it.
struct EngineHeuristics {
  explicit EngineHeuristics(bool on) { set_cudnn_engine_heuristics(on); }
  ~EngineHeuristics() { set_cudnn_engine_heuristics(false); }
};

// The test device's result `got` against the CPU's `want`: within `b` on a GPU; with the CPU as
// the test device (cuda_logic) both sides ran the same code on the same inputs, so they must be
// the same bits.
inline void expect_close(const std::string& what, const Tensor& got, const Tensor& want, Bound b) {
  INFO(what << " " << want.shape_str());
  if (test_device().is_cuda())
    CHECK_WITHIN(got, want, b);
  else
    CHECK_SAME_BITS(got.to(Device::cpu()), want);
}

}  // namespace ptl::test
