// Pooling ops: window geometry as PyTorch computes it, then the shared CPU kernels.
#include "engine/ops/op_utils.h"

namespace ptl {

using ops_detail::check_float;

namespace {
// Output size of one dimension, with PyTorch's ceil-mode rule (the last window must start
// inside the input or its left padding).
int64_t pooled_size(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  int64_t num = in + 2 * p - k;
  int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

PoolWindows fixed_windows(const char* op, const Tensor& x, const Pool2dOptions& o, bool avg) {
  PTL_CHECK(x.dim() == 4, op, ": input must be (N, C, H, W), got ", x.shape_str());
  PoolWindows pw;
  pw.H = x.size(2);
  pw.W = x.size(3);
  const int64_t kh = o.kernel[0], kw = o.kernel[1];
  const int64_t sh = o.stride[0] ? o.stride[0] : kh, sw = o.stride[1] ? o.stride[1] : kw;
  const int64_t ph = o.padding[0], pwd = o.padding[1];
  PTL_CHECK(kh > 0 && kw > 0 && sh > 0 && sw > 0, op, ": kernel and stride must be positive");
  PTL_CHECK(ph >= 0 && pwd >= 0 && ph * 2 <= kh && pwd * 2 <= kw, op, ": padding ", ph, "x", pwd,
            " must be at most half the kernel ", kh, "x", kw);
  PTL_CHECK(pw.H + 2 * ph >= kh && pw.W + 2 * pwd >= kw, op, ": kernel ", kh, "x", kw,
            " is larger than the padded input ", x.shape_str());
  pw.OH = pooled_size(pw.H, kh, sh, ph, o.ceil_mode);
  pw.OW = pooled_size(pw.W, kw, sw, pwd, o.ceil_mode);
  // Window extents before clipping give count_include_pad's divisor.
  std::vector<int64_t> hraw(pw.OH), wraw(pw.OW);
  for (int64_t i = 0; i < pw.OH; ++i) {
    int64_t s = i * sh - ph, e = std::min(s + kh, pw.H + ph);
    hraw[i] = e - s;
    pw.h0.push_back(std::max<int64_t>(s, 0));
    pw.h1.push_back(std::min(e, pw.H));
  }
  for (int64_t i = 0; i < pw.OW; ++i) {
    int64_t s = i * sw - pwd, e = std::min(s + kw, pw.W + pwd);
    wraw[i] = e - s;
    pw.w0.push_back(std::max<int64_t>(s, 0));
    pw.w1.push_back(std::min(e, pw.W));
  }
  if (avg)
    for (int64_t i = 0; i < pw.OH; ++i)
      for (int64_t j = 0; j < pw.OW; ++j)
        pw.divisor.push_back(o.count_include_pad ? static_cast<double>(hraw[i] * wraw[j])
                                                 : static_cast<double>((pw.h1[i] - pw.h0[i]) * (pw.w1[j] - pw.w0[j])));
  return pw;
}

PoolWindows adaptive_windows(const char* op, const Tensor& x, std::array<int64_t, 2> out) {
  PTL_CHECK(x.dim() == 4, op, ": input must be (N, C, H, W), got ", x.shape_str());
  PTL_CHECK(out[0] > 0 && out[1] > 0, op, ": output size must be positive");
  PoolWindows pw;
  pw.H = x.size(2);
  pw.W = x.size(3);
  pw.OH = out[0];
  pw.OW = out[1];
  PTL_CHECK(pw.H > 0 && pw.W > 0, op, ": empty input ", x.shape_str());
  // PyTorch: start = floor(i * in / out), end = ceil((i + 1) * in / out).
  for (int64_t i = 0; i < pw.OH; ++i) {
    pw.h0.push_back(i * pw.H / pw.OH);
    pw.h1.push_back(((i + 1) * pw.H + pw.OH - 1) / pw.OH);
  }
  for (int64_t i = 0; i < pw.OW; ++i) {
    pw.w0.push_back(i * pw.W / pw.OW);
    pw.w1.push_back(((i + 1) * pw.W + pw.OW - 1) / pw.OW);
  }
  for (int64_t i = 0; i < pw.OH; ++i)
    for (int64_t j = 0; j < pw.OW; ++j)
      pw.divisor.push_back(static_cast<double>((pw.h1[i] - pw.h0[i]) * (pw.w1[j] - pw.w0[j])));
  return pw;
}

Tensor max_pool(const char* op, const Tensor& x0, const PoolWindows& pw) {
  check_float(op, x0, "input");
  Tensor x = x0.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  Tensor y = Tensor::empty({x.size(0), x.size(1), pw.OH, pw.OW}, x.dtype(), x.device());
  Tensor idx = Tensor::empty(y.shape(), DType::I64, x.device());
  PTL_DISPATCH_FLOAT(x.dtype(), op, [&] {
    PTL_KERNEL(x.device(), max_pool_forward<scalar_t>)(x.data<scalar_t>(), y.data<scalar_t>(), idx.data<int64_t>(), planes, pw);
  });
  return record(y, op, {x0}, [pw, idx, planes, in = x.shape(), op](const Tensor& g0, const std::vector<bool>&) -> Grads {
    Tensor g = g0.contiguous();
    Tensor gx = Tensor::empty(in, g.dtype(), g.device());
    PTL_DISPATCH_FLOAT(g.dtype(), op, [&] {
      PTL_KERNEL(g.device(), max_pool_backward<scalar_t>)(g.data<scalar_t>(), idx.data<int64_t>(), gx.data<scalar_t>(), planes, pw);
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
    PTL_KERNEL(x.device(), avg_pool_forward<scalar_t>)(x.data<scalar_t>(), y.data<scalar_t>(), planes, pw);
  });
  return record(y, op, {x0}, [pw, planes, in = x.shape(), op](const Tensor& g0, const std::vector<bool>&) -> Grads {
    Tensor g = g0.contiguous();
    Tensor gx = Tensor::empty(in, g.dtype(), g.device());
    PTL_DISPATCH_FLOAT(g.dtype(), op, [&] {
      PTL_KERNEL(g.device(), avg_pool_backward<scalar_t>)(g.data<scalar_t>(), gx.data<scalar_t>(), planes, pw);
    });
    return {gx};
  });
}
}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& o) {
  return max_pool("max_pool2d", x, fixed_windows("max_pool2d", x, o, false));
}
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& o) {
  return avg_pool("avg_pool2d", x, fixed_windows("avg_pool2d", x, o, true));
}
Tensor adaptive_avg_pool2d(const Tensor& x, std::array<int64_t, 2> out) {
  return avg_pool("adaptive_avg_pool2d", x, adaptive_windows("adaptive_avg_pool2d", x, out));
}
Tensor adaptive_max_pool2d(const Tensor& x, std::array<int64_t, 2> out) {
  return max_pool("adaptive_max_pool2d", x, adaptive_windows("adaptive_max_pool2d", x, out));
}

}  // namespace ptl
