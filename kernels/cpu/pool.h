// CPU 2-d pooling over planes (N*C planes of H x W). Every pooling flavour (max/avg, fixed or
// adaptive windows, padding, ceil mode) reduces to a list of clipped row/column windows per
// output position plus, for averages, a divisor per output.
#pragma once
#include <cstdint>
#include <vector>

namespace ptl::cpu {

struct PoolWindows {
  int64_t H = 0, W = 0, OH = 0, OW = 0;
  std::vector<int64_t> h0, h1, w0, w1;  // [h0[oh], h1[oh]) x [w0[ow], w1[ow]), clipped to the input
  std::vector<double> divisor;          // OH*OW, average pooling only
};

// idx holds the flat position (h * W + w) of each maximum within its plane.
template <class T>
void max_pool_forward(const T* x, T* y, int64_t* idx, int64_t planes, const PoolWindows& pw);
template <class T>
void max_pool_backward(const T* gy, const int64_t* idx, T* gx, int64_t planes, const PoolWindows& pw);
template <class T>
void avg_pool_forward(const T* x, T* y, int64_t planes, const PoolWindows& pw);
template <class T>
void avg_pool_backward(const T* gy, T* gx, int64_t planes, const PoolWindows& pw);

}  // namespace ptl::cpu
