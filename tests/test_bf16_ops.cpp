// bf16 precision (engine/precision.h) of the ops with a bf16 path, forward and backward, against
// float64; the ops that are float32 by rule; and the errors of an op that cannot run in bf16.
//
// The bound. In bf16 an op multiplies a' = a (1 + d_a) and b' = b (1 + d_b), its operands
// rounded to bf16: 8 significant bits, so round to nearest is off by at most half a unit in the
// last place, |d| <= 2^-8 (not 2^-9: the spacing of bf16 values in [1, 2) is 2^-7). A product
// a' b' is exact in float32 (16 significant bits), and the K products are summed in float32.
// Against the float64 sum of the unrounded a b:
//   |got - want| <= (2^-7 + 2^-16) S + gamma_K (1 + 2^-7 + 2^-16) S + 2^-24 |got|,
//   S = sum_k |a_k b_k|,  gamma_K = K 2^-24 / (1 - K 2^-24)
// (the rounding of both factors, the float32 sum of K terms, a final rounding). The bf16 GEMM
// (kernels/cpu/gemm_bf16.h) rounds each fused multiply-add once, so a sum of K terms (the weight
// gradient's slices and their additions included) is rounded at most K times; its flushing of
// results below 2^-126 adds at most K 2^-126, nothing next to these values (of order 1). S is the
// float64 op on |a| and |b|. Against the float64 sum of the rounded operands a' b' only the float32
// terms remain, gamma_K (1 + 2^-7 + 2^-16) S + 2^-24 |got|: with K in the hundreds about 2^-8 / (K
// 2^-24) > 100 times tighter, so that comparison fails if an operand was not rounded (or rounded
// elsewhere: grad_output in backward).
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

#include "base/bf16.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/precision.h"
#include "engine/rng.h"
#include "layers/bconv_cell.h"
#include "tests/compare.h"

using namespace ptl;
using Catch::Contains;

namespace {

double gamma(int64_t K) {
  const double u = std::ldexp(1.0, -24);
  return static_cast<double>(K) * u / (1 - static_cast<double>(K) * u);
}

// t (float32) with every value rounded to bf16, as float64.
Tensor rounded64(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  std::vector<double> r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[i] = to_float(to_bf16(v[i]));
  return from_vector(r, t.shape());
}

// Every element of got within rel * S + 2^-24 |got| of want (all float64-convertible, one shape).
// Returns "" or what fails, with the worst element.
std::string outside(const Tensor& got, const Tensor& want, const Tensor& S, double rel) {
  const std::vector<float> g = got.contiguous().to_vector();
  const Tensor w64 = want.to(DType::F64).contiguous(), s64 = S.to(DType::F64).contiguous();
  const double* w = w64.data<double>();
  const double* s = s64.data<double>();
  REQUIRE(g.size() == static_cast<size_t>(want.numel()));
  size_t bad = 0, worst = 0;
  double worst_ratio = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::abs(g[i] - w[i]), bound = rel * s[i] + std::ldexp(std::abs(g[i]), -24);
    const double ratio = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0);
    if (!(err <= bound)) ++bad;  // a NaN fails
    if (!(ratio <= worst_ratio)) worst_ratio = ratio, worst = i;
  }
  if (bad == 0) return "";
  std::ostringstream o;
  o << bad << " of " << g.size() << " elements outside the bound; worst [" << worst << "]: got "
    << g[worst] << ", want " << w[worst] << ", error/bound " << worst_ratio;
  return o.str();
}

#define CHECK_BF16_BOUND(got, want, S, rel) CHECK(outside(got, want, S, rel) == "")

constexpr double kRounding = 1.0 / 128 + 1.0 / 65536;  // 2^-7 + 2^-16

struct Grads3 {
  Tensor y, gx, gw;
};

// y = op(x, w) and the gradients of sum(y * r) (grad_output r) in precision p.
template <class Op>
Grads3 run(Precision p, const Op& op, const Tensor& x0, const Tensor& w0, const Tensor& r) {
  Tensor x = x0.detach(), w = w0.detach();
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  Tensor y;
  {
    PrecisionScope scope(p);
    y = op(x, w);
  }
  sum(mul(y, r.to(y.dtype()))).backward();  // outside the scope: backward keeps the forward's
  return {y.detach(), x.grad(), w.grad()};
}

// op in bf16 against float64 of the unrounded and of the rounded operands, forward and backward;
// K: the longest sum of the forward, the input gradient and the weight gradient.
template <class Op>
void check_bf16(const Op& op, const Tensor& x, const Tensor& w, const Shape& out_shape, int64_t K) {
  const Tensor r = randn(out_shape);
  const Grads3 got = run(Precision::BF16, op, x, w, r);
  const Grads3 exact = run(Precision::F32, op, x.to(DType::F64), w.to(DType::F64), r);
  const Grads3 of_rounded =
      run(Precision::F32, op, rounded64(x), rounded64(w), rounded64(r).to(DType::F32));
  // S of each result: the same op and gradients on |x|, |w|, |r| in float64.
  const Grads3 S = run(Precision::F32, op, abs(x.to(DType::F64)), abs(w.to(DType::F64)), abs(r));
  const double sums = gamma(K) * (1 + kRounding);
  INFO("against float64 of the unrounded operands");
  CHECK_BF16_BOUND(got.y, exact.y, S.y, kRounding + sums);
  CHECK_BF16_BOUND(got.gx, exact.gx, S.gx, kRounding + sums);
  CHECK_BF16_BOUND(got.gw, exact.gw, S.gw, kRounding + sums);
  INFO("against float64 of the operands rounded to bf16 (grad_output included)");
  CHECK_BF16_BOUND(got.y, of_rounded.y, S.y, sums);
  CHECK_BF16_BOUND(got.gx, of_rounded.gx, S.gx, sums);
  CHECK_BF16_BOUND(got.gw, of_rounded.gw, S.gw, sums);
}

}  // namespace

TEST_CASE("conv2d in bf16, forward and both gradients, within the bf16 bound of float64",
          "[bf16]") {
  manual_seed(1);
  struct Case {
    Shape x, w;
    Conv2dOptions o;
  };
  // 3x3 padded (ResNet's and the BConv-Cell gates' shape), strided, 1x1, odd K (a pair's pad),
  // dilated, and small maps of many images (laid side by side in groups, the weight gradient in
  // slices).
  const Case cases[] = {{{2, 5, 9, 7}, {8, 5, 3, 3}, {{1, 1}, {1, 1}, {1, 1}}},
                        {{3, 4, 10, 8}, {6, 4, 3, 3}, {{2, 2}, {1, 1}, {1, 1}}},
                        {{2, 16, 6, 5}, {12, 16, 1, 1}, {{1, 1}, {0, 0}, {1, 1}}},
                        {{2, 3, 7, 7}, {4, 3, 5, 5}, {{1, 2}, {2, 1}, {1, 1}}},
                        {{2, 3, 9, 9}, {5, 3, 3, 3}, {{1, 1}, {2, 2}, {2, 2}}},
                        {{20, 6, 4, 2}, {7, 6, 3, 3}, {{1, 1}, {1, 1}, {1, 1}}}};
  for (const Case& c : cases) {
    INFO("input " << shape_str(c.x) << ", weight " << shape_str(c.w));
    const Tensor x = randn(c.x), w = randn(c.w);
    const Tensor y = conv2d(x, w, Tensor(), c.o);
    // Longest sums: forward Cin*KH*KW, input gradient Cout*KH*KW, weight gradient N*OH*OW.
    const int64_t K = std::max(
        {c.w[1] * c.w[2] * c.w[3], c.w[0] * c.w[2] * c.w[3], y.size(0) * y.size(2) * y.size(3)});
    check_bf16([&](const Tensor& a, const Tensor& b) { return conv2d(a, b, Tensor(), c.o); }, x, w,
               y.shape(), K);
  }
}

TEST_CASE("conv2d in bf16 takes a bfloat16 input (a batch the loader wrote) as its float32 twin",
          "[bf16]") {
  manual_seed(7);
  const Tensor x = randn({3, 4, 6, 5}), w = randn({5, 4, 3, 3}), b = randn({5});
  Tensor w1 = w.detach(), w2 = w.detach();
  w1.set_requires_grad(true);
  w2.set_requires_grad(true);
  Tensor from_f32, from_bf16;
  {
    PrecisionScope bf16(Precision::BF16);
    from_f32 = conv2d(x, w1, b, {{1, 1}, {1, 1}, {1, 1}});
    from_bf16 = conv2d(x.to(DType::BF16), w2, b, {{1, 1}, {1, 1}, {1, 1}});
  }
  CHECK_SAME_BITS(from_bf16, from_f32);
  sum(from_f32).backward();
  sum(from_bf16).backward();
  CHECK_SAME_BITS(w2.grad(), w1.grad());
}

TEST_CASE("linear in bf16, forward and both gradients, within the bf16 bound of float64",
          "[bf16]") {
  manual_seed(2);
  for (const auto& [n, in, out] : {std::array<int64_t, 3>{7, 33, 10}, {16, 64, 5}}) {
    INFO(n << " x " << in << " -> " << out);
    const Tensor x = randn({n, in}), w = randn({out, in});
    check_bf16([](const Tensor& a, const Tensor& b) { return linear(a, b); }, x, w, {n, out},
               std::max({in, out, n}));
  }
}

TEST_CASE("conv2d's bias stays float32 in bf16: added to the bf16 products, its gradient summed",
          "[bf16]") {
  manual_seed(3);
  const Tensor x = randn({2, 3, 5, 5}), w = randn({4, 3, 3, 3}), b = randn({4});
  Tensor bb = b.detach();
  bb.set_requires_grad(true);
  Tensor with, without;
  {
    PrecisionScope bf16(Precision::BF16);
    with = conv2d(x, w, bb, {{1, 1}, {1, 1}, {1, 1}});
    without = conv2d(x, w, Tensor(), {{1, 1}, {1, 1}, {1, 1}});
  }
  CHECK_SAME_BITS(with, add(without, reshape(b, {1, 4, 1, 1})));
  sum(with).backward();
  CHECK_SAME_BITS(bb.grad(), full({4}, 50.0));  // 2 images x 5x5 ones: exact
}

TEST_CASE("the BConv-Cell in bf16: its gate convolution in bf16, its gates in float32", "[bf16]") {
  manual_seed(4);
  BConvCellSpec spec{6, 4, 1};
  spec.init = StateInit::Zeros;  // a fresh state the composition below can make
  BConvCell cell(spec);
  cell.train(true);
  const Tensor x0 = randn({2, 6, 5, 4});
  // The cell's forward and backward in bf16 ...
  Tensor x = x0.detach();
  x.set_requires_grad(true);
  Tensor h;
  {
    PrecisionScope bf16(Precision::BF16);
    h = cell.forward(x);
  }
  sum(h).backward();
  // ... are its gate convolution in bf16, then bconv_gates in float32.
  Tensor xm = x0.detach(), wm = cell.gates->weight.detach();
  xm.set_requires_grad(true);
  wm.set_requires_grad(true);
  Tensor z;
  {
    PrecisionScope bf16(Precision::BF16);
    z = conv2d(xm, wm, Tensor(), {{1, 1}, {1, 1}, {1, 1}});
  }
  Tensor hm = bconv_gates(z, zeros({2, 4, 5, 4})).h;
  sum(hm).backward();
  CHECK_SAME_BITS(h, hm);
  CHECK_SAME_BITS(x.grad(), xm.grad());
  CHECK_SAME_BITS(cell.gates->weight.grad(), wm.grad());
}

TEST_CASE("float32-by-rule ops compute the same bits in bf16 precision as in float32", "[bf16]") {
  manual_seed(6);
  const Tensor a = randn({6, 5}), b = randn({5, 4}), x = randn({2, 3, 4, 4});
  auto ops = [&] {
    return std::vector<Tensor>{
        matmul(a, b),  // the distances' product
        softmax(a, 1),
        relu(a),
        pairwise_distance(a, a),
        cross_entropy(a, from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 0}, {6})),
        max_pool2d(x, {{2, 2}, {2, 2}, {0, 0}})};
  };
  const std::vector<Tensor> f32 = ops();
  std::vector<Tensor> bf16;
  {
    PrecisionScope scope(Precision::BF16);
    bf16 = ops();
  }
  for (size_t i = 0; i < f32.size(); ++i) CHECK_SAME_BITS(bf16[i], f32[i]);
}

TEST_CASE("a bfloat16 operand in float32 precision is an error naming the op", "[bf16][errors]") {
  const Tensor x = randn({2, 3, 5, 5}).to(DType::BF16);
  CHECK_THROWS_WITH(
      conv2d(x, randn({4, 3, 3, 3})),
      Contains("conv2d: a bfloat16 operand (2, 3, 5, 5) runs in bf16 precision only"));
  CHECK_THROWS_WITH(linear(randn({2, 3}).to(DType::BF16), randn({4, 3})),
                    Contains("linear: a bfloat16 operand (2, 3) runs in bf16 precision only"));
  CHECK_THROWS_WITH(relu(x), Contains("bfloat16"));
}

TEST_CASE("an op with a bf16 path refuses what bf16 cannot run, naming the op", "[bf16][errors]") {
  PrecisionScope bf16(Precision::BF16);
  const Tensor x64 = randn({2, 3, 5, 5}, DType::F64), w64 = randn({4, 3, 3, 3}, DType::F64);
  CHECK_THROWS_WITH(
      conv2d(x64, w64),
      Contains("conv2d: bf16 precision takes float32 or bfloat16 tensors, got float64"));
  CHECK_THROWS_WITH(
      linear(randn({2, 3}, DType::F64), randn({4, 3}, DType::F64)),
      Contains("linear: bf16 precision takes float32 or bfloat16 tensors, got float64"));
  Tensor xg = randn({2, 3, 5, 5}).to(DType::BF16);
  xg.set_requires_grad(true);
  CHECK_THROWS_WITH(conv2d(xg, randn({4, 3, 3, 3})),
                    Contains("conv2d: a bfloat16 operand (2, 3, 5, 5) cannot require a gradient"));
  CHECK_THROWS_WITH(parse_precision("fp16", "--precision"),
                    "--precision: unknown precision 'fp16' (allowed: float32, bf16)");
  CHECK_THROWS_WITH(parse_precision("half", "--precision"),
                    "--precision: unknown precision 'half' (allowed: float32, bf16)");
}
