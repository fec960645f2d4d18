#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cstring>

#include "base/parallel.h"
#include "kernels/convert_dispatch.h"
#include "kernels/cpu/isa.h"
#include "kernels/strides.h"

namespace ptl::cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;

// Merges neighbouring dimensions that every operand walks as one (stride[d] == stride[d+1] *
// shape[d+1]) and drops size-1 dimensions, so a contiguous 4-d tensor becomes one long row
// instead of Cout*Cin*KH rows of KW elements. Element-wise results do not change.
template <size_t K>
void coalesce(std::vector<int64_t>& shape, std::vector<int64_t> (&st)[K]) {
  std::vector<int64_t> sh;
  std::vector<int64_t> out[K];
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !sh.empty();
    for (size_t k = 0; k < K && merge; ++k) merge = out[k].back() == st[k][d] * shape[d];
    if (merge) {
      sh.back() *= shape[d];
      for (size_t k = 0; k < K; ++k) out[k].back() = st[k][d];
    } else {
      sh.push_back(shape[d]);
      for (size_t k = 0; k < K; ++k) out[k].push_back(st[k][d]);
    }
  }
  if (sh.empty() && !shape.empty()) {  // all sizes 1 (or a zero-size dimension was kept above)
    sh.push_back(1);
    for (size_t k = 0; k < K; ++k) out[k].push_back(0);
  }
  shape = std::move(sh);
  for (size_t k = 0; k < K; ++k) st[k] = std::move(out[k]);
}

// Visits every index of `shape` (already coalesced) except the last dimension, in row-major
// order, calling row(offsets, len, inner_strides) with the running offset of each strided
// operand; the callee loops `len` elements of the last dimension. Work is split over the outer
// rows in fixed chunks; a single row (1-d) is split into fixed chunks of kGrain elements.
template <size_t K, class F>
void for_each_row(const std::vector<int64_t>& shape, const std::vector<int64_t> (&strides)[K],
                  const F& row) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd == 0) {
    int64_t off[K] = {}, inc[K] = {};
    row(off, int64_t(1), inc);
    return;
  }
  int64_t inc[K];
  for (size_t k = 0; k < K; ++k) inc[k] = strides[k][nd - 1];
  const int64_t inner = shape[nd - 1];
  if (nd == 1) {
    parallel_for_isa(inner, kGrain, [&](int64_t begin, int64_t end) {
      int64_t off[K];
      for (size_t k = 0; k < K; ++k) off[k] = begin * inc[k];
      row(off, end - begin, inc);
    });
    return;
  }
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < nd; ++d) rows *= shape[d];
  const int64_t grain = inner >= kGrain ? 1 : kGrain / (inner > 0 ? inner : 1);
  parallel_for_isa(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t off[K] = {};
      int64_t rem = r;
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t i = rem % shape[d];
        rem /= shape[d];
        for (size_t k = 0; k < K; ++k) off[k] += i * strides[k][d];
      }
      row(off, inner, inc);
    }
  });
}
}  // namespace

template <class T>
void unary_forward(UnaryOp op, const UnaryParams& p, const T* x, T* y, int64_t n) {
  parallel_for_isa(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = ptl::unary_forward(op, x[i], p);
  });
}

template <class T>
void unary_backward(UnaryOp op, const UnaryParams& p, const T* g, const T* x, const T* y, T* gx,
                    int64_t n) {
  // AVX2 code only (kernels/cpu/isa.h): tanh's 1 - y*y is a multiply-add that GCC may fuse in one
  // compilation of the loop and not in another.
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gx[i] = ptl::unary_backward(op, g[i], x[i], y[i], p);
  });
}

template <class T>
void binary_forward(BinaryOp op, const std::vector<int64_t>& shape, const T* a,
                    const std::vector<int64_t>& sa, const T* b, const std::vector<int64_t>& sb,
                    T* out) {
  const std::vector<int64_t> so = row_major_strides(shape);
  std::vector<int64_t> sh = shape;
  std::vector<int64_t> st[3] = {sa, sb, so};
  coalesce(sh, st);
  for_each_row<3>(sh, st, [&](const int64_t* off, int64_t inner, const int64_t* inc) {
    const T* pa = a + off[0];
    const T* pb = b + off[1];
    T* po = out + off[2];
    const int64_t ia = inc[0], ib = inc[1];
    // The three common inner patterns get tight loops the compiler vectorises (the output is
    // contiguous, so its inner stride is 1).
    if (ia == 1 && ib == 1) {
      for (int64_t i = 0; i < inner; ++i) po[i] = ptl::binary_forward(op, pa[i], pb[i]);
    } else if (ia == 1 && ib == 0) {
      const T bv = *pb;
      for (int64_t i = 0; i < inner; ++i) po[i] = ptl::binary_forward(op, pa[i], bv);
    } else if (ia == 0 && ib == 1) {
      const T av = *pa;
      for (int64_t i = 0; i < inner; ++i) po[i] = ptl::binary_forward(op, av, pb[i]);
    } else {
      for (int64_t i = 0; i < inner; ++i) po[i] = ptl::binary_forward(op, pa[i * ia], pb[i * ib]);
    }
  });
}

template <class T>
void add_relu_forward(const T* a, const T* b, T* y, int64_t n) {
  parallel_for_isa(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      const T v = ptl::binary_forward(BinaryOp::Add, a[i], b[i]);
      y[i] = ptl::unary_forward(UnaryOp::Relu, v, UnaryParams{});
    }
  });
}

void strided_copy(const std::vector<int64_t>& shape, size_t elem, const void* src,
                  const std::vector<int64_t>& src_strides, void* dst,
                  const std::vector<int64_t>& dst_strides) {
  std::vector<int64_t> sh = shape;
  std::vector<int64_t> st[2] = {src_strides, dst_strides};
  coalesce(sh, st);
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  for_each_row<2>(sh, st, [&](const int64_t* off, int64_t inner, const int64_t* inc) {
    const char* ps = s + off[0] * static_cast<int64_t>(elem);
    char* pd = d + off[1] * static_cast<int64_t>(elem);
    const int64_t is = inc[0], id = inc[1];
    if (is == 1 && id == 1) {
      std::memcpy(pd, ps, static_cast<size_t>(inner) * elem);
    } else if (elem == 2) {
      for (int64_t i = 0; i < inner; ++i) std::memcpy(pd + i * id * 2, ps + i * is * 2, 2);
    } else if (elem == 4) {
      for (int64_t i = 0; i < inner; ++i) std::memcpy(pd + i * id * 4, ps + i * is * 4, 4);
    } else {
      for (int64_t i = 0; i < inner; ++i) std::memcpy(pd + i * id * 8, ps + i * is * 8, 8);
    }
  });
}

template <class T>
void fill(T* p, int64_t n, T value) {
  parallel_for_isa(n, 1 << 16, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, value); });
}

namespace {
template <class From, class To>
void convert_typed(const From* src, To* dst, int64_t n) {
  parallel_for_isa(n, 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = convert_value<To>(src[i]);
  });
}

}  // namespace

void convert(const void* src, DType from, void* dst, DType to, int64_t n) {
  dispatch_convert(src, from, dst, to, [n](const auto* s, auto* d) { convert_typed(s, d, n); });
}

#include "kernels/contract/elementwise_instances.inc"
PTL_INSTANTIATE_ELEMENTWISE()

}  // namespace ptl::cpu
