// CUDA reductions over contiguous data viewed as (outer, size, inner)
// (kernels/contract/reduce.inc).
//
// sum_dim accumulates in double with a fixed order (deterministic, no atomics):
//   inner == 1: rows; one block per (row, part) with a block_sum tree;
//   inner  > 1: columns; one thread per (o, part, i) summing its part of the column serially
//               (adjacent threads read adjacent i: coalesced).
// When there are few rows/columns and long ones, each is split into `parts` fixed pieces whose
// double partials go to scratch and are summed by a second pass; the split depends only on the
// shape.
#include "kernels/cuda/extreme_rule.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/work_split.h"

namespace ptl::cuda {

namespace {

constexpr int kRowBlock = 256;

// out[r * parts + p] = sum of x[r, p*chunk : min(size, (p+1)*chunk)] for rows r of length size;
// one block per (r, p), grid-stride over the blocks.
template <class In, class Out>
__global__ void row_sum_kernel(const In* __restrict__ x, Out* __restrict__ out, int64_t rows,
                               int64_t size, int64_t parts, int64_t chunk) {
  for (int64_t b = blockIdx.x; b < rows * parts; b += gridDim.x) {
    const int64_t r = b / parts, p = b % parts;
    const int64_t begin = p * chunk, end = min(size, begin + chunk);
    const In* row = x + r * size;
    double s = 0;
    for (int64_t k = begin + threadIdx.x; k < end; k += blockDim.x)
      s += static_cast<double>(row[k]);
    s = block_sum(s);
    if (threadIdx.x == 0) out[b] = static_cast<Out>(s);
  }
}

// out[(o * parts + p) * inner + i] = sum over s in part p of x[o, s, i].
template <class In, class Out>
__global__ void column_sum_kernel(const In* __restrict__ x, Out* __restrict__ out, int64_t outer,
                                  int64_t size, int64_t inner, int64_t parts, int64_t chunk) {
  PTL_GRID_LOOP(int64_t, e, outer * parts * inner) {
    const int64_t i = e % inner, op = e / inner;
    const int64_t p = op % parts, o = op / parts;
    const int64_t begin = p * chunk, end = min(size, begin + chunk);
    const In* col = x + o * size * inner + i;
    double s = 0;
    for (int64_t k = begin; k < end; ++k) s += static_cast<double>(col[k * inner]);
    out[e] = static_cast<Out>(s);
  }
}

// Extreme of a column x[o, :, i] (thread per (o, i)), the CPU's sequential rule: the first
// strictly better value wins, the first NaN stops the scan.
template <class T>
__global__ void extreme_column_kernel(const T* __restrict__ x, T* __restrict__ val,
                                      int64_t* __restrict__ idx, int64_t outer, int64_t size,
                                      int64_t inner, bool is_max) {
  PTL_GRID_LOOP(int64_t, oi, outer * inner) {
    const int64_t o = oi / inner, i = oi % inner;
    const T* p = x + o * size * inner + i;
    T best = p[0];
    int64_t bi = 0;
    for (int64_t s = 1; s < size && !is_nan(best); ++s) {
      const T v = p[s * inner];
      if (is_nan(v) || (is_max ? v > best : v < best)) {
        best = v;
        bi = s;
      }
    }
    val[oi] = best;
    idx[oi] = bi;
  }
}

// Extreme of each row x[r, :] (inner == 1): one warp per row, lanes stride the row, then a
// shuffle reduction of (value, index) pairs.
template <class T>
__global__ void extreme_row_kernel(const T* __restrict__ x, T* __restrict__ val,
                                   int64_t* __restrict__ idx, int64_t rows, int64_t size,
                                   bool is_max) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x >> 5);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
       r < rows; r += warps) {
    const T* p = x + r * size;
    T best = p[0];
    int64_t bi = size;  // lanes with no element never win (size > every real index)
    if (lane < size) {
      best = p[lane];
      bi = lane;
      for (int64_t s = lane + 32; s < size; s += 32) {
        const T v = p[s];
        if (extreme_takes_over(v, s, best, bi, is_max)) {
          best = v;
          bi = s;
        }
      }
    }
    for (int off = 16; off > 0; off >>= 1) {
      const T ov = __shfl_down_sync(0xffffffffu, best, off);
      const int64_t oi = __shfl_down_sync(0xffffffffu, bi, off);
      if (oi < size && (bi >= size || extreme_takes_over(ov, oi, best, bi, is_max))) {
        best = ov;
        bi = oi;
      }
    }
    if (lane == 0) {
      val[r] = best;
      idx[r] = bi;
    }
  }
}

// gx[o, idx[o, i], i] += g[o, i]: every (o, i) owns a distinct target, so no two threads touch
// the same element (no atomics, deterministic).
template <class T>
__global__ void extreme_backward_kernel(const T* __restrict__ g, const int64_t* __restrict__ idx,
                                        T* __restrict__ gx, int64_t outer, int64_t size,
                                        int64_t inner) {
  PTL_GRID_LOOP(int64_t, oi, outer * inner) {
    const int64_t o = oi / inner, i = oi % inner;
    const int64_t s = idx[oi];
    if (s >= 0 && s < size) gx[(o * size + s) * inner + i] += g[oi];
  }
}

// out[i] = sum over slices r, in order, of parts[r * chunk + i] (thread per i).
template <class T>
__global__ void sum_slices_kernel(const T* __restrict__ parts, int64_t slices, int64_t chunk,
                                  T* __restrict__ out) {
  PTL_GRID_LOOP(int64_t, i, chunk) {
    T s = parts[i];
    for (int64_t r = 1; r < slices; ++r) s += parts[r * chunk + i];
    out[i] = s;
  }
}

}  // namespace

template <class T>
void sum_dim(const T* x, T* out, int64_t outer, int64_t size, int64_t inner) {
  if (outer * inner == 0) return;
  cudaStream_t st = stream();
  if (size == 0) {
    fill(out, outer * inner, T(0));
    return;
  }
  const int dev = current_device();
  if (inner == 1) {
    // Rows: enough with ~1024 blocks (a few per SM); pieces of at least 4K elements (16 per
    // thread).
    const int64_t parts = split_parts(outer, size, 1024, 1 << 12);
    const int64_t chunk = ceil_div(size, parts);
    if (parts == 1) {
      row_sum_kernel<T, T><<<grid_for(outer, 1), kRowBlock, 0, st>>>(x, out, outer, size, 1, size);
      PTL_CUDA_CHECK_LAUNCH();
      return;
    }
    const size_t bytes = sizeof(double) * static_cast<size_t>(outer * parts);
    double* scratch = static_cast<double*>(device_alloc(bytes, dev));
    row_sum_kernel<T, double>
        <<<grid_for(outer * parts, 1), kRowBlock, 0, st>>>(x, scratch, outer, size, parts, chunk);
    PTL_CUDA_CHECK_LAUNCH();
    row_sum_kernel<double, T>
        <<<grid_for(outer, 1), kRowBlock, 0, st>>>(scratch, out, outer, parts, 1, parts);
    PTL_CUDA_CHECK_LAUNCH();
    device_free(scratch, bytes, dev);
    return;
  }
  // Columns: enough with ~128K threads; pieces of at least 64 elements.
  const int64_t parts = split_parts(outer * inner, size, 1 << 17, 64);
  const int64_t chunk = ceil_div(size, parts);
  if (parts == 1) {
    column_sum_kernel<T, T>
        <<<grid_for(outer * inner), kBlock, 0, st>>>(x, out, outer, size, inner, 1, size);
    PTL_CUDA_CHECK_LAUNCH();
    return;
  }
  const size_t bytes = sizeof(double) * static_cast<size_t>(outer * parts * inner);
  double* scratch = static_cast<double*>(device_alloc(bytes, dev));
  column_sum_kernel<T, double><<<grid_for(outer * parts * inner), kBlock, 0, st>>>(
      x, scratch, outer, size, inner, parts, chunk);
  PTL_CUDA_CHECK_LAUNCH();
  column_sum_kernel<double, T>
      <<<grid_for(outer * inner), kBlock, 0, st>>>(scratch, out, outer, parts, inner, 1, parts);
  PTL_CUDA_CHECK_LAUNCH();
  device_free(scratch, bytes, dev);
}

template <class T>
void extreme_dim(const T* x, T* val, int64_t* idx, int64_t outer, int64_t size, int64_t inner,
                 bool is_max) {
  if (outer * inner == 0 || size == 0) return;
  if (inner == 1 && size > 32) {
    extreme_row_kernel<T><<<grid_for(outer, kWarpsPerBlock), kBlock, 0, stream()>>>(
        x, val, idx, outer, size, is_max);
  } else {
    extreme_column_kernel<T>
        <<<grid_for(outer * inner), kBlock, 0, stream()>>>(x, val, idx, outer, size, inner, is_max);
  }
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void extreme_dim_backward(const T* g, const int64_t* idx, T* gx, int64_t outer, int64_t size,
                          int64_t inner) {
  if (outer * inner == 0) return;
  extreme_backward_kernel<T>
      <<<grid_for(outer * inner), kBlock, 0, stream()>>>(g, idx, gx, outer, size, inner);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void sum_slices(const T* parts, int64_t slices, int64_t chunk, T* out) {
  if (chunk == 0) return;
  sum_slices_kernel<T><<<grid_for(chunk), kBlock, 0, stream()>>>(parts, slices, chunk, out);
  PTL_CUDA_CHECK_LAUNCH();
}

#include "kernels/contract/reduce_instances.inc"
PTL_INSTANTIATE_REDUCE()

}  // namespace ptl::cuda
