#include "kernels/cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>

#include "base/error.h"
#include "base/parallel.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/gemm_blocked.h"  // transpose8x8

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

// One image: x (C,H,W) -> col (K, P), rows ld apart (ld >= P lays images side by side): the
// bf16 kernels' column matrix (the float32/64 kernels pack it from the images instead).
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

// One image: the adjoint of im2col (the column matrix that ImageColumns packs), col (K, P) with
// rows ld apart -> x (C,H,W), overwritten.
// Or rows [k0, k1) of col alone, the first at col: from k0 = 0 x is overwritten (zeroed, then
// added to), after that added to. Row k adds into each x element at most once, rows in k order.
template <class T>
void col2im(const T* col, T* x, const ConvGeometry& g, int64_t ld, int64_t k0 = 0,
            int64_t k1 = -1) {
  if (k0 == 0) std::fill(x, x + g.C * g.H * g.W, T(0));
  if (k1 < 0) k1 = g.K();
  for (int64_t k = k0; k < k1; ++k) {
    const int64_t c = k / (g.KH * g.KW), kh = k / g.KW % g.KH, kw = k % g.KW;
    const T* row = col + (k - k0) * ld;
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

// gn consecutive images (C, H, W) copied with their zero padding around them into padded
// (gn, C, H + 2ph, W + 2pw), where every position a column of im2col reads exists; the images
// themselves when the convolution does not pad. Each value is written once: the rows of
// padding, then each image row between its margins.
template <class T>
const T* pad_images(const T* images, int64_t gn, const ConvGeometry& g, T* padded) {
  if (g.ph == 0 && g.pw == 0) return images;
  const int64_t Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw;
  for (int64_t plane = 0; plane < gn * g.C; ++plane) {
    T* dst = padded + plane * Hp * Wp;
    std::fill(dst, dst + g.ph * Wp, T(0));
    std::fill(dst + (g.ph + g.H) * Wp, dst + Hp * Wp, T(0));
    for (int64_t h = 0; h < g.H; ++h) {
      T* row = dst + (g.ph + h) * Wp;
      std::fill(row, row + g.pw, T(0));
      std::copy_n(images + (plane * g.H + h) * g.W, g.W, row + g.pw);
      std::fill(row + g.pw + g.W, row + Wp, T(0));
    }
  }
  return padded;
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
      : g_(g), Hp_(g.H + 2 * g.ph), Wp_(g.W + 2 * g.pw), src_(pad_images(images, gn, g, padded)) {}
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

// cols^T (gn*P, K), the weight gradient's op(B), packed straight from the images as
// ImageColumns packs cols (the same values, so the same bits as from a stored im2col matrix):
// row p is output position p of the group (image p / P), column k = (c*KH + kh)*KW + kw. A
// sliver holds nr columns k, each reading the padded image at its own (c, kh, kw); over the
// positions of one output row (a "run") each column reads consecutive inputs, sw apart. With
// sw = 1 or 2, floats go 8 positions x 8 columns at a time through register transposes (the
// packed sliver is KC x nr, positions x columns), the rest value by value.
template <class T>
class TransposedColumns final : public PanelSource<T> {
 public:
  // images: gn consecutive images of x; padded: room for ImageColumns::padded_size(g) * gn.
  TransposedColumns(const T* images, int64_t gn, const ConvGeometry& g, T* padded)
      : g_(g), Hp_(g.H + 2 * g.ph), Wp_(g.W + 2 * g.pw), src_(pad_images(images, gn, g, padded)) {}

  void pack(int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t nr, T* dst) const override {
    PTL_CHECK(kc <= kMaxSteps && nr <= kMaxLanes,
              "conv2d: a GEMM panel larger than TransposedColumns allows");
    Run runs[kMaxSteps];
    const int64_t count = split(k0, kc, runs);
    const T* lane[kMaxLanes];
    for (int64_t s0 = 0; s0 < nc; s0 += nr, dst += nr * kc) {
      const int64_t lanes = std::min(nr, nc - s0);
      for (int64_t j = 0; j < lanes; ++j) {  // under position (0, 0) of image 0
        const int64_t k = n0 + s0 + j, c = k / (g_.KH * g_.KW), kh = k / g_.KW % g_.KH;
        lane[j] = src_ + (c * Hp_ + kh * g_.dh) * Wp_ + k % g_.KW * g_.dw;
      }
      for (const Run* r = runs; r < runs + count; ++r) {
        T* out = dst + r->step * nr;
        int64_t t = 0;
        if constexpr (std::is_same_v<T, float>) {
          if (g_.sw == 1)
            for (; t + 8 <= r->len; t += 8)
              transpose_block<1>(lane, lanes, r->offset + t, nr, out + t * nr);
          else if (g_.sw == 2)
            for (; t + 8 <= r->len; t += 8)
              transpose_block<2>(lane, lanes, r->offset + 2 * t, nr, out + t * nr);
        }
        for (; t < r->len; ++t) {
          const int64_t at = r->offset + t * g_.sw;
          for (int64_t j = 0; j < lanes; ++j) out[t * nr + j] = lane[j][at];
          std::fill(out + t * nr + lanes, out + (t + 1) * nr, T(0));
        }
      }
    }
  }

 private:
  static constexpr int64_t kMaxSteps = 512, kMaxLanes = 64;  // above every path's KC and NR

  // Steps [step, step + len) of the panel: consecutive positions of one output row of one
  // image, the first reading `offset` values past what position (0, 0) of image 0 reads (and
  // for sw = 1 the next output row too when it continues in memory, as without padding).
  struct Run {
    int64_t step, len, offset;
  };

  // The runs of positions [k0, k0 + kc).
  int64_t split(int64_t k0, int64_t kc, Run* runs) const {
    const int64_t P = g_.P();
    int64_t count = 0;
    for (int64_t k = 0; k < kc;) {
      const int64_t p = k0 + k, image = p / P, oh = p % P / g_.OW, ow = p % g_.OW;
      const Run r{k, std::min(g_.OW - ow, kc - k),
                  (image * g_.C * Hp_ + oh * g_.sh) * Wp_ + ow * g_.sw};
      if (g_.sw == 1 && count > 0 && runs[count - 1].offset + runs[count - 1].len == r.offset)
        runs[count - 1].len += r.len;
      else
        runs[count++] = r;
      k += r.len;
    }
    return count;
  }

  // p[0], p[SW], ..., p[7 * SW] (reading no further than p[7 * SW]).
  template <int SW>
  static __m256 load8(const float* p) {
    static_assert(SW == 1 || SW == 2, "strides 1 and 2 only");
    if constexpr (SW == 1) return _mm256_loadu_ps(p);
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 7);
    const __m256 even = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 2, 0));  // 0 2 8 10 | 4 6 12 14
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), _MM_SHUFFLE(3, 1, 2, 0)));
  }

  // 8 consecutive positions from `at` of every lane (inputs SW apart) into out[t*nr + j], t < 8,
  // j < nr: groups of 8 lanes through an 8x8 register transpose, lanes past `lanes` zero.
  template <int SW>
  static void transpose_block(const float* const* lane, int64_t lanes, int64_t at, int64_t nr,
                              float* out) {
    for (int64_t l0 = 0; l0 < nr; l0 += 8) {
      __m256 r[8], c[8];
      for (int64_t l = 0; l < 8; ++l)
        r[l] = l0 + l < lanes ? load8<SW>(lane[l0 + l] + at) : _mm256_setzero_ps();
      transpose8x8(r, c);
      for (int64_t t = 0; t < 8; ++t) _mm256_storeu_ps(out + t * nr + l0, c[t]);
    }
  }

  const ConvGeometry& g_;
  int64_t Hp_, Wp_;  // the padded images' height and width
  const T* src_;     // the images, padded where the convolution pads
};

// cols (K, gn*P) of images n0..n0+gn of x, stored (the bf16 kernels' operand); a 1x1
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

// The scratch for the columns of G images (forward and weight gradient): float32/64 packs them
// straight from the padded images (implicit im2col); bf16 stores them (K, G*P).
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

// Rows [r0, r1) of C (rows, N) = op(W) B alone, C (r1 - r0, N) with rows N apart; r0 a multiple
// of kPackedRowStep. Each element is the chain it is in the whole product.
template <class T>
void product_rows(const PackedA<T>& W, int64_t r0, int64_t r1, const T* B, int64_t N, T* C) {
  gemm_serial_packed_rows<T>(W, r0, r1, false, N, B, N, 0, C, N);
}
void product_rows(const Bf16Weight& W, int64_t r0, int64_t r1, const bf16* B, int64_t N, float* C) {
  const bf16* first = W.trans ? W.w + r0 : W.w + r0 * W.ld;  // row r0 of op(W)
  gemm_bf16_serial(W.trans, false, r1 - r0, N, W.depth, 1, first, W.ld, B, N, 0, C, N);
}

// C (Cout, K) = gy (Cout, gn*P) cols^T (gn*P, K) of images n0..n0+gn of x, added to C when
// `accumulate`: float32/64 packs cols^T straight from the images (TransposedColumns), bf16
// multiplies the stored cols (buf: columns_scratch values); a 1x1 stride-1 single image is its
// own cols in both.
template <class T>
void weight_product(const ConvGeometry& g, const T* x, int64_t n0, int64_t gn, const T* gy,
                    bool accumulate, T* buf, T* C) {
  const int64_t cols = gn * g.P(), K = g.K();
  const T* images = x + n0 * g.C * g.H * g.W;
  const T beta = accumulate ? 1 : 0;
  if (g.pointwise() && gn == 1)
    gemm_serial<T>(false, true, g.Cout, K, cols, 1, gy, cols, images, cols, beta, C, K);
  else
    gemm_serial<T>(false, g.Cout, cols, 1, gy, cols, TransposedColumns<T>(images, gn, g, buf), K,
                   beta, C, K);
}
void weight_product(const ConvGeometry& g, const bf16* x, int64_t n0, int64_t gn, const bf16* gy,
                    bool accumulate, bf16* buf, float* C) {
  const int64_t cols = gn * g.P();
  gemm_bf16_serial(false, true, g.Cout, g.K(), cols, 1, gy, cols, group_cols(x, buf, g, n0, gn),
                   cols, accumulate ? 1 : 0, C, g.K());
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

// The input gradient's column matrix is computed a block of rows at a time, each block about
// kColTile values (at least kPackedRowStep rows, a multiple of it) so that col2im reads it back
// from the cache: the whole K x gn*P matrix (4.7 MB an image for layer1's 3x3) is never written
// out. The cost is packing gy's panels (Cout x gn*P copies) once per block instead of once,
// against block x Cout x gn*P multiply-adds. Blocks of 2 and 8 times this size measured the
// same for layer1's 3x3 (docs/performance.md).
constexpr int64_t kColTile = 128 * 1024;

int64_t col_block_rows(int64_t K, int64_t cols) {
  return std::min(K, std::max<int64_t>(1, kColTile / cols / kPackedRowStep) * kPackedRowStep);
}

template <class In, class Out>
void backward_input(const In* gy, const In* w, Out* gx, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P(), in_img = g.C * g.H * g.W;
  const Groups gr(g);
  const auto Wt = left_weight(w, true, g);
  // Groups in parallel; per group: cols (K, gn*P) = W^T (K, Cout) gy (Cout, gn*P), then col2im
  // (summing in Out), rows [k0, k1) of cols at a time. The same bits as the whole cols then
  // col2im: each element of cols is the same multiply-add chain over Cout (product_rows), and
  // col2im adds rows into gx in k order (all of a block's rows before the next block's), each
  // row into an element at most once, from the same zeros.
  const int64_t block = col_block_rows(K, gr.G * P);
  parallel_for(gr.count, 1, [&](int64_t i0, int64_t i1) {
    auto col = scratch<Out>(block * gr.G * P);
    auto side = scratch<In>(gr.G > 1 ? g.Cout * gr.G * P : 0);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n0 = gr.first(i), gn = gr.size(i, g.N), cols = gn * P;
      const In* gyn = group_gy(gy, side.get(), g, n0, gn);
      if (g.pointwise() && gn == 1) {  // the col is gx itself
        product(Wt, gyn, cols, gx + n0 * in_img);
        continue;
      }
      for (int64_t k0 = 0; k0 < K; k0 += block) {
        const int64_t k1 = std::min(K, k0 + block);
        product_rows(Wt, k0, k1, gyn, cols, col.get());
        for (int64_t j = 0; j < gn; ++j)
          col2im(col.get() + j * P, gx + (n0 + j) * in_img, g, cols, k0, k1);
      }
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
    auto buf = scratch<In>(columns_scratch(x, g, gr.G));
    auto side = scratch<In>(gr.G > 1 ? g.Cout * gr.G * P : 0);
    for (int64_t s = s0; s < s1; ++s) {
      Out* acc = s == 0 ? gw : partial.get() + (s - 1) * WK;
      const int64_t i0 = s * gr.count / S, i1 = (s + 1) * gr.count / S;
      for (int64_t i = i0; i < i1; ++i) {
        const int64_t n0 = gr.first(i), gn = gr.size(i, g.N);
        // acc (Cout, K) += gy (Cout, gn*P) cols^T (gn*P, K)
        weight_product(g, x, n0, gn, group_gy(gy, side.get(), g, n0, gn), i != i0, buf.get(), acc);
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
