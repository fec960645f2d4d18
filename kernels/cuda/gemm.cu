// Row-major GEMM through cuBLAS (contract: kernels/contract/gemm.inc), as the column-major
// call of gemm_layout.h on the 64-bit-index entry points. Float GEMMs use CUBLAS_DEFAULT_MATH
// (plain FP32) unless TF32 is allowed (math_mode.h), then CUBLAS_TF32_TENSOR_OP_MATH; double
// always uses the default. The bf16 GEMM (gemm_bf16.inc) is cublasGemmEx on CUDA_R_16BF operands
// with a CUDA_R_32F result and CUBLAS_COMPUTE_32F, whatever the TF32 switch says: its products
// are exact in float32 and its sums float32 (tensor cores, float32 accumulation).
#include <type_traits>

#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm_layout.h"
#include "kernels/cuda/kernels.h"
#include "kernels/cuda/math_mode.h"
#include "kernels/cuda/per_device.h"
#include "kernels/cuda/runtime.h"

namespace ptl::cuda {

namespace {

cublasHandle_t cublas_handle(int device) {
  return library_handle(device, cublasCreate, cublasSetStream, check_cublas);
}

cublasStatus_t gemm_64(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m,
                       int64_t n, int64_t k, const float* alpha, const float* A, int64_t lda,
                       const float* B, int64_t ldb, const float* beta, float* C, int64_t ldc) {
  return cublasSgemm_64(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
cublasStatus_t gemm_64(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m,
                       int64_t n, int64_t k, const double* alpha, const double* A, int64_t lda,
                       const double* B, int64_t ldb, const double* beta, double* C, int64_t ldc) {
  return cublasDgemm_64(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const int device = current_device();
  cublasHandle_t h = cublas_handle(device);
  const bool tf32 = std::is_same_v<T, float> && allow_tf32();
  PTL_CUBLAS_CHECK(cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const ColumnMajorGemm c = column_major_gemm(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  auto op = [](bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; };
  PTL_CUBLAS_CHECK(gemm_64(h, op(c.trans_first), op(c.trans_second), c.m, c.n, c.k, &alpha, B,
                           c.ld_first, A, c.ld_second, &beta, C, c.ldc));
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const bf16* A, int64_t lda, const bf16* B, int64_t ldb, float beta, float* C,
               int64_t ldc) {
  if (M == 0 || N == 0) return;
  cublasHandle_t h = cublas_handle(current_device());
  // The math mode is the handle's, shared with the float GEMMs, so it is set for every call.
  // CUBLAS_COMPUTE_32F is float32 accumulation (the TF32 shortcut would be
  // CUBLAS_COMPUTE_32F_FAST_TF32), and the float32 result leaves no reduced-precision split-K sum.
  PTL_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
  const ColumnMajorGemm c = column_major_gemm(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  auto op = [](bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; };
  PTL_CUBLAS_CHECK(cublasGemmEx_64(h, op(c.trans_first), op(c.trans_second), c.m, c.n, c.k, &alpha,
                                   B, CUDA_R_16BF, c.ld_first, A, CUDA_R_16BF, c.ld_second, &beta,
                                   C, CUDA_R_32F, c.ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

#include "kernels/contract/gemm_instances.inc"
PTL_INSTANTIATE_GEMM()

}  // namespace ptl::cuda
