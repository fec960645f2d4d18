// matmul and linear (GEMM through the device's gemm kernel). matmul is float32 by rule (the
// triplet and evaluation distances); linear has a bf16 path (engine/precision.h).
#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::bf16_operand;
using ops_detail::bf16_path;
using ops_detail::check_float;
using ops_detail::check_same_dtype;

namespace {
// C(b) = op(A(b)) op(B(b)) for a batch of contiguous matrices (batch 1 for 2-d).
Tensor batched_gemm(const Tensor& a, bool ta, const Tensor& b, bool tb, int64_t batch, int64_t M,
                    int64_t N, int64_t K, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  PTL_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    for (int64_t i = 0; i < batch; ++i) PTL_KERNEL(a.device(), gemm<scalar_t>)
    (ta, tb, M, N, K, 1, a.data<scalar_t>() + i * M * K, lda, b.data<scalar_t>() + i * K * N, ldb,
     0, out.data<scalar_t>() + i * M * N, N);
  });
  return out;
}
}  // namespace

Tensor matmul(const Tensor& a0, const Tensor& b0) {
  check_float("matmul", a0, "left operand");
  check_float("matmul", b0, "right operand");
  check_same_dtype("matmul", a0, b0);
  PTL_CHECK((a0.dim() == 2 && b0.dim() == 2) || (a0.dim() == 3 && b0.dim() == 3),
            "matmul: expects (M,K)x(K,N) or (B,M,K)x(B,K,N), got ", a0.shape_str(), " x ",
            b0.shape_str());
  const bool batched = a0.dim() == 3;
  const int64_t batch = batched ? a0.size(0) : 1;
  PTL_CHECK(!batched || b0.size(0) == batch, "matmul: batch sizes differ: ", a0.shape_str(), " x ",
            b0.shape_str());
  const int64_t M = a0.size(-2), K = a0.size(-1), N = b0.size(-1);
  PTL_CHECK(b0.size(-2) == K, "matmul: inner dimensions differ: ", a0.shape_str(), " x ",
            b0.shape_str());
  Tensor a = a0.contiguous(), b = b0.contiguous();
  Shape out_shape = batched ? Shape{batch, M, N} : Shape{M, N};
  Tensor out = batched_gemm(a, false, b, false, batch, M, N, K, out_shape);
  if (TraceRecorder* r = active_trace()) r->record({"matmul", {a0, b0}, {out}, {}});
  Tensor ad = a.detach(), bd = b.detach();
  return record(out, "matmul", {a0, b0},
                [=](const Tensor& g0, const std::vector<bool>& need) -> Grads {
                  Tensor g = g0.contiguous();
                  Grads r(2);
                  if (need[0])
                    r[0] = batched_gemm(g, false, bd, true, batch, M, K, N, ad.shape());  // g B^T
                  if (need[1])
                    r[1] = batched_gemm(ad, true, g, false, batch, K, N, M, bd.shape());  // A^T g
                  return r;
                });
}

namespace {
// C (M, N) float32 = op(A) op(B) of row-major bfloat16 tensors on their device's bf16 GEMM
// (kernels/contract/gemm_bf16.inc).
Tensor gemm_bf16(bool ta, const Tensor& a, bool tb, const Tensor& b, int64_t M, int64_t N,
                 int64_t K) {
  Tensor c = Tensor::empty({M, N}, DType::F32, a.device());
  PTL_KERNEL(a.device(), gemm_bf16)
  (ta, tb, M, N, K, 1, a.data<bf16>(), ta ? M : K, b.data<bf16>(), tb ? K : N, 0, c.data<float>(),
   N);
  return c;
}

// y (N, out) = x (N, in) W^T (in, out) on bf16 values; backward: gx = gy W, gW = gy^T x, with
// grad_output converted to bf16 and the bf16 x and W of the forward.
Tensor linear_bf16(const Tensor& x0, const Tensor& w0) {
  const int64_t N = x0.size(0), in = x0.size(1), out = w0.size(0);
  const Tensor x = bf16_operand(x0), w = bf16_operand(w0);
  Tensor y = gemm_bf16(false, x, true, w, N, out, in);
  return record(y, "linear", {x0, w0},
                [=](const Tensor& gy0, const std::vector<bool>& need) -> Grads {
                  const Tensor gy = bf16_operand(gy0);
                  Grads r(2);
                  if (need[0]) r[0] = gemm_bf16(false, gy, false, w, N, in, out);
                  if (need[1]) r[1] = gemm_bf16(true, gy, false, x, out, in, N);
                  return r;
                });
}
}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  PTL_CHECK(x.dim() == 2 && weight.dim() == 2,
            "linear: expects input (N, in) and weight (out, in), got ", x.shape_str(), " and ",
            weight.shape_str());
  PTL_CHECK(x.size(1) == weight.size(1), "linear: input has ", x.size(1), " features but weight ",
            weight.shape_str(), " expects ", weight.size(1));
  Tensor y = bf16_path("linear", {x, weight, bias}) ? linear_bf16(x, weight)
                                                    : matmul(x, transpose(weight, 0, 1));
  if (!bias.defined()) return y;
  PTL_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: bias ", bias.shape_str(),
            " does not match weight ", weight.shape_str());
  return add(y, bias);
}

}  // namespace ptl
