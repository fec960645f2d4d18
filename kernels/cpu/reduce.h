// CPU reductions on contiguous data viewed as (outer, size, inner): out[o, i] reduces
// x[o, :, i]. Sums accumulate in double; chunk boundaries depend only on the shape, so the
// result does not depend on the thread count.
#pragma once
#include <cstdint>

namespace ptl::cpu {

template <class T>
void sum_dim(const T* x, T* out, int64_t outer, int64_t size, int64_t inner);

// Extreme value and its first index along the middle dimension (max when is_max, else min).
// NaN propagates as the extreme, like PyTorch.
template <class T>
void extreme_dim(const T* x, T* val, int64_t* idx, int64_t outer, int64_t size, int64_t inner,
                 bool is_max);

}  // namespace ptl::cpu
