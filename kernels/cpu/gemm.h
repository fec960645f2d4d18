// Row-major GEMM on the CPU (declaration: kernels/contract/gemm.inc): packed panels and a
// micro-kernel for the instruction set in use (kernels/cpu/gemm_micro.h, isa.h). Each element of
// C is one fused multiply-add chain in k order, so the bits depend on the shape alone: not on
// the instruction set, the blocking or the thread count (rows of C are split into fixed blocks
// computed in parallel).
#pragma once
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "kernels/cpu/isa.h"

namespace ptl::cpu {
#include "kernels/contract/gemm.inc"

// Single-threaded variant, for callers that parallelise over independent GEMMs themselves.
template <class T>
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// alpha op(A) (M x K) packed once into the micro-kernel's panels (in parallel), for several
// products with the same A: a convolution multiplies its weight by every group of images, and
// packing the weight for each group cost as much as the packing of the images in ResNet-50's
// late layers. The panels are those of the path in use when packed.
template <class T>
class PackedA {
 public:
  PackedA(bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda);
  int64_t rows() const { return M_; }
  int64_t depth() const { return K_; }
  Isa isa() const { return isa_; }
  // The packed rows [ic, ic + MC) at steps [pc, pc + KC) of k, as gemm.cpp's loops visit them.
  const T* panel(int64_t pc, int64_t ic) const;

 private:
  int64_t M_, K_;
  Isa isa_;
  int64_t block_k_ = 0,
          block_stride_ = 0;  // KC of the path; elements from one KC block to the next
  std::unique_ptr<T, decltype(&std::free)> data_{nullptr, &std::free};
};

// C (M, N) = A op(B) + beta C with A packed: the same bits as gemm_serial with A's alpha, trans_a
// and values, without packing A again. Single-threaded, as gemm_serial.
template <class T>
void gemm_serial_packed(const PackedA<T>& A, bool trans_b, int64_t N, const T* B, int64_t ldb,
                        T beta, T* C, int64_t ldc);

// op(B) (K, N) that is never stored: the GEMM asks for each KC x NC panel in the micro-kernel's
// order, and the source packs it from its own data (a convolution from its images: implicit
// im2col, without writing the K x N column matrix and reading it back). pack writes
// op(B)(k0 + k, n0 + s*nr + j) to dst[s*nr*kc + k*nr + j] for k < kc, for every sliver s of nr
// columns of [0, nc), and zeros in the columns of the last sliver past nc.
template <class T>
class PanelSource {
 public:
  virtual ~PanelSource() = default;
  virtual void pack(int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, T* dst) const = 0;
};

// gemm_serial_packed with op(B) from a PanelSource: the same bits as with op(B) stored.
template <class T>
void gemm_serial_packed(const PackedA<T>& A, const PanelSource<T>& B, int64_t N, T beta, T* C,
                        int64_t ldc);

// gemm_serial with op(B) from a PanelSource: the same bits as with op(B) stored.
template <class T>
void gemm_serial(bool trans_a, int64_t M, int64_t K, T alpha, const T* A, int64_t lda,
                 const PanelSource<T>& B, int64_t N, T beta, T* C, int64_t ldc);

// Rows [r0, r1) of gemm_serial_packed's product alone: C (r1 - r0, N) = rows [r0, r1) of A
// times op(B) + beta C, each element the same chain, so the same bits, as in the whole product.
// r0 is a multiple of kPackedRowStep (of every path's sliver height).
constexpr int64_t kPackedRowStep = 48;
template <class T>
void gemm_serial_packed_rows(const PackedA<T>& A, int64_t r0, int64_t r1, bool trans_b, int64_t N,
                             const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

}  // namespace ptl::cpu
