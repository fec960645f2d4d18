// The CPU convolution forward (kernels/cpu/conv.cpp) against its definition, bit for bit: each
// output is one fused multiply-add chain over k = (c, kh, kw) in that order, from zero, of the
// weight times the input under it (zero outside the image), plus the bias. The columns reach
// the GEMM packed straight from the images (implicit im2col) except for 1x1 stride-1 single
// images; the shapes cover padding, strides, dilation, runs of columns longer and shorter than a
// micro-kernel sliver, images laid side by side in groups, and the stem's 7x7 stride 2. Checked
// on every instruction-set path of the machine, at 1 and 2 threads.
//
// The two gradients against their definitions too, bit for bit, at 1, 2 and 3 threads: the input
// gradient as the column matrix W^T gy (each element one chain over Cout) scattered by col2im
// (rows k in order), which the kernel computes a block of rows at a time; the weight gradient
// as gy cols^T over the batch's fixed slices (each one chain over its images' positions), the
// slices then added in order, with cols^T packed straight from the images.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "isa_scope.h"
#include "kernels/cpu/conv.h"
#include "tests/compare.h"
#include "tests/test_util.h"
#include "thread_scope.h"

using ptl::test::random_values;

namespace {

// Square stride and dilation (tests/test_util.h has the general form).
ptl::ConvGeometry geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Cout, int64_t KH,
                           int64_t KW, int64_t s, int64_t ph, int64_t pw, int64_t d) {
  return ptl::test::conv_geometry(N, C, H, W, Cout, KH, KW, s, s, ph, pw, d, d);
}

template <class T>
std::vector<T> reference(const std::vector<T>& x, const std::vector<T>& w, const T* bias,
                         const ptl::ConvGeometry& g) {
  std::vector<T> y(static_cast<size_t>(g.N * g.Cout * g.P()));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t co = 0; co < g.Cout; ++co)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          T acc = 0;
          for (int64_t c = 0; c < g.C; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                const int64_t ih = oh * g.sh - g.ph + kh * g.dh, iw = ow * g.sw - g.pw + kw * g.dw;
                const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                const T v = inside ? x[((n * g.C + c) * g.H + ih) * g.W + iw] : T(0);
                acc = std::fma(w[((co * g.C + c) * g.KH + kh) * g.KW + kw], v, acc);
              }
          y[((n * g.Cout + co) * g.OH + oh) * g.OW + ow] = bias ? acc + bias[co] : acc;
        }
  return y;
}

template <class T>
void check_exact(const ptl::ConvGeometry& g, bool with_bias) {
  INFO("N " << g.N << " C " << g.C << " " << g.H << "x" << g.W << " -> " << g.Cout << ", kernel "
            << g.KH << "x" << g.KW << " stride " << g.sh << " pad " << g.ph << "," << g.pw
            << " dilation " << g.dh << ", bias " << with_bias << ", bytes " << sizeof(T));
  const auto x = random_values<T>(static_cast<size_t>(g.N * g.C * g.H * g.W), 1);
  const auto w = random_values<T>(static_cast<size_t>(g.Cout * g.K()), 2);
  const auto b = random_values<T>(static_cast<size_t>(g.Cout), 3);
  const T* bias = with_bias ? b.data() : nullptr;
  const auto expect = reference(x, w, bias, g);
  ptl::test::on_every_path([&] {
    std::vector<T> y(expect.size(), std::nan(""));
    ptl::cpu::conv2d_forward<T>(x.data(), w.data(), bias, y.data(), g);
    CHECK_SAME_BITS(y, expect);
  });
}

// The input under output (oh, ow) of image n for k = (c, kh, kw); ok false outside the image.
struct Tap {
  int64_t index;
  bool ok;
};
Tap tap(const ptl::ConvGeometry& g, int64_t n, int64_t k, int64_t oh, int64_t ow) {
  const int64_t c = k / (g.KH * g.KW), kh = k / g.KW % g.KH, kw = k % g.KW;
  const int64_t ih = oh * g.sh - g.ph + kh * g.dh, iw = ow * g.sw - g.pw + kw * g.dw;
  return {((n * g.C + c) * g.H + ih) * g.W + iw, ih >= 0 && ih < g.H && iw >= 0 && iw < g.W};
}

// gx: zeros, then for each image and each k in order, cols[k, p] = the chain over co of
// w[co, k] gy[n, co, p] added into the input under p.
template <class T>
std::vector<T> reference_input_grad(const std::vector<T>& gy, const std::vector<T>& w,
                                    const ptl::ConvGeometry& g) {
  std::vector<T> gx(static_cast<size_t>(g.N * g.C * g.H * g.W), T(0));
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t k = 0; k < g.K(); ++k)
      for (int64_t p = 0; p < g.P(); ++p) {
        const auto t = tap(g, n, k, p / g.OW, p % g.OW);
        if (!t.ok) continue;
        T acc = 0;
        for (int64_t co = 0; co < g.Cout; ++co)
          acc = std::fma(w[co * g.K() + k], gy[(n * g.Cout + co) * g.P() + p], acc);
        gx[t.index] += acc;
      }
  return gx;
}

// gw: the batch cut as the kernel cuts it (images side by side in groups of G, the groups in
// S = min(groups, 4) consecutive slices), each slice one chain over its images' positions, the
// slices added in order.
template <class T>
std::vector<T> reference_weight_grad(const std::vector<T>& gy, const std::vector<T>& x,
                                     const ptl::ConvGeometry& g) {
  const int64_t G =
      std::clamp<int64_t>((128 + g.P() - 1) / g.P(), 1, std::max<int64_t>(1, g.N / 4));
  const int64_t groups = (g.N + G - 1) / G, S = std::min<int64_t>(groups, 4);
  std::vector<T> gw(static_cast<size_t>(g.Cout * g.K()));
  for (int64_t co = 0; co < g.Cout; ++co)
    for (int64_t k = 0; k < g.K(); ++k) {
      T sum = 0;
      for (int64_t s = 0; s < S; ++s) {
        T acc = 0;
        const int64_t n1 = std::min(g.N, (s + 1) * groups / S * G);
        for (int64_t n = s * groups / S * G; n < n1; ++n)
          for (int64_t p = 0; p < g.P(); ++p) {
            const auto t = tap(g, n, k, p / g.OW, p % g.OW);
            acc = std::fma(gy[(n * g.Cout + co) * g.P() + p], t.ok ? x[t.index] : T(0), acc);
          }
        sum = s == 0 ? acc : sum + acc;
      }
      gw[co * g.K() + k] = sum;
    }
  return gw;
}

void check_backward_exact(const ptl::ConvGeometry& g) {
  INFO("N " << g.N << " C " << g.C << " " << g.H << "x" << g.W << " -> " << g.Cout << ", kernel "
            << g.KH << "x" << g.KW << " stride " << g.sh << "," << g.sw << " pad " << g.ph << ","
            << g.pw << " dilation " << g.dh << "," << g.dw);
  const auto x = random_values<float>(static_cast<size_t>(g.N * g.C * g.H * g.W), 4);
  const auto w = random_values<float>(static_cast<size_t>(g.Cout * g.K()), 5);
  const auto gy = random_values<float>(static_cast<size_t>(g.N * g.Cout * g.P()), 6);
  const auto expect_gx = reference_input_grad(gy, w, g);
  const auto expect_gw = reference_weight_grad(gy, x, g);
  // Finite references: equal bits then mean equal numbers, never two NaNs in the same place.
  const auto finite = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float f) { return std::isfinite(f); });
  };
  REQUIRE((finite(expect_gx) && finite(expect_gw)));
  ptl::test::on_every_path(
      [&] {
        std::vector<float> gx(expect_gx.size(), std::nanf("")), gw(expect_gw.size(), std::nanf(""));
        ptl::cpu::conv2d_backward_input<float>(gy.data(), w.data(), gx.data(), g);
        ptl::cpu::conv2d_backward_weight<float>(gy.data(), x.data(), gw.data(), nullptr, g);
        CHECK_SAME_BITS(gx, expect_gx);
        CHECK_SAME_BITS(gw, expect_gw);
      },
      {1, 2, 3});
}

}  // namespace

TEST_CASE("CPU convolution forward equals its fused multiply-add chains bit for bit", "[conv]") {
  // N, C, H, W, Cout, KH, KW, stride, pad h, pad w, dilation
  check_exact<float>(geometry(5, 3, 24, 8, 7, 3, 3, 1, 1, 1, 1), true);    // 24x8: runs of 8
  check_exact<float>(geometry(9, 5, 9, 7, 13, 3, 3, 2, 1, 1, 1), false);   // groups of 2 and 1
  check_exact<float>(geometry(12, 6, 4, 2, 5, 1, 1, 1, 0, 0, 1), true);    // 1x1, grouped
  check_exact<float>(geometry(2, 6, 16, 12, 5, 1, 1, 1, 0, 0, 1), false);  // 1x1, image itself
  check_exact<float>(geometry(2, 4, 8, 6, 9, 1, 1, 2, 0, 0, 1), false);    // 1x1 stride 2
  check_exact<float>(geometry(2, 3, 20, 14, 8, 7, 7, 2, 3, 3, 1), true);   // the stem's 7x7/2
  check_exact<float>(geometry(3, 2, 11, 9, 4, 3, 3, 1, 2, 2, 2), false);   // dilation 2
  check_exact<float>(geometry(2, 2, 3, 40, 3, 1, 3, 1, 0, 1, 1), true);  // rows wider than a sliver
  check_exact<float>(geometry(1, 3, 5, 5, 2, 5, 5, 1, 0, 0, 1), false);  // one output column
  check_exact<float>(geometry(1, 2, 70, 70, 3, 3, 3, 1, 1, 1, 1), true);  // 4900 > NC columns
  check_exact<double>(geometry(9, 4, 6, 5, 7, 3, 3, 1, 1, 1, 1), true);
  check_exact<double>(geometry(2, 3, 13, 11, 5, 3, 3, 2, 1, 1, 1), false);
}

TEST_CASE("CPU convolution gradients equal their fused multiply-add chains bit for bit", "[conv]") {
  using ptl::test::conv_geometry;
  // N, C, H, W, Cout, KH, KW, stride h, w, pad h, w, dilation h, w
  check_backward_exact(conv_geometry(5, 3, 24, 8, 7, 3, 3, 1, 1, 1, 1, 1, 1));   // runs of 8
  check_backward_exact(conv_geometry(9, 5, 9, 7, 13, 3, 3, 2, 2, 1, 1, 1, 1));   // groups 2 and 1
  check_backward_exact(conv_geometry(12, 6, 4, 2, 5, 1, 1, 1, 1, 0, 0, 1, 1));   // 1x1, grouped
  check_backward_exact(conv_geometry(2, 6, 16, 12, 5, 1, 1, 1, 1, 0, 0, 1, 1));  // 1x1 itself
  check_backward_exact(conv_geometry(2, 4, 8, 6, 9, 1, 1, 2, 2, 0, 0, 1, 1));    // 1x1 stride 2
  check_backward_exact(conv_geometry(2, 4, 6, 18, 5, 1, 1, 2, 2, 0, 0, 1, 1));   // runs of 9
  check_backward_exact(conv_geometry(2, 3, 20, 14, 8, 7, 7, 2, 2, 3, 3, 1, 1));  // stem 7x7/2
  check_backward_exact(conv_geometry(3, 2, 11, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2));   // dilation 2
  check_backward_exact(conv_geometry(2, 3, 13, 10, 3, 2, 3, 2, 1, 1, 0, 1, 2));  // mixed
  check_backward_exact(conv_geometry(2, 2, 3, 40, 3, 1, 3, 1, 1, 0, 1, 1, 1));   // 40-wide rows
  check_backward_exact(conv_geometry(1, 3, 5, 5, 2, 5, 5, 1, 1, 0, 0, 1, 1));    // one output
  check_backward_exact(conv_geometry(7, 3, 5, 5, 4, 3, 3, 1, 1, 0, 0, 1, 1));    // odd, no pad
  // Blocks of the input gradient's rows: 2048 and 2145 columns make blocks of 48 rows, which
  // end inside a channel (K = 54, 150), and more than one KC of positions with runs across it.
  check_backward_exact(conv_geometry(1, 6, 64, 32, 4, 3, 3, 1, 1, 1, 1, 1, 1));
  check_backward_exact(conv_geometry(1, 6, 130, 66, 3, 5, 5, 2, 2, 2, 2, 1, 1));
  // More than NC = 4096 columns of the weight gradient (K = 4608), slivers past the last one.
  check_backward_exact(conv_geometry(4, 512, 4, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1));
}
