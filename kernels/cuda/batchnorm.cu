// CUDA batch normalisation over x viewed as (N, C, S) (kernels/contract/batchnorm.inc).
//
// Statistics and gradient sums: one block per channel, each thread accumulating its share of the
// channel's N*S elements in double, then a block_sum tree (fixed order: deterministic, no
// atomics). Two passes for the variance (sum of squared deviations from the mean), as the CPU.
// With set_split_batchnorm(true), shapes whose channels are too few to fill the GPU go to the
// split kernels instead (batchnorm_split.h: several blocks a channel, also in a fixed order).
#include "kernels/cuda/batchnorm_split.h"
#include "kernels/cuda/bn_split.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/math_mode.h"

namespace ptl::cuda {

namespace {

// Threads per block of the per-channel kernels; their __launch_bounds__ tells the compiler, so it
// keeps their registers within what 512 threads may use (a launch with more would fail).
constexpr int kChannelBlock = 512;

// Whether the split kernels take this shape: switched on, and more than one slice a channel.
bool use_split(int64_t N, int64_t C, int64_t S) {
  return split_batchnorm() && bn_split(N, C, S).slices > 1;
}

// Calls f(k) for this thread's share of the flat indices k of channel c's elements
// x[(n * C + c) * S + s]: threads stride s inside each (n, c) plane when planes are wide, the flat
// (n, s) range otherwise.
template <class F>
__device__ __forceinline__ void for_channel(int64_t N, int64_t C, int64_t S, int64_t c,
                                            const F& f) {
  if (S >= static_cast<int64_t>(blockDim.x)) {
    for (int64_t n = 0; n < N; ++n) {
      const int64_t base = (n * C + c) * S;
      for (int64_t s = threadIdx.x; s < S; s += blockDim.x) f(base + s);
    }
  } else {
    const int64_t M = N * S;
    for (int64_t j = threadIdx.x; j < M; j += blockDim.x) {
      const int64_t n = j / S, s = j - n * S;
      f((n * C + c) * S + s);
    }
  }
}

template <class T>
__global__ void __launch_bounds__(kChannelBlock)
    stats_kernel(const T* __restrict__ x, int64_t N, int64_t C, int64_t S,
                 double* __restrict__ mean, double* __restrict__ var) {
  const double M = static_cast<double>(N * S);
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double s = 0;
    for_channel(N, C, S, c, [&](int64_t k) { s += static_cast<double>(x[k]); });
    const double m = block_sum(s) / M;
    double ss = 0;
    for_channel(N, C, S, c, [&](int64_t k) {
      const double d = static_cast<double>(x[k]) - m;
      ss += d * d;
    });
    ss = block_sum(ss);
    if (threadIdx.x == 0) {
      mean[c] = m;
      var[c] = ss / M;
    }
  }
}

template <class T>
__global__ void prepare_kernel(bool training, double* __restrict__ mean, double* __restrict__ var,
                               T* __restrict__ rm, T* __restrict__ rv, int64_t C, double momentum,
                               double unbias, double eps) {
  PTL_GRID_LOOP(int64_t, c, C) {
    if (training) {
      if (rm && rv) {
        rm[c] = static_cast<T>((1 - momentum) * static_cast<double>(rm[c]) + momentum * mean[c]);
        rv[c] = static_cast<T>((1 - momentum) * static_cast<double>(rv[c]) +
                               momentum * var[c] * unbias);
      }
    } else {
      mean[c] = static_cast<double>(rm[c]);
      var[c] = static_cast<double>(rv[c]);
    }
    var[c] = 1.0 / sqrt(var[c] + eps);
  }
}

// y = x * scale[c] + shift[c], then max(y, 0) when Relu (NaN kept, as relu()).
template <class T, bool Relu>
__global__ void apply_kernel(const T* __restrict__ x, const double* __restrict__ mean,
                             const double* __restrict__ invstd, const T* __restrict__ w,
                             const T* __restrict__ b, T* __restrict__ y, int64_t C, int64_t S,
                             int64_t n) {
  PTL_GRID_LOOP(int64_t, e, n) {
    const int64_t c = (e / S) % C;
    const T scale = static_cast<T>(invstd[c] * (w ? static_cast<double>(w[c]) : 1.0));
    const T shift = static_cast<T>((b ? static_cast<double>(b[c]) : 0.0) -
                                   mean[c] * static_cast<double>(scale));
    const T v = x[e] * scale + shift;
    y[e] = Relu && v <= T(0) ? T(0) : v;
  }
}

// With `y` (the fused relu's output; null otherwise) gy is first masked to gy * (y > 0), as
// relu's backward does.
template <class T>
__global__ void __launch_bounds__(kChannelBlock)
    backward_kernel(const T* __restrict__ gy, const T* __restrict__ y, const T* __restrict__ x,
                    const double* __restrict__ mean, const double* __restrict__ invstd,
                    const T* __restrict__ w, T* __restrict__ gx, T* __restrict__ gw,
                    T* __restrict__ gb, int64_t N, int64_t C, int64_t S, bool training) {
  const double M = static_cast<double>(N * S);
  auto grad = [&](int64_t k) { return y && !(y[k] > T(0)) ? 0.0 : static_cast<double>(gy[k]); };
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const double mc = mean[c], ic = invstd[c];
    double sg = 0, sgx = 0;
    for_channel(N, C, S, c, [&](int64_t k) {
      const double g = grad(k);
      sg += g;
      sgx += g * (static_cast<double>(x[k]) - mc);
    });
    sg = block_sum(sg);
    sgx = block_sum(sgx) * ic;
    if (threadIdx.x == 0) {
      if (gw) gw[c] = static_cast<T>(sgx);
      if (gb) gb[c] = static_cast<T>(sg);
    }
    if (!gx) continue;
    const double k = ic * (w ? static_cast<double>(w[c]) : 1.0);
    if (training) {
      // dx = k * (gy - mean(gy) - xhat * mean(gy * xhat))
      const double a = sg / M, bcoef = sgx / M * ic;
      for_channel(N, C, S, c, [&](int64_t e) {
        gx[e] = static_cast<T>(k * (grad(e) - a - (static_cast<double>(x[e]) - mc) * bcoef));
      });
    } else {
      for_channel(N, C, S, c, [&](int64_t e) { gx[e] = static_cast<T>(k * grad(e)); });
    }
  }
}

}  // namespace

template <class T>
void batchnorm_stats(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var) {
  if (C == 0) return;
  if (use_split(N, C, S)) return batchnorm_stats_split(x, N, C, S, mean, var);
  stats_kernel<T><<<grid_for(C, 1), kChannelBlock, 0, stream()>>>(x, N, C, S, mean, var);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void batchnorm_prepare(bool training, double* mean, double* var, T* running_mean, T* running_var,
                       int64_t C, double momentum, double unbias, double eps) {
  if (C == 0) return;
  prepare_kernel<T><<<grid_for(C), kBlock, 0, stream()>>>(training, mean, var, running_mean,
                                                          running_var, C, momentum, unbias, eps);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void batchnorm_apply(const T* x, const double* mean, const double* invstd, const T* w, const T* b,
                     T* y, int64_t N, int64_t C, int64_t S, bool relu) {
  const int64_t n = N * C * S;
  if (n == 0) return;
  auto kernel = relu ? apply_kernel<T, true> : apply_kernel<T, false>;
  kernel<<<grid_for(n), kBlock, 0, stream()>>>(x, mean, invstd, w, b, y, C, S, n);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void batchnorm_backward(const T* gy, const T* y, const T* x, const double* mean,
                        const double* invstd, const T* w, T* gx, T* gw, T* gb, int64_t N, int64_t C,
                        int64_t S, bool training) {
  if (C == 0) return;
  if (use_split(N, C, S))
    return batchnorm_backward_split(gy, y, x, mean, invstd, w, gx, gw, gb, N, C, S, training);
  backward_kernel<T><<<grid_for(C, 1), kChannelBlock, 0, stream()>>>(gy, y, x, mean, invstd, w, gx,
                                                                     gw, gb, N, C, S, training);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void batchnorm_grad_sums(const T* gy, const T* y, const T* x, const double* mean, int64_t N,
                         int64_t C, int64_t S, double* sg, double* sgx) {
  if (C == 0) return;
  batchnorm_grad_sums_split(gy, y, x, mean, N, C, S, sg, sgx);
}

template <class T>
void batchnorm_grad_input(const T* gy, const T* y, const T* x, const double* mean,
                          const double* invstd, const T* w, const double* sg, const double* sgx,
                          T* gx, int64_t N, int64_t C, int64_t S) {
  batchnorm_grad_input_from_sums(gy, y, x, mean, invstd, w, sg, sgx, gx, N, C, S);
}

#include "kernels/contract/batchnorm_instances.inc"
PTL_INSTANTIATE_BATCHNORM()

}  // namespace ptl::cuda
