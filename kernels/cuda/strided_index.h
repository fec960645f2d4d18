// The index space of the element-wise kernels: a shape with K operands' element strides,
// dimensions of size 1 dropped and neighbours merged where every operand allows it, passed to
// kernels by value. Plain C++ (no CUDA headers), so the CPU tests check the planning
// (tests/test_cuda_host_helpers.cpp).
#pragma once
#include <cstdint>
#include <vector>

#include "base/error.h"
#include "kernels/elementwise_math.h"  // PTL_HD
#include "kernels/strides.h"

namespace ptl::cuda {

constexpr int kMaxDims = 8;

// Row-major index space of `size[0..nd)` with K operands, each with its element strides.
// nd == 0 is a single element at offset 0.
template <int K>
struct StridedIndex {
  int nd = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[K][kMaxDims] = {};

  // Offsets of the K operands at row-major linear index i (I: the index type, int32 when the
  // element count fits, int64 otherwise; the strides stay int64).
  template <class I>
  PTL_HD void offsets(I i, int64_t (&off)[K]) const {
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = nd - 1; d >= 0; --d) {
      const I n = static_cast<I>(size[d]);
      const I q = i / n;
      const int64_t r = static_cast<int64_t>(i - q * n);
      i = q;
      for (int k = 0; k < K; ++k) off[k] += r * stride[k][d];
    }
  }

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < nd; ++d) n *= size[d];
    return n;
  }
  // True when every operand walks memory contiguously (one dimension of unit strides, or 0-d).
  bool contiguous() const {
    if (nd == 0) return true;
    if (nd > 1) return false;
    for (int k = 0; k < K; ++k)
      if (stride[k][0] != 1) return false;
    return true;
  }
};

// Builds the StridedIndex of `shape` with the K stride vectors (each of shape.size() entries):
// drops dimensions of size 1, and merges dimension d into d+1 when for every operand
// stride[d] == stride[d+1] * size[d+1] (negative strides included). A shape with a zero
// dimension gives numel() == 0.
template <int K>
StridedIndex<K> make_strided_index(const std::vector<int64_t>& shape,
                                   const std::vector<int64_t>* const (&strides)[K]) {
  PTL_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "CUDA kernels take at most ", kMaxDims,
            " dimensions, got ", shape.size());
  for (int k = 0; k < K; ++k)
    PTL_CHECK(strides[k]->size() == shape.size(), "stride vector ", k, " has ", strides[k]->size(),
              " entries for ", shape.size(), " dimensions");
  StridedIndex<K> ix;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) {  // empty: one zero-size dimension
      ix.nd = 1;
      ix.size[0] = 0;
      for (int k = 0; k < K; ++k) ix.stride[k][0] = 1;
      return ix;
    }
  }
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (ix.nd > 0) {
      const int last = ix.nd - 1;
      bool merge = true;
      for (int k = 0; k < K; ++k)
        if (ix.stride[k][last] != (*strides[k])[d] * shape[d]) merge = false;
      if (merge) {
        ix.size[last] *= shape[d];
        for (int k = 0; k < K; ++k) ix.stride[k][last] = (*strides[k])[d];
        continue;
      }
    }
    ix.size[ix.nd] = shape[d];
    for (int k = 0; k < K; ++k) ix.stride[k][ix.nd] = (*strides[k])[d];
    ++ix.nd;
  }
  return ix;
}

}  // namespace ptl::cuda
