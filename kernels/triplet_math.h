// The batch-hard mining rule shared by the CPU and CUDA kernels (kernels/contract/triplet.inc):
// a running best (value, index) that a candidate replaces when it is strictly larger (IsMax) or
// smaller, NaN beating any number, and the lower index winning among equals. That is a total
// order, so a warp's tree of merges picks what the CPU's scan in index order picks.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/elementwise_math.h"

namespace ptl {

template <class T>
struct MinedPair {
  T best = T(0);
  int64_t index = -1;  // -1: no candidate yet

  template <bool IsMax>
  PTL_HD bool beaten_by(T v, int64_t j) const {
    if (j < 0) return false;
    if (index < 0) return true;
    const bool v_nan = v != v, best_nan = best != best;
    if (v_nan != best_nan) return v_nan;
    if (!v_nan && v != best) return IsMax ? v > best : v < best;
    return j < index;
  }
  template <bool IsMax>
  PTL_HD void offer(T v, int64_t j) {
    if (beaten_by<IsMax>(v, j)) {
      best = v;
      index = j;
    }
  }
  // The chosen value, NaN when there was no candidate.
  PTL_HD T value() const { return index < 0 ? static_cast<T>(NAN) : best; }
};

}  // namespace ptl
