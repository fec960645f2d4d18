// Pooling windows shared by the CPU and CUDA pooling kernels (kernels/contract/pool.inc). Every
// pooling flavour (max/avg, fixed or adaptive windows, padding, ceil mode) reduces to a list of
// clipped row/column windows per output position plus, for averages, a divisor per output.
#pragma once
#include <cstdint>
#include <vector>

namespace ptl {

struct PoolWindows {
  int64_t H = 0, W = 0, OH = 0, OW = 0;
  std::vector<int64_t> h0, h1, w0, w1;  // [h0[oh], h1[oh]) x [w0[ow], w1[ow]), clipped to the input
  std::vector<double> divisor;          // OH*OW, average pooling only
};

}  // namespace ptl
