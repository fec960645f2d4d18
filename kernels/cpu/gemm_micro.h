// The GEMM micro-kernels behind kernels/cpu/gemm.cpp and gemm_bf16.cpp, one set per instruction
// set (gemm_avx2.cpp, gemm_avx512.cpp, gemm_avx512bf16.cpp). A micro-kernel computes one MR x NR
// tile of row-major C from packed panels: a holds kc steps of MR values (a[k*MR + i] = A(i, k)),
// b holds kc steps of NR values (b[k*NR + j] = B(k, j)). Each element of C is one chain of fused
// multiply-adds in k order, started from C itself (accumulate) or from zero:
//     c(i, j) = fma(A(i, kc-1), B(kc-1, j), ... fma(A(i, 0), B(0, j), c0) ...)
// The vector lanes are different elements of C, so the bits of the result do not depend on the
// vector width, the tile size or the blocking: every path computes the same chains.
// bf16 (gemm_bf16.h has the whole contract): with VDPBF16PS, a step is a pair of k in one
// 32-bit word (k = 2p in the lower half, 2p + 1 in the upper) and one instruction, two fused
// multiply-adds, the upper half first, with denormals read as zero and flushed to zero. The
// emulation is the float kernel, with those two modes set, on panels of the bf16 values as
// floats with the two k of each pair swapped (steps k = 1, 0, 3, 2, ...): the same chain.
#pragma once
#include <cstdint>

namespace ptl::cpu {

// P: a packed step (float, double, or a pair of bf16 as uint32_t); TC: an element of C.
template <class P, class TC = P>
using MicroKernelFn = void (*)(int64_t kc, const P* a, const P* b, TC* c, int64_t ldc,
                               bool accumulate);

struct MicroKernels {
  MicroKernelFn<float> f32;
  MicroKernelFn<double> f64;
  MicroKernelFn<float> bf16;  // VDPBF16PS's arithmetic from float FMAs (emulated)
};

// Tile shapes (MR rows, NR columns): NR is two vectors, MR as many rows as the registers hold
// (MR x 2 accumulators, 2 vectors of B and a broadcast: 15 of 16 ymm, 27 of 32 zmm). And the
// blocking of kernels/cpu/gemm.cpp: KC steps of k per packed panel, MC rows of A per panel.
// The blocking changes the speed only, never the bits; the AVX-512 float figures are the best
// of five (KC, MC) pairs timed on an Intel Xeon with AVX-512 (docs/performance.md). The bf16
// emulation takes the float shapes; VDPBF16PS's kernel counts KC in pairs of k (a panel holds
// as many bytes as the float one).
struct TileShape {
  int mr, nr, kc, mc;
};
constexpr TileShape kAvx2F32{6, 16, 256, 144}, kAvx2F64{6, 8, 256, 144};
constexpr TileShape kAvx512F32{12, 32, 384, 96}, kAvx512F64{12, 16, 256, 144};
constexpr TileShape kAvx512Bf16 = kAvx512F32;

// Compiled for AVX2+FMA, for AVX-512F and for AVX-512F with AVX512_BF16; call each only where
// the CPU has its instructions (cpu::current_isa()). The last is the bf16 kernel that runs
// VDPBF16PS itself, on the kAvx512Bf16 shape.
MicroKernels avx2_micro_kernels();
MicroKernels avx512_micro_kernels();
MicroKernelFn<uint32_t, float> avx512bf16_micro_kernel();

}  // namespace ptl::cpu
