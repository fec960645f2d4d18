// The op cases shared by the gradient checker and the CUDA-vs-CPU comparison (op_cases.h).
#include "tests/op_cases.h"

#include "tests/gradcheck.h"

namespace ptl::test {

using Ins = std::vector<Tensor>;

Tensor on(const Tensor& like, const Tensor& t) {
  return is_floating(t.dtype()) ? t.to(like.dtype()).to(like.device()) : t.to(like.device());
}

namespace {
// Values in +-[0.2, 1.2): away from relu/abs kinks at 0.
Tensor away_from_zero(const Shape& s, uint64_t seed) {
  Tensor u = uniform64(s, seed, 0.2, 1.2);
  Tensor sign = uniform64(s, seed + 1, -1, 1);
  double* p = u.data<double>();
  const double* q = sign.data<double>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = q[i] < 0 ? -p[i] : p[i];
  return u;
}
// A permutation of distinct, well separated values: no ties for max/min/pooling.
Tensor distinct(const Shape& s, uint64_t seed) {
  Generator g(seed);
  std::vector<int64_t> perm = g.permutation(shape_numel(s));
  std::vector<double> v(perm.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.1 * static_cast<double>(perm[i]) - 0.05 * v.size();
  return from_vector(v, s);
}
}  // namespace

void elementwise_cases(const OpCheck& check) {
  const std::vector<std::pair<Shape, Shape>> shapes = {{{2, 3}, {2, 3}},
                                                       {{2, 3, 4, 5}, {1, 3, 1, 1}},
                                                       {{4, 5}, {5}},
                                                       {{3, 4}, {}},
                                                       {{3, 1}, {1, 4}}};
  for (const auto& [sa, sb] : shapes) {
    Tensor a = uniform64(sa, 1), b = uniform64(sb, 2, 0.5, 2.0);
    check("add " + shape_str(sa) + shape_str(sb), [](const Ins& x) { return add(x[0], x[1]); },
          {a, b});
    check("sub", [](const Ins& x) { return sub(x[0], x[1]); }, {a, b});
    check("mul", [](const Ins& x) { return mul(x[0], x[1]); }, {a, b});
    check("div", [](const Ins& x) { return div(x[0], x[1]); }, {a, b});
  }
  check("add_relu", [](const Ins& v) { return add_relu(v[0], v[1]); },
        {away_from_zero({3, 4, 5}, 5), mul(away_from_zero({3, 4, 5}, 6), 0.1)});
  Tensor x = away_from_zero({3, 4, 5}, 3);
  Tensor pos = uniform64({3, 4, 5}, 4, 0.3, 2.0);
  check("relu", [](const Ins& v) { return relu(v[0]); }, {x});
  check("sigmoid", [](const Ins& v) { return sigmoid(v[0]); }, {x});
  check("tanh", [](const Ins& v) { return tanh(v[0]); }, {x});
  check("exp", [](const Ins& v) { return exp(v[0]); }, {x});
  check("neg", [](const Ins& v) { return neg(v[0]); }, {x});
  check("abs", [](const Ins& v) { return abs(v[0]); }, {x});
  check("log", [](const Ins& v) { return log(v[0]); }, {pos});
  check("sqrt", [](const Ins& v) { return sqrt(v[0]); }, {pos});
  check("pow", [](const Ins& v) { return pow(v[0], 2.5); }, {pos});
  check("add scalar", [](const Ins& v) { return add(v[0], 3.0); }, {x});
  check("mul scalar", [](const Ins& v) { return mul(v[0], -1.5); }, {x});
  // Bounds +-0.1 fall between the +-[0.2, 1.2) values: no element sits on a bound.
  check("clamp", [](const Ins& v) { return clamp(v[0], -0.5, 0.5); },
        {from_vector(std::vector<double>{-1, -0.3, 0.2, 0.45, 0.7, -0.6}, {2, 3})});
}

void reduction_cases(const OpCheck& check) {
  Tensor x = uniform64({2, 3, 4, 5}, 5);
  check("sum all", [](const Ins& v) { return sum(v[0]); }, {x});
  check("sum (0,2,3) keepdim", [](const Ins& v) { return sum(v[0], {0, 2, 3}, true); }, {x});
  check("sum (1,2)", [](const Ins& v) { return sum(v[0], {1, 2}, false); }, {x});
  check("sum -1", [](const Ins& v) { return sum(v[0], {-1}, false); }, {x});
  check("mean (0)", [](const Ins& v) { return mean(v[0], {0}, true); }, {x});
  check("mean all", [](const Ins& v) { return mean(v[0]); }, {x});
  Tensor d = distinct({3, 4, 5}, 6);
  check("max dim 1", [](const Ins& v) { return max(v[0], 1).values; }, {d});
  check("min dim -1 keepdim", [](const Ins& v) { return min(v[0], -1, true).values; }, {d});
  check("max all", [](const Ins& v) { return max(v[0]); }, {d});
}

void shape_cases(const OpCheck& check) {
  Tensor x = uniform64({2, 3, 4}, 7);
  check("reshape", [](const Ins& v) { return reshape(v[0], {4, -1}); }, {x});
  check("permute",
        [](const Ins& v) {
          return mul(permute(v[0], {2, 0, 1}), permute(v[0], {2, 0, 1}));
        },
        {x});
  check("transpose+contiguous", [](const Ins& v) { return transpose(v[0], 0, 2).contiguous(); },
        {x});
  check("narrow dim 2", [](const Ins& v) { return narrow(v[0], 2, 1, 2); }, {x});
  check("chunk",
        [](const Ins& v) {
          auto c = chunk(v[0], 2, 1);
          return add(mul(c[0], 2.0), sum(c[1], {1}, true));
        },
        {x});
  check("cat dim 1",
        [](const Ins& v) {
          return cat({v[0], mul(v[1], v[1])}, 1);
        },
        {x, uniform64({2, 2, 4}, 8)});
  check("cat dim 0",
        [](const Ins& v) {
          return cat({v[0], v[1]}, 0);
        },
        {x, uniform64({1, 3, 4}, 9)});
  check("flip", [](const Ins& v) { return mul(flip(v[0], 2), v[0]); }, {x});
  check("squeeze/unsqueeze", [](const Ins& v) { return squeeze(unsqueeze(v[0], 1), 1); }, {x});
  check("flatten", [](const Ins& v) { return flatten(v[0], 1); }, {x});
  check("index_select with repeats",
        [](const Ins& v) {
          return index_select(v[0], 1, on(v[0], from_vector(std::vector<int64_t>{2, 0, 2}, {3})));
        },
        {x});
}

void linalg_cases(const OpCheck& check) {
  check("matmul", [](const Ins& v) { return matmul(v[0], v[1]); },
        {uniform64({3, 4}, 10), uniform64({4, 5}, 11)});
  check("batched matmul", [](const Ins& v) { return matmul(v[0], v[1]); },
        {uniform64({2, 3, 4}, 12), uniform64({2, 4, 2}, 13)});
  check("matmul of a transposed view",
        [](const Ins& v) { return matmul(transpose(v[0], 0, 1), v[1]); },
        {uniform64({4, 3}, 14), uniform64({4, 2}, 15)});
  check("linear", [](const Ins& v) { return linear(v[0], v[1], v[2]); },
        {uniform64({5, 4}, 16), uniform64({3, 4}, 17), uniform64({3}, 18)});
}

void conv_cases(const OpCheck& check) {
  struct Case {
    Shape x, w;
    Conv2dOptions o;
    bool bias;
  };
  const std::vector<Case> cases = {
      {{2, 3, 6, 5}, {4, 3, 3, 3}, {{1, 1}, {1, 1}, {1, 1}}, true},
      {{2, 3, 7, 7}, {2, 3, 3, 3}, {{2, 2}, {1, 1}, {1, 1}}, false},
      {{1, 2, 8, 6}, {3, 2, 3, 2}, {{2, 1}, {0, 1}, {1, 1}}, true},   // rectangular kernel
      {{1, 2, 7, 7}, {2, 2, 3, 3}, {{1, 1}, {2, 2}, {2, 2}}, false},  // dilation
      {{2, 4, 5, 3}, {3, 4, 1, 1}, {{1, 1}, {0, 0}, {1, 1}}, true},   // pointwise
      {{2, 4, 6, 6}, {3, 4, 1, 1}, {{2, 2}, {0, 0}, {1, 1}}, false},  // strided 1x1 (downsample)
      {{1, 1, 9, 9}, {2, 1, 7, 7}, {{2, 2}, {3, 3}, {1, 1}}, false},  // stem-like 7x7/2
  };
  uint64_t seed = 20;
  for (const Case& c : cases) {
    Ins in{uniform64(c.x, seed++), uniform64(c.w, seed++)};
    if (c.bias) in.push_back(uniform64({c.w[0]}, seed++));
    Conv2dOptions o = c.o;
    check(
        "conv2d x" + shape_str(c.x) + " w" + shape_str(c.w),
        [o](const Ins& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), o); }, in);
  }
}

void batchnorm_cases(const OpCheck& check) {
  for (const Shape& s : {Shape{4, 3, 2, 3}, Shape{6, 5}}) {
    const int64_t C = s[1];
    Tensor x = uniform64(s, 40), w = uniform64({C}, 41, 0.5, 1.5), b = uniform64({C}, 42);
    check("batch_norm train " + shape_str(s),
          [](const Ins& v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true); },
          {x, w, b});
    Tensor rm = uniform64({C}, 43), rv = uniform64({C}, 44, 0.5, 2.0);
    check("batch_norm eval " + shape_str(s),
          [rm, rv](const Ins& v) {
            return batch_norm(v[0], v[1], v[2], on(v[0], rm).clone(), on(v[0], rv).clone(), false);
          },
          {x, w, b});
    check("batch_norm_relu train " + shape_str(s),
          [](const Ins& v) { return batch_norm_relu(v[0], v[1], v[2], Tensor(), Tensor(), true); },
          {x, w, b});
  }
}

void pooling_cases(const OpCheck& check) {
  Tensor x = distinct({2, 2, 8, 6}, 50);
  auto pool = [](Pool2dOptions o, bool is_max) {
    return [o, is_max](const Ins& v) { return is_max ? max_pool2d(v[0], o) : avg_pool2d(v[0], o); };
  };
  check("max 3x3/2 pad 1", pool({{3, 3}, {2, 2}, {1, 1}}, true), {x});
  check("max 4x2 rect", pool({{4, 2}, {4, 2}, {0, 0}}, true), {x});
  check("max 3x3/2 ceil", pool({{3, 3}, {2, 2}, {0, 0}, true}, true), {x});
  check("avg 2x2", pool({{2, 2}, {2, 2}, {0, 0}}, false), {x});
  check("avg 3x3/2 pad 1 include pad", pool({{3, 3}, {2, 2}, {1, 1}}, false), {x});
  check("avg 3x3/2 pad 1 exclude pad ceil", pool({{3, 3}, {2, 2}, {1, 1}, true, false}, false),
        {x});
  check("adaptive avg 3x4", [](const Ins& v) { return adaptive_avg_pool2d(v[0], {3, 4}); }, {x});
  check("adaptive avg 1x1", [](const Ins& v) { return adaptive_avg_pool2d(v[0], {1, 1}); }, {x});
  check("adaptive max 2x1 (stripes)",
        [](const Ins& v) {
          return adaptive_max_pool2d(v[0], {2, 1});
        },
        {x});
}

void loss_cases(const OpCheck& check) {
  Tensor x = uniform64({4, 5}, 60, -2, 2);
  check("log_softmax dim 1", [](const Ins& v) { return log_softmax(v[0], 1); }, {x});
  check("log_softmax dim 0", [](const Ins& v) { return log_softmax(v[0], 0); }, {x});
  check("softmax", [](const Ins& v) { return softmax(v[0], -1); }, {x});
  Tensor t = from_vector(std::vector<int64_t>{1, 0, 4, 2}, {4});
  for (double eps : {0.0, 0.1})
    check("cross_entropy eps " + std::to_string(eps),
          [t, eps](const Ins& v) { return cross_entropy(v[0], on(v[0], t), eps); }, {x});
  check("pairwise_distance", [](const Ins& v) { return pairwise_distance(v[0], v[1]); },
        {uniform64({4, 3}, 61), uniform64({5, 3}, 62)});
  check("pairwise_sqdistance", [](const Ins& v) { return pairwise_sqdistance(v[0], v[1]); },
        {uniform64({4, 3}, 63), uniform64({2, 3}, 64)});
  check("l2_normalize", [](const Ins& v) { return l2_normalize(v[0], 1); },
        {uniform64({3, 6}, 65)});
  check("l2_normalize dim 1 of 3-d", [](const Ins& v) { return l2_normalize(v[0], 1); },
        {uniform64({2, 4, 3}, 66)});
  Tensor cols = from_vector(std::vector<int64_t>{3, 0, 4, 4}, {4});
  check("gather_pairs", [cols](const Ins& v) { return gather_pairs(v[0], on(v[0], cols)); },
        {uniform64({4, 5}, 67)});
  // The differentiable part of the batch-hard triplet loss (train/losses.cpp): distances, the
  // mined pairs gathered, d_ap - d_an. Random features leave no near-ties, so the mined
  // indices stay put under the checker's perturbations.
  Tensor labels = from_vector(std::vector<int64_t>{0, 1, 0, 2, 1, 2}, {6});
  check("batch-hard triplet d_ap - d_an",
        [labels](const Ins& v) {
          Tensor dist = pairwise_distance(v[0], v[0]);
          BatchHardMined m = batch_hard_mine(dist, on(v[0], labels));
          return sub(gather_pairs(dist, m.pos_index), gather_pairs(dist, m.neg_index));
        },
        {uniform64({6, 4}, 68)});
}

void bconv_cases(const OpCheck& check) {
  Tensor z = uniform64({2, 12, 3, 4}, 70, -2, 2), c = uniform64({2, 3, 3, 4}, 71);
  check("bconv_gates", [c](const Ins& v) { return bconv_gates(v[0], on(v[0], c)).h; }, {z});
}

}  // namespace ptl::test
