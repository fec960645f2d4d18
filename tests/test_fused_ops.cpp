// Fused ops (batch_norm_relu, add_relu: kernels/contract/) equal the ops they fuse, bit for bit,
// and the element-wise kernels give the same values however the operands' dimensions are laid out.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "tests/thread_scope.h"

using namespace ptl;

namespace {
struct Out {
  std::vector<double> y, gx, gw, gb, rm, rv;
};

// relu(batch_norm(x)) (fused or not), backward of sum(y * y * r) with a fixed r.
Out bn_relu(bool fused, bool training, DType dt, int threads, const Shape& shape) {
  test::ThreadScope scope(threads);
  Generator g(5);
  Tensor x = Tensor::empty(shape, dt), r = Tensor::empty(shape, dt);
  g.normal_(x);
  g.normal_(r);
  const int64_t C = shape[1];
  Tensor w = Tensor::empty({C}, dt), b = Tensor::empty({C}, dt);
  g.normal_(w);
  g.normal_(b);
  Tensor rm = zeros({C}, dt), rv = ones({C}, dt);
  x.set_requires_grad();
  w.set_requires_grad();
  b.set_requires_grad();
  Tensor y = fused ? batch_norm_relu(x, w, b, rm, rv, training)
                   : relu(batch_norm(x, w, b, rm, rv, training));
  sum(mul(mul(y, y), r)).backward();
  return {y.to_double_vector(),        x.grad().to_double_vector(), w.grad().to_double_vector(),
          b.grad().to_double_vector(), rm.to_double_vector(),       rv.to_double_vector()};
}

void same(const Out& a, const Out& b) {
  CHECK(a.y == b.y);
  CHECK(a.gx == b.gx);
  CHECK(a.gw == b.gw);
  CHECK(a.gb == b.gb);
  CHECK(a.rm == b.rm);
  CHECK(a.rv == b.rv);
}
}  // namespace

TEST_CASE("batch_norm_relu equals relu(batch_norm) bit for bit, forward and backward", "[fused]") {
  for (DType dt : {DType::F32, DType::F64})
    for (bool training : {true, false})
      for (const Shape& shape : {Shape{4, 6, 5, 7}, Shape{3, 5, 16, 8}, Shape{9, 4}}) {
        const Out ref = bn_relu(false, training, dt, 1, shape);
        same(bn_relu(true, training, dt, 1, shape), ref);
        same(bn_relu(true, training, dt, 2, shape), ref);
        same(bn_relu(false, training, dt, 2, shape), ref);
      }
}

TEST_CASE("element-wise ops and copies over merged dimensions equal the element-by-element result",
          "[fused]") {
  Generator g(3);
  Tensor a = Tensor::empty({7, 5, 3, 1}), b = Tensor::empty({7, 5, 3, 1}),
         row = Tensor::empty({1, 5, 1, 1});
  g.normal_(a);
  g.normal_(b);
  g.normal_(row);
  const std::vector<float> va = a.to_vector(), vb = b.to_vector(), vr = row.to_vector();
  for (int threads : {1, 2}) {
    test::ThreadScope scope(threads);
    const std::vector<float> s = add(a, b).to_vector(), br = mul(a, row).to_vector();
    for (size_t i = 0; i < va.size(); ++i) {
      CHECK(s[i] == va[i] + vb[i]);
      CHECK(br[i] == va[i] * vr[(i / 3) % 5]);
    }
    // A transposed (non-contiguous) view is copied element by element.
    const std::vector<float> tc = transpose(a, 0, 1).contiguous().to_vector();
    for (int64_t i = 0; i < 7; ++i)
      for (int64_t j = 0; j < 5; ++j)
        for (int64_t k = 0; k < 3; ++k) CHECK(tc[(j * 7 + i) * 3 + k] == va[(i * 5 + j) * 3 + k]);
    // A large contiguous tensor (split into chunks of one long row) and a 0-d tensor.
    Tensor big = Tensor::empty({3, 40000});
    g.normal_(big);
    const std::vector<float> vbig = big.to_vector(), d = sub(big, mul(big, 0.5)).to_vector();
    for (size_t i = 0; i < vbig.size(); ++i) CHECK(d[i] == vbig[i] - vbig[i] * 0.5f);
    CHECK(add(full({}, 2.0), full({}, 3.0)).item() == 5.0);
  }
}

TEST_CASE("add_relu equals relu(add) bit for bit, forward and backward", "[fused]") {
  for (DType dt : {DType::F32, DType::F64}) {
    auto run = [&](bool fused, int threads) {
      test::ThreadScope scope(threads);
      Generator g(11);
      Tensor a = Tensor::empty({5, 7, 6, 9}, dt), b = Tensor::empty({5, 7, 6, 9}, dt),
             r = Tensor::empty({5, 7, 6, 9}, dt);
      g.normal_(a);
      g.normal_(b);
      g.normal_(r);
      a.set_requires_grad();
      b.set_requires_grad();
      Tensor y = fused ? add_relu(a, b) : relu(add(a, b));
      sum(mul(mul(y, y), r)).backward();
      return std::vector<std::vector<double>>{y.to_double_vector(), a.grad().to_double_vector(),
                                              b.grad().to_double_vector()};
    };
    const auto ref = run(false, 1);
    CHECK(run(true, 1) == ref);
    CHECK(run(true, 2) == ref);
  }
}
