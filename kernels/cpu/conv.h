// CPU 2-d convolution as im2col + GEMM (declarations: kernels/contract/conv.inc, and
// kernels/contract/conv_bf16.inc for bf16 operands through kernels/cpu/gemm_bf16.h).
//
// Per image n: col (K = Cin*KH*KW, P = OH*OW) = im2col(x_n); y_n (Cout, P) = W (Cout, K) col.
// In float32/64 col is never stored whole: the forward's and the weight gradient's GEMMs pack
// their panels (of col, of col^T) from the images (implicit im2col), and the input gradient
// computes W^T gy a cache-sized block of rows at a time for col2im. Images with small maps are laid
// side by side in groups so each GEMM is wide enough; 1x1 stride-1 unpadded convolutions of single
// images use x_n directly as col. Groups run in parallel; the weight gradient sums fixed slices of
// the batch and adds them in a fixed order, so every result is the same for any thread count.
#pragma once
#include <cstdint>

#include "base/bf16.h"
#include "kernels/conv_geometry.h"

namespace ptl::cpu {
#include "kernels/contract/conv.inc"
#include "kernels/contract/conv_bf16.inc"
}  // namespace ptl::cpu
