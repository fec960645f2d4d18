#include "kernels/cpu/elementwise.h"

#include <algorithm>
#include <cstring>

#include "engine/parallel.h"

namespace ptl::cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;

// Visits every index of `shape` except the last dimension, in row-major order, calling
// row(offsets...) with the running offset of each strided operand; the callee loops the last
// dimension. Work is split over the outer rows in fixed chunks.
template <size_t K, class F>
void for_each_row(const std::vector<int64_t>& shape, const std::vector<int64_t>* strides[K], const F& row) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  if (nd == 0) {
    int64_t off[K] = {};
    row(off);
    return;
  }
  int64_t rows = 1;
  for (int64_t d = 0; d + 1 < nd; ++d) rows *= shape[d];
  const int64_t inner = shape[nd - 1];
  const int64_t grain = inner >= kGrain ? 1 : kGrain / (inner > 0 ? inner : 1);
  parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t off[K] = {};
      int64_t rem = r;
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t i = rem % shape[d];
        rem /= shape[d];
        for (size_t k = 0; k < K; ++k) off[k] += i * (*strides[k])[d];
      }
      row(off);
    }
  });
}
}  // namespace

template <class T>
void unary_forward(UnaryOp op, const UnaryParams& p, const T* x, T* y, int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = ptl::unary_forward(op, x[i], p);
  });
}

template <class T>
void unary_backward(UnaryOp op, const UnaryParams& p, const T* g, const T* x, const T* y, T* gx,
                    int64_t n) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gx[i] = ptl::unary_backward(op, g[i], x[i], y[i], p);
  });
}

template <class T>
void binary_forward(BinaryOp op, const std::vector<int64_t>& shape, const T* a,
                    const std::vector<int64_t>& sa, const T* b, const std::vector<int64_t>& sb,
                    T* out) {
  const std::vector<int64_t> so = [&] {
    std::vector<int64_t> s(shape.size());
    int64_t acc = 1;
    for (size_t i = shape.size(); i-- > 0;) { s[i] = acc; acc *= shape[i]; }
    return s;
  }();
  const std::vector<int64_t>* strides[3] = {&sa, &sb, &so};
  const int64_t inner = shape.empty() ? 1 : shape.back();
  const int64_t ia = shape.empty() ? 0 : sa.back(), ib = shape.empty() ? 0 : sb.back();
  for_each_row<3>(shape, strides, [&](const int64_t* off) {
    const T* pa = a + off[0];
    const T* pb = b + off[1];
    T* po = out + off[2];
    // The three common inner patterns get tight loops the compiler vectorises.
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

void strided_copy(const std::vector<int64_t>& shape, size_t elem, const void* src,
                  const std::vector<int64_t>& src_strides, void* dst,
                  const std::vector<int64_t>& dst_strides) {
  const std::vector<int64_t>* strides[2] = {&src_strides, &dst_strides};
  const int64_t inner = shape.empty() ? 1 : shape.back();
  const int64_t is = shape.empty() ? 1 : src_strides.back(), id = shape.empty() ? 1 : dst_strides.back();
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  for_each_row<2>(shape, strides, [&](const int64_t* off) {
    const char* ps = s + off[0] * static_cast<int64_t>(elem);
    char* pd = d + off[1] * static_cast<int64_t>(elem);
    if (is == 1 && id == 1) {
      std::memcpy(pd, ps, static_cast<size_t>(inner) * elem);
    } else if (elem == 4) {
      for (int64_t i = 0; i < inner; ++i) std::memcpy(pd + i * id * 4, ps + i * is * 4, 4);
    } else {
      for (int64_t i = 0; i < inner; ++i) std::memcpy(pd + i * id * 8, ps + i * is * 8, 8);
    }
  });
}

template <class T>
void fill(T* p, int64_t n, T value) {
  parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, value); });
}

namespace {
template <class From, class To>
void convert_typed(const From* src, To* dst, int64_t n) {
  parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) dst[i] = static_cast<To>(src[i]);
  });
}

template <class From>
void convert_from(const From* src, void* dst, DType to, int64_t n) {
  switch (to) {
    case DType::F32: convert_typed(src, static_cast<float*>(dst), n); break;
    case DType::F64: convert_typed(src, static_cast<double*>(dst), n); break;
    case DType::I64: convert_typed(src, static_cast<int64_t*>(dst), n); break;
    case DType::I32: convert_typed(src, static_cast<int32_t*>(dst), n); break;
  }
}
}  // namespace

void convert(const void* src, DType from, void* dst, DType to, int64_t n) {
  switch (from) {
    case DType::F32: convert_from(static_cast<const float*>(src), dst, to, n); break;
    case DType::F64: convert_from(static_cast<const double*>(src), dst, to, n); break;
    case DType::I64: convert_from(static_cast<const int64_t*>(src), dst, to, n); break;
    case DType::I32: convert_from(static_cast<const int32_t*>(src), dst, to, n); break;
  }
}

template void fill<float>(float*, int64_t, float);
template void fill<double>(double*, int64_t, double);
template void fill<int64_t>(int64_t*, int64_t, int64_t);
template void fill<int32_t>(int32_t*, int64_t, int32_t);

#define PTL_INSTANTIATE(T)                                                                       \
  template void unary_forward<T>(UnaryOp, const UnaryParams&, const T*, T*, int64_t);           \
  template void unary_backward<T>(UnaryOp, const UnaryParams&, const T*, const T*, const T*, T*, \
                                  int64_t);                                                      \
  template void binary_forward<T>(BinaryOp, const std::vector<int64_t>&, const T*,              \
                                  const std::vector<int64_t>&, const T*,                        \
                                  const std::vector<int64_t>&, T*);
PTL_INSTANTIATE(float)
PTL_INSTANTIATE(double)
#undef PTL_INSTANTIATE

}  // namespace ptl::cpu
