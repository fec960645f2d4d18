// BConv-Cell gate math for one element (ptl-method.md), shared by the CPU and CUDA kernels.
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

template <class T>
PTL_HD void bconv_forward_elem(T zi, T zf, T zo, T zg, T c_prev, T* h, T* c) {
  PTL_USING_STD_MATH;
  const T i = sigmoid_of(zi), f = sigmoid_of(zf), o = sigmoid_of(zo), g = tanh(zg);
  *c = f * c_prev + i * g;
  *h = o * tanh(*c);
}

// Given dL/dh, writes dL/dz for the four gates.
template <class T>
PTL_HD void bconv_backward_elem(T zi, T zf, T zo, T zg, T c_prev, T gh, T* gi, T* gf, T* go, T* gg) {
  PTL_USING_STD_MATH;
  const T i = sigmoid_of(zi), f = sigmoid_of(zf), o = sigmoid_of(zo), g = tanh(zg);
  const T tc = tanh(f * c_prev + i * g);
  const T gc = gh * o * (T(1) - tc * tc);
  *go = gh * tc * o * (T(1) - o);
  *gi = gc * g * i * (T(1) - i);
  *gf = gc * c_prev * f * (T(1) - f);
  *gg = gc * i * (T(1) - g * g);
}

}  // namespace ptl
