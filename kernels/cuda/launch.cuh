// Shared helpers of the hand-written CUDA kernels (kernels/cuda/*.cu): launch geometry, the
// stream, grid-stride loops and deterministic warp/block reductions (host-testable pieces:
// host_helpers.h).
//
// Reductions here are deterministic: a fixed block size and a fixed tree (shuffle-down, then
// one warp over the per-warp partials) give the same bits on every run.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/strided_index.h"

namespace ptl::cuda {

constexpr int kBlock = 256;        // threads per block of the element-wise kernels
constexpr int kMaxGrid = 1 << 16;  // grid-stride loops cover the rest

// The stream of the calling thread's current device.
inline cudaStream_t stream() {
  return current_stream(current_device());
}

inline int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Blocks for n work items of `per_block` each, capped at kMaxGrid (grid-stride loops do the rest).
inline unsigned grid_for(int64_t n, int64_t per_block = kBlock) {
  const int64_t g = ceil_div(n, per_block);
  return static_cast<unsigned>(g < 1 ? 1 : (g > kMaxGrid ? kMaxGrid : g));
}

// Grid-stride loop over [0, n) with index type I.
#define PTL_GRID_LOOP(I, i, n)                                                             \
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < static_cast<I>(n); \
       i += static_cast<I>(blockDim.x) * gridDim.x)

// Iterates the rows [0, rows) one warp each (blocks of kWarpsPerBlock warps: grid_for(rows,
// kWarpsPerBlock)); the bound is the same for every lane of a warp, so the whole warp may shuffle.
constexpr int kWarpsPerBlock = kBlock / 32;
#define PTL_WARP_ROW_LOOP(r, rows)                                                            \
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5); \
       r < (rows); r += static_cast<int64_t>(gridDim.x) * (blockDim.x >> 5))

// True when every index of an n-element launch fits in int32 (with room for the stride step).
inline bool fits_int32(int64_t n) {
  return n <= (int64_t(1) << 30);
}

// Sum over the warp; the result is valid in lane 0 only (a fixed shuffle-down tree).
__device__ __forceinline__ double warp_sum(double v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

// Sum over the warp, broadcast to every lane (lane 0's shuffle-down result).
__device__ __forceinline__ double warp_sum_all(double v) {
  return __shfl_sync(0xffffffffu, warp_sum(v), 0);
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024), returned to every thread.
// Every thread of the block must call it (it synchronises).
__device__ __forceinline__ double block_sum(double v) {
  __shared__ double partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double w = lane < warps ? partial[lane] : 0.0;
    w = warp_sum(w);
    if (lane == 0) partial[0] = w;
  }
  __syncthreads();
  const double r = partial[0];
  __syncthreads();  // partial may be reused by the next call
  return r;
}

// Max over the warp as std::max(m, v) = (m < v ? v : m) folds (NaN is ignored, as on the CPU),
// broadcast to every lane.
__device__ __forceinline__ double warp_max_all(double v) {
  for (int off = 16; off > 0; off >>= 1) {
    const double o = __shfl_down_sync(0xffffffffu, v, off);
    v = v < o ? o : v;
  }
  return __shfl_sync(0xffffffffu, v, 0);
}

}  // namespace ptl::cuda
