// How the split batch-norm kernels (kernels/cuda/batchnorm_split.cu, switched on by
// set_split_batchnorm) cut a channel over several blocks and in which order they add, from the
// shape alone: never from the GPU's multiprocessor count or from which block runs first, so a
// channel's sums have the same bits on every run and every card. The kernels call these very
// functions; tests/test_cuda_bn_split.cpp runs them on the CPU.
//
// The order. Channel c of x viewed as (N, C, S) has M = N * S elements, in flat order
// j = n * S + s (element (n * C + c) * S + s of x). They are cut into `slices` runs of
// `slice_len` (the last may be shorter), one block each:
//   1. lane t (of kBnLanes) adds its elements j = begin + t, begin + t + kBnLanes, ... in
//      increasing j (bn_lane_walk);
//   2. the block adds its lanes' partials by a halving tree: for w = kBnLanes / 2, ..., 2, 1,
//      lane t < w adds lane t + w's partial (bn_tree_level);
//   3. the channel's sum adds the slices' sums in slice order 0, 1, ..., slices - 1
//      (bn_combine), whichever block finished first.
#pragma once
#include <cstdint>

#include "kernels/cuda/work_split.h"
#include "kernels/elementwise_math.h"  // PTL_HD

namespace ptl::cuda {

constexpr int kBnLanes = 256;  // threads per block of the slice kernels (a power of two)

// A channel's cut: `slices` runs of `slice_len` elements of its M = N * S.
struct BnSplit {
  int64_t slices, slice_len;
};

// Enough slices that all channels together give ~1024 blocks (a few per multiprocessor on any
// current card, but a constant: the cut depends on (N, C, S) only), each of at least 4096
// elements (16 per lane); one slice when the channels alone are that many, or short.
inline BnSplit bn_split(int64_t N, int64_t C, int64_t S) {
  const int64_t M = N * S;
  const int64_t slices = split_parts(C, M, 1024, 4096);
  return {slices, (M + slices - 1) / slices};
}

// Calls f(k) with the offset k in x of each of lane t's elements of channel c among the flat
// indices [begin, end), in increasing j; (n, s) advance by kBnLanes = dn * S + ds without a
// division per element.
template <class F>
PTL_HD void bn_lane_walk(int64_t begin, int64_t end, int t, int64_t C, int64_t S, int64_t c,
                         const F& f) {
  int64_t j = begin + t;
  if (j >= end) return;
  int64_t n = j / S, s = j - n * S;
  const int64_t dn = kBnLanes / S, ds = kBnLanes - dn * S;
  for (; j < end; j += kBnLanes) {
    f((n * C + c) * S + s);
    n += dn;
    s += ds;
    if (s >= S) {
      s -= S;
      ++n;
    }
  }
}

// One level of the lanes' tree: lane t < w adds lane t + w's partial (step 2 above).
PTL_HD void bn_tree_level(double* partial, int t, int w) {
  if (t < w) partial[t] += partial[t + w];
}

// A channel's sum from its slices' sums, in slice order (step 3 above).
PTL_HD double bn_combine(const double* slice_sums, int64_t slices) {
  double s = 0;
  for (int64_t p = 0; p < slices; ++p) s += slice_sums[p];
  return s;
}

}  // namespace ptl::cuda
