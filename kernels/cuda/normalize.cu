// CUDA L2 normalisation (kernels/contract/normalize.inc), in double like the CPU kernels.
//
// Along the middle dimension of (outer, size, inner):
//   inner == 1: one warp per row (lanes stride the row; shuffle reductions, fixed order);
//   inner  > 1: one thread per column (sequential, as on the CPU; coalesced across columns).
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace ptl::cuda {

namespace {

template <class T>
__global__ void l2_normalize_rows_kernel(const T* __restrict__ x, T* __restrict__ y,
                                         T* __restrict__ norm, int64_t rows, int64_t size,
                                         double eps) {
  const int lane = threadIdx.x & 31;
  PTL_WARP_ROW_LOOP(r, rows) {
    const T* p = x + r * size;
    T* q = y + r * size;
    double ss = 0;
    for (int64_t s = lane; s < size; s += 32) {
      const double v = static_cast<double>(p[s]);
      ss += v * v;
    }
    const double n = sqrt(warp_sum_all(ss)), denom = n > eps ? n : eps;
    if (lane == 0) norm[r] = static_cast<T>(n);
    for (int64_t s = lane; s < size; s += 32)
      q[s] = static_cast<T>(static_cast<double>(p[s]) / denom);
  }
}

template <class T>
__global__ void l2_normalize_columns_kernel(const T* __restrict__ x, T* __restrict__ y,
                                            T* __restrict__ norm, int64_t outer, int64_t size,
                                            int64_t inner, double eps) {
  PTL_GRID_LOOP(int64_t, oi, outer * inner) {
    const int64_t base = (oi / inner) * size * inner + oi % inner;
    double ss = 0;
    for (int64_t s = 0; s < size; ++s) {
      const double v = static_cast<double>(x[base + s * inner]);
      ss += v * v;
    }
    const double n = sqrt(ss), denom = n > eps ? n : eps;
    norm[oi] = static_cast<T>(n);
    for (int64_t s = 0; s < size; ++s)
      y[base + s * inner] = static_cast<T>(static_cast<double>(x[base + s * inner]) / denom);
  }
}

template <class T>
__global__ void l2_normalize_backward_rows_kernel(const T* __restrict__ g, const T* __restrict__ y,
                                                  const T* __restrict__ norm, T* __restrict__ gx,
                                                  int64_t rows, int64_t size, double eps) {
  const int lane = threadIdx.x & 31;
  PTL_WARP_ROW_LOOP(r, rows) {
    const int64_t base = r * size;
    const double n = static_cast<double>(norm[r]);
    if (n > eps) {  // the same for every lane of the warp: the shuffles below see all 32
      double dot = 0;
      for (int64_t s = lane; s < size; s += 32)
        dot += static_cast<double>(g[base + s]) * static_cast<double>(y[base + s]);
      dot = warp_sum_all(dot);
      for (int64_t s = lane; s < size; s += 32) {
        const int64_t k = base + s;
        gx[k] = static_cast<T>((static_cast<double>(g[k]) - static_cast<double>(y[k]) * dot) / n);
      }
    } else {
      for (int64_t s = lane; s < size; s += 32)
        gx[base + s] = static_cast<T>(static_cast<double>(g[base + s]) / eps);
    }
  }
}

template <class T>
__global__ void l2_normalize_backward_columns_kernel(const T* __restrict__ g,
                                                     const T* __restrict__ y,
                                                     const T* __restrict__ norm, T* __restrict__ gx,
                                                     int64_t outer, int64_t size, int64_t inner,
                                                     double eps) {
  PTL_GRID_LOOP(int64_t, oi, outer * inner) {
    const int64_t base = (oi / inner) * size * inner + oi % inner;
    const double n = static_cast<double>(norm[oi]);
    if (n > eps) {
      double dot = 0;
      for (int64_t s = 0; s < size; ++s)
        dot += static_cast<double>(g[base + s * inner]) * static_cast<double>(y[base + s * inner]);
      for (int64_t s = 0; s < size; ++s) {
        const int64_t k = base + s * inner;
        gx[k] = static_cast<T>((static_cast<double>(g[k]) - static_cast<double>(y[k]) * dot) / n);
      }
    } else {
      for (int64_t s = 0; s < size; ++s) {
        const int64_t k = base + s * inner;
        gx[k] = static_cast<T>(static_cast<double>(g[k]) / eps);
      }
    }
  }
}

}  // namespace

template <class T>
void l2_normalize_forward(const T* x, T* y, T* norm, int64_t outer, int64_t size, int64_t inner,
                          double eps) {
  if (outer * inner == 0) return;
  cudaStream_t st = stream();
  if (inner == 1) {
    l2_normalize_rows_kernel<T>
        <<<grid_for(outer, kWarpsPerBlock), kBlock, 0, st>>>(x, y, norm, outer, size, eps);
  } else {
    l2_normalize_columns_kernel<T>
        <<<grid_for(outer * inner), kBlock, 0, st>>>(x, y, norm, outer, size, inner, eps);
  }
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void l2_normalize_backward(const T* g, const T* y, const T* norm, T* gx, int64_t outer,
                           int64_t size, int64_t inner, double eps) {
  if (outer * size * inner == 0) return;
  cudaStream_t st = stream();
  if (inner == 1) {
    l2_normalize_backward_rows_kernel<T>
        <<<grid_for(outer, kWarpsPerBlock), kBlock, 0, st>>>(g, y, norm, gx, outer, size, eps);
  } else {
    l2_normalize_backward_columns_kernel<T>
        <<<grid_for(outer * inner), kBlock, 0, st>>>(g, y, norm, gx, outer, size, inner, eps);
  }
  PTL_CUDA_CHECK_LAUNCH();
}

#include "kernels/contract/normalize_instances.inc"
PTL_INSTANTIATE_NORMALIZE()

}  // namespace ptl::cuda
