// Batch-norm statistics and gradient sums with each channel split over several blocks
// (kernels/cuda/batchnorm_split.cu), for channels too few to fill the GPU one block each. The
// cut and the order of the additions depend on the shape only (kernels/cuda/bn_split.h), so the
// bits repeat from run to run; they differ from the one-block kernels' (another order) by
// rounding. batchnorm.cu calls them when set_split_batchnorm(true) and bn_split(N, C, S) gives
// more than one slice. Free of CUDA headers. x, gy, relu_y, gx: (N, C, S); the rest per channel.
#pragma once
#include <cstdint>

namespace ptl::cuda {

// batchnorm_stats (kernels/contract/batchnorm.inc): the mean, then the biased variance as the
// mean squared deviation from it (two passes, as the CPU).
template <class T>
void batchnorm_stats_split(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var);

// batchnorm_backward (kernels/contract/batchnorm.inc) from split sums.
template <class T>
void batchnorm_backward_split(const T* gy, const T* relu_y, const T* x, const double* mean,
                              const double* invstd, const T* w, T* gx, T* gw, T* gb, int64_t N,
                              int64_t C, int64_t S, bool training);

// batchnorm_grad_sums and batchnorm_grad_input (kernels/contract/batchnorm.inc), for synchronised
// batch norm. The sums always go through the slices (one slice a channel when bn_split says so):
// the split order is the CUDA sync_bn's only order, whatever set_split_batchnorm says.
template <class T>
void batchnorm_grad_sums_split(const T* gy, const T* relu_y, const T* x, const double* mean,
                               int64_t N, int64_t C, int64_t S, double* sg, double* sgx);
template <class T>
void batchnorm_grad_input_from_sums(const T* gy, const T* relu_y, const T* x, const double* mean,
                                    const double* invstd, const T* w, const double* sg,
                                    const double* sgx, T* gx, int64_t N, int64_t C, int64_t S);

}  // namespace ptl::cuda
