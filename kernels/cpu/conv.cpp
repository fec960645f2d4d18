#include "kernels/cpu/conv.h"

#include <cstring>
#include <vector>

#include "engine/parallel.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/reduce.h"

namespace ptl::cpu {

template <class T>
void im2col(const T* x, T* col, const ConvGeometry& g) {
  const int64_t P = g.P();
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* row = col + ((c * g.KH + kh) * g.KW + kw) * P;
        const T* plane = x + c * g.H * g.W;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          T* out = row + oh * g.OW;
          if (ih < 0 || ih >= g.H) {
            std::memset(out, 0, sizeof(T) * g.OW);
            continue;
          }
          const T* in = plane + ih * g.W;
          const int64_t off = kw * g.dw - g.pw;
          if (g.sw == 1) {
            // Contiguous run: zeros where the window leaves the image on the left/right.
            int64_t lo = std::max<int64_t>(0, -off), hi = std::min<int64_t>(g.OW, g.W - off);
            if (hi < lo) hi = lo;
            for (int64_t ow = 0; ow < lo; ++ow) out[ow] = 0;
            if (hi > lo) std::memcpy(out + lo, in + lo + off, sizeof(T) * (hi - lo));
            for (int64_t ow = hi; ow < g.OW; ++ow) out[ow] = 0;
          } else {
            for (int64_t ow = 0; ow < g.OW; ++ow) {
              const int64_t iw = ow * g.sw + off;
              out[ow] = (iw >= 0 && iw < g.W) ? in[iw] : T(0);
            }
          }
        }
      }
}

template <class T>
void col2im(const T* col, T* x, const ConvGeometry& g) {
  const int64_t P = g.P();
  std::memset(x, 0, sizeof(T) * g.C * g.H * g.W);
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T* row = col + ((c * g.KH + kh) * g.KW + kw) * P;
        T* plane = x + c * g.H * g.W;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + kh * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* out = plane + ih * g.W;
          const T* in = row + oh * g.OW;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t iw = ow * g.sw - g.pw + kw * g.dw;
            if (iw >= 0 && iw < g.W) out[iw] += in[ow];
          }
        }
      }
}

template <class T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P();
  const int64_t in_img = g.C * g.H * g.W, out_img = g.Cout * P;
  // Images in parallel; each thread owns a col buffer. One image's GEMM per task keeps the
  // result independent of how images are spread over threads.
  parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<T> col(g.pointwise() ? 0 : static_cast<size_t>(K * P));
    for (int64_t n = n0; n < n1; ++n) {
      const T* cn = x + n * in_img;
      if (!g.pointwise()) {
        im2col(cn, col.data(), g);
        cn = col.data();
      }
      T* yn = y + n * out_img;
      gemm_serial<T>(false, false, g.Cout, P, K, 1, w, K, cn, P, 0, yn, P);
      if (bias)
        for (int64_t co = 0; co < g.Cout; ++co)
          for (int64_t p = 0; p < P; ++p) yn[co * P + p] += bias[co];
    }
  });
}

template <class T>
void conv2d_backward_input(const T* gy, const T* w, T* gx, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P();
  const int64_t in_img = g.C * g.H * g.W, out_img = g.Cout * P;
  parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<T> col(g.pointwise() ? 0 : static_cast<size_t>(K * P));
    for (int64_t n = n0; n < n1; ++n) {
      T* dst = g.pointwise() ? gx + n * in_img : col.data();
      gemm_serial<T>(true, false, K, P, g.Cout, 1, w, K, gy + n * out_img, P, 0, dst, P);
      if (!g.pointwise()) col2im(col.data(), gx + n * in_img, g);
    }
  });
}

template <class T>
void conv2d_backward_weight(const T* gy, const T* x, T* gw, T* gb, const ConvGeometry& g) {
  const int64_t K = g.K(), P = g.P(), NP = g.N * P;
  const int64_t in_img = g.C * g.H * g.W, out_img = g.Cout * P;
  // Lay the batch side by side: cols (K, N*P) and gy (Cout, N*P), then gw = gy cols^T.
  std::vector<T> cols(static_cast<size_t>(K * NP)), gys(static_cast<size_t>(g.Cout * NP));
  parallel_for(g.N, 1, [&](int64_t n0, int64_t n1) {
    std::vector<T> col(static_cast<size_t>(K * P));
    for (int64_t n = n0; n < n1; ++n) {
      const T* cn = x + n * in_img;
      if (!g.pointwise()) {
        im2col(cn, col.data(), g);
        cn = col.data();
      }
      for (int64_t k = 0; k < K; ++k) std::memcpy(&cols[k * NP + n * P], cn + k * P, sizeof(T) * P);
      for (int64_t co = 0; co < g.Cout; ++co)
        std::memcpy(&gys[co * NP + n * P], gy + n * out_img + co * P, sizeof(T) * P);
    }
  });
  gemm<T>(false, true, g.Cout, K, NP, 1, gys.data(), NP, cols.data(), NP, 0, gw, K);
  if (gb) sum_dim<T>(gys.data(), gb, g.Cout, NP, 1);
}

#define PTL_INSTANTIATE(T)                                                                    \
  template void im2col<T>(const T*, T*, const ConvGeometry&);                                 \
  template void col2im<T>(const T*, T*, const ConvGeometry&);                                 \
  template void conv2d_forward<T>(const T*, const T*, const T*, T*, const ConvGeometry&);     \
  template void conv2d_backward_input<T>(const T*, const T*, T*, const ConvGeometry&);        \
  template void conv2d_backward_weight<T>(const T*, const T*, T*, T*, const ConvGeometry&);
PTL_INSTANTIATE(float)
PTL_INSTANTIATE(double)
#undef PTL_INSTANTIATE

}  // namespace ptl::cpu
