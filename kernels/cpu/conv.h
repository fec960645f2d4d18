// CPU 2-d convolution (NCHW, weight (Cout, Cin, KH, KW)) as im2col + GEMM.
//
// Per image n: col (Cin*KH*KW, OH*OW) = im2col(x_n); y_n (Cout, OH*OW) = W (Cout, K) col.
// 1x1 stride-1 unpadded convolutions use x_n directly as col. The weight gradient is one GEMM
// over the whole batch so its summation order is fixed (deterministic for any thread count).
#pragma once
#include <cstdint>

namespace ptl::cpu {

struct ConvGeometry {
  int64_t N, C, H, W;        // input
  int64_t Cout, KH, KW;      // weight
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t OH, OW;            // output
  int64_t K() const { return C * KH * KW; }
  int64_t P() const { return OH * OW; }
  bool pointwise() const {
    return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
  }
};

template <class T>
void im2col(const T* x, T* col, const ConvGeometry& g);  // one image: (C,H,W) -> (K, P)
template <class T>
void col2im(const T* col, T* x, const ConvGeometry& g);  // one image, x is overwritten

template <class T>
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g);
template <class T>
void conv2d_backward_input(const T* gy, const T* w, T* gx, const ConvGeometry& g);
// gw = sum_n gy_n col_n^T (overwrites gw); gb = sum of gy over n, h, w (when gb is not null).
template <class T>
void conv2d_backward_weight(const T* gy, const T* x, T* gw, T* gb, const ConvGeometry& g);

}  // namespace ptl::cpu
