// bconv_gates: the BConv-Cell's fused gate op (kernels/bconv_math.h).
#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::check_float;
using ops_detail::check_same_dtype;

BConvGates bconv_gates(const Tensor& z0, const Tensor& c_prev0) {
  check_float("bconv_gates", z0, "gate pre-activations");
  check_float("bconv_gates", c_prev0, "previous state");
  check_same_dtype("bconv_gates", z0, c_prev0);
  PTL_CHECK(z0.dim() == 4 && z0.size(1) % 4 == 0,
            "bconv_gates: gate pre-activations must be (N, 4C, H, W), got ", z0.shape_str());
  const int64_t N = z0.size(0), C = z0.size(1) / 4, S = z0.size(2) * z0.size(3);
  const Shape state{N, C, z0.size(2), z0.size(3)};
  PTL_CHECK(c_prev0.shape() == state, "bconv_gates: previous state ", c_prev0.shape_str(),
            " does not match ", shape_str(state), " for gates ", z0.shape_str());
  Tensor z = z0.contiguous(), c_prev = c_prev0.detach().contiguous();
  Tensor h = Tensor::empty(state, z.dtype(), z.device()),
         c = Tensor::empty(state, z.dtype(), z.device());
  PTL_DISPATCH_FLOAT(z.dtype(), "bconv_gates", [&] {
    PTL_KERNEL(z.device(), bconv_gates_forward<scalar_t>)
    (z.data<scalar_t>(), c_prev.data<scalar_t>(), h.data<scalar_t>(), c.data<scalar_t>(), N, C, S);
  });
  if (TraceRecorder* r = active_trace()) r->record({"bconv_gates", {z0, c_prev0}, {h, c}, {}});
  Tensor zd = z.detach();
  h = record(h, "bconv_gates", {z0},
             [zd, c_prev, N, C, S](const Tensor& gh0, const std::vector<bool>&) -> Grads {
               Tensor gh = gh0.contiguous();
               Tensor gz = Tensor::empty(zd.shape(), gh.dtype(), gh.device());
               PTL_DISPATCH_FLOAT(gh.dtype(), "bconv_gates backward", [&] {
                 PTL_KERNEL(gh.device(), bconv_gates_backward<scalar_t>)
                 (zd.data<scalar_t>(), c_prev.data<scalar_t>(), gh.data<scalar_t>(),
                  gz.data<scalar_t>(), N, C, S);
               });
               return {gz};
             });
  return {h, c};
}

}  // namespace ptl
