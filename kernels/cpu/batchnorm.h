// CPU batch normalisation over x viewed as (N, C, S) with S = H*W (S = 1 for BatchNorm1d).
// Statistics accumulate in double per channel; channels run in parallel.
#pragma once
#include <cstdint>

namespace ptl::cpu {

// Per-channel batch mean and biased variance.
template <class T>
void batchnorm_stats(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var);

// y = (x - mean[c]) * invstd[c] * w[c] + b[c]; w/b may be null (1 and 0).
template <class T>
void batchnorm_apply(const T* x, const double* mean, const double* invstd, const T* w, const T* b,
                     T* y, int64_t N, int64_t C, int64_t S);

// Gradients. training: mean/invstd are the batch statistics and gx includes the terms through
// them; eval: they are the running statistics and gx = gy * w * invstd. gw/gb may be null.
template <class T>
void batchnorm_backward(const T* gy, const T* x, const double* mean, const double* invstd,
                        const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C, int64_t S,
                        bool training);

}  // namespace ptl::cpu
