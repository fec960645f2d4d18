// The blocked loops shared by the float GEMM (kernels/cpu/gemm.cpp) and the bf16 GEMM
// (gemm_bf16.cpp): packed panels swept by a micro-kernel, per-thread panel buffers, and the
// fixed split of C between threads. Internal to the two drivers.
//
// Blocking in the manner of BLIS (Van Zee and van de Geijn 2015): a KC x NC panel of B and an
// MC x KC panel of A are packed into micro-kernel order, and the micro-kernel sweeps the tiles.
// The sizes are constants per micro-kernel (TileShape), never read from the cache sizes, though
// nothing would change if they were: each element of C is one chain in k order (gemm_micro.h),
// and a panel after the first continues the chain from the stored C, so the bits depend on the
// shape alone. KC x NC sits in L3, MC x KC in L2, KC x NR in L1. A "step" of k is one element
// of a packed panel: one k for float and double, a pair of k for bf16 (gemm_bf16.h).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

#include <immintrin.h>

#include "base/parallel.h"
#include "kernels/cpu/gemm_micro.h"

namespace ptl::cpu {

// NC: columns of B per packed panel, 16 KiB of steps a row.
template <class P>
constexpr int64_t kNC = 4096 * sizeof(float) / sizeof(P);

// n elements, 64-byte aligned (at least one cache line: aligned_alloc(64, 0) may return null).
template <class T>
std::unique_ptr<T, decltype(&std::free)> aligned_array(int64_t n) {
  const size_t bytes = std::max<size_t>(64, (static_cast<size_t>(n) * sizeof(T) + 63) / 64 * 64);
  std::unique_ptr<T, decltype(&std::free)> p(static_cast<T*>(std::aligned_alloc(64, bytes)),
                                             &std::free);
  if (!p) throw std::bad_alloc();
  return p;
}

// A per-thread scratch buffer for a packed panel, grown on demand, with 8 elements of padding
// past n for the float packing's register-transpose spill (gemm.cpp, transpose_lines).
template <class T>
T* panel(int which, int64_t n) {
  struct Buffer {
    std::unique_ptr<T, decltype(&std::free)> data{nullptr, &std::free};
    int64_t size = 0;
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[which];
  if (b.size < n) {
    b.data = aligned_array<T>(n + 8);
    b.size = n;
  }
  return b.data.get();
}

// The 8x8 transpose of the packings' register transposes (AVX2, which every ptl machine has):
// c[k][l] = r[l][k].
inline void transpose8x8(const __m256 r[8], __m256 c[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  c[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  c[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  c[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  c[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  c[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  c[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  c[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  c[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// C (M, N) = op(A) op(B) + C, or + 0 * C when !accumulate (C not read), K steps, with the tiles
// of one micro-kernel of shape MR x NR. a_panel(pc, kc, ic, mc) returns rows [ic, ic + mc) x
// steps [pc, pc + kc) of op(A) packed in slivers of MR rows (gemm_micro.h's layout, rows past
// mc zero); pack_panel(nr, pc, kc, jc, nc, dst) packs steps [pc, pc + kc) x columns
// [jc, jc + nc) of op(B) into slivers of nr columns (nr a constant NR, columns past nc zero).
template <int MR, int NR, int KC, int MC, class P, class TC, class APanel, class PackPanel>
void gemm_blocked(MicroKernelFn<P, TC> tile, const APanel& a_panel, const PackPanel& pack_panel,
                  TC* C, int64_t ldc, int64_t M, int64_t N, int64_t K, bool accumulate) {
  const int64_t NC = kNC<P> / NR * NR;
  static_assert(MC % MR == 0, "MC must be a multiple of MR");
  P* pb = panel<P>(1, NC * KC);
  TC edge[MR * NR];
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, K - pc);
      const bool acc = accumulate || pc > 0;
      pack_panel(std::integral_constant<int, NR>{}, pc, kc, jc, nc, pb);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min<int64_t>(MC, M - ic);
        const P* pa = a_panel(pc, kc, ic, mc);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t cols = std::min<int64_t>(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t rows = std::min<int64_t>(MR, mc - ir);
            TC* c = C + (ic + ir) * ldc + jc + jr;
            const P* a = pa + ir * kc;
            const P* b = pb + jr * kc;
            if (rows == MR && cols == NR) {
              tile(kc, a, b, c, ldc, acc);
              continue;
            }
            // A partial tile runs on a full one in `edge` (the padding rows and columns of the
            // panels are zeros), then its valid part is copied back.
            for (int64_t i = 0; i < rows && acc; ++i) std::copy_n(c + i * ldc, cols, edge + i * NR);
            tile(kc, a, b, edge, NR, acc);
            for (int64_t i = 0; i < rows; ++i) std::copy_n(edge + i * NR, cols, c + i * ldc);
          }
        }
      }
    }
  }
}

// The parallel split of gemm(): small problems or one thread: one call of
// serial(i0, i1, j0, j1) for all of C; otherwise blocks of rows of C (or of columns when C is
// short and wide), each at least 64 wide so the packed kernels stay efficient. The blocks depend
// on the shape and the thread count only, and no element of C depends on its block.
template <class Serial>
void split_gemm(int64_t M, int64_t N, int64_t K, const Serial& serial) {
  const double flops = 2.0 * M * N * K;
  if (flops < 4e6 || num_threads() == 1) {
    serial(0, M, 0, N);
    return;
  }
  if (M >= N) {
    const int64_t block = std::max<int64_t>(64, (M + 7) / 8);
    parallel_for(M, block, [&](int64_t r0, int64_t r1) { serial(r0, r1, 0, N); });
  } else {
    const int64_t block = std::max<int64_t>(64, (N + 7) / 8);
    parallel_for(N, block, [&](int64_t c0, int64_t c1) { serial(0, M, c0, c1); });
  }
}

}  // namespace ptl::cpu
