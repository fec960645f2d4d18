// CPU 2-d convolution (NCHW, weight (Cout, Cin, KH, KW)) as im2col + GEMM.
//
// Per image n: col (K = Cin*KH*KW, P = OH*OW) = im2col(x_n); y_n (Cout, P) = W (Cout, K) col.
// Images with small maps are laid side by side in groups so each GEMM is wide enough; 1x1
// stride-1 unpadded convolutions of single images use x_n directly as col. Groups run in
// parallel; the weight gradient sums fixed slices of the batch and adds them in a fixed order,
// so every result is the same for any thread count.
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
void conv2d_forward(const T* x, const T* w, const T* bias, T* y, const ConvGeometry& g);
template <class T>
void conv2d_backward_input(const T* gy, const T* w, T* gx, const ConvGeometry& g);
// gw = sum_n gy_n col_n^T (overwrites gw); gb = sum of gy over n, h, w (when gb is not null).
template <class T>
void conv2d_backward_weight(const T* gy, const T* x, T* gw, T* gb, const ConvGeometry& g);

}  // namespace ptl::cpu
