// Per-element optimizer updates, as torch.optim (PyTorch 1.13, single-tensor path) computes
// them; shared by the CPU loop and the CUDA multi-tensor kernels. Every scalar coefficient is
// computed once in double on the host and rounded to the parameter type, as PyTorch does when
// it passes Python floats to its kernels, and the rounding follows PyTorch's vectorised CPU
// kernels: `x.add_(y, alpha=a)` is one fused multiply-add fma(y, a, x); mul, addcmul and
// addcdiv round each operation (callers compile this without FMA contraction).
#pragma once
#include <cstdint>

#include "kernels/elementwise_math.h"

namespace ptl {

struct SgdHyper {
  double lr, momentum, one_minus_dampening, weight_decay;
  bool nesterov, first_step;  // first_step: the momentum buffer starts as the gradient
};

// p and its momentum buffer updated in place from gradient g.
template <class T>
PTL_HD void sgd_elem(T& p, T& buf, T g, const SgdHyper& h) {
  using std::fma;
  T d = fma(p, T(h.weight_decay), g);  // d_p.add(p, alpha=wd)
  if (h.momentum != 0) {
    buf = h.first_step ? d : fma(d, T(h.one_minus_dampening), buf * T(h.momentum));
    d = h.nesterov ? fma(buf, T(h.momentum), d) : buf;
  }
  p = fma(d, T(-h.lr), p);  // p.add_(d_p, alpha=-lr)
}

struct AdamHyper {
  double beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay;
  double decay_factor;           // AdamW: 1 - lr * wd (1 for Adam)
  double step_size;              // lr / (1 - beta1^step)
  double bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  bool amsgrad, decoupled;       // decoupled: AdamW instead of L2 in the gradient
};

template <class T>
PTL_HD void adam_elem(T& p, T& m, T& v, T& vmax, T g, const AdamHyper& h) {
  PTL_USING_STD_MATH;
  using std::fma;
  if (h.decoupled)
    p *= T(h.decay_factor);
  else
    g = fma(p, T(h.weight_decay), g);
  m = fma(g, T(h.one_minus_beta1), m * T(h.beta1));
  v = v * T(h.beta2) + T(h.one_minus_beta2) * g * g;  // addcmul_: (value * g) * g
  T denom_v = v;
  if (h.amsgrad) {
    vmax = vmax > v ? vmax : v;
    denom_v = vmax;
  }
  const T denom = sqrt(denom_v) / T(h.bias_correction2_sqrt) + T(h.eps);
  p = p + T(-h.step_size) * m / denom;  // addcdiv_: (value * m) / denom
}

// One parameter's update for the multi-tensor kernels (kernels/contract/optim.inc): pointers
// on the parameter's device, n elements, and the hyper-parameters of its group and step.
template <class T>
struct SgdSlot {
  T* p;
  T* buf;  // momentum buffer; null without momentum
  const T* g;
  int64_t n;
  SgdHyper h;
};

template <class T>
struct AdamSlot {
  T *p, *m, *v;
  T* vmax;  // null without AMSGrad
  const T* g;
  int64_t n;
  AdamHyper h;
};

}  // namespace ptl
