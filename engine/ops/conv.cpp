// conv2d: shape checks, output allocation, the device's kernels, gradient closure.
//
// bf16 precision (engine/precision.h): the input (unless the data loader wrote it as bfloat16
// already), the weight and, in backward, grad_output are converted to bfloat16 tensors once, and
// the bf16 kernels of the tensors' device (kernels/contract/conv_bf16.inc) multiply them with
// float32 accumulation; the output and the gradients are float32 tensors (on CUDA rounded to bf16
// first: kernels/cuda/conv.cu), the bias is added in float32 and its gradient sums the bf16
// grad_output. The backward keeps the forward's bf16 input and weight (half the memory of float32
// copies).
#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::bf16_operand;
using ops_detail::bf16_path;
using ops_detail::check_float;
using ops_detail::check_same_dtype;

namespace {

// The conv2d node of an export trace (engine/trace.h), before autograd records y.
void trace(const Tensor& y, const Tensor& x0, const Tensor& w0, const Tensor& b0,
           const Conv2dOptions& o) {
  if (TraceRecorder* r = active_trace())
    r->record({"conv2d",
               {x0, w0, b0},
               {y},
               {{"stride", {double(o.stride[0]), double(o.stride[1])}},
                {"padding", {double(o.padding[0]), double(o.padding[1])}},
                {"dilation", {double(o.dilation[0]), double(o.dilation[1])}}}});
}

// y (N, Cout, OH, OW) float32 from bf16 x (N, C, H, W) and w; the gradients of x (float32) and w
// (and b when it is defined) with grad_output converted to bf16.
Tensor conv2d_bf16(const Tensor& x0, const Tensor& w0, const Tensor& b0, const ConvGeometry& g,
                   const Conv2dOptions& o) {
  const Device dev = x0.device();
  const Tensor x = bf16_operand(x0), w = bf16_operand(w0),
               b = b0.defined() ? b0.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.N, g.Cout, g.OH, g.OW}, DType::F32, dev);
  PTL_KERNEL(dev, conv2d_forward_bf16)
  (x.data<bf16>(), w.data<bf16>(), b.defined() ? b.data<float>() : nullptr, y.data<float>(), g);
  trace(y, x0, w0, b0, o);
  const bool has_bias = b.defined();
  return record(
      y, "conv2d", {x0, w0, b0},
      [g, x, w, has_bias, dev](const Tensor& gy0, const std::vector<bool>& need) -> Grads {
        const Tensor gy = bf16_operand(gy0);
        Grads r(3);
        if (need[0]) {
          r[0] = Tensor::empty(x.shape(), DType::F32, dev);
          PTL_KERNEL(dev, conv2d_backward_input_bf16)
          (gy.data<bf16>(), w.data<bf16>(), r[0].data<float>(), g);
        }
        if (need[1] || (has_bias && need[2])) {
          Tensor gw = Tensor::empty(w.shape(), DType::F32, dev);
          Tensor gb = has_bias ? Tensor::empty({g.Cout}, DType::F32, dev) : Tensor();
          PTL_KERNEL(dev, conv2d_backward_weight_bf16)
          (gy.data<bf16>(), x.data<bf16>(), gw.data<float>(), has_bias ? gb.data<float>() : nullptr,
           g);
          if (need[1]) r[1] = gw;
          if (has_bias && need[2]) r[2] = gb;
        }
        return r;
      });
}

}  // namespace

Tensor conv2d(const Tensor& x0, const Tensor& w0, const Tensor& b0, const Conv2dOptions& o) {
  const bool bf16 = bf16_path("conv2d", {x0, w0, b0});
  if (!bf16) {
    check_float("conv2d", x0, "input");
    check_float("conv2d", w0, "weight");
    check_same_dtype("conv2d", x0, w0);
  }
  PTL_CHECK(x0.defined() && w0.defined(), "conv2d: the input and the weight must be defined");
  PTL_CHECK(x0.dim() == 4, "conv2d: input must be (N, C, H, W), got ", x0.shape_str());
  PTL_CHECK(w0.dim() == 4, "conv2d: weight must be (Cout, Cin, KH, KW), got ", w0.shape_str());
  PTL_CHECK(x0.size(1) == w0.size(1), "conv2d: input has ", x0.size(1), " channels but weight ",
            w0.shape_str(), " expects ", w0.size(1));
  for (int i = 0; i < 2; ++i)
    PTL_CHECK(o.stride[i] > 0 && o.dilation[i] > 0 && o.padding[i] >= 0,
              "conv2d: stride and dilation must be positive and padding non-negative");
  if (b0.defined()) {
    if (!bf16) check_same_dtype("conv2d", x0, b0);
    PTL_CHECK(b0.dim() == 1 && b0.size(0) == w0.size(0), "conv2d: bias ", b0.shape_str(),
              " does not match ", w0.size(0), " output channels");
  }
  ConvGeometry g{x0.size(0),   x0.size(1),    x0.size(2),    x0.size(3),  w0.size(0),
                 w0.size(2),   w0.size(3),    o.stride[0],   o.stride[1], o.padding[0],
                 o.padding[1], o.dilation[0], o.dilation[1], 0,           0};
  g.OH = (g.H + 2 * g.ph - g.dh * (g.KH - 1) - 1) / g.sh + 1;
  g.OW = (g.W + 2 * g.pw - g.dw * (g.KW - 1) - 1) / g.sw + 1;
  PTL_CHECK(g.H + 2 * g.ph >= g.dh * (g.KH - 1) + 1 && g.W + 2 * g.pw >= g.dw * (g.KW - 1) + 1,
            "conv2d: input ", x0.shape_str(), " (padded by ", g.ph, "x", g.pw,
            ") is smaller than the dilated kernel ", w0.shape_str());
  if (bf16) return conv2d_bf16(x0, w0, b0, g, o);
  Tensor x = x0.contiguous(), w = w0.contiguous(), b = b0.defined() ? b0.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.N, g.Cout, g.OH, g.OW}, x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), "conv2d", [&] {
    PTL_KERNEL(x.device(), conv2d_forward<scalar_t>)
    (x.data<scalar_t>(), w.data<scalar_t>(), b.defined() ? b.data<scalar_t>() : nullptr,
     y.data<scalar_t>(), g);
  });
  trace(y, x0, w0, b0, o);
  Tensor xd = x.detach(), wd = w.detach();
  const bool has_bias = b.defined();
  return record(y, "conv2d", {x0, w0, b0},
                [g, xd, wd, has_bias](const Tensor& gy0, const std::vector<bool>& need) -> Grads {
                  Tensor gy = gy0.contiguous();
                  Grads r(3);
                  PTL_DISPATCH_FLOAT(gy.dtype(), "conv2d backward", [&] {
                    if (need[0]) {
                      r[0] = Tensor::empty(xd.shape(), gy.dtype(), gy.device());
                      PTL_KERNEL(gy.device(), conv2d_backward_input<scalar_t>)
                      (gy.data<scalar_t>(), wd.data<scalar_t>(), r[0].data<scalar_t>(), g);
                    }
                    if (need[1] || (has_bias && need[2])) {
                      Tensor gw = Tensor::empty(wd.shape(), gy.dtype(), gy.device());
                      Tensor gb =
                          has_bias ? Tensor::empty({g.Cout}, gy.dtype(), gy.device()) : Tensor();
                      PTL_KERNEL(gy.device(), conv2d_backward_weight<scalar_t>)
                      (gy.data<scalar_t>(), xd.data<scalar_t>(), gw.data<scalar_t>(),
                       has_bias ? gb.data<scalar_t>() : nullptr, g);
                      if (need[1]) r[1] = gw;
                      if (has_bias && need[2]) r[2] = gb;
                    }
                  });
                  return r;
                });
}

}  // namespace ptl
