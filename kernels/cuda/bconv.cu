// CUDA fused BConv-Cell gates (kernels/contract/bconv.inc): one element-wise kernel forward,
// one backward, with the per-element math of kernels/bconv_math.h (the CPU's functions).
// z is (N, 4C, S) with gate blocks i, f, o, g `C*S` apart inside each sample; c_prev, h, c, gh
// are (N, C, S).
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "kernels/bconv_math.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/launch.cuh"

namespace ptl::cuda {

namespace {

// L consecutive elements, loaded and stored as one 16-byte access when L * sizeof(T) == 16 (the
// widest the memory system serves per thread).
template <class T, int L>
struct alignas(sizeof(T) * L) Lanes {
  T v[L];
};

// The launch: blockIdx.y walks the samples n, so no thread divides to find its sample, and x the
// packs of L elements inside the (C*S) plane; `packs` = plane / L. (With a 64-bit division per
// element and one element per thread the kernels ran at 2.3-2.6 TB/s on an H200; with both
// changed, 3.3-4.0 TB/s: docs/performance.md.)
inline dim3 gate_grid(int64_t N, int64_t packs) {
  return dim3(grid_for(packs), static_cast<unsigned>(N < 65535 ? N : 65535));
}

#define PTL_GATE_LOOP(n, j, N, packs)                                                          \
  for (int64_t n = blockIdx.y; n < (N); n += gridDim.y)                                        \
    for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < (packs); \
         j += static_cast<int64_t>(blockDim.x) * gridDim.x)

template <class T, int L>
__global__ void bconv_forward_kernel(const T* __restrict__ z, const T* __restrict__ c_prev,
                                     T* __restrict__ h, T* __restrict__ c, int64_t N,
                                     int64_t packs) {
  using P = Lanes<T, L>;
  PTL_GATE_LOOP(n, j, N, packs) {
    const P* zn =
        reinterpret_cast<const P*>(z) + 4 * n * packs + j;  // gate i; f, o, g `packs` apart
    const int64_t e = n * packs + j;
    const P zi = zn[0], zf = zn[packs], zo = zn[2 * packs], zg = zn[3 * packs];
    const P cp = reinterpret_cast<const P*>(c_prev)[e];
    P hv, cv;
#pragma unroll
    for (int l = 0; l < L; ++l)
      bconv_forward_elem(zi.v[l], zf.v[l], zo.v[l], zg.v[l], cp.v[l], &hv.v[l], &cv.v[l]);
    reinterpret_cast<P*>(h)[e] = hv;
    reinterpret_cast<P*>(c)[e] = cv;
  }
}

template <class T, int L>
__global__ void bconv_backward_kernel(const T* __restrict__ z, const T* __restrict__ c_prev,
                                      const T* __restrict__ gh, T* __restrict__ gz, int64_t N,
                                      int64_t packs) {
  using P = Lanes<T, L>;
  PTL_GATE_LOOP(n, j, N, packs) {
    const int64_t zbase = 4 * n * packs + j, e = n * packs + j;  // gate i; f, o, g `packs` apart
    const P* zn = reinterpret_cast<const P*>(z) + zbase;
    const P zi = zn[0], zf = zn[packs], zo = zn[2 * packs], zg = zn[3 * packs];
    const P cp = reinterpret_cast<const P*>(c_prev)[e], g = reinterpret_cast<const P*>(gh)[e];
    P gi, gf, go, gg;
#pragma unroll
    for (int l = 0; l < L; ++l)
      bconv_backward_elem(zi.v[l], zf.v[l], zo.v[l], zg.v[l], cp.v[l], g.v[l], &gi.v[l], &gf.v[l],
                          &go.v[l], &gg.v[l]);
    P* gzn = reinterpret_cast<P*>(gz) + zbase;
    gzn[0] = gi;
    gzn[packs] = gf;
    gzn[2 * packs] = go;
    gzn[3 * packs] = gg;
  }
}

#undef PTL_GATE_LOOP

// Lanes per thread: 16 bytes' worth when the plane divides into such packs and every pointer is
// 16-byte aligned (views may start anywhere), else one.
template <class T>
int gate_lanes(int64_t plane, std::initializer_list<const void*> ptrs) {
  constexpr int wide = 16 / sizeof(T);
  if (plane % wide != 0) return 1;
  for (const void* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return 1;
  return wide;
}

// Calls launch(lanes, grid, packs) with lanes a std::integral_constant<int, L> for the widest L
// that gate_lanes allows over the tensors `ptrs` of (N, C*S) elements each.
template <class T, class Launch>
void launch_gates(int64_t N, int64_t plane, std::initializer_list<const void*> ptrs,
                  const Launch& launch) {
  if (N * plane == 0) return;
  constexpr int wide = 16 / sizeof(T);
  if (gate_lanes<T>(plane, ptrs) == wide)
    launch(std::integral_constant<int, wide>{}, gate_grid(N, plane / wide), plane / wide);
  else
    launch(std::integral_constant<int, 1>{}, gate_grid(N, plane), plane);
  PTL_CUDA_CHECK_LAUNCH();
}

}  // namespace

template <class T>
void bconv_gates_forward(const T* z, const T* c_prev, T* h, T* c, int64_t N, int64_t C, int64_t S) {
  launch_gates<T>(N, C * S, {z, c_prev, h, c}, [&](auto lanes, dim3 grid, int64_t packs) {
    bconv_forward_kernel<T, decltype(lanes)::value>
        <<<grid, kBlock, 0, stream()>>>(z, c_prev, h, c, N, packs);
  });
}

template <class T>
void bconv_gates_backward(const T* z, const T* c_prev, const T* gh, T* gz, int64_t N, int64_t C,
                          int64_t S) {
  launch_gates<T>(N, C * S, {z, c_prev, gh, gz}, [&](auto lanes, dim3 grid, int64_t packs) {
    bconv_backward_kernel<T, decltype(lanes)::value>
        <<<grid, kBlock, 0, stream()>>>(z, c_prev, gh, gz, N, packs);
  });
}

#include "kernels/contract/bconv_instances.inc"
PTL_INSTANTIATE_BCONV()

}  // namespace ptl::cuda
