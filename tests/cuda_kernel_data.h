// Data for the CUDA kernel tests (test_cuda_host_helpers.cpp, test_cuda_kernels_*.cpp): square
// pooling windows (kernels/pool_windows.h, the builders engine/ops/pool.cpp uses).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/pool_windows.h"
#include "tests/test_util.h"  // random_values

namespace ptl::test {

// Square kernel k, stride s, padding p.
inline PoolWindows fixed_pool_windows(int64_t H, int64_t W, int64_t k, int64_t s, int64_t p,
                                      bool ceil_mode, bool avg, bool include_pad) {
  return ptl::fixed_pool_windows(H, W, k, k, s, s, p, p, ceil_mode, avg, include_pad);
}
using ptl::adaptive_pool_windows;

}  // namespace ptl::test
