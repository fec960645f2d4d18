// Fused element-wise CPU kernels (contiguous operands), bit-identical to the ops they fuse.
#pragma once
#include <cstdint>

namespace ptl::cpu {

// y[i] = relu(a[i] + b[i]), i < n (relu(NaN) = NaN, as relu()).
template <class T>
void add_relu_forward(const T* a, const T* b, T* y, int64_t n);

}  // namespace ptl::cpu
