// Batch-norm statistics and gradient sums with each channel split over several blocks
// (batchnorm_split.h), in the order kernels/cuda/bn_split.h fixes: grid = C * slices blocks of
// kBnLanes threads, block c * slices + p summing slice p of channel c into scratch, then one
// thread per channel adding its slices in slice order. No atomics and no grid-stride loop over
// the slices, so neither the number of multiprocessors nor the blocks' schedule changes a bit.
#include "kernels/cuda/batchnorm_split.h"
#include "kernels/cuda/bn_split.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/memory.h"

namespace ptl::cuda {

namespace {

// The block's sum of each thread's v by bn_split.h's halving tree, valid in thread 0. Every
// thread must call it (it synchronises); `partial` holds kBnLanes values.
__device__ __forceinline__ double lanes_sum(double* partial, double v) {
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int w = kBnLanes / 2; w > 0; w >>= 1) {
    bn_tree_level(partial, static_cast<int>(threadIdx.x), w);
    __syncthreads();
  }
  return partial[0];
}

// Slice p of channel c, for block c * slices + p: [begin, end) of the channel's M flat indices.
struct SliceOfBlock {
  int64_t c, begin, end;
  __device__ SliceOfBlock(const BnSplit& sp, int64_t M) {
    c = blockIdx.x / sp.slices;
    begin = (blockIdx.x - c * sp.slices) * sp.slice_len;
    end = begin + sp.slice_len < M ? begin + sp.slice_len : M;
  }
};

// out[c * slices + p] = slice p's sum of x (Deviation false), or of (x - mean_c)^2 with mean_c
// recombined from the first pass's sums `first` (every block, and finish_stats_kernel, get the
// same bits for it).
template <class T, bool Deviation>
__global__ void __launch_bounds__(kBnLanes)
    slice_stats_kernel(const T* __restrict__ x, int64_t C, int64_t S, int64_t M, BnSplit sp,
                       const double* __restrict__ first, double* __restrict__ out) {
  __shared__ double partial[kBnLanes];
  const SliceOfBlock b(sp, M);
  const double m =
      Deviation ? bn_combine(first + b.c * sp.slices, sp.slices) / static_cast<double>(M) : 0.0;
  double v = 0;
  bn_lane_walk(b.begin, b.end, static_cast<int>(threadIdx.x), C, S, b.c, [&](int64_t k) {
    const double d = static_cast<double>(x[k]) - m;
    v += Deviation ? d * d : d;
  });
  const double r = lanes_sum(partial, v);
  if (threadIdx.x == 0) out[blockIdx.x] = r;
}

__global__ void finish_stats_kernel(const double* __restrict__ sums, const double* __restrict__ sq,
                                    int64_t slices, int64_t C, double M, double* __restrict__ mean,
                                    double* __restrict__ var) {
  PTL_GRID_LOOP(int64_t, c, C) {
    mean[c] = bn_combine(sums + c * slices, slices) / M;
    var[c] = bn_combine(sq + c * slices, slices) / M;
  }
}

// The gradient as relu's backward leaves it: gy, or 0 where the fused relu's output y <= 0.
template <class T>
__device__ __forceinline__ double masked(const T* gy, const T* y, int64_t k) {
  return y && !(y[k] > T(0)) ? 0.0 : static_cast<double>(gy[k]);
}

// Slice sums of g and g * (x - mean_c) (g: masked gy), into sg_out and sgx_out.
template <class T>
__global__ void __launch_bounds__(kBnLanes)
    slice_grad_kernel(const T* __restrict__ gy, const T* __restrict__ y, const T* __restrict__ x,
                      const double* __restrict__ mean, int64_t C, int64_t S, int64_t M, BnSplit sp,
                      double* __restrict__ sg_out, double* __restrict__ sgx_out) {
  __shared__ double pg[kBnLanes], pgx[kBnLanes];
  const SliceOfBlock b(sp, M);
  const double mc = mean[b.c];
  double sg = 0, sgx = 0;
  bn_lane_walk(b.begin, b.end, static_cast<int>(threadIdx.x), C, S, b.c, [&](int64_t k) {
    const double g = masked(gy, y, k);
    sg += g;
    sgx += g * (static_cast<double>(x[k]) - mc);
  });
  const double rg = lanes_sum(pg, sg), rgx = lanes_sum(pgx, sgx);
  if (threadIdx.x == 0) {
    sg_out[blockIdx.x] = rg;
    sgx_out[blockIdx.x] = rgx;
  }
}

// Per channel: sg = sum g, sgx = sum g * (x - mean) from the slices; gw = sgx * invstd, gb = sg.
template <class T>
__global__ void grad_channel_kernel(const double* __restrict__ pg, const double* __restrict__ pgx,
                                    int64_t slices, int64_t C, const double* __restrict__ invstd,
                                    T* __restrict__ gw, T* __restrict__ gb, double* __restrict__ sg,
                                    double* __restrict__ sgx) {
  PTL_GRID_LOOP(int64_t, c, C) {
    const double g = bn_combine(pg + c * slices, slices), gx = bn_combine(pgx + c * slices, slices);
    if (gw) gw[c] = static_cast<T>(gx * invstd[c]);
    if (gb) gb[c] = static_cast<T>(g);
    sg[c] = g;
    sgx[c] = gx;
  }
}

// gx = k * (g - a - (x - mean) * bcoef) in training, k * g in evaluation, with k = invstd * w,
// a = sg / M, bcoef = sgx * invstd / M * invstd: batchnorm_backward's formula, as the CPU's
// InputCoefficients (kernels/cpu/batchnorm.cpp) and the one-block kernel.
template <class T, bool Training>
__global__ void grad_input_kernel(const T* __restrict__ gy, const T* __restrict__ y,
                                  const T* __restrict__ x, const double* __restrict__ mean,
                                  const double* __restrict__ invstd, const T* __restrict__ w,
                                  const double* __restrict__ sg, const double* __restrict__ sgx,
                                  T* __restrict__ gx, int64_t C, int64_t S, int64_t n, double M) {
  PTL_GRID_LOOP(int64_t, e, n) {
    const int64_t c = (e / S) % C;
    const double ic = invstd[c], k = ic * (w ? static_cast<double>(w[c]) : 1.0);
    if (Training) {
      const double a = sg[c] / M, bcoef = sgx[c] * ic / M * ic;
      gx[e] = static_cast<T>(
          k * (masked(gy, y, e) - a - (static_cast<double>(x[e]) - mean[c]) * bcoef));
    } else {
      gx[e] = static_cast<T>(k * masked(gy, y, e));
    }
  }
}

}  // namespace

template <class T>
void batchnorm_stats_split(const T* x, int64_t N, int64_t C, int64_t S, double* mean, double* var) {
  const BnSplit sp = bn_split(N, C, S);
  const int64_t M = N * S, blocks = C * sp.slices;
  const int dev = current_device();
  const size_t bytes = sizeof(double) * static_cast<size_t>(2 * blocks);
  double* sums = static_cast<double*>(device_alloc(bytes, dev));
  double* sq = sums + blocks;
  const cudaStream_t st = stream();
  slice_stats_kernel<T, false>
      <<<static_cast<unsigned>(blocks), kBnLanes, 0, st>>>(x, C, S, M, sp, nullptr, sums);
  PTL_CUDA_CHECK_LAUNCH();
  slice_stats_kernel<T, true>
      <<<static_cast<unsigned>(blocks), kBnLanes, 0, st>>>(x, C, S, M, sp, sums, sq);
  PTL_CUDA_CHECK_LAUNCH();
  finish_stats_kernel<<<grid_for(C), kBlock, 0, st>>>(sums, sq, sp.slices, C,
                                                      static_cast<double>(M), mean, var);
  PTL_CUDA_CHECK_LAUNCH();
  device_free(sums, bytes, dev);
}

namespace {

// Per channel sg = sum g and sgx = sum g * (x - mean) through the slices, and gw = sgx * invstd,
// gb = sg where not null.
template <class T>
void split_grad_sums(const T* gy, const T* relu_y, const T* x, const double* mean,
                     const double* invstd, T* gw, T* gb, int64_t N, int64_t C, int64_t S,
                     double* sg, double* sgx) {
  const BnSplit sp = bn_split(N, C, S);
  const int64_t blocks = C * sp.slices;
  const int dev = current_device();
  const size_t bytes = sizeof(double) * static_cast<size_t>(2 * blocks);
  double* pg = static_cast<double*>(device_alloc(bytes, dev));
  double* pgx = pg + blocks;
  const cudaStream_t st = stream();
  slice_grad_kernel<T><<<static_cast<unsigned>(blocks), kBnLanes, 0, st>>>(gy, relu_y, x, mean, C,
                                                                           S, N * S, sp, pg, pgx);
  PTL_CUDA_CHECK_LAUNCH();
  grad_channel_kernel<T>
      <<<grid_for(C), kBlock, 0, st>>>(pg, pgx, sp.slices, C, invstd, gw, gb, sg, sgx);
  PTL_CUDA_CHECK_LAUNCH();
  device_free(pg, bytes, dev);
}

template <class T>
void launch_grad_input(const T* gy, const T* relu_y, const T* x, const double* mean,
                       const double* invstd, const T* w, const double* sg, const double* sgx, T* gx,
                       int64_t N, int64_t C, int64_t S, bool training) {
  const int64_t n = N * C * S;
  if (n == 0) return;
  auto kernel = training ? grad_input_kernel<T, true> : grad_input_kernel<T, false>;
  kernel<<<grid_for(n), kBlock, 0, stream()>>>(gy, relu_y, x, mean, invstd, w, sg, sgx, gx, C, S, n,
                                               static_cast<double>(N * S));
  PTL_CUDA_CHECK_LAUNCH();
}

}  // namespace

template <class T>
void batchnorm_backward_split(const T* gy, const T* relu_y, const T* x, const double* mean,
                              const double* invstd, const T* w, T* gx, T* gw, T* gb, int64_t N,
                              int64_t C, int64_t S, bool training) {
  const int dev = current_device();
  const size_t bytes = sizeof(double) * static_cast<size_t>(2 * C);
  double* sg = static_cast<double*>(device_alloc(bytes, dev));
  double* sgx = sg + C;
  split_grad_sums(gy, relu_y, x, mean, invstd, gw, gb, N, C, S, sg, sgx);
  if (gx) launch_grad_input(gy, relu_y, x, mean, invstd, w, sg, sgx, gx, N, C, S, training);
  device_free(sg, bytes, dev);
}

template <class T>
void batchnorm_grad_sums_split(const T* gy, const T* relu_y, const T* x, const double* mean,
                               int64_t N, int64_t C, int64_t S, double* sg, double* sgx) {
  split_grad_sums<T>(gy, relu_y, x, mean, nullptr, nullptr, nullptr, N, C, S, sg, sgx);
}

template <class T>
void batchnorm_grad_input_from_sums(const T* gy, const T* relu_y, const T* x, const double* mean,
                                    const double* invstd, const T* w, const double* sg,
                                    const double* sgx, T* gx, int64_t N, int64_t C, int64_t S) {
  launch_grad_input(gy, relu_y, x, mean, invstd, w, sg, sgx, gx, N, C, S, true);
}

#define PTL_BATCHNORM_SPLIT_INSTANCES(T)                                                           \
  template void batchnorm_stats_split<T>(const T*, int64_t, int64_t, int64_t, double*, double*);   \
  template void batchnorm_backward_split<T>(const T*, const T*, const T*, const double*,           \
                                            const double*, const T*, T*, T*, T*, int64_t, int64_t, \
                                            int64_t, bool);                                        \
  template void batchnorm_grad_sums_split<T>(const T*, const T*, const T*, const double*, int64_t, \
                                             int64_t, int64_t, double*, double*);                  \
  template void batchnorm_grad_input_from_sums<T>(const T*, const T*, const T*, const double*,     \
                                                  const double*, const T*, const double*,          \
                                                  const double*, T*, int64_t, int64_t, int64_t);
PTL_BATCHNORM_SPLIT_INSTANCES(float)
PTL_BATCHNORM_SPLIT_INSTANCES(double)

}  // namespace ptl::cuda
