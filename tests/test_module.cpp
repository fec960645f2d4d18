// Modules: PyTorch names, state-dict round trips, load reports, freezing, train/eval.
#include <catch2/catch.hpp>

#include "layers/bconv_cell.h"
#include "layers/init.h"
#include "layers/layers.h"

using namespace ptl;
using Catch::Contains;

namespace {
// conv(3->4) - bn - relu - Sequential{linear}: keys like torch's.
struct Net : Module {
  Net() {
    conv = register_module("conv1",
                           std::make_shared<Conv2d>(Conv2dSpec{3, 4, {3, 3}, {1, 1}, {1, 1}}));
    bn = register_module("bn1", std::make_shared<BatchNorm2d>(4));
    head = register_module("head", std::make_shared<Sequential>());
    head->push_back(std::make_shared<Linear>(4, 2));
  }
  std::shared_ptr<Conv2d> conv;
  std::shared_ptr<BatchNorm2d> bn;
  std::shared_ptr<Sequential> head;
};

std::vector<std::string> keys(const TensorMap& m) {
  std::vector<std::string> k;
  for (auto& [n, t] : m) k.push_back(n);
  return k;
}
}  // namespace

TEST_CASE("parameter and buffer names follow PyTorch's state-dict keys", "[module]") {
  Net net;
  CHECK(keys(net.state_dict()) ==
        std::vector<std::string>{"bn1.bias", "bn1.num_batches_tracked", "bn1.running_mean",
                                 "bn1.running_var", "bn1.weight", "conv1.bias", "conv1.weight",
                                 "head.0.bias", "head.0.weight"});
  CHECK(net.parameter_count() == 4 * 3 * 9 + 4 + 4 + 4 + 2 * 4 + 2);
  BConvCell cell({3, 16, 2});
  CHECK(keys(cell.state_dict()) == std::vector<std::string>{"gates.weight"});
}

TEST_CASE("PyTorch default initialisation bounds hold", "[module]") {
  Conv2d conv({64, 32, {3, 3}});
  const double bound = 1.0 / std::sqrt(64.0 * 9.0);
  CHECK(max(abs(conv.weight)).item() <= bound);
  CHECK(max(abs(conv.weight)).item() > 0.9 * bound);
  CHECK(max(abs(conv.bias)).item() <= bound);
  Tensor w = Tensor::empty({256, 128, 3, 3});
  init::kaiming_normal_(w,
                        false);  // torchvision's ResNet conv init: fan_out, std sqrt(2 / fan_out)
  CHECK(std::sqrt(mean(mul(w, w)).item()) == Approx(std::sqrt(2.0 / (256 * 9))).epsilon(0.02));
}

TEST_CASE("state dicts round-trip and strict loading reports every problem at once", "[module]") {
  Net a, b;
  b.load_state_dict(a.state_dict());
  CHECK(b.conv->weight.to_vector() == a.conv->weight.to_vector());
  CHECK_FALSE(b.conv->weight.same_storage(a.conv->weight));  // copied, not aliased

  TensorMap bad = a.state_dict();
  bad.erase("bn1.running_var");
  bad["extra.weight"] = zeros({1});
  bad["conv1.weight"] = zeros({4, 3, 5, 5});
  const std::vector<float> before = b.conv->weight.to_vector();
  try {
    b.load_state_dict(bad, true, "w.safetensors");
    FAIL("strict load accepted a bad state dict");
  } catch (const Error& e) {
    std::string m = e.what();
    CHECK_THAT(
        m, Contains("w.safetensors") && Contains("missing keys (1): bn1.running_var") &&
               Contains("unexpected keys (1): extra.weight") &&
               Contains("conv1.weight: expected float32(4, 3, 3, 3), found float32(4, 3, 5, 5)"));
  }
  CHECK(b.conv->weight.to_vector() == before);  // strict failure changes nothing

  Module::LoadReport r = b.load_state_dict(bad, false);
  CHECK(r.missing.size() == 1);
  CHECK(r.unexpected.size() == 1);
  CHECK(r.mismatched.size() == 1);
  CHECK(b.bn->weight.to_vector() == a.bn->weight.to_vector());  // the rest was loaded

  TensorMap f64 = a.state_dict();
  f64["conv1.weight"] = f64["conv1.weight"].to(DType::F64);
  CHECK(b.load_state_dict(f64).ok());  // float dtypes convert
  TensorMap ints = a.state_dict();
  ints["conv1.weight"] = zeros({4, 3, 3, 3}, DType::I64);
  CHECK_THROWS_WITH(b.load_state_dict(ints), Contains("found int64"));
}

TEST_CASE("frozen modules take no gradient; eval mode uses running statistics", "[module]") {
  Net net;
  net.conv->set_frozen(true);
  Tensor x = randn({2, 3, 4, 4});
  Tensor y = net.head->forward(
      flatten(adaptive_avg_pool2d(relu(net.bn->forward(net.conv->forward(x))), {1, 1})));
  sum(y).backward();
  CHECK_FALSE(net.conv->weight.grad().defined());
  CHECK(net.bn->weight.grad().defined());
  CHECK(net.bn->num_batches_tracked.item() == 1);
  net.eval();
  CHECK_FALSE(net.bn->is_training());
  Tensor e1 = net.bn->forward(net.conv->forward(x));
  CHECK(net.bn->num_batches_tracked.item() == 1);
  Tensor ref = batch_norm(net.conv->forward(x), net.bn->weight, net.bn->bias, net.bn->running_mean,
                          net.bn->running_var, false);
  CHECK(e1.to_vector() == ref.to_vector());
}
