// Pooling windows shared by the CPU and CUDA pooling kernels (kernels/contract/pool.inc). Every
// pooling flavour (max/avg, fixed or adaptive windows, padding, ceil mode) reduces to a list of
// clipped row/column windows per output position plus, for averages, a divisor per output.
// The builders below give PyTorch's geometry for a shape; the ops (engine/ops/pool.cpp) check
// the arguments first.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace ptl {

struct PoolWindows {
  int64_t H = 0, W = 0, OH = 0, OW = 0;
  std::vector<int64_t> h0, h1, w0, w1;  // [h0[oh], h1[oh]) x [w0[ow], w1[ow]), clipped to the input
  std::vector<double> divisor;          // OH*OW, average pooling only
};

// Kernel k, stride s, padding p along one dimension of size `in`: the windows' clipped
// [begin, end) and their extents before clipping (which count_include_pad divides by).
// PyTorch's ceil-mode rule: the last window must start inside the input or its left padding.
struct PoolAxis {
  std::vector<int64_t> begin, end, raw;
  PoolAxis(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
    const int64_t num = in + 2 * p - k;
    int64_t out = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + p) --out;
    for (int64_t i = 0; i < out; ++i) {
      const int64_t b = i * s - p, e = std::min(b + k, in + p);
      raw.push_back(e - b);
      begin.push_back(std::max<int64_t>(b, 0));
      end.push_back(std::min(e, in));
    }
  }
};

// The divisors of average pooling: the clipped window areas, or (include_pad) the raw ones.
inline void set_divisors(PoolWindows& pw, const std::vector<int64_t>* hraw = nullptr,
                         const std::vector<int64_t>* wraw = nullptr) {
  pw.divisor.clear();
  for (int64_t i = 0; i < pw.OH; ++i)
    for (int64_t j = 0; j < pw.OW; ++j)
      pw.divisor.push_back(
          hraw ? static_cast<double>((*hraw)[i] * (*wraw)[j])
               : static_cast<double>((pw.h1[i] - pw.h0[i]) * (pw.w1[j] - pw.w0[j])));
}

// Fixed windows of kernel (kh, kw), stride (sh, sw), padding (ph, pw) on an H x W input;
// divisors when avg (counting the padding when include_pad).
inline PoolWindows fixed_pool_windows(int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t sh,
                                      int64_t sw, int64_t ph, int64_t pw_, bool ceil_mode, bool avg,
                                      bool include_pad) {
  const PoolAxis rows(H, kh, sh, ph, ceil_mode), cols(W, kw, sw, pw_, ceil_mode);
  PoolWindows pw;
  pw.H = H;
  pw.W = W;
  pw.OH = static_cast<int64_t>(rows.begin.size());
  pw.OW = static_cast<int64_t>(cols.begin.size());
  pw.h0 = rows.begin;
  pw.h1 = rows.end;
  pw.w0 = cols.begin;
  pw.w1 = cols.end;
  if (avg && include_pad)
    set_divisors(pw, &rows.raw, &cols.raw);
  else if (avg)
    set_divisors(pw);
  return pw;
}

// Adaptive windows of an H x W input onto OH x OW (PyTorch: start = floor(i * in / out),
// end = ceil((i + 1) * in / out)), with their divisors.
inline PoolWindows adaptive_pool_windows(int64_t H, int64_t W, int64_t OH, int64_t OW) {
  PoolWindows pw;
  pw.H = H;
  pw.W = W;
  pw.OH = OH;
  pw.OW = OW;
  for (int64_t i = 0; i < OH; ++i) {
    pw.h0.push_back(i * H / OH);
    pw.h1.push_back(((i + 1) * H + OH - 1) / OH);
  }
  for (int64_t i = 0; i < OW; ++i) {
    pw.w0.push_back(i * W / OW);
    pw.w1.push_back(((i + 1) * W + OW - 1) / OW);
  }
  set_divisors(pw);
  return pw;
}

}  // namespace ptl
