// Caffe-style numerical gradient checker, in float64 on the CPU.
//
// For f(inputs) -> output, compares the autograd gradient of L = sum(output * w) (w a fixed
// random weighting, so every output element matters) with central differences
// (L(x + h) - L(x - h)) / 2h for every input element. Inputs are chosen by the caller away
// from kinks (relu at 0, ties in max, clamp bounds), as Caffe's checker asks.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "tests/compare.h"

namespace ptl::test {

// A random float64 tensor with values in [lo, hi), from a seeded generator.
inline Tensor uniform64(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  Generator g(seed);
  Tensor t = Tensor::empty(s, DType::F64);
  g.uniform_(t, lo, hi);
  return t;
}

// Checks d(sum(f(inputs) * w))/d(inputs[i]) for every input with requires_grad.
inline void gradcheck(const std::string& what,
                      const std::function<Tensor(const std::vector<Tensor>&)>& f,
                      std::vector<Tensor> inputs, double h = 1e-6, double rtol = 1e-5,
                      double atol = 1e-6) {
  INFO(what);
  for (Tensor& t : inputs)
    if (t.dtype() == DType::F64 && t.is_leaf()) {
      t.set_requires_grad(true);
      t.zero_grad();  // inputs may be shared between checks
    }
  Tensor out = f(inputs);
  Tensor w = uniform64(out.shape(), 1234, 0.5, 1.5);
  Tensor loss = sum(mul(out, w));
  loss.backward();

  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    Tensor x = inputs[i];
    REQUIRE(x.grad().defined());
    double* p = x.data<double>();
    std::vector<double> numeric(static_cast<size_t>(x.numel()));
    for (int64_t k = 0; k < x.numel(); ++k) {
      NoGradGuard ng;
      const double orig = p[k];
      p[k] = orig + h;
      const double lp = sum(mul(f(inputs), w)).item();
      p[k] = orig - h;
      const double lm = sum(mul(f(inputs), w)).item();
      p[k] = orig;
      numeric[static_cast<size_t>(k)] = (lp - lm) / (2 * h);
    }
    INFO("input " << i << " " << x.shape_str() << ": analytic (got) against numeric (want)");
    CHECK_WITHIN(x.grad(), from_vector(numeric, x.shape()), (Bound{rtol, atol}));
  }
}

}  // namespace ptl::test
