// bfloat16 as a dtype (issue #30): casts (rounding, NaN, infinities, subnormals), the autograd
// cast, storage (fills, strided copies), safetensors BF16, printing, ops without a bf16 path,
// and bf16 weights loaded into a float32 model. PyTorch's own casts: tests/test_bf16_parity.cpp.
#include <catch2/catch.hpp>

#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "layers/layers.h"
#include "models/registry.h"
#include "tests/compare.h"
#include "tests/test_util.h"

using namespace ptl;
using Catch::Contains;

namespace {

Tensor floats_from_bits(const std::vector<uint32_t>& bits) {
  std::vector<float> v;
  for (uint32_t b : bits) v.push_back(float_from_bits(b));
  return from_vector(v, {static_cast<int64_t>(v.size())});
}

std::vector<uint16_t> bf16_bits(const Tensor& t) {
  Tensor c = t.contiguous();
  std::vector<uint16_t> out;
  for (int64_t i = 0; i < c.numel(); ++i) out.push_back(c.data<bf16>()[i].bits);
  return out;
}

}  // namespace

TEST_CASE("float32 to bf16 rounds to nearest even and keeps NaN, infinities and signed zeros",
          "[bf16]") {
  // input bits -> bf16 bits, as c10::BFloat16 (PyTorch's scalar cast)
  const std::vector<std::pair<uint32_t, uint16_t>> cases = {
      {0x3F808000, 0x3F80},  // tie, even neighbour below
      {0x3F818000, 0x3F82},  // tie, even neighbour above
      {0x3F808001, 0x3F81},  // just above a tie
      {0x3F807FFF, 0x3F80},  // just below
      {0xBF818000, 0xBF82},  // negative tie
      {0x7F800001, 0x7FC0},  // signalling NaN: a NaN, not infinity
      {0xFFFFFFFF, 0x7FC0},  // negative NaN with a full payload
      {0x7F800000, 0x7F80},  // +inf
      {0xFF800000, 0xFF80},  // -inf
      {0x7F7FFFFF, 0x7F80},  // the largest finite float32 rounds to inf
      {0x7F7F7FFF, 0x7F7F},  // below the last tie: the largest finite bf16
      {0x00000001, 0x0000},  // the smallest subnormal rounds to 0
      {0x007FFFFF, 0x0080},  // the largest subnormal rounds to the smallest normal
      {0x00018000, 0x0002},  // a subnormal tie goes to even
      {0x80000000, 0x8000},  // -0
  };
  std::vector<uint32_t> in;
  std::vector<uint16_t> want;
  for (auto [x, y] : cases) in.push_back(x), want.push_back(y);
  const Tensor b = floats_from_bits(in).to(DType::BF16);
  CHECK(b.dtype() == DType::BF16);
  CHECK(bf16_bits(b) == want);
  // float64 goes through float32 first, as PyTorch: 1 + 2^-8 + 2^-30 is a float32 tie -> 1.
  const Tensor d = from_vector(std::vector<double>{1.0 + 0x1p-8 + 0x1p-30, -2.5}, {2});
  CHECK(bf16_bits(d.to(DType::BF16)) == std::vector<uint16_t>{0x3F80, 0xC020});
  // Back: exact, and integers both ways through float32.
  CHECK(b.to(DType::F32).to_vector()[0] == 1.0f);
  CHECK(bf16_bits(from_vector(std::vector<int64_t>{-3, 257}, {2}).to(DType::BF16)) ==
        std::vector<uint16_t>{0xC040, 0x4380});  // 257 is a tie: to 256
  CHECK(d.to(DType::BF16).to(DType::I64).to_int_vector() == std::vector<int64_t>{1, -2});
}

TEST_CASE("the bf16 cast is differentiable: the gradient is cast back", "[bf16][autograd]") {
  Tensor x = from_vector(std::vector<float>{1.0f, -2.0f, 0.5f}, {3}).set_requires_grad();
  Tensor y = x.to(DType::BF16);
  CHECK(y.requires_grad());
  // d/dx sum(3.3 * float(bf16(x))): 3.3 reaches the cast as float32 and is rounded to bf16 on
  // its way back (PyTorch: the gradient of .to(bfloat16) is the incoming one in bf16, widened).
  sum(mul(y.to(DType::F32), 3.3)).backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().dtype() == DType::F32);
  const float g = to_float(to_bf16(3.3f));
  CHECK(x.grad().to_vector() == std::vector<float>{g, g, g});
}

TEST_CASE("bf16 storage: fills, strided views, concatenation, printing", "[bf16]") {
  CHECK(dtype_size(DType::BF16) == 2);
  CHECK(std::string(dtype_name(DType::BF16)) == "bfloat16");
  CHECK(bf16_bits(full({2}, 0.1, DType::BF16)) == std::vector<uint16_t>{0x3DCD, 0x3DCD});
  const Tensor m = reshape(arange(12).to(DType::BF16), {3, 4});
  const Tensor t = transpose(m, 0, 1);  // strided: a 2-byte strided copy
  CHECK(t.contiguous().to_vector() ==
        transpose(reshape(arange(12), {3, 4}), 0, 1).contiguous().to_vector());
  CHECK(cat({m, m}, 0).to_vector().size() == 24);
  Tensor z = zeros({2, 2}, DType::BF16);
  Tensor col = narrow(z, 1, 1, 1);
  fill_(col, -1.5);
  CHECK(z.to_vector() == std::vector<float>{0, -1.5f, 0, -1.5f});
  CHECK(full({3}, 0.1, DType::BF16).str() == "bfloat16(3) [0.100098, 0.100098, 0.100098]");
}

TEST_CASE("safetensors BF16 round-trips bit for bit", "[bf16][safetensors]") {
  test::TempDir dir;
  const Tensor b =
      floats_from_bits({0x3F808000, 0x7FC00000, 0xFF800000, 0x00000001, 0x80000000, 0x40490FDB})
          .to(DType::BF16);
  save_safetensors(dir.file("b.safetensors"), {{"b", b}, {"f", ones({2})}});
  CHECK_THAT(test::file_text(dir.file("b.safetensors")), Contains("\"dtype\":\"BF16\""));
  const TensorMap r = load_safetensors(dir.file("b.safetensors"));
  REQUIRE(r.at("b").dtype() == DType::BF16);
  CHECK(bf16_bits(r.at("b")) == bf16_bits(b));
}

TEST_CASE("an op without a bf16 path refuses bf16 naming itself", "[bf16]") {
  const Tensor x = ones({2, 3, 4, 4}, DType::BF16), w = ones({5, 3, 3, 3}, DType::BF16);
  CHECK_THROWS_WITH(relu(x), Contains("relu") && Contains("bfloat16"));
  CHECK_THROWS_WITH(add(x, x), Contains("add") && Contains("bfloat16"));
  CHECK_THROWS_WITH(conv2d(x, w), Contains("conv2d") && Contains("bfloat16"));
  CHECK_THROWS_WITH(matmul(ones({2, 2}, DType::BF16), ones({2, 2}, DType::BF16)),
                    Contains("matmul") && Contains("bfloat16"));
  CHECK_THROWS_WITH(sum(x), Contains("sum") && Contains("bfloat16"));
  CHECK_THROWS_WITH(max_pool2d(x, {}), Contains("max_pool2d") && Contains("bfloat16"));
  CHECK_THROWS_WITH(log_softmax(ones({2, 3}, DType::BF16), 1),
                    Contains("log_softmax") && Contains("bfloat16"));
  Tensor r = ones({3}, DType::BF16);
  CHECK_THROWS_WITH(batch_norm(x, r, r, r, r, true),
                    Contains("batch_norm") && Contains("bfloat16"));
}

TEST_CASE("bf16 weights load into a float32 model, converted and counted", "[bf16]") {
  Linear lin(3, 2);
  TensorMap state;
  for (auto& [k, t] : lin.state_dict()) state[k] = t.to(DType::BF16);
  const Module::LoadReport r = lin.load_state_dict(state, true, "w.safetensors");
  CHECK(r.from_bf16 == 2);
  CHECK(r.conversion_note("w.safetensors") ==
        "w.safetensors: 2 bfloat16 tensors converted to float32, the model's dtype (exactly: bf16 "
        "is float32's upper half)");
  CHECK(lin.weight.dtype() == DType::F32);
  CHECK_SAME_BITS(lin.weight, state.at("weight").to(DType::F32));
}

TEST_CASE("ptl forward with bf16 weights says so and runs the float32 model on them",
          "[bf16][cli]") {
  test::TempDir dir;
  auto model = make_model("resnet20", 10);
  TensorMap bf;
  size_t floating = 0;
  for (auto& [k, t] : model->state_dict()) {
    const bool f = t.dtype() == DType::F32;
    floating += f;
    bf[k] = f ? t.to(DType::BF16) : t;
  }
  save_safetensors(dir.file("w.safetensors"), bf);
  save_safetensors(dir.file("x.safetensors"), {{"input", ones({1, 3, 16, 16})}});
  auto r = test::run_ptl("forward --model resnet20 --num-classes 10 --weights " +
                         dir.file("w.safetensors") + " --input " + dir.file("x.safetensors") +
                         " --output " + dir.file("y.safetensors"));
  INFO(r.out);
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Contains(dir.file("w.safetensors") + ": " + std::to_string(floating) +
                             " bfloat16 tensors converted to float32"));
  model->load_state_dict(bf);
  model->eval();
  NoGradGuard ng;
  CHECK_SAME_BITS(load_safetensors(dir.file("y.safetensors")).at("output"),
                  model->main_output(model->forward(ones({1, 3, 16, 16}))));
}
