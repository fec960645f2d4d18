// `ptl info`, `ptl forward` and `ptl bench` through the binary.
#include <catch2/catch.hpp>

#include <algorithm>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/safetensors.h"
#include "models/registry.h"
#include "tests/compare.h"
#include "tests/test_util.h"

using namespace ptl;
using Catch::Contains;

TEST_CASE("ptl info prints the layer table, parameters and MACs", "[models][cli]") {
  auto r = test::run_ptl("info --model resnet20 --num-classes 10 --input 1x28x28");
  REQUIRE(r.rc == 0);
  ModelOptions opt;
  opt.in_channels = 1;
  CHECK_THAT(r.out,
             Contains("layer1.0.conv1") && Contains("fc ") &&
                 Contains("parameters: " +
                          std::to_string(make_model("resnet20", 10, opt)->parameter_count())) &&
                 Contains("macs: "));
  auto bad = test::run_ptl("info --model resnet99");
  CHECK(bad.rc == 1);
  CHECK_THAT(bad.out, Contains("unknown model 'resnet99'") && Contains("mgn_ptl"));
  CHECK_THAT(test::run_ptl("info --model resnet20 --input 3x32").out, Contains("expected CxHxW"));
}

TEST_CASE("ptl forward matches the in-process model, with gradients", "[models][cli]") {
  test::TempDir dir;
  manual_seed(11);
  ModelOptions opt;
  opt.ptl.state_init = StateInit::Zeros;
  auto model = make_model("ptl_resnet20", 10, opt);
  save_safetensors(dir.path() + "/w.safetensors", model->state_dict());
  Tensor x = randn({2, 3, 32, 32}), g = randn({2, 10});
  save_safetensors(dir.path() + "/x.safetensors", {{"input", x}, {"grad_output", g}});
  auto r = test::run_ptl("forward --model ptl_resnet20 --num-classes 10 --weights " + dir.path() +
                         "/w.safetensors --input " + dir.path() + "/x.safetensors --output " +
                         dir.path() + "/y.safetensors --train --backward --bconv-init zeros");
  INFO(r.out);
  REQUIRE(r.rc == 0);
  const TensorMap y = load_safetensors(dir.path() + "/y.safetensors");

  model->train();
  Tensor xi = x.clone().set_requires_grad();
  ModelOutput out = model->forward(xi);
  sum(mul(out.logits[0], g)).backward();
  const test::Bound close{0, 1e-17, 1e-5};  // 1e-5 of the tensor's largest element
  CHECK_WITHIN(y.at("output"), out.logits[0], close);
  CHECK_WITHIN(y.at("out.feature"), out.feature, close);
  CHECK(y.count("out.triplet.0") == 1);
  CHECK_WITHIN(y.at("grad.input"), xi.grad(), close);
  for (auto& [n, p] : model->named_parameters()) {
    INFO(n);
    REQUIRE(y.count("grad." + n) == 1);
    CHECK_WITHIN(y.at("grad." + n), p.grad(), close);
  }
  auto bad = test::run_ptl("forward --model ptl_resnet20 --input " + dir.path() +
                           "/x.safetensors --output " + dir.path() + "/z.safetensors --weights " +
                           dir.path() + "/x.safetensors");
  CHECK(bad.rc == 1);
  CHECK_THAT(bad.out,
             Contains("missing keys") && Contains("unexpected keys") && Contains("grad_output"));

  // One tensor of the wrong shape (what a new user tried: 125 lines, the cause on the last one):
  // the cause leads and the 121 missing keys are counted, not listed.
  save_safetensors(dir.path() + "/one.safetensors", {{"conv1.weight", zeros({64, 3, 3, 3})}});
  auto one = test::run_ptl("forward --model resnet18 --weights " + dir.path() +
                           "/one.safetensors --input " + dir.path() + "/x.safetensors --output " +
                           dir.path() + "/o.safetensors");
  CHECK(one.rc == 1);
  INFO(one.out);
  CHECK(std::count(one.out.begin(), one.out.end(), '\n') <= 8);
  const size_t cause =
      one.out.find("conv1.weight: expected float32(64, 3, 7, 7), found float32(64, 3, 3, 3)");
  CHECK(cause < one.out.find("missing keys (121): "));
  CHECK_THAT(one.out, Contains(" and 116 more (ptl --verbose lists them all)") &&
                          Contains("the file holds 1 of the model's 122 tensors"));
  auto all = test::run_ptl("forward --model resnet18 --weights " + dir.path() +
                           "/one.safetensors --input " + dir.path() + "/x.safetensors --output " +
                           dir.path() + "/o.safetensors --verbose");
  CHECK(all.rc == 1);
  CHECK_THAT(all.out,
             Contains("fc.weight") && Contains("layer4.1.bn2.running_var") && !Contains(" more"));
}

TEST_CASE("ptl bench times a train step and refuses CUDA clearly without it", "[models][cli]") {
  auto r = test::run_ptl(
      "bench --model resnet20 --num-classes 10 --batch 2 --input 3x32x32 --train-step --repeat 2 "
      "--threads 1");
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK_THAT(r.out, Contains("median_ms: ") && Contains("min_ms: ") && Contains("max_ms: "));
  CHECK_THAT(
      test::run_ptl("bench --model resnet20 --batch 1 --input 3x32x32 --inference --repeat 1").out,
      Contains("median_ms: "));
  auto cuda =
      test::run_ptl("bench --model resnet20 --batch 1 --input 3x32x32 --inference --device cuda");
  CHECK(cuda.rc == 1);
  CHECK_THAT(cuda.out, Contains("--device cuda") && Contains("CUDA"));
  auto neither = test::run_ptl("bench --model resnet20 --batch 1 --input 3x32x32");
  CHECK(neither.rc == 1);
  CHECK_THAT(neither.out, Contains("--train-step") && Contains("--inference"));
}

TEST_CASE("ptl --threads refuses what is not a positive whole number", "[models][cli]") {
  for (const char* bad : {"abc", "0", "2x"}) {
    auto r = test::run_ptl(std::string("--threads ") + bad + " info --model resnet20");
    INFO(r.out);
    CHECK(r.rc == 1);
    CHECK_THAT(r.out,
               Catch::Contains(std::string("--threads expects a positive whole number, got '") +
                               bad + "'"));
  }
}
