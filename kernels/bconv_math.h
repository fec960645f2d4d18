// BConv-Cell gate math for one element (docs/method.md), shared by the CPU and CUDA kernels.
//
//   i = sigmoid(zi)  f = sigmoid(zf)  o = sigmoid(zo)  g = tanh(zg)
//   c = f * c_prev + i * g            h = o * tanh(c)
// The state c_prev comes from the previous mini-batch and is detached: no gradient flows into
// it, so the backward needs only z and c_prev (the gates are recomputed, nothing else saved).
#pragma once
#include "kernels/elementwise_math.h"

namespace ptl {

template <class T>
PTL_HD T sigmoid_of(T x) {
  PTL_USING_STD_MATH;
  return T(1) / (T(1) + exp(-x));
}

// The gates' sigmoid and tanh: <cmath>'s (CUDA's on the device). A backend may pass its own
// (the CPU's float kernels run four lanes at a time through kernels/cpu/simd_math.h).
struct StdGateMath {
  template <class T>
  PTL_HD static T apply_sigmoid(T x) {
    return sigmoid_of(x);
  }
  template <class T>
  PTL_HD static T apply_tanh(T x) {
    PTL_USING_STD_MATH;
    return tanh(x);
  }
};

// T is a scalar, or a vector type whose arithmetic works lane by lane.
template <class T, class M = StdGateMath>
PTL_HD void bconv_forward_elem(T zi, T zf, T zo, T zg, T c_prev, T* h, T* c) {
  const T i = M::apply_sigmoid(zi), f = M::apply_sigmoid(zf), o = M::apply_sigmoid(zo),
          g = M::apply_tanh(zg);
  *c = f * c_prev + i * g;
  *h = o * M::apply_tanh(*c);
}

// Given dL/dh, writes dL/dz for the four gates.
template <class T, class M = StdGateMath>
PTL_HD void bconv_backward_elem(T zi, T zf, T zo, T zg, T c_prev, T gh, T* gi, T* gf, T* go,
                                T* gg) {
  const T one = T() + 1;  // 1, broadcast for a vector type
  const T i = M::apply_sigmoid(zi), f = M::apply_sigmoid(zf), o = M::apply_sigmoid(zo),
          g = M::apply_tanh(zg);
  const T tc = M::apply_tanh(f * c_prev + i * g);
  const T gc = gh * o * (one - tc * tc);
  *go = gh * tc * o * (one - o);
  *gi = gc * g * i * (one - i);
  *gf = gc * c_prev * f * (one - f);
  *gg = gc * i * (one - g * g);
}

}  // namespace ptl
