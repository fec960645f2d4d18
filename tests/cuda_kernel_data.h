// Data for the CUDA kernel tests (test_cuda_host_helpers.cpp, test_cuda_kernels.cpp): random data
// and square pooling windows (kernels/pool_windows.h, the builders engine/ops/pool.cpp uses).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/pool_windows.h"

namespace ptl::test {

// Square kernel k, stride s, padding p.
inline PoolWindows fixed_pool_windows(int64_t H, int64_t W, int64_t k, int64_t s, int64_t p,
                                      bool ceil_mode, bool avg, bool include_pad) {
  return ptl::fixed_pool_windows(H, W, k, k, s, s, p, p, ceil_mode, avg, include_pad);
}
using ptl::adaptive_pool_windows;

template <class T>
std::vector<T> random_vector(size_t n, uint32_t seed, double lo = -1, double hi = 1) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(dist(gen));
  return v;
}

}  // namespace ptl::test
