#include "data/resize.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"

namespace ptl::data {

namespace {
constexpr int kPrecision = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

double bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double bicubic(double x) {  // Keys' cubic with a = -0.5, as Pillow
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// Per output index: the first input index, the tap count and `ksize` fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<int32_t> k;  // out_size * ksize
};

// Pillow's precompute_coeffs + normalize_coeffs_8bpc for the whole input range.
Coeffs make_coeffs(int in_size, int out_size, Interp interp) {
  const double support0 = interp == Interp::Bilinear ? 1.0 : 2.0;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = support0 * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.k.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> w(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);  // truncation, as Pillow
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double t = (x + xmin - center + 0.5) * ss;
      w[x] = interp == Interp::Bilinear ? bilinear(t) : bicubic(t);
      total += w[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = total != 0.0 ? w[x] / total : w[x];
      c.k[static_cast<size_t>(xx) * c.ksize + x] =
          static_cast<int32_t>(v < 0 ? -0.5 + v * (1 << kPrecision) : 0.5 + v * (1 << kPrecision));
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

// Pillow's clip8, branch-free so the row loops vectorise.
inline uint8_t clip8(int32_t v) {
  return static_cast<uint8_t>(std::min(std::max(v, 0) >> kPrecision, 255));
}

// out (rows x out_w x ch) from in rows [row0, row0 + rows) along x.
void horizontal(const Image& in, int row0, Image& out, const Coeffs& c) {
  const int ch = in.c;
  for (int y = 0; y < out.h; ++y) {
    const uint8_t* src = in.at(row0 + y, 0);
    uint8_t* dst = out.at(y, 0);
    for (int x = 0; x < out.w; ++x) {
      const int32_t* k = &c.k[static_cast<size_t>(x) * c.ksize];
      const uint8_t* s = src + static_cast<size_t>(c.first[x]) * ch;
      if (ch == 3) {  // the common case: all three channels per tap, in registers
        int32_t a0 = 1 << (kPrecision - 1), a1 = a0, a2 = a0;
        for (int t = 0; t < c.count[x]; ++t, s += 3) {
          a0 += s[0] * k[t];
          a1 += s[1] * k[t];
          a2 += s[2] * k[t];
        }
        dst[x * 3] = clip8(a0);
        dst[x * 3 + 1] = clip8(a1);
        dst[x * 3 + 2] = clip8(a2);
        continue;
      }
      for (int ci = 0; ci < ch; ++ci) {
        int32_t acc = 1 << (kPrecision - 1);
        for (int t = 0; t < c.count[x]; ++t) acc += s[t * ch + ci] * k[t];
        dst[x * ch + ci] = clip8(acc);
      }
    }
  }
}

// out (out_h x w x ch) from in along y; c.first is relative to in's first row.
void vertical(const Image& in, Image& out, const Coeffs& c, int row_shift) {
  const size_t row = static_cast<size_t>(in.w) * in.c;
  std::vector<int32_t> acc_buf(row);
  int32_t* __restrict acc = acc_buf.data();  // restrict: the byte rows never alias it (vectorises)
  for (int y = 0; y < out.h; ++y) {
    const int32_t* k = &c.k[static_cast<size_t>(y) * c.ksize];
    const int taps = c.count[y];
    std::fill(acc, acc + row, 1 << (kPrecision - 1));
    for (int t = 0; t < taps; ++t) {
      const uint8_t* __restrict s = in.px.data() + (c.first[y] - row_shift + t) * row;
      const int32_t kt = k[t];
      for (size_t i = 0; i < row; ++i) acc[i] += static_cast<int32_t>(s[i]) * kt;
    }
    uint8_t* __restrict dst = out.at(y, 0);
    for (size_t i = 0; i < row; ++i) dst[i] = clip8(acc[i]);
  }
}
}  // namespace

Image resize(const Image& src, int out_h, int out_w, Interp interp) {
  PTL_CHECK(out_h > 0 && out_w > 0, "resize: bad output size ", out_h, "x", out_w);
  PTL_CHECK(src.h > 0 && src.w > 0, "resize: empty input image");
  if (out_h == src.h && out_w == src.w) return src;
  const Coeffs ch = make_coeffs(src.w, out_w, interp);
  const Coeffs cv = make_coeffs(src.h, out_h, interp);
  if (out_w == src.w) {  // vertical pass only, as Pillow
    Image out(out_h, out_w, src.c);
    vertical(src, out, cv, 0);
    return out;
  }
  // Horizontal pass over only the rows the vertical pass reads.
  const int first_row = cv.first[0];
  const int last_row = cv.first[out_h - 1] + cv.count[out_h - 1];
  Image tmp(last_row - first_row, out_w, src.c);
  horizontal(src, first_row, tmp, ch);
  if (out_h == src.h) return tmp;
  Image out(out_h, out_w, src.c);
  vertical(tmp, out, cv, first_row);
  return out;
}

}  // namespace ptl::data
