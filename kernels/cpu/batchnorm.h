// CPU batch normalisation: statistics accumulate in double per channel; channels run in parallel.
// The declarations are the backend-neutral contract in kernels/contract/batchnorm.inc.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/batchnorm.inc"

// Synchronised batch norm's backward (engine/ops/norm.cpp sync_batch_norm), CPU only: the two
// halves of batchnorm_backward in training, around the sums over processes.
// Per channel: sg = sum(gy), sgx = sum(gy * (x - mean)); gy masked by relu_y when not null.
template <class T>
void batchnorm_grad_sums(const T* gy, const T* relu_y, const T* x, const double* mean, int64_t N,
                         int64_t C, int64_t S, double* sg, double* sgx);
// gx = invstd * w * (gy - sg / M - (x - mean) * invstd^2 * sgx / M), M = N * S: the training
// gradient of batchnorm_backward given the sums (those of a whole batch spread over processes,
// scaled to this process's M).
template <class T>
void batchnorm_grad_input(const T* gy, const T* relu_y, const T* x, const double* mean,
                          const double* invstd, const T* w, const double* sg, const double* sgx,
                          T* gx, int64_t N, int64_t C, int64_t S);
}  // namespace ptl::cpu
