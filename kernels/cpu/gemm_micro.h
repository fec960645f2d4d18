// The GEMM micro-kernels behind kernels/cpu/gemm.cpp, one set per instruction set
// (gemm_avx2.cpp, gemm_avx512.cpp). A micro-kernel computes one MR x NR tile of row-major C
// from packed panels: a holds kc steps of MR values (a[k*MR + i] = A(i, k)), b holds kc steps
// of NR values (b[k*NR + j] = B(k, j)). Each element of C is one chain of fused multiply-adds
// in k order, started from C itself (accumulate) or from zero:
//     c(i, j) = fma(A(i, kc-1), B(kc-1, j), ... fma(A(i, 0), B(0, j), c0) ...)
// The vector lanes are different elements of C, so the bits of the result do not depend on the
// vector width, the tile size or the blocking: every path computes the same chains.
#pragma once
#include <cstdint>

namespace ptl::cpu {

template <class T>
using MicroKernelFn = void (*)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc,
                               bool accumulate);

struct MicroKernels {
  MicroKernelFn<float> f32;
  MicroKernelFn<double> f64;
};

// Tile shapes (MR rows, NR columns): NR is two vectors, MR as many rows as the registers hold
// (MR x 2 accumulators, 2 vectors of B and a broadcast: 15 of 16 ymm, 27 of 32 zmm). And the
// blocking of kernels/cpu/gemm.cpp: KC steps of k per packed panel, MC rows of A per panel.
// The blocking changes the speed only, never the bits; the AVX-512 float figures are the best
// of five (KC, MC) pairs timed on an Intel Xeon with AVX-512 (docs/performance.md).
struct TileShape {
  int mr, nr, kc, mc;
};
constexpr TileShape kAvx2F32{6, 16, 256, 144}, kAvx2F64{6, 8, 256, 144};
constexpr TileShape kAvx512F32{12, 32, 384, 96}, kAvx512F64{12, 16, 256, 144};

// Compiled for AVX2+FMA and for AVX-512F; call the second only where the CPU has AVX-512
// (cpu::current_isa()).
MicroKernels avx2_micro_kernels();
MicroKernels avx512_micro_kernels();

}  // namespace ptl::cpu
