// CUDA batch-hard triplet mining and the per-row gather (kernels/contract/triplet.inc).
//
// batch_hard_mine: one warp per anchor row; each lane scans its strided columns, then a
// shuffle-down tree merges the lanes' (value, index) pairs. The rule of kernels/triplet_math.h
// is a total order, so the result is the CPU's, bit for bit, whatever the merge order.
// gather_pairs: one thread per row forward, one per element of the (N, M) gradient backward
// (every element written, no atomics).
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/triplet_math.h"

namespace ptl::cuda {

namespace {

// Merges the warp's candidates into lane 0 (the other lanes keep partial results).
template <bool IsMax, class T>
__device__ __forceinline__ void warp_merge(MinedPair<T>& m) {
  for (int off = 16; off > 0; off >>= 1) {
    const T v = __shfl_down_sync(0xffffffffu, m.best, off);
    const long long j = __shfl_down_sync(0xffffffffu, static_cast<long long>(m.index), off);
    m.template offer<IsMax>(v, static_cast<int64_t>(j));
  }
}

template <class T>
__global__ void batch_hard_mine_kernel(const T* __restrict__ dist,
                                       const int64_t* __restrict__ labels,
                                       T* __restrict__ pos_value, int64_t* __restrict__ pos_index,
                                       T* __restrict__ neg_value, int64_t* __restrict__ neg_index,
                                       int64_t N) {
  const int lane = threadIdx.x & 31;
  PTL_WARP_ROW_LOOP(i, N) {
    const T* row = dist + i * N;
    const int64_t li = labels[i];
    MinedPair<T> pos, neg;
    for (int64_t j = lane; j < N; j += 32) {
      if (labels[j] == li) {
        if (j != i) pos.template offer<true>(row[j], j);
      } else {
        neg.template offer<false>(row[j], j);
      }
    }
    warp_merge<true>(pos);
    warp_merge<false>(neg);
    if (lane == 0) {
      pos_value[i] = pos.value();
      pos_index[i] = pos.index;
      neg_value[i] = neg.value();
      neg_index[i] = neg.index;
    }
  }
}

template <class T>
__global__ void gather_pairs_kernel(const T* __restrict__ x, const int64_t* __restrict__ index,
                                    T* __restrict__ out, int64_t N, int64_t M) {
  PTL_GRID_LOOP(int64_t, i, N) {
    const int64_t j = index[i];
    out[i] = j >= 0 && j < M ? x[i * M + j] : static_cast<T>(NAN);
  }
}

template <class T>
__global__ void gather_pairs_backward_kernel(const T* __restrict__ g,
                                             const int64_t* __restrict__ index, T* __restrict__ gx,
                                             int64_t N, int64_t M) {
  PTL_GRID_LOOP(int64_t, e, N * M) {
    const int64_t i = e / M, j = e % M;
    gx[e] = j == index[i] ? g[i] : T(0);
  }
}

}  // namespace

template <class T>
void batch_hard_mine(const T* dist, const int64_t* labels, T* pos_value, int64_t* pos_index,
                     T* neg_value, int64_t* neg_index, int64_t N) {
  if (N == 0) return;
  batch_hard_mine_kernel<T><<<grid_for(N, kWarpsPerBlock), kBlock, 0, stream()>>>(
      dist, labels, pos_value, pos_index, neg_value, neg_index, N);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void gather_pairs_forward(const T* x, const int64_t* index, T* out, int64_t N, int64_t M) {
  if (N == 0) return;
  gather_pairs_kernel<T><<<grid_for(N), kBlock, 0, stream()>>>(x, index, out, N, M);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void gather_pairs_backward(const T* g, const int64_t* index, T* gx, int64_t N, int64_t M) {
  if (N * M == 0) return;
  gather_pairs_backward_kernel<T><<<grid_for(N * M), kBlock, 0, stream()>>>(g, index, gx, N, M);
  PTL_CUDA_CHECK_LAUNCH();
}

#include "kernels/contract/triplet_instances.inc"
PTL_INSTANTIATE_TRIPLET()

}  // namespace ptl::cuda
