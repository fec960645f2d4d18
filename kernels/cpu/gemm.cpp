#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <type_traits>

#include <immintrin.h>

#include "base/error.h"
#include "base/parallel.h"
#include "kernels/cpu/gemm_blocked.h"
#include "kernels/cpu/gemm_micro.h"
#include "kernels/cpu/isa.h"

namespace ptl::cpu {

namespace {

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
        __m256 c[8];
        transpose8x8(r, c);
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

// avx512bf16 runs the float and double products on the AVX-512F kernels.
template <class F>
void on_path(Isa isa, F&& f) {
  if (isa != Isa::avx2)
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

// C (M, N) = alpha op(A) op(B) + beta C on the path in use (or A's, when packed: then op(A) is
// rows [row0, row0 + M) of the packed matrix), op(B)'s panels from pack_panel (gemm_blocked).
template <class T, class PackPanel>
void product(const T* A, int64_t ars, int64_t acs, const PackPanel& pack_panel, T* C, int64_t ldc,
             int64_t M, int64_t N, int64_t K, T alpha, T beta, const PackedA<T>* packed = nullptr,
             int64_t row0 = 0) {
  if (M == 0 || N == 0) return;
  apply_beta(M, N, K, beta, C, ldc);
  if (K == 0) return;
  on_path(packed ? packed->isa() : current_isa(), [&](auto path) {
    constexpr TileShape s = kShape<T, decltype(path)::value>;
    static_assert(kPackedRowStep % s.mr == 0, "row0 must start a sliver of the packed A");
    T* pa = packed ? nullptr : panel<T>(0, s.mc * s.kc);
    const auto a_panel = [&](int64_t pc, int64_t kc, int64_t ic, int64_t mc) -> const T* {
      if (packed) return packed->panel(pc, row0 + ic);
      pack_a<s.mr>(A + ic * ars + pc * acs, ars, acs, mc, kc, alpha, pa);
      return pa;
    };
    gemm_blocked<s.mr, s.nr, s.kc, s.mc, T, T>(micro_kernel<T, decltype(path)::value>(), a_panel,
                                               pack_panel, C, ldc, M, N, K, beta != T(0));
  });
}

// The pack_panel of gemm_blocked for op(B) stored at B, op(B)(k, j) = B[k*brs + j*bcs].
template <class T>
auto stored_panels(const T* B, int64_t brs, int64_t bcs) {
  return [=](auto nr, int64_t pc, int64_t kc, int64_t jc, int64_t nc, T* dst) {
    pack_b<decltype(nr)::value>(B + pc * brs + jc * bcs, brs, bcs, kc, nc, dst);
  };
}

// The pack_panel of gemm_blocked for op(B) from a PanelSource.
template <class T>
auto source_panels(const PanelSource<T>& B) {
  return [&B](auto nr, int64_t pc, int64_t kc, int64_t jc, int64_t nc, T* dst) {
    B.pack(pc, kc, jc, nc, decltype(nr)::value, dst);
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
  product<T>(nullptr, 0, 0, source_panels(B), C, ldc, A.rows(), N, A.depth(), T(1), beta, &A);
}

template <class T>
void gemm_serial(bool ta, int64_t M, int64_t K, T alpha, const T* A, int64_t lda,
                 const PanelSource<T>& B, int64_t N, T beta, T* C, int64_t ldc) {
  product<T>(A, ta ? 1 : lda, ta ? lda : 1, source_panels(B), C, ldc, M, N, K, alpha, beta);
}

template <class T>
void gemm_serial_packed_rows(const PackedA<T>& A, int64_t r0, int64_t r1, bool tb, int64_t N,
                             const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  PTL_CHECK(r0 % kPackedRowStep == 0 && r0 <= r1 && r1 <= A.rows(),
            "gemm_serial_packed_rows: rows out of range or not at a sliver's start");
  product<T>(nullptr, 0, 0, stored_panels(B, tb ? 1 : ldb, tb ? ldb : 1), C, ldc, r1 - r0, N,
             A.depth(), T(1), beta, &A, r0);
}

template <class T>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  split_gemm(M, N, K, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    // op(A) rows from i0, op(B) columns from j0
    const T* a0 = ta ? A + i0 : A + i0 * lda;
    const T* b0 = tb ? B + j0 * ldb : B + j0;
    gemm_serial(ta, tb, i1 - i0, j1 - j0, K, alpha, a0, lda, b0, ldb, beta, C + i0 * ldc + j0, ldc);
  });
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
template void gemm_serial<float>(bool, int64_t, int64_t, float, const float*, int64_t,
                                 const PanelSource<float>&, int64_t, float, float*, int64_t);
template void gemm_serial<double>(bool, int64_t, int64_t, double, const double*, int64_t,
                                  const PanelSource<double>&, int64_t, double, double*, int64_t);
template void gemm_serial_packed_rows<float>(const PackedA<float>&, int64_t, int64_t, bool, int64_t,
                                             const float*, int64_t, float, float*, int64_t);
template void gemm_serial_packed_rows<double>(const PackedA<double>&, int64_t, int64_t, bool,
                                              int64_t, const double*, int64_t, double, double*,
                                              int64_t);

}  // namespace ptl::cpu
