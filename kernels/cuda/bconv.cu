// CUDA fused BConv-Cell gates (kernels/contract/bconv.inc): one element-wise kernel forward,
// one backward, with the per-element math of kernels/bconv_math.h (the CPU's functions).
// z is (N, 4C, S) with gate blocks i, f, o, g `C*S` apart inside each sample; c_prev, h, c, gh
// are (N, C, S).
#include "kernels/bconv_math.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace ptl::cuda {

namespace {

// Offset in z of gate i for element e of an (N, C, S) tensor: sample n = e / (C*S) moves 4*C*S.
__device__ __forceinline__ int64_t gate_offset(int64_t e, int64_t plane) {
  const int64_t n = e / plane;
  return e + 3 * n * plane;  // n * 4 * plane + (e - n * plane)
}

template <class T>
__global__ void bconv_forward_kernel(const T* __restrict__ z, const T* __restrict__ c_prev, T* __restrict__ h,
                                     T* __restrict__ c, int64_t plane, int64_t n) {
  PTL_GRID_LOOP(int64_t, e, n) {
    const int64_t zo = gate_offset(e, plane);
    T hv, cv;
    bconv_forward_elem(z[zo], z[zo + plane], z[zo + 2 * plane], z[zo + 3 * plane], c_prev[e], &hv, &cv);
    h[e] = hv;
    c[e] = cv;
  }
}

template <class T>
__global__ void bconv_backward_kernel(const T* __restrict__ z, const T* __restrict__ c_prev,
                                      const T* __restrict__ gh, T* __restrict__ gz, int64_t plane, int64_t n) {
  PTL_GRID_LOOP(int64_t, e, n) {
    const int64_t zo = gate_offset(e, plane);
    T gi, gf, go, gg;
    bconv_backward_elem(z[zo], z[zo + plane], z[zo + 2 * plane], z[zo + 3 * plane], c_prev[e], gh[e], &gi, &gf,
                        &go, &gg);
    gz[zo] = gi;
    gz[zo + plane] = gf;
    gz[zo + 2 * plane] = go;
    gz[zo + 3 * plane] = gg;
  }
}

}  // namespace

template <class T>
void bconv_gates_forward(const T* z, const T* c_prev, T* h, T* c, int64_t N, int64_t C, int64_t S) {
  const int64_t n = N * C * S;
  if (n == 0) return;
  bconv_forward_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(z, c_prev, h, c, C * S, n);
  PTL_CUDA_CHECK_LAUNCH();
}

template <class T>
void bconv_gates_backward(const T* z, const T* c_prev, const T* gh, T* gz, int64_t N, int64_t C, int64_t S) {
  const int64_t n = N * C * S;
  if (n == 0) return;
  bconv_backward_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(z, c_prev, gh, gz, C * S, n);
  PTL_CUDA_CHECK_LAUNCH();
}

#include "kernels/contract/bconv_instances.inc"
PTL_INSTANTIATE_BCONV()

}  // namespace ptl::cuda
