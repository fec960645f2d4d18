// Tensor storage, views, dtypes and the autograd tape.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "tests/skip.h"

using namespace ptl;

TEST_CASE("tensors are 64-byte aligned, reference counted and up to 5-d", "[tensor]") {
  Tensor t = zeros({2, 3, 4, 5, 6});
  CHECK(t.numel() == 720);
  CHECK(reinterpret_cast<uintptr_t>(t.data<float>()) % 64 == 0);
  Tensor alias = t;  // a handle copy shares storage
  alias.data<float>()[7] = 3.0f;
  CHECK(t.data<float>()[7] == 3.0f);
  Tensor c = t.clone();
  c.data<float>()[7] = 1.0f;
  CHECK(t.data<float>()[7] == 3.0f);
  CHECK(zeros({2}, DType::F64).dtype() == DType::F64);
  CHECK_THROWS_WITH(t.data<double>(), Catch::Contains("float32") && Catch::Contains("float64"));
}

TEST_CASE("narrow, chunk and permute are views; contiguous() copies only when needed", "[tensor]") {
  Tensor x = arange(24);
  x = reshape(x, {2, 3, 4});
  Tensor n = narrow(x, 2, 1, 2);  // non-contiguous view along the last dimension
  CHECK(n.same_storage(x));
  CHECK_FALSE(n.is_contiguous());
  CHECK(n.contiguous().to_vector() ==
        std::vector<float>{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22});
  auto parts = chunk(x, 3, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].same_storage(x));
  CHECK(parts[1].contiguous().to_vector() == std::vector<float>{4, 5, 6, 7, 16, 17, 18, 19});
  Tensor p = permute(x, {2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.contiguous().to_vector()[1] == 4.0f);
  CHECK(x.contiguous().same_storage(x));
  // Writing through a view writes the base.
  Tensor v = narrow(x, 0, 1, 1);
  fill_(v, -1.0);
  CHECK(x.to_vector()[12] == -1.0f);
  CHECK(x.to_vector()[11] == 11.0f);
}

TEST_CASE("chunk follows torch.chunk for uneven sizes", "[tensor]") {
  auto parts = chunk(zeros({5, 2}), 3, 0);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].size(0) == 2);
  CHECK(parts[2].size(0) == 1);
  CHECK(chunk(zeros({4}), 3, 0).size() == 2);  // ceil(4/3) = 2 per chunk -> 2 chunks
}

TEST_CASE("flip reverses one dimension", "[tensor]") {
  Tensor x = reshape(arange(6), {1, 1, 2, 3});
  CHECK(flip(x, 3).to_vector() == std::vector<float>{2, 1, 0, 5, 4, 3});
  CHECK(flip(x, 2).to_vector() == std::vector<float>{3, 4, 5, 0, 1, 2});
}

TEST_CASE("backward accumulates over branches and into leaves across calls", "[autograd]") {
  Tensor x = from_vector(std::vector<float>{1, 2, 3}, {3}).set_requires_grad();
  // y = x*x + 3x uses x twice: dy/dx = 2x + 3.
  Tensor y = sum(add(mul(x, x), mul(x, 3.0)));
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{5, 7, 9});
  Tensor z = sum(mul(x, 2.0));
  z.backward();  // accumulates, as PyTorch does
  CHECK(x.grad().to_vector() == std::vector<float>{7, 9, 11});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("no-grad, detach and requires_grad control what is recorded", "[autograd]") {
  Tensor w = ones({2}).set_requires_grad();
  {
    NoGradGuard ng;
    Tensor y = mul(w, 2.0);
    CHECK_FALSE(y.requires_grad());
  }
  CHECK(mul(w, 2.0).requires_grad());
  Tensor d = mul(w, 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  Tensor c = zeros({2});
  CHECK_FALSE(add(c, c).requires_grad());
  CHECK_THROWS_WITH(sum(add(c, c)).backward(), Catch::Contains("does not require grad"));
  CHECK_THROWS_WITH(zeros({2}, DType::I64).set_requires_grad(), Catch::Contains("floating"));
}

TEST_CASE("backward frees the graph and a second backward says so", "[autograd]") {
  Tensor x = ones({3}).set_requires_grad();
  Tensor h = relu(mul(x, 2.0));
  Tensor y = sum(h);
  std::weak_ptr<Node> relu_node = h.grad_fn();
  y.backward();
  // The relu node's closure (and the activation it saved) were released during backward.
  REQUIRE(relu_node.lock());
  CHECK_FALSE(relu_node.lock()->backward);
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("already freed"));
}

TEST_CASE("saved activations are released as soon as backward passes them", "[autograd]") {
  Tensor x = ones({1000}).set_requires_grad();
  std::weak_ptr<Storage> saved;
  Tensor y;
  {
    Tensor h = sigmoid(x);  // sigmoid saves its output h
    saved = h.impl().storage;
    y = sum(mul(h, 3.0));
  }
  CHECK_FALSE(saved.expired());  // alive: the graph holds it for backward
  y.backward();
  CHECK(saved.expired());  // freed by backward, before the graph itself goes away
}

TEST_CASE("a deep chain backpropagates without recursion limits", "[autograd]") {
  Tensor x = ones({1}).set_requires_grad();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = add(y, 1.0);
  y.backward();
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("dtype conversion is differentiable between float types", "[autograd]") {
  Tensor x = from_vector(std::vector<float>{1, 2}, {2}).set_requires_grad();
  Tensor y = sum(mul(x.to(DType::F64), 3.0));
  y.backward();
  CHECK(x.grad().dtype() == DType::F32);
  CHECK(x.grad().to_vector() == std::vector<float>{3, 3});
}

TEST_CASE("device names parse, and an unknown one is refused by name", "[tensor]") {
  CHECK_THROWS_WITH(Device::parse("gpu"), Catch::Contains("unknown device 'gpu'"));
  CHECK(Device::parse("cuda:1").index == 1);
}

// Its own ctest group (no_gpu): a machine with a GPU reports it skipped.
TEST_CASE("a CUDA device in a build or machine without CUDA fails with a clear message",
          "[tensor][no_gpu]") {
  if (cuda_device_count() > 0) PTL_SKIP("this machine has a CUDA device");
  CHECK_THROWS_WITH(zeros({2}).to(Device::cuda(0)),
                    Catch::Contains("cuda:0") && Catch::Contains("cpu"));
}
