// CUDA element-wise kernels (kernels/contract/elementwise.inc); per-element math from
// kernels/elementwise_math.h, the same functions the CPU kernels run.
#include "kernels/convert_dispatch.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace ptl::cuda {

namespace {

template <class T>
__global__ void unary_forward_kernel(UnaryOp op, UnaryParams p, const T* __restrict__ x,
                                     T* __restrict__ y, int64_t n) {
  PTL_GRID_LOOP(int64_t, i, n) y[i] = ptl::unary_forward(op, x[i], p);
}

template <class T>
__global__ void unary_backward_kernel(UnaryOp op, UnaryParams p, const T* __restrict__ g,
                                      const T* __restrict__ x, const T* __restrict__ y,
                                      T* __restrict__ gx, int64_t n) {
  PTL_GRID_LOOP(int64_t, i, n) gx[i] = ptl::unary_backward(op, g[i], x[i], y[i], p);
}

// out = a (op) b, all three contiguous and of the same size.
template <class T>
__global__ void binary_contiguous_kernel(BinaryOp op, const T* __restrict__ a,
                                         const T* __restrict__ b, T* __restrict__ out, int64_t n) {
  PTL_GRID_LOOP(int64_t, i, n) out[i] = ptl::binary_forward(op, a[i], b[i]);
}

// The residual join: y = relu(a + b), contiguous operands (relu as unary_forward's Relu).
template <class T>
__global__ void add_relu_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                                int64_t n) {
  PTL_GRID_LOOP(int64_t, i, n) y[i] = ptl::unary_forward(UnaryOp::Relu, a[i] + b[i], UnaryParams{});
}

// out[i] = a[off_a(i)] (op) b[off_b(i)]; out is contiguous (operand 2 of ix is unused).
template <class T, class I>
__global__ void binary_strided_kernel(BinaryOp op, StridedIndex<2> ix, const T* __restrict__ a,
                                      const T* __restrict__ b, T* __restrict__ out, int64_t n) {
  PTL_GRID_LOOP(I, i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    out[i] = ptl::binary_forward(op, a[off[0]], b[off[1]]);
  }
}

// dst[off_dst(i)] = src[off_src(i)] for words of type W (4 or 8 bytes).
template <class W, class I>
__global__ void strided_copy_kernel(StridedIndex<2> ix, const W* __restrict__ src,
                                    W* __restrict__ dst, int64_t n) {
  PTL_GRID_LOOP(I, i, n) {
    int64_t off[2];
    ix.offsets(i, off);
    dst[off[1]] = src[off[0]];
  }
}

template <class W>
__global__ void copy_contiguous_kernel(const W* __restrict__ src, W* __restrict__ dst, int64_t n) {
  PTL_GRID_LOOP(int64_t, i, n) dst[i] = src[i];
}

template <class T>
__global__ void fill_kernel(T* __restrict__ p, int64_t n, T value) {
  PTL_GRID_LOOP(int64_t, i, n) p[i] = value;
}

template <class From, class To>
__global__ void convert_kernel(const From* __restrict__ src, To* __restrict__ dst, int64_t n) {
  PTL_GRID_LOOP(int64_t, i, n) dst[i] = convert_value<To>(src[i]);
}

template <class W>
void strided_copy_words(const StridedIndex<2>& ix, const void* src, void* dst) {
  const int64_t n = ix.numel();
  if (n == 0) return;
  const W* s = static_cast<const W*>(src);
  W* d = static_cast<W*>(dst);
  if (ix.contiguous()) {
    copy_contiguous_kernel<W><<<grid_for(n), kBlock, 0, stream()>>>(s, d, n);
  } else if (fits_int32(n)) {
    strided_copy_kernel<W, int32_t><<<grid_for(n), kBlock, 0, stream()>>>(ix, s, d, n);
  } else {
    strided_copy_kernel<W, int64_t><<<grid_for(n), kBlock, 0, stream()>>>(ix, s, d, n);
  }
  PTL_CUDA_CHECK_LAUNCH();
}

}  // namespace

template <class T>
void unary_forward(UnaryOp op, const UnaryParams& p, const T* x, T* y, int64_t n) {
  if (n <= 0) return;
  unary_forward_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(op, p, x, y, n);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void unary_backward(UnaryOp op, const UnaryParams& p, const T* g, const T* x, const T* y, T* gx,
                    int64_t n) {
  if (n <= 0) return;
  unary_backward_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(op, p, g, x, y, gx, n);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void add_relu_forward(const T* a, const T* b, T* y, int64_t n) {
  if (n <= 0) return;
  add_relu_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(a, b, y, n);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void binary_forward(BinaryOp op, const std::vector<int64_t>& shape, const T* a,
                    const std::vector<int64_t>& sa, const T* b, const std::vector<int64_t>& sb,
                    T* out) {
  const StridedIndex<2> ix = make_strided_index<2>(shape, {&sa, &sb});
  const int64_t n = ix.numel();
  if (n == 0) return;
  if (ix.contiguous()) {
    binary_contiguous_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(op, a, b, out, n);
  } else if (fits_int32(n)) {
    binary_strided_kernel<T, int32_t><<<grid_for(n), kBlock, 0, stream()>>>(op, ix, a, b, out, n);
  } else {
    binary_strided_kernel<T, int64_t><<<grid_for(n), kBlock, 0, stream()>>>(op, ix, a, b, out, n);
  }
  PTL_CUDA_CHECK_LAUNCH();
}

void strided_copy(const std::vector<int64_t>& shape, size_t elem, const void* src,
                  const std::vector<int64_t>& src_strides, void* dst,
                  const std::vector<int64_t>& dst_strides) {
  PTL_CHECK(elem == 2 || elem == 4 || elem == 8, "strided_copy: element size ", elem,
            " (want 2, 4 or 8)");
  const StridedIndex<2> ix = make_strided_index<2>(shape, {&src_strides, &dst_strides});
  if (elem == 2)
    strided_copy_words<uint16_t>(ix, src, dst);
  else if (elem == 4)
    strided_copy_words<uint32_t>(ix, src, dst);
  else
    strided_copy_words<unsigned long long>(ix, src, dst);
}

template <class T>
void fill(T* p, int64_t n, T value) {
  if (n <= 0) return;
  fill_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(p, n, value);
  PTL_CUDA_CHECK_LAUNCH();
}

void convert(const void* src, DType from, void* dst, DType to, int64_t n) {
  if (n <= 0) return;
  dispatch_convert(src, from, dst, to, [n](const auto* s, auto* d) {
    convert_kernel<<<grid_for(n), kBlock, 0, stream()>>>(s, d, n);
    PTL_CUDA_CHECK_LAUNCH();
  });
}

#include "kernels/contract/elementwise_instances.inc"
PTL_INSTANTIATE_ELEMENTWISE()

}  // namespace ptl::cuda
