// The geometry of one 2-d convolution (NCHW input, weight (Cout, Cin, KH, KW)), shared by the
// CPU and CUDA conv kernels (kernels/contract/conv.inc).
#pragma once
#include <cstdint>

namespace ptl {

struct ConvGeometry {
  int64_t N, C, H, W;    // input
  int64_t Cout, KH, KW;  // weight
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t OH, OW;  // output
  int64_t K() const { return C * KH * KW; }
  int64_t P() const { return OH * OW; }
  bool pointwise() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
};

}  // namespace ptl
