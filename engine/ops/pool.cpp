// Pooling ops: window geometry as PyTorch computes it, then the shared CPU kernels.
#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::check_float;

namespace {
PoolWindows fixed_windows(const char* op, const Tensor& x, const Pool2dOptions& o, bool avg) {
  PTL_CHECK(x.dim() == 4, op, ": input must be (N, C, H, W), got ", x.shape_str());
  const int64_t H = x.size(2), W = x.size(3), kh = o.kernel[0], kw = o.kernel[1];
  const int64_t sh = o.stride[0] ? o.stride[0] : kh, sw = o.stride[1] ? o.stride[1] : kw;
  const int64_t ph = o.padding[0], pw = o.padding[1];
  PTL_CHECK(kh > 0 && kw > 0 && sh > 0 && sw > 0, op, ": kernel and stride must be positive");
  PTL_CHECK(ph >= 0 && pw >= 0 && ph * 2 <= kh && pw * 2 <= kw, op, ": padding ", ph, "x", pw,
            " must be at most half the kernel ", kh, "x", kw);
  PTL_CHECK(H + 2 * ph >= kh && W + 2 * pw >= kw, op, ": kernel ", kh, "x", kw,
            " is larger than the padded input ", x.shape_str());
  return fixed_pool_windows(H, W, kh, kw, sh, sw, ph, pw, o.ceil_mode, avg, o.count_include_pad);
}

PoolWindows adaptive_windows(const char* op, const Tensor& x, std::array<int64_t, 2> out) {
  PTL_CHECK(x.dim() == 4, op, ": input must be (N, C, H, W), got ", x.shape_str());
  PTL_CHECK(out[0] > 0 && out[1] > 0, op, ": output size must be positive");
  PTL_CHECK(x.size(2) > 0 && x.size(3) > 0, op, ": empty input ", x.shape_str());
  return adaptive_pool_windows(x.size(2), x.size(3), out[0], out[1]);
}

Tensor max_pool(const char* op, const Tensor& x0, const PoolWindows& pw) {
  check_float(op, x0, "input");
  Tensor x = x0.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  Tensor y = Tensor::empty({x.size(0), x.size(1), pw.OH, pw.OW}, x.dtype(), x.device());
  Tensor idx = Tensor::empty(y.shape(), DType::I64, x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), op, [&] {
    PTL_KERNEL(x.device(), max_pool_forward<scalar_t>)
    (x.data<scalar_t>(), y.data<scalar_t>(), idx.data<int64_t>(), planes, pw);
  });
  return record(
      y, op, {x0},
      [pw, idx, planes, in = x.shape(), op](const Tensor& g0, const std::vector<bool>&) -> Grads {
        Tensor g = g0.contiguous();
        Tensor gx = Tensor::empty(in, g.dtype(), g.device());
        PTL_DISPATCH_FLOAT(g.dtype(), op, [&] {
          PTL_KERNEL(g.device(), max_pool_backward<scalar_t>)
          (g.data<scalar_t>(), idx.data<int64_t>(), gx.data<scalar_t>(), planes, pw);
        });
        return {gx};
      });
}

Tensor avg_pool(const char* op, const Tensor& x0, const PoolWindows& pw) {
  check_float(op, x0, "input");
  Tensor x = x0.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  Tensor y = Tensor::empty({x.size(0), x.size(1), pw.OH, pw.OW}, x.dtype(), x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), op, [&] {
    PTL_KERNEL(x.device(), avg_pool_forward<scalar_t>)
    (x.data<scalar_t>(), y.data<scalar_t>(), planes, pw);
  });
  return record(
      y, op, {x0},
      [pw, planes, in = x.shape(), op](const Tensor& g0, const std::vector<bool>&) -> Grads {
        Tensor g = g0.contiguous();
        Tensor gx = Tensor::empty(in, g.dtype(), g.device());
        PTL_DISPATCH_FLOAT(g.dtype(), op, [&] {
          PTL_KERNEL(g.device(), avg_pool_backward<scalar_t>)
          (g.data<scalar_t>(), gx.data<scalar_t>(), planes, pw);
        });
        return {gx};
      });
}
}  // namespace

namespace {
// The report of a pooling op: its window (kernel, stride with 0 made explicit, padding, ceil
// mode, whether padding counts) or, for the adaptive ones, its output size.
Tensor traced(const char* op, const Tensor& x, const Tensor& y, const Pool2dOptions* o) {
  if (TraceRecorder* r = active_trace()) {
    if (!o) {
      r->record({op, {x}, {y}, {{"output_size", {double(y.size(2)), double(y.size(3))}}}});
    } else {
      const double sh = double(o->stride[0] ? o->stride[0] : o->kernel[0]),
                   sw = double(o->stride[1] ? o->stride[1] : o->kernel[1]);
      r->record({op,
                 {x},
                 {y},
                 {{"kernel", {double(o->kernel[0]), double(o->kernel[1])}},
                  {"stride", {sh, sw}},
                  {"padding", {double(o->padding[0]), double(o->padding[1])}},
                  {"ceil_mode", {o->ceil_mode ? 1.0 : 0.0}},
                  {"count_include_pad", {o->count_include_pad ? 1.0 : 0.0}}}});
    }
  }
  return y;
}
}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& o) {
  return traced("max_pool2d", x,
                max_pool("max_pool2d", x, fixed_windows("max_pool2d", x, o, false)), &o);
}
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o) {
  return traced("avg_pool2d", x, avg_pool("avg_pool2d", x, fixed_windows("avg_pool2d", x, o, true)),
                &o);
}
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> out) {
  return traced("adaptive_avg_pool2d", x,
                avg_pool("adaptive_avg_pool2d", x, adaptive_windows("adaptive_avg_pool2d", x, out)),
                nullptr);
}
Tensor adaptive_max_pool2d(const Tensor& x, std::array<int64_t, 2> out) {
  return traced("adaptive_max_pool2d", x,
                max_pool("adaptive_max_pool2d", x, adaptive_windows("adaptive_max_pool2d", x, out)),
                nullptr);
}

}  // namespace ptl
