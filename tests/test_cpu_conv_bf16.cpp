// The CPU bf16 convolution kernels (kernels/contract/conv_bf16.inc) against their definition,
// bit for bit: plain loops that build each image's im2col matrix and multiply with the bf16 GEMM's
// reference (tests/gemm_bf16_reference.h), the input gradient's col2im and the weight gradient's
// groups, slices and partial sums as the contract states them. The shapes cover padding, strides,
// dilation, 1x1 (an image its own column matrix, and grouped), images laid side by side in
// groups with the weight gradient cut into slices, and odd sums (a pair's pad). Checked on every
// instruction-set path of the machine (avx2 and avx512 emulate VDPBF16PS, avx512bf16 runs it; a
// path this CPU lacks is named in the output) at 1, 2 and 3 threads. NaN or infinity anywhere is
// a failure.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/bf16.h"
#include "isa_scope.h"
#include "kernels/cpu/conv.h"
#include "tests/compare.h"
#include "tests/gemm_bf16_reference.h"
#include "tests/test_util.h"

using ptl::bf16;
using ptl::ConvGeometry;

namespace {

std::vector<bf16> bf16_values(size_t n, unsigned seed) {
  std::vector<bf16> out;
  for (float v : ptl::test::random_values<float>(n, seed)) out.push_back(ptl::to_bf16(v));
  return out;
}

// f(k, p, i) for every entry of im2col's matrix (K, P) whose input lies inside the image: row
// k = (c*KH + kh)*KW + kw, column p = oh*OW + ow, input i = (c*H + ih)*W + iw of one image, in the
// order c, kh, kw, oh, ow.
template <class F>
void for_each_tap(const ConvGeometry& g, const F& f) {
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw)
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t ih = oh * g.sh - g.ph + kh * g.dh, iw = ow * g.sw - g.pw + kw * g.dw;
            if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W)
              f((c * g.KH + kh) * g.KW + kw, oh * g.OW + ow, (c * g.H + ih) * g.W + iw);
          }
}

// im2col of image n: (K, P), zero outside the image.
std::vector<bf16> columns(const std::vector<bf16>& x, const ConvGeometry& g, int64_t n) {
  std::vector<bf16> col(static_cast<size_t>(g.K() * g.P()), bf16{0});
  const bf16* image = x.data() + n * g.C * g.H * g.W;
  for_each_tap(g, [&](int64_t k, int64_t p, int64_t i) { col[k * g.P() + p] = image[i]; });
  return col;
}

struct Results {
  std::vector<float> y, gx, gw, gb;
};

Results reference(const std::vector<bf16>& x, const std::vector<bf16>& w,
                  const std::vector<float>& bias, const std::vector<bf16>& gy,
                  const ConvGeometry& g) {
  using ptl::test::gemm_bf16_reference;
  const int64_t K = g.K(), P = g.P();
  Results r{std::vector<float>(static_cast<size_t>(g.N * g.Cout * P)),
            std::vector<float>(static_cast<size_t>(g.N * g.C * g.H * g.W), 0.0f),
            std::vector<float>(static_cast<size_t>(g.Cout * K)),
            std::vector<float>(static_cast<size_t>(g.Cout))};
  std::vector<std::vector<bf16>> cols;
  for (int64_t n = 0; n < g.N; ++n) cols.push_back(columns(x, g, n));
  for (int64_t n = 0; n < g.N; ++n) {
    // y_n = W col_n + bias
    float* yn = r.y.data() + n * g.Cout * P;
    gemm_bf16_reference(false, false, g.Cout, P, K, 1, w.data(), K, cols[n].data(), P, 0, yn, P);
    for (int64_t co = 0; co < g.Cout; ++co)
      for (int64_t p = 0; p < P; ++p) yn[co * P + p] += bias[co];
    // col = W^T gy_n, then col2im: each gx element summed over (kh, kw) in order, from +0
    std::vector<float> col(static_cast<size_t>(K * P));
    gemm_bf16_reference(true, false, K, P, g.Cout, 1, w.data(), K, gy.data() + n * g.Cout * P, P, 0,
                        col.data(), P);
    float* gxn = r.gx.data() + n * g.C * g.H * g.W;
    for_each_tap(g, [&](int64_t k, int64_t p, int64_t i) { gxn[i] += col[k * P + p]; });
  }
  // gw: groups of G images, S slices of groups, one chain per slice, the slices added in order
  const int64_t G = std::clamp<int64_t>((128 + P - 1) / P, 1, std::max<int64_t>(1, g.N / 4));
  const int64_t count = (g.N + G - 1) / G, S = std::min<int64_t>(count, 4);
  for (int64_t s = 0; s < S; ++s) {
    std::vector<float> slice(r.gw.size());
    for (int64_t i = s * count / S; i < (s + 1) * count / S; ++i) {
      const int64_t n0 = i * G, gn = std::min(G, g.N - n0), L = gn * P;
      std::vector<bf16> gy_side(static_cast<size_t>(g.Cout * L)), col_side(K * L);
      for (int64_t j = 0; j < gn; ++j)
        for (int64_t p = 0; p < P; ++p) {
          for (int64_t co = 0; co < g.Cout; ++co)
            gy_side[co * L + j * P + p] = gy[((n0 + j) * g.Cout + co) * P + p];
          for (int64_t k = 0; k < K; ++k) col_side[k * L + j * P + p] = cols[n0 + j][k * P + p];
        }
      gemm_bf16_reference(false, true, g.Cout, K, L, 1, gy_side.data(), L, col_side.data(), L,
                          i == s * count / S ? 0 : 1, slice.data(), K);
    }
    for (size_t e = 0; e < slice.size(); ++e) r.gw[e] = s == 0 ? slice[e] : r.gw[e] + slice[e];
  }
  for (int64_t co = 0; co < g.Cout; ++co) {
    double sum = 0;
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t p = 0; p < P; ++p) sum += ptl::to_float(gy[(n * g.Cout + co) * P + p]);
    r.gb[co] = static_cast<float>(sum);
  }
  return r;
}

bool finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float f) { return std::isfinite(f); });
}

void check_exact(const ConvGeometry& g) {
  INFO("N " << g.N << " C " << g.C << " " << g.H << "x" << g.W << " -> " << g.Cout << ", kernel "
            << g.KH << "x" << g.KW << " stride " << g.sh << "," << g.sw << " pad " << g.ph << ","
            << g.pw << " dilation " << g.dh << "," << g.dw);
  const auto x = bf16_values(static_cast<size_t>(g.N * g.C * g.H * g.W), 1);
  const auto w = bf16_values(static_cast<size_t>(g.Cout * g.K()), 2);
  const auto gy = bf16_values(static_cast<size_t>(g.N * g.Cout * g.P()), 3);
  const auto bias = ptl::test::random_values<float>(static_cast<size_t>(g.Cout), 4);
  const Results want = reference(x, w, bias, gy, g);
  REQUIRE((finite(want.y) && finite(want.gx) && finite(want.gw) && finite(want.gb)));
  ptl::test::on_every_path(
      [&] {
        Results got{std::vector<float>(want.y.size(), NAN), std::vector<float>(want.gx.size(), NAN),
                    std::vector<float>(want.gw.size(), NAN),
                    std::vector<float>(want.gb.size(), NAN)};
        ptl::cpu::conv2d_forward_bf16(x.data(), w.data(), bias.data(), got.y.data(), g);
        ptl::cpu::conv2d_backward_input_bf16(gy.data(), w.data(), got.gx.data(), g);
        ptl::cpu::conv2d_backward_weight_bf16(gy.data(), x.data(), got.gw.data(), got.gb.data(), g);
        CHECK_SAME_BITS(got.y, want.y);
        CHECK_SAME_BITS(got.gx, want.gx);
        CHECK_SAME_BITS(got.gw, want.gw);
        CHECK_SAME_BITS(got.gb, want.gb);
      },
      {1, 2, 3});
}

ConvGeometry geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t Cout, int64_t KH,
                      int64_t KW, int64_t s, int64_t ph, int64_t pw, int64_t d) {
  return ptl::test::conv_geometry(N, C, H, W, Cout, KH, KW, s, s, ph, pw, d, d);
}

}  // namespace

TEST_CASE("CPU bf16 convolution, forward and both gradients, equal their definition bit for bit",
          "[conv][bf16]") {
  // N, C, H, W, Cout, KH, KW, stride, pad h, pad w, dilation
  check_exact(geometry(2, 3, 9, 7, 5, 3, 3, 1, 1, 1, 1));    // K 27 and Cout 5 odd, 63 columns
  check_exact(geometry(9, 5, 9, 7, 13, 3, 3, 2, 1, 1, 1));   // stride 2: groups of 2 and 1
  check_exact(geometry(12, 6, 4, 2, 5, 1, 1, 1, 0, 0, 1));   // 1x1, groups of 3, 4 slices
  check_exact(geometry(2, 6, 16, 12, 5, 1, 1, 1, 0, 0, 1));  // 1x1, the image its own columns
  check_exact(geometry(2, 4, 8, 6, 9, 1, 1, 2, 0, 0, 1));    // 1x1 stride 2
  check_exact(geometry(3, 2, 11, 9, 4, 3, 3, 1, 2, 2, 2));   // dilation 2
  check_exact(geometry(2, 3, 20, 14, 8, 7, 7, 2, 3, 3, 1));  // the stem's 7x7/2
  check_exact(geometry(22, 7, 3, 3, 6, 3, 3, 1, 1, 0, 1));   // 3x1 maps: groups of 5, odd sums
  check_exact(ptl::test::conv_geometry(3, 4, 10, 9, 3, 2, 3, 2, 1, 0, 1, 1, 2));  // unequal h, w
}
