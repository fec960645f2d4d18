#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <type_traits>

#include <immintrin.h>

#include "base/parallel.h"
#include "kernels/cpu/gemm_micro.h"
#include "kernels/cpu/isa.h"

namespace ptl::cpu {

namespace {

// Blocking in the manner of BLIS (Van Zee and van de Geijn 2015): a KC x NC panel of B and an
// MC x KC panel of A are packed into micro-kernel order, and the micro-kernel sweeps the tiles.
// The sizes are constants per micro-kernel (TileShape), never read from the cache sizes, though
// nothing would change if they were: each element of C is one fused multiply-add chain in k
// order (gemm_micro.h), and a panel after the first continues the chain from the stored C, so
// the bits depend on the shape alone. KC x NC sits in L3, MC x KC in L2, KC x NR in L1.
template <class T>
constexpr int64_t kNC = 4096 * sizeof(float) / sizeof(T);

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
// past n for transpose_lines' spill.
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

// Transposing copy: `lines` source lines, line l at s + l*ls and contiguous along k, into
// dst[k*W + l] for k in [0, kc) (lines <= W), times alpha. Floats go through 8x8 register
// transposes (AVX2, which every ptl machine has) stored 8 lanes at a time without masks (masked
// stores are slow on AMD): lanes in [lines, W) get zeros, and when W is not a multiple of 8 the
// last lanes of step k spill into the first lanes of step k + 1 (or of the next sliver, or the
// panel's padding), which are written later: groups go from the highest lanes down, steps
// upwards. The rest of the k range and doubles go element by element. Exact either way: a copy,
// or one multiply.
template <class T>
void transpose_lines(const T* s, int64_t ls, int64_t lines, int64_t kc, int64_t W, T alpha,
                     T* dst) {
  int64_t k0 = 0;
  if constexpr (std::is_same_v<T, float>) {
    const __m256 scale = _mm256_set1_ps(alpha);
    for (; k0 + 8 <= kc; k0 += 8)
      for (int64_t l0 = (lines - 1) / 8 * 8; l0 >= 0; l0 -= 8) {
        const int64_t n = std::min<int64_t>(8, lines - l0);
        __m256 r[8];
        for (int64_t l = 0; l < 8; ++l)
          r[l] = l < n ? _mm256_loadu_ps(s + (l0 + l) * ls + k0) : _mm256_setzero_ps();
        // 8x8 transpose: r[l][k] -> r[k][l]
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        const __m256 c[8] = {
            _mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
            _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
            _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
            _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
        for (int64_t k = 0; k < 8; ++k)
          _mm256_storeu_ps(dst + (k0 + k) * W + l0,
                           alpha == 1.0f ? c[k] : _mm256_mul_ps(c[k], scale));
      }
  }
  for (int64_t l = 0; l < lines; ++l)
    for (int64_t k = k0; k < kc; ++k) dst[k * W + l] = alpha * s[l * ls + k];
}

// op(A) rows [0, mc) x columns [0, kc), element (i, k) at A[i*rs + k*cs], into slivers of MR
// rows: dst[s*MR*kc + k*MR + i] = alpha * op(A)(s*MR + i, k), rows past mc zero.
template <int MR, class T>
void pack_a(const T* A, int64_t rs, int64_t cs, int64_t mc, int64_t kc, T alpha, T* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    const int64_t rows = std::min<int64_t>(MR, mc - i0);
    const T* s = A + i0 * rs;
    if (rs == 1) {  // op(A) stored by columns: MR contiguous values a step
      for (int64_t k = 0; k < kc; ++k)
        for (int64_t i = 0; i < MR; ++i) dst[k * MR + i] = i < rows ? alpha * s[k * cs + i] : T(0);
      continue;
    }
    transpose_lines(s, rs, rows, kc, MR, alpha, dst);  // rows stored contiguously along k
    for (int64_t k = 0; k < kc; ++k) std::fill(dst + k * MR + rows, dst + (k + 1) * MR, T(0));
  }
}

// op(B) rows [0, kc) x columns [0, nc), element (k, j) at B[k*rs + j*cs], into slivers of NR
// columns: dst[s*NR*kc + k*NR + j] = op(B)(k, s*NR + j), columns past nc zero.
template <int NR, class T>
void pack_b(const T* B, int64_t rs, int64_t cs, int64_t kc, int64_t nc, T* dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
    const int64_t cols = std::min<int64_t>(NR, nc - j0);
    const T* s = B + j0 * cs;
    if (cs == 1 && cols == NR) {  // op(B) stored by rows: NR contiguous values a step
      for (int64_t k = 0; k < kc; ++k)
        for (int j = 0; j < NR; ++j) dst[k * NR + j] = s[k * rs + j];  // vector moves, no call
      continue;
    }
    if (cs == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        std::copy_n(s + k * rs, cols, dst + k * NR);
        std::fill(dst + k * NR + cols, dst + (k + 1) * NR, T(0));
      }
      continue;
    }
    transpose_lines(s, cs, cols, kc, NR, T(1), dst);  // columns stored contiguously along k
    for (int64_t k = 0; k < kc; ++k) std::fill(dst + k * NR + cols, dst + (k + 1) * NR, T(0));
  }
}

// C (M, N) = alpha op(A) op(B) + C, or + 0 * C when !accumulate (C not read), with the tiles
// of one micro-kernel of shape MR x NR; with `packed`, A's panels are taken from it (A, ars, acs
// and alpha unused). pack_panel(nr, pc, kc, jc, nc, dst) packs rows [pc, pc + kc) x columns
// [jc, jc + nc) of op(B) into slivers of nr columns (pack_b's layout), nr a constant NR.
template <int MR, int NR, int KC, int MC, class T, class PackPanel>
void gemm_blocked(MicroKernelFn<T> tile, const T* A, int64_t ars, int64_t acs,
                  const PackPanel& pack_panel, T* C, int64_t ldc, int64_t M, int64_t N, int64_t K,
                  T alpha, bool accumulate, const PackedA<T>* packed) {
  const int64_t NC = kNC<T> / NR * NR;
  static_assert(MC % MR == 0, "MC must be a multiple of MR");
  T* pa = packed ? nullptr : panel<T>(0, MC * KC);
  T* pb = panel<T>(1, NC * KC);
  T edge[MR * NR];
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, K - pc);
      const bool acc = accumulate || pc > 0;
      pack_panel(std::integral_constant<int, NR>{}, pc, kc, jc, nc, pb);
      for (int64_t ic = 0; ic < M; ic += MC) {
        const int64_t mc = std::min<int64_t>(MC, M - ic);
        const T* a_panel = pa;
        if (packed)
          a_panel = packed->panel(pc, ic);
        else
          pack_a<MR>(A + ic * ars + pc * acs, ars, acs, mc, kc, alpha, pa);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t cols = std::min<int64_t>(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t rows = std::min<int64_t>(MR, mc - ir);
            T* c = C + (ic + ir) * ldc + jc + jr;
            const T* a = a_panel + ir * kc;
            const T* b = pb + jr * kc;
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

// The tile shape and micro-kernel of a path, and a call of f with the path as a constant.
template <class T, Isa I>
constexpr TileShape kShape = I == Isa::avx512 ? (std::is_same_v<T, float> ? kAvx512F32 : kAvx512F64)
                                              : (std::is_same_v<T, float> ? kAvx2F32 : kAvx2F64);

template <class T, Isa I>
MicroKernelFn<T> micro_kernel() {
  const MicroKernels k = I == Isa::avx512 ? avx512_micro_kernels() : avx2_micro_kernels();
  if constexpr (std::is_same_v<T, float>)
    return k.f32;
  else
    return k.f64;
}

template <class F>
void on_path(Isa isa, F&& f) {
  if (isa == Isa::avx512)
    f(std::integral_constant<Isa, Isa::avx512>{});
  else
    f(std::integral_constant<Isa, Isa::avx2>{});
}

// Before the products: beta 0: C is not read (it may hold NaN); beta 1: the chains continue
// from C; otherwise C is scaled first and the chains continue from beta * C. With K = 0, C is
// the result.
template <class T>
void apply_beta(int64_t M, int64_t N, int64_t K, T beta, T* C, int64_t ldc) {
  if (K == 0 || (beta != T(0) && beta != T(1)))
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
}

// C (M, N) = alpha op(A) op(B) + beta C on the path in use (or A's, when packed), op(B)'s
// panels from pack_panel (gemm_blocked).
template <class T, class PackPanel>
void product(const T* A, int64_t ars, int64_t acs, const PackPanel& pack_panel, T* C, int64_t ldc,
             int64_t M, int64_t N, int64_t K, T alpha, T beta, const PackedA<T>* packed = nullptr) {
  if (M == 0 || N == 0) return;
  apply_beta(M, N, K, beta, C, ldc);
  if (K == 0) return;
  on_path(packed ? packed->isa() : current_isa(), [&](auto path) {
    constexpr TileShape s = kShape<T, decltype(path)::value>;
    gemm_blocked<s.mr, s.nr, s.kc, s.mc, T>(micro_kernel<T, decltype(path)::value>(), A, ars, acs,
                                            pack_panel, C, ldc, M, N, K, alpha, beta != T(0),
                                            packed);
  });
}

// The pack_panel of gemm_blocked for op(B) stored at B, op(B)(k, j) = B[k*brs + j*bcs].
template <class T>
auto stored_panels(const T* B, int64_t brs, int64_t bcs) {
  return [=](auto nr, int64_t pc, int64_t kc, int64_t jc, int64_t nc, T* dst) {
    pack_b<decltype(nr)::value>(B + pc * brs + jc * bcs, brs, bcs, kc, nc, dst);
  };
}

}  // namespace

template <class T>
void gemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  // op(A)(i, k) = A[i*ars + k*acs], op(B)(k, j) = B[k*brs + j*bcs]
  product<T>(A, ta ? 1 : lda, ta ? lda : 1, stored_panels(B, tb ? 1 : ldb, tb ? ldb : 1), C, ldc, M,
             N, K, alpha, beta);
}

// KC blocks of k are packed in parallel, each as gemm_blocked packs it, 16 elements apart: the
// register transposes of pack_a may spill a few lanes past a block's end (transpose_lines),
// which must not land in a block another thread has written.
template <class T>
PackedA<T>::PackedA(bool ta, int64_t M, int64_t K, T alpha, const T* A, int64_t lda)
    : M_(M), K_(K), isa_(current_isa()) {
  const int64_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
  on_path(isa_, [&](auto path) {
    constexpr TileShape s = kShape<T, decltype(path)::value>;
    const int64_t padded_rows = (M + s.mr - 1) / s.mr * s.mr, blocks = (K + s.kc - 1) / s.kc;
    block_k_ = s.kc;
    block_stride_ = padded_rows * s.kc + 16;
    data_ = aligned_array<T>(blocks * block_stride_);
    parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t pc = b * s.kc, kc = std::min<int64_t>(s.kc, K - pc);
        for (int64_t ic = 0; ic < M; ic += s.mc)
          pack_a<s.mr>(A + ic * ars + pc * acs, ars, acs, std::min<int64_t>(s.mc, M - ic), kc,
                       alpha, data_.get() + b * block_stride_ + ic * kc);
      }
    });
  });
}

template <class T>
const T* PackedA<T>::panel(int64_t pc, int64_t ic) const {
  return data_.get() + pc / block_k_ * block_stride_ + ic * std::min(block_k_, K_ - pc);
}

template <class T>
void gemm_serial_packed(const PackedA<T>& A, bool tb, int64_t N, const T* B, int64_t ldb, T beta,
                        T* C, int64_t ldc) {
  product<T>(nullptr, 0, 0, stored_panels(B, tb ? 1 : ldb, tb ? ldb : 1), C, ldc, A.rows(), N,
             A.depth(), T(1), beta, &A);
}

template <class T>
void gemm_serial_packed(const PackedA<T>& A, const PanelSource<T>& B, int64_t N, T beta, T* C,
                        int64_t ldc) {
  const auto source_panels = [&](auto nr, int64_t pc, int64_t kc, int64_t jc, int64_t nc, T* dst) {
    B.pack(pc, kc, jc, nc, decltype(nr)::value, dst);
  };
  product<T>(nullptr, 0, 0, source_panels, C, ldc, A.rows(), N, A.depth(), T(1), beta, &A);
}

template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  // Small problems or one thread: one call. Otherwise blocks of rows of C (or of columns
  // when C is short and wide), each at least 64 wide so the packed kernels stay efficient.
  const double flops = 2.0 * M * N * K;
  if (flops < 4e6 || num_threads() == 1) {
    gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  if (M >= N) {
    const int64_t block = std::max<int64_t>(64, (M + 7) / 8);
    parallel_for(M, block, [&](int64_t r0, int64_t r1) {
      const T* a0 = ta ? A + r0 : A + r0 * lda;
      gemm_serial(ta, tb, r1 - r0, N, K, alpha, a0, lda, B, ldb, beta, C + r0 * ldc, ldc);
    });
  } else {
    const int64_t block = std::max<int64_t>(64, (N + 7) / 8);
    parallel_for(N, block, [&](int64_t c0, int64_t c1) {
      const T* b0 = tb ? B + c0 * ldb : B + c0;
      gemm_serial(ta, tb, M, c1 - c0, K, alpha, A, lda, b0, ldb, beta, C + c0, ldc);
    });
  }
}

#include "kernels/contract/gemm_instances.inc"
PTL_INSTANTIATE_GEMM()

template void gemm_serial<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*,
                                 int64_t, const float*, int64_t, float, float*, int64_t);
template void gemm_serial<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*,
                                  int64_t, const double*, int64_t, double, double*, int64_t);
template class PackedA<float>;
template class PackedA<double>;
template void gemm_serial_packed<float>(const PackedA<float>&, bool, int64_t, const float*, int64_t,
                                        float, float*, int64_t);
template void gemm_serial_packed<double>(const PackedA<double>&, bool, int64_t, const double*,
                                         int64_t, double, double*, int64_t);
template void gemm_serial_packed<float>(const PackedA<float>&, const PanelSource<float>&, int64_t,
                                        float, float*, int64_t);
template void gemm_serial_packed<double>(const PackedA<double>&, const PanelSource<double>&,
                                         int64_t, double, double*, int64_t);

}  // namespace ptl::cpu
