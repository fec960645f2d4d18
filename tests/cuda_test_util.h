// Helpers of the [cuda] tests: skipping without a device, comparing a CUDA result with the CPU.
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/device.h"
#include "engine/tensor.h"

namespace ptl::test {

// The device the [cuda] op tests compare with the CPU: cuda:0, or PTL_TEST_DEVICE (e.g. "cpu",
// to check the tests' own logic on a machine without a GPU: both sides must then agree exactly).
inline Device test_device() {
  const char* env = std::getenv("PTL_TEST_DEVICE");
  return env ? Device::parse(env) : Device::cuda(0);
}

}  // namespace ptl::test

// Ends the test case (passing, with a note) unless `runnable`. The default test run leaves
// [cuda] tests out anyway; this keeps `ptl_tests [cuda]` clean on a machine without a GPU.
#define PTL_SKIP_UNLESS(runnable)                                                               \
  do {                                                                                          \
    if (!(runnable)) {                                                                          \
      WARN("no CUDA device: " << Catch::getResultCapture().getCurrentTestName() << " skipped"); \
      return;                                                                                   \
    }                                                                                           \
  } while (0)
// Tests on raw device memory (ptl::cuda:: kernels) need a GPU whatever PTL_TEST_DEVICE says.
#define PTL_SKIP_WITHOUT_GPU() PTL_SKIP_UNLESS(::ptl::cuda_device_count() > 0)
// Tests through the ops run on test_device(): they need a GPU only when that is CUDA.
#define PTL_SKIP_WITHOUT_CUDA() \
  PTL_SKIP_UNLESS(!::ptl::test::test_device().is_cuda() || ::ptl::cuda_device_count() > 0)

namespace ptl::test {

// Every element of `got` (any device) within atol + rtol * |want| of `want`, with atol =
// rtol * max|want| + floor (values near zero after cancellation carry the absolute error of the
// large ones; `floor` covers a whole tensor that cancels to about zero, such as the bias of a
// convolution followed by batch norm). Reports the worst element.
inline void expect_close(const std::string& what, const Tensor& got, const Tensor& want,
                         double rtol, double floor = 0) {
  INFO(what << " " << want.shape_str());
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_double_vector(), w = want.to_double_vector();
  double scale = 0;
  for (double v : w) scale = std::max(scale, std::abs(v));
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double err = std::abs(g[i] - w[i]) - rtol * (scale + std::abs(w[i])) - floor;
    if (err > worst || std::isnan(g[i]) != std::isnan(w[i])) {
      worst = std::isnan(err) ? INFINITY : err;
      at = i;
    }
  }
  INFO("worst element " << at << ": got " << (g.empty() ? 0.0 : g[at]) << ", want "
                        << (w.empty() ? 0.0 : w[at]));
  CHECK(worst == 0);
}

}  // namespace ptl::test
