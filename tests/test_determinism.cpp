// Random streams and op results do not depend on the thread count.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "tests/thread_scope.h"

using namespace ptl;

namespace {
struct Result {
  std::vector<float> out, gx, gw;
};

Result conv_bn_step(int threads) {
  test::ThreadScope scope(threads);
  Generator g(99);
  Tensor x = Tensor::empty({6, 8, 20, 12}), w = Tensor::empty({16, 8, 3, 3});
  g.normal_(x);
  g.normal_(w);
  x.set_requires_grad();
  w.set_requires_grad();
  Tensor y = relu(batch_norm(conv2d(x, w, Tensor(), {{2, 1}, {1, 1}, {1, 1}}), Tensor(), Tensor(),
                             Tensor(), Tensor(), true));
  Tensor loss = sum(mul(y, y));
  loss.backward();
  return {y.to_vector(), x.grad().to_vector(), w.grad().to_vector()};
}
}  // namespace

TEST_CASE("random fills are identical for 1 and 2 threads and advance the stream", "[rng]") {
  auto draw = [](int threads) {
    test::ThreadScope scope(threads);
    Generator g(7);
    Tensor a = Tensor::empty({100003});
    g.normal_(a);
    CHECK(g.offset() == 100003);  // one counter per element
    Tensor b = Tensor::empty({5});
    g.uniform_(b);
    CHECK(g.offset() == 100008);
    return std::make_pair(a.to_vector(), b.to_vector());
  };
  auto one = draw(1), two = draw(2);
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
  // The second draw starts where the first ended: a generator placed at offset 100003 repeats it.
  Generator at(7);
  at.set_state(7, 100003);
  Tensor b = Tensor::empty({5});
  at.uniform_(b);
  CHECK(b.to_vector() == one.second);
}

TEST_CASE("normal draws have the right moments; permutations are permutations", "[rng]") {
  Generator g(3);
  Tensor a = Tensor::empty({200000}, DType::F64);
  g.normal_(a, 1.0, 2.0);
  CHECK(mean(a).item() == Approx(1.0).margin(0.02));
  CHECK(mean(pow(add(a, -1.0), 2.0)).item() == Approx(4.0).epsilon(0.02));
  std::vector<int64_t> p = g.permutation(1000);
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[i] == i);
  CHECK(p != sorted);
  Generator h(3);
  Tensor b = Tensor::empty({200000}, DType::F64);
  h.normal_(b, 1.0, 2.0);
  CHECK(a.to_double_vector() == b.to_double_vector());  // same seed, same stream
}

TEST_CASE("conv2d + batch_norm forward and backward are bit-identical for 1 and 2 threads",
          "[determinism]") {
  Result one = conv_bn_step(1), two = conv_bn_step(2);
  CHECK(one.out == two.out);
  CHECK(one.gx == two.gx);
  CHECK(one.gw == two.gw);
}

TEST_CASE("large sums and GEMMs are bit-identical for 1 and 2 threads", "[determinism]") {
  auto run = [](int threads) {
    test::ThreadScope scope(threads);
    Generator g(5);
    Tensor a = Tensor::empty({300, 200}), b = Tensor::empty({200, 500}),
           v = Tensor::empty({1 << 20});
    g.normal_(a);
    g.normal_(b);
    g.normal_(v);
    return std::make_pair(matmul(a, b).to_vector(), sum(v).item());
  };
  auto one = run(1), two = run(2);
  CHECK(one.first == two.first);
  CHECK(one.second == two.second);
}
