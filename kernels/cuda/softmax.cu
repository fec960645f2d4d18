// CUDA log-softmax and fused cross-entropy (kernels/contract/softmax.inc), in double like the
// CPU kernels.
//
// Along the middle dimension of (outer, size, inner):
//   inner == 1: one warp per row (lanes stride the row; shuffle reductions, fixed order);
//   inner  > 1: one thread per column (sequential, as on the CPU; coalesced across columns).
// cross_entropy_forward writes each row's loss to a double scratch array and sums it in row
// order with one thread, like the CPU: deterministic, no atomics.
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace ptl::cuda {

namespace {

// log(sum(exp(p[s]))) over the row p[0, size), in double, by one warp (`lane`: the thread's
// lane): the row's maximum m, then m + log(sum(exp(p[s] - m))), both reduced across the warp.
template <class T>
__device__ double warp_row_lse(const T* __restrict__ p, int64_t size, int lane) {
  double m = -INFINITY;
  for (int64_t s = lane; s < size; s += 32) {
    const double v = static_cast<double>(p[s]);
    m = m < v ? v : m;
  }
  m = warp_max_all(m);
  double z = 0;
  for (int64_t s = lane; s < size; s += 32) z += exp(static_cast<double>(p[s]) - m);
  return m + log(warp_sum_all(z));
}

template <class T>
__global__ void log_softmax_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows,
                                        int64_t size) {
  const int lane = threadIdx.x & 31;
  PTL_WARP_ROW_LOOP(r, rows) {
    const T* p = x + r * size;
    T* q = y + r * size;
    const double lse = warp_row_lse(p, size, lane);
    for (int64_t s = lane; s < size; s += 32)
      q[s] = static_cast<T>(static_cast<double>(p[s]) - lse);
  }
}

template <class T>
__global__ void log_softmax_columns_kernel(const T* __restrict__ x, T* __restrict__ y,
                                           int64_t outer, int64_t size, int64_t inner) {
  PTL_GRID_LOOP(int64_t, oi, outer * inner) {
    const int64_t base = (oi / inner) * size * inner + oi % inner;
    const T* p = x + base;
    T* q = y + base;
    double m = -INFINITY;
    for (int64_t s = 0; s < size; ++s) {
      const double v = static_cast<double>(p[s * inner]);
      m = m < v ? v : m;
    }
    double z = 0;
    for (int64_t s = 0; s < size; ++s) z += exp(static_cast<double>(p[s * inner]) - m);
    const double lse = m + log(z);
    for (int64_t s = 0; s < size; ++s)
      q[s * inner] = static_cast<T>(static_cast<double>(p[s * inner]) - lse);
  }
}

template <class T>
__global__ void log_softmax_backward_rows_kernel(const T* __restrict__ g, const T* __restrict__ y,
                                                 T* __restrict__ gx, int64_t rows, int64_t size) {
  const int lane = threadIdx.x & 31;
  PTL_WARP_ROW_LOOP(r, rows) {
    const int64_t base = r * size;
    double sg = 0;
    for (int64_t s = lane; s < size; s += 32) sg += static_cast<double>(g[base + s]);
    sg = warp_sum_all(sg);
    for (int64_t s = lane; s < size; s += 32) {
      const int64_t k = base + s;
      gx[k] = static_cast<T>(static_cast<double>(g[k]) - exp(static_cast<double>(y[k])) * sg);
    }
  }
}

template <class T>
__global__ void log_softmax_backward_columns_kernel(const T* __restrict__ g,
                                                    const T* __restrict__ y, T* __restrict__ gx,
                                                    int64_t outer, int64_t size, int64_t inner) {
  PTL_GRID_LOOP(int64_t, oi, outer * inner) {
    const int64_t base = (oi / inner) * size * inner + oi % inner;
    double sg = 0;
    for (int64_t s = 0; s < size; ++s) sg += static_cast<double>(g[base + s * inner]);
    for (int64_t s = 0; s < size; ++s) {
      const int64_t k = base + s * inner;
      gx[k] = static_cast<T>(static_cast<double>(g[k]) - exp(static_cast<double>(y[k])) * sg);
    }
  }
}

// One warp per row n of the logits (N, K): prob[n, :] = softmax, row_loss[n] = the smoothed
// negative log-likelihood (NaN for a target outside [0, K)).
template <class T>
__global__ void cross_entropy_rows_kernel(const T* __restrict__ logits,
                                          const int64_t* __restrict__ target, T* __restrict__ prob,
                                          double* __restrict__ row_loss, int64_t N, int64_t K,
                                          double eps) {
  const int lane = threadIdx.x & 31;
  PTL_WARP_ROW_LOOP(n, N) {
    const T* x = logits + n * K;
    const double lse = warp_row_lse(x, K, lane);
    double sum_logp = 0;
    for (int64_t k = lane; k < K; k += 32) {
      const double lp = static_cast<double>(x[k]) - lse;
      sum_logp += lp;
      prob[n * K + k] = static_cast<T>(exp(lp));
    }
    sum_logp = warp_sum(sum_logp);
    if (lane == 0) {
      const int64_t t = target[n];
      row_loss[n] = (t < 0 || t >= K) ? static_cast<double>(NAN)
                                      : -(1 - eps) * (static_cast<double>(x[t]) - lse) -
                                            eps / static_cast<double>(K) * sum_logp;
    }
  }
}

// loss[0] = mean of row_loss, summed in row order by one thread (as the CPU does).
template <class T>
__global__ void mean_in_order_kernel(const double* __restrict__ row_loss, T* __restrict__ loss,
                                     int64_t N) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  double total = 0;
  for (int64_t n = 0; n < N; ++n) total += row_loss[n];
  loss[0] = static_cast<T>(total / static_cast<double>(N));
}

template <class T>
__global__ void cross_entropy_backward_kernel(const T* __restrict__ prob,
                                              const int64_t* __restrict__ target,
                                              const T* __restrict__ g, T* __restrict__ gx,
                                              int64_t N, int64_t K, double eps) {
  const double scale = static_cast<double>(g[0]) / static_cast<double>(N);
  const double uniform = eps / static_cast<double>(K);
  PTL_GRID_LOOP(int64_t, e, N * K) {
    const int64_t n = e / K, k = e % K;
    const double t = (k == target[n] ? 1 - eps : 0.0) + uniform;
    gx[e] = static_cast<T>(scale * (static_cast<double>(prob[e]) - t));
  }
}

}  // namespace

template <class T>
void log_softmax_forward(const T* x, T* y, int64_t outer, int64_t size, int64_t inner) {
  if (outer * size * inner == 0) return;
  if (inner == 1) {
    log_softmax_rows_kernel<T>
        <<<grid_for(outer, kWarpsPerBlock), kBlock, 0, stream()>>>(x, y, outer, size);
  } else {
    log_softmax_columns_kernel<T>
        <<<grid_for(outer * inner), kBlock, 0, stream()>>>(x, y, outer, size, inner);
  }
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void log_softmax_backward(const T* g, const T* y, T* gx, int64_t outer, int64_t size,
                          int64_t inner) {
  if (outer * size * inner == 0) return;
  if (inner == 1) {
    log_softmax_backward_rows_kernel<T>
        <<<grid_for(outer, kWarpsPerBlock), kBlock, 0, stream()>>>(g, y, gx, outer, size);
  } else {
    log_softmax_backward_columns_kernel<T>
        <<<grid_for(outer * inner), kBlock, 0, stream()>>>(g, y, gx, outer, size, inner);
  }
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void cross_entropy_forward(const T* logits, const int64_t* target, T* prob, T* loss, int64_t N,
                           int64_t K, double smoothing) {
  cudaStream_t st = stream();
  const int dev = current_device();
  const size_t bytes = sizeof(double) * static_cast<size_t>(N > 0 ? N : 0);
  double* row_loss = N > 0 ? static_cast<double*>(device_alloc(bytes, dev)) : nullptr;
  if (N > 0 && K > 0) {
    cross_entropy_rows_kernel<T><<<grid_for(N, kWarpsPerBlock), kBlock, 0, st>>>(
        logits, target, prob, row_loss, N, K, smoothing);
    PTL_CUDA_CHECK_LAUNCH();
  } else if (N > 0) {
    // K == 0: no class at all, every target is out of range (the CPU's loss is NaN too).
    fill(row_loss, N, static_cast<double>(NAN));
  }
  mean_in_order_kernel<T><<<1, 32, 0, st>>>(row_loss, loss, N);  // N == 0: 0/0 = NaN, as the CPU
  PTL_CUDA_CHECK_LAUNCH();
  if (row_loss) device_free(row_loss, bytes, dev);
}

template <class T>
void cross_entropy_backward(const T* prob, const int64_t* target, const T* g, T* gx, int64_t N,
                            int64_t K, double smoothing) {
  if (N * K == 0) return;
  cross_entropy_backward_kernel<T>
      <<<grid_for(N * K), kBlock, 0, stream()>>>(prob, target, g, gx, N, K, smoothing);
  PTL_CUDA_CHECK_LAUNCH();
}

#include "kernels/contract/softmax_instances.inc"
PTL_INSTANTIATE_SOFTMAX()

}  // namespace ptl::cuda
