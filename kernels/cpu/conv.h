// CPU 2-d convolution as im2col + GEMM (declarations: kernels/contract/conv.inc, and
// kernels/contract/conv_bf16.inc for bf16 operands through kernels/cpu/gemm_bf16.h).
//
// Per image n: col (K = Cin*KH*KW, P = OH*OW) = im2col(x_n); y_n (Cout, P) = W (Cout, K) col.
// The float32/64 forward never stores col: the GEMM's panels are packed from the images
// (implicit im2col); the weight gradient and the bf16 forward materialise it. Images with small
// maps are laid side by side in groups so each GEMM is wide enough; 1x1 stride-1 unpadded
// convolutions of single images use x_n directly as col. Groups run in parallel; the weight
// gradient sums fixed slices of the batch and adds them in a fixed order,
// so every result is the same for any thread count.
#pragma once
#include <cstdint>

#include "base/bf16.h"
#include "kernels/conv_geometry.h"

namespace ptl::cpu {
#include "kernels/contract/conv.inc"
#include "kernels/contract/conv_bf16.inc"
}  // namespace ptl::cpu
