// Batch normalisation fused with the ReLU after it (kernels/cpu/batchnorm.h for the rest).
// Bit-identical to batchnorm_apply followed by relu, and to relu's backward followed by
// batchnorm_backward; one pass over the activations less each way and no intermediate tensor.
#pragma once
#include <cstdint>

namespace ptl::cpu {

// y = max(0, (x - mean[c]) * invstd[c] * w[c] + b[c]) (NaN propagates); w/b may be null.
template <class T>
void batchnorm_apply_relu(const T* x, const double* mean, const double* invstd, const T* w, const T* b,
                          T* y, int64_t N, int64_t C, int64_t S);

// batchnorm_backward of gy * (y > 0), where y is batchnorm_apply_relu's output.
template <class T>
void batchnorm_backward_relu(const T* gy, const T* y, const T* x, const double* mean, const double* invstd,
                             const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S,
                             bool training);

}  // namespace ptl::cpu
