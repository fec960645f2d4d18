#include "kernels/cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "base/parallel.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"

namespace ptl::cpu {

namespace {

// Uninitialised scratch (std::vector would zero it, which costs as much as the im2col).
template <class T>
std::unique_ptr<T[]> scratch(int64_t n) {
  return std::unique_ptr<T[]>(new T[static_cast<size_t>(n)]);
}

// Output columns ow whose input column ow*sw + off lies inside [0, W) form [lo, hi).
void valid_columns(int64_t off, const ConvGeometry& g, int64_t& lo, int64_t& hi) {
  lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  hi = std::min(g.OW, g.W - off <= 0 ? 0 : (g.W - off + g.sw - 1) / g.sw);
  lo = std::min(lo, hi);
}

// One image: x (C,H,W) -> col (K, P), rows ld apart (ld >= P lays images side by side).
template <class T>
void im2col(const T* x, T* col, const ConvGeometry& g, int64_t ld) {
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* row = col + ((c * g.KH + kh) * g.KW + kw) * ld;
        const T* plane = x + c * g.H * g.W;
        const int64_t off = kw * g.dw - g.pw;
        int64_t lo, hi;
        valid_columns(off, g, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          T* out = row + oh * g.OW;
          if (ih < 0 || ih >= g.H) {
            std::fill(out, out + g.OW, T{});
            continue;
          }
          const T* in = plane + ih * g.W + off;  // in[ow * sw] is the input under column ow
          std::fill(out, out + lo, T{});
          if (g.sw == 1)
            std::copy(in + lo, in + hi, out + lo);
          else
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] = in[ow * g.sw];
          std::fill(out + hi, out + g.OW, T{});
        }
      }
}

// One image: the adjoint of im2col, col (K, P) with rows ld apart -> x (C,H,W), overwritten.
template <class T>
void col2im(const T* col, T* x, const ConvGeometry& g, int64_t ld) {
  std::fill(x, x + g.C * g.H * g.W, T{});
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T* row = col + ((c * g.KH + kh) * g.KW + kw) * ld;
        T* plane = x + c * g.H * g.W;
        const int64_t off = kw * g.dw - g.pw;
        int64_t lo, hi;
        valid_columns(off, g, lo, hi);
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* out = plane + ih * g.W + off;
          const T* in = row + oh * g.OW;
          if (g.sw == 1)
            for (int64_t ow = lo; ow < hi; ++ow) out[ow] += in[ow];
          else
            for (int64_t ow = lo; ow < hi; ++ow) out[ow * g.sw] += in[ow];
        }
      }
}

// Small late-layer maps (8x4 = 32 columns) make thin GEMMs whose tiles (32 columns wide on the
// AVX-512 path) would be mostly padding, so consecutive images are laid side by side into groups
// of G: at least kMinCols columns, but never fewer than kMinGroups groups, so the threads still
// have groups to share. G depends on the shape only, which keeps every sum in a fixed order. The
// weight is packed once per convolution (PackedA) and shared by all groups.
constexpr int64_t kMinCols = 128, kMinGroups = 4;

struct Groups {
  int64_t G, count;
  explicit Groups(const ConvGeometry& g)
      : G(std::clamp<int64_t>((kMinCols + g.P() - 1) / g.P(), 1,
                              std::max<int64_t>(1, g.N / kMinGroups))),
        count((g.N + G - 1) / G) {}
  int64_t first(int64_t i) const { return i * G; }
  int64_t size(int64_t i, int64_t N) const { return std::min(G, N - i * G); }
};

// Images n0..n0+gn of a (N, R, P) tensor <-> side by side (R, gn*P).
template <class T>
void gather(const T* t, T* side, int64_t R, int64_t P, int64_t gn) {
  for (int64_t j = 0; j < gn; ++j)
    for (int64_t r = 0; r < R; ++r) std::copy_n(t + (j * R + r) * P, P, side + r * gn * P + j * P);
}
template <class T>
void scatter(const T* side, T* t, int64_t R, int64_t P, int64_t gn) {
  for (int64_t j = 0; j < gn; ++j)
    for (int64_t r = 0; r < R; ++r) std::copy_n(side + r * gn * P + j * P, P, t + (j * R + r) * P);
}

// n <= a few vectors of contiguous values: whole AVX2 vectors (fixed-size copies, which compile
// to vector moves, not library calls), then single values.
template <class T>
void copy_short(const T* in, T* out, int64_t n) {
  constexpr int64_t V = 32 / sizeof(T);
  int64_t t = 0;
  for (; t + V <= n; t += V) std::memcpy(out + t, in + t, sizeof(T) * V);
  for (; t < n; ++t) out[t] = in[t];
}

// The columns (K, gn*P) of gn consecutive images, im2col's matrix laid side by side, packed
// straight from the images into the GEMM's panels (implicit im2col): the K x gn*P matrix is
// never written and read back, which at 24x8 maps and K = 4608 is 3.5 MB an image. Column n is
// output position (oh, ow) of image n / P; row k = (c*KH + kh)*KW + kw holds the input under it,
// x[c, oh*sh - ph + kh*dh, ow*sw - pw + kw*dw], zero outside the image. The images are first
// copied with their zero padding around them (C, H + 2ph, W + 2pw), where every position a
// column reads exists, so a row of a sliver is a few plain copies without bounds. A copy: the
// GEMM gets the same values, so the same bits, as from im2col.
template <class T>
class ImageColumns final : public PanelSource<T> {
 public:
  // images: gn consecutive images of x; padded: room for padded_size(g) * gn values.
  ImageColumns(const T* images, int64_t gn, const ConvGeometry& g, T* padded)
      : g_(g), Hp_(g.H + 2 * g.ph), Wp_(g.W + 2 * g.pw), src_(images) {
    if (g.ph == 0 && g.pw == 0) return;
    // Each value written once: the rows of padding, then each image row between its margins.
    for (int64_t plane = 0; plane < gn * g.C; ++plane) {
      T* dst = padded + plane * Hp_ * Wp_;
      std::fill(dst, dst + g.ph * Wp_, T(0));
      std::fill(dst + (g.ph + g.H) * Wp_, dst + Hp_ * Wp_, T(0));
      for (int64_t h = 0; h < g.H; ++h) {
        T* row = dst + (g.ph + h) * Wp_;
        std::fill(row, row + g.pw, T(0));
        std::copy_n(images + (plane * g.H + h) * g.W, g.W, row + g.pw);
        std::fill(row + g.pw + g.W, row + Wp_, T(0));
      }
    }
    src_ = padded;
  }
  static int64_t padded_size(const ConvGeometry& g) {
    return g.ph == 0 && g.pw == 0 ? 0 : g.C * (g.H + 2 * g.ph) * (g.W + 2 * g.pw);
  }

  void pack(int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, T* dst) const override {
    Run runs[kMaxLanes];
    for (int64_t s0 = 0; s0 < nc; s0 += nr, dst += nr * kc) {
      const int64_t lanes = std::min(nr, nc - s0), count = split(n0 + s0, lanes, runs);
      int64_t c = k0 / (g_.KH * g_.KW), kh = k0 / g_.KW % g_.KH, kw = k0 % g_.KW;
      for (int64_t k = 0; k < kc; ++k) {
        T* out = dst + k * nr;
        const T* in = src_ + (c * Hp_ + kh * g_.dh) * Wp_ + kw * g_.dw;  // under (0, 0) of image 0
        for (const Run* r = runs; r < runs + count; ++r)
          if (g_.sw == 1)
            copy_short(in + r->offset, out + r->lane, r->len);
          else
            for (int64_t t = 0; t < r->len; ++t) out[r->lane + t] = in[r->offset + t * g_.sw];
        if (lanes < nr) std::fill(out + lanes, out + nr, T(0));
        if (++kw == g_.KW) {
          kw = 0;
          if (++kh == g_.KH) kh = 0, ++c;
        }
      }
    }
  }

 private:
  static constexpr int64_t kMaxLanes = 64;  // wider than the widest sliver (gemm_micro.h)

  // Lanes [lane, lane + len) of a sliver: consecutive columns of one output row of one image,
  // the first reading `offset` values past what output (0, 0) of image 0 reads.
  struct Run {
    int64_t lane, len, offset;
  };

  // The runs of the `lanes` columns from column n on.
  int64_t split(int64_t n, int64_t lanes, Run* runs) const {
    PTL_CHECK(lanes <= kMaxLanes, "conv2d: a micro-kernel sliver wider than ImageColumns allows");
    const int64_t P = g_.P();
    int64_t count = 0;
    for (int64_t j = 0; j < lanes; ++count) {
      const int64_t image = (n + j) / P, oh = (n + j) % P / g_.OW, ow = (n + j) % g_.OW;
      runs[count] = {j, std::min(g_.OW - ow, lanes - j),
                     (image * g_.C * Hp_ + oh * g_.sh) * Wp_ + ow * g_.sw};
      j += runs[count].len;
    }
    return count;
  }

  const ConvGeometry& g_;
  int64_t Hp_, Wp_;  // the padded images' height and width
  const T* src_;     // the images, padded where the convolution pads
};

// cols (K, gn*P) of images n0..n0+gn of x, stored (the weight gradient's operand); a 1x1
// stride-1 single image is its own col.
template <class T>
const T* group_cols(const T* x, T* buf, const ConvGeometry& g, int64_t n0, int64_t gn) {
  const int64_t in_img = g.C * g.H * g.W;
  if (g.pointwise() && gn == 1) return x + n0 * in_img;
  for (int64_t j = 0; j < gn; ++j) im2col(x + (n0 + j) * in_img, buf + j * g.P(), g, gn * g.P());
  return buf;
}

// gy (Cout, gn*P) of images n0..n0+gn; a single image needs no copy.
template <class T>
const T* group_gy(const T* gy, T* buf, const ConvGeometry& g, int64_t n0, int64_t gn) {
  const T* first = gy + n0 * g.Cout * g.P();
  if (gn == 1) return first;
  gather(first, buf, g.Cout, g.P(), gn);
  return buf;
}

// The weight as the left operand of a convolution's products, op(W) (rows, depth) of W (Cout, K):
// float32/64 packed once per convolution (PackedA) and shared by every group; bf16 as stored
// (gemm_bf16_serial packs it for each product).
template <class T>
PackedA<T> left_weight(const T* w, bool trans, const ConvGeometry& g) {
  return PackedA<T>(trans, trans ? g.K() : g.Cout, trans ? g.Cout : g.K(), T(1), w, g.K());
}
struct Bf16Weight {
  bool trans;
  int64_t rows, depth, ld;
  const bf16* w;
};
Bf16Weight left_weight(const bf16* w, bool trans, const ConvGeometry& g) {
  return {trans, trans ? g.K() : g.Cout, trans ? g.Cout : g.K(), g.K(), w};
}

// C (rows, N) = op(W) B, B (depth, N) and C with rows N apart.
template <class T>
void product(const PackedA<T>& W, const T* B, int64_t N, T* C) {
  gemm_serial_packed<T>(W, false, N, B, N, 0, C, N);
}
void product(const Bf16Weight& W, const bf16* B, int64_t N, float* C) {
  gemm_bf16_serial(W.trans, false, W.rows, N, W.depth, 1, W.w, W.ld, B, N, 0, C, N);
}

// The forward's scratch for the columns of G images: float32/64 packs them straight from the
// padded images (implicit im2col); bf16 stores them (K, G*P).
template <class T>
int64_t columns_scratch(const T*, const ConvGeometry& g, int64_t G) {
  return ImageColumns<T>::padded_size(g) * G;
}
int64_t columns_scratch(const bf16*, const ConvGeometry& g, int64_t G) {
  return g.K() * G * g.P();
}

// out (Cout, gn*P) = W cols (K, gn*P) of images n0..n0+gn of x.
template <class T>
void forward_group(const PackedA<T>& W, const T* x, const ConvGeometry& g, int64_t n0, int64_t gn,
                   T* buf, T* out) {
  const int64_t cols = gn * g.P();
  const T* images = x + n0 * g.C * g.H * g.W;
  if (g.pointwise() && gn == 1)  // the image is its own column matrix
    product(W, images, cols, out);
  else
    gemm_serial_packed<T>(W, ImageColumns<T>(images, gn, g, buf), cols, 0, out, cols);
}
void forward_group(const Bf16Weight& W, const bf16* x, const ConvGeometry& g, int64_t n0,
                   int64_t gn, bf16* buf, float* out) {
  product(W, group_cols(x, buf, g, n0, gn), gn * g.P(), out);
}

// C (Cout, K) = gy (Cout, N) cols^T (N, K), added to C when `accumulate`.
template <class T>
void product_nt(const ConvGeometry& g, int64_t N, const T* gy, const T* cols, bool accumulate,
                T* C) {
  gemm_serial<T>(false, true, g.Cout, g.K(), N, 1, gy, N, cols, N, accumulate ? 1 : 0, C, g.K());
}
void product_nt(const ConvGeometry& g, int64_t N, const bf16* gy, const bf16* cols, bool accumulate,
                float* C) {
  gemm_bf16_serial(false, true, g.Cout, g.K(), N, 1, gy, N, cols, N, accumulate ? 1 : 0, C, g.K());
}

template <class T>
double widen(T v) {
  return static_cast<double>(v);
}
double widen(bf16 v) {
  return to_float(v);
}

// The three kernels for operands In (float, double, bf16) and results Out (In, float for bf16).
template <class In, class Out>
void forward(const In* x, const In* w, const Out* bias, Out* y, const ConvGeometry& g) {
  const int64_t P = g.P(), out_img = g.Cout * P;
  const Groups gr(g);
  const auto W = left_weight(w, false, g);  // once, not once per group
  // Groups in parallel; per group: y (Cout, gn*P) = W (Cout, K) cols (K, gn*P).
  parallel_for(gr.count, 1, [&](int64_t i0, int64_t i1) {
    auto side = scratch<Out>(gr.G > 1 ? out_img * gr.G : 0);
    auto buf = scratch<In>(columns_scratch(x, g, gr.G));
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n0 = gr.first(i), gn = gr.size(i, g.N);
      Out* yn = y + n0 * out_img;
      Out* out = gn == 1 ? yn : side.get();
      forward_group(W, x, g, n0, gn, buf.get(), out);
      if (gn > 1) scatter(out, yn, g.Cout, P, gn);
      if (bias)
        for (int64_t r = 0; r < gn * g.Cout; ++r)
          for (int64_t p = 0; p < P; ++p) yn[r * P + p] += bias[r % g.Cout];
    }
  });
}

template <class In, class Out>
void backward_input(const In* gy, const In* w, Out* gx, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P(), in_img = g.C * g.H * g.W;
  const Groups gr(g);
  const auto Wt = left_weight(w, true, g);
  // Groups in parallel; per group: cols (K, gn*P) = W^T (K, Cout) gy (Cout, gn*P), then col2im
  // (summing in Out).
  parallel_for(gr.count, 1, [&](int64_t i0, int64_t i1) {
    auto col = scratch<Out>(K * gr.G * P);
    auto side = scratch<In>(gr.G > 1 ? g.Cout * gr.G * P : 0);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n0 = gr.first(i), gn = gr.size(i, g.N), cols = gn * P;
      const bool direct = g.pointwise() && gn == 1;  // the col is gx itself
      Out* dst = direct ? gx + n0 * in_img : col.get();
      product(Wt, group_gy(gy, side.get(), g, n0, gn), cols, dst);
      if (!direct)
        for (int64_t j = 0; j < gn; ++j) col2im(dst + j * P, gx + (n0 + j) * in_img, g, cols);
    }
  });
}

template <class In, class Out>
void backward_weight(const In* gy, const In* x, Out* gw, Out* gb, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P(), WK = g.Cout * K;
  const Groups gr(g);
  // The batch's groups are cut into S consecutive slices (S from the shape only); slice s sums
  // gy cols^T over its groups into its own partial gw (slice 0 straight into gw), the slices
  // run in parallel, and the partials are added in slice order.
  constexpr int64_t kSlices = 4;
  const int64_t S = std::min(gr.count, kSlices);
  auto partial = scratch<Out>((S - 1) * WK);
  parallel_for(S, 1, [&](int64_t s0, int64_t s1) {
    auto col = scratch<In>(K * gr.G * P), side = scratch<In>(gr.G > 1 ? g.Cout * gr.G * P : 0);
    for (int64_t s = s0; s < s1; ++s) {
      Out* acc = s == 0 ? gw : partial.get() + (s - 1) * WK;
      const int64_t i0 = s * gr.count / S, i1 = (s + 1) * gr.count / S;
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t n0 = gr.first(i), gn = gr.size(i, g.N);
        // acc (Cout, K) += gy (Cout, gn*P) cols^T (gn*P, K)
        product_nt(g, gn * P, group_gy(gy, side.get(), g, n0, gn),
                   group_cols(x, col.get(), g, n0, gn), i != i0, acc);
      }
    }
  });
  parallel_for(WK, 4096, [&](int64_t e0, int64_t e1) {
    for (int64_t s = 1; s < S; ++s)
      for (int64_t e = e0; e < e1; ++e) gw[e] += partial[(s - 1) * WK + e];
  });
  if (gb)  // gb[co] = sum over n, then p, of gy[n, co, p], accumulated in double
    parallel_for(g.Cout, 16, [&](int64_t c0, int64_t c1) {
      for (int64_t co = c0; co < c1; ++co) {
        double sum = 0;
        for (int64_t n = 0; n < g.N; ++n)
          for (int64_t p = 0; p < P; ++p) sum += widen(gy[(n * g.Cout + co) * P + p]);
        gb[co] = static_cast<Out>(sum);
      }
    });
}

}  // namespace

template <class T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g) {
  forward(x, w, bias, y, g);
}
template <class T>
void conv2d_backward_input(const T* gy, const T* w, T* gx, const ConvGeometry& g) {
  backward_input(gy, w, gx, g);
}
template <class T>
void conv2d_backward_weight(const T* gy, const T* x, T* gw, T* gb, const ConvGeometry& g) {
  backward_weight(gy, x, gw, gb, g);
}

void conv2d_forward_bf16(const bf16* x, const bf16* w, const float* bias, float* y,
                         const ConvGeometry& g) {
  forward(x, w, bias, y, g);
}
void conv2d_backward_input_bf16(const bf16* gy, const bf16* w, float* gx, const ConvGeometry& g) {
  backward_input(gy, w, gx, g);
}
void conv2d_backward_weight_bf16(const bf16* gy, const bf16* x, float* gw, float* gb,
                                 const ConvGeometry& g) {
  backward_weight(gy, x, gw, gb, g);
}

#include "kernels/contract/conv_instances.inc"
PTL_INSTANTIATE_CONV()

}  // namespace ptl::cpu
