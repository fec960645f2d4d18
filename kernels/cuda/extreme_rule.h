// The (value, index) rule of the max/min tree reductions on CUDA, which gives the CPU's
// sequential answer from any tree (tests/test_cuda_host_helpers.cpp runs it on the CPU).
#pragma once
#include <cstdint>

#include "kernels/elementwise_math.h"  // PTL_HD

namespace ptl::cuda {

template <class T>
PTL_HD bool is_nan(T x) {
  return x != x;
}

// Whether candidate (av, ai) replaces (bv, bi) in a max (is_max) or min reduction with the CPU's
// sequential rule (kernels/cpu/reduce.cpp: the first strictly better value wins, the first NaN
// wins and stops the scan): a NaN beats any number and a later NaN; else a strictly better value
// wins, an equal one only at a smaller index. Commutative and associative, so every reduction
// tree gives the sequential answer.
template <class T>
PTL_HD bool extreme_takes_over(T av, int64_t ai, T bv, int64_t bi, bool is_max) {
  const bool an = is_nan(av), bn = is_nan(bv);
  if (an || bn) return an && (!bn || ai < bi);
  if (is_max ? av > bv : av < bv) return true;
  return av == bv && ai < bi;
}

}  // namespace ptl::cuda
