// CPU element-wise kernels on raw pointers (contiguous inputs; binary ops broadcast through
// per-dimension strides that are 0 along broadcast dimensions).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/elementwise_math.h"

namespace ptl::cpu {

// y[i] = f(x[i]), i < n.
template <class T>
void unary_forward(UnaryOp op, const UnaryParams& p, const T* x, T* y, int64_t n);
// gx[i] = f'(g[i], x[i], y[i]).
template <class T>
void unary_backward(UnaryOp op, const UnaryParams& p, const T* g, const T* x, const T* y, T* gx,
                    int64_t n);

// out[idx] = a[idx . sa] (op) b[idx . sb] over the output shape `shape`; sa/sb are element
// strides of a and b expressed in the output's dimensions (0 where broadcast).
template <class T>
void binary_forward(BinaryOp op, const std::vector<int64_t>& shape, const T* a,
                    const std::vector<int64_t>& sa, const T* b, const std::vector<int64_t>& sb,
                    T* out);

// Strided copy of `shape` elements of `elem` bytes (4 or 8) from src to dst.
void strided_copy(const std::vector<int64_t>& shape, size_t elem, const void* src,
                  const std::vector<int64_t>& src_strides, void* dst,
                  const std::vector<int64_t>& dst_strides);

}  // namespace ptl::cpu
