// What evaluation extracts for each kind of model: for ReID, the retrieval feature (not the
// classifier's logits), flip-averaged and L2-normalised, whatever the model class; for
// classification, the first classifier's logits. Checked against direct forward passes.
#include <catch2/catch.hpp>

#include "data/image_decode.h"
#include "data/source.h"
#include "data/transform.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "evaluation/model_eval.h"
#include "models/registry.h"
#include "tests/compare.h"
#include "tests/data_test_util.h"
#include "tests/test_util.h"

using namespace ptl;

namespace {
// The eval transform applied to each image by hand: the batch extract_features should see.
Tensor direct_batch(const std::vector<data::ReidItem>& items, const data::Transform& t) {
  Tensor x = Tensor::empty({static_cast<int64_t>(items.size()), 3, t.height, t.width});
  Generator unused(0);  // the eval transform draws nothing
  for (size_t i = 0; i < items.size(); ++i)
    t.apply(data::load_image(items[i].path), unused, x.data<float>() + i * 3 * t.height * t.width);
  return x;
}
}  // namespace

TEST_CASE(
    "ReID extraction gives every model's feature, flip-averaged and unit-norm; classification its "
    "logits",
    "[eval]") {
  test::TempDir dir;
  std::vector<data::ReidItem> items;
  for (int i = 0; i < 3; ++i) {
    items.push_back({dir.path() + "/img" + std::to_string(i) + ".jpg", i, 0});
    test::put_jpeg(items.back().path, i);
  }
  struct Case {
    std::string model;
    int64_t height, width, dim;  // the feature's dimension
  };
  for (const Case& c : {Case{"resnet20", 64, 32, 64}, Case{"ptl_resnet20", 64, 32, 64},
                        Case{"mgn", 96, 32, 2048}, Case{"mgn_ptl", 96, 32, 2048}}) {
    INFO(c.model);
    ModelOptions mo;
    mo.ptl.state_init = StateInit::Zeros;  // fresh BConv-Cell states without random draws
    manual_seed(1);
    std::shared_ptr<Model> model = make_model(c.model, 7, mo);
    const data::Transform t =
        data::Transform::eval(static_cast<int>(c.height), static_cast<int>(c.width));
    ExtractOptions eo;
    eo.batch = 2;  // two batches: rows stay in order across them
    eo.workers = 1;

    const Tensor got = extract_features(*model, data::make_source(items), t, eo);
    REQUIRE(got.shape() == Shape{3, c.dim});
    model->eval();
    NoGradGuard ng;
    const Tensor x = direct_batch(items, t);
    const Tensor want =
        l2_normalize(add(model->forward(x).feature, model->forward(flip(x, 3)).feature), 1);
    CHECK_WITHIN(got, want, (test::Bound{0, 1e-5}));
    for (int64_t r = 0; r < 3; ++r) {
      const Tensor row = narrow(got, 0, r, 1);
      CHECK(std::abs(sum(mul(row, row)).item() - 1.0) < 1e-5);
    }

    eo.retrieval = false;
    eo.flip = false;
    const Tensor logits = extract_features(*model, data::make_source(items), t, eo);
    REQUIRE(logits.shape() == Shape{3, 7});
    CHECK_WITHIN(logits, model->forward(x).logits.at(0), (test::Bound{0, 1e-5}));
  }
}

TEST_CASE("a PTL model extracts the same features wherever training's random stream stands",
          "[eval]") {
  // Evaluation-mode BConv-Cells start from fresh N(0, 0.001^2) states: drawn from evaluation's
  // own stream, so `ptl eval` reproduces the score a run logged during training.
  test::TempDir dir;
  std::vector<data::ReidItem> items;
  for (int i = 0; i < 2; ++i) {
    items.push_back({dir.path() + "/img" + std::to_string(i) + ".jpg", i, 0});
    test::put_jpeg(items.back().path, i);
  }
  manual_seed(2);
  std::shared_ptr<Model> model = make_model("ptl_resnet20", 5);
  const data::Transform t = data::Transform::eval(64, 32);
  ExtractOptions eo;
  eo.workers = 1;
  const std::vector<float> first =
      extract_features(*model, data::make_source(items), t, eo).to_vector();
  const uint64_t offset = default_generator().offset();
  randn({1000});  // training draws on
  REQUIRE(default_generator().offset() != offset);
  CHECK(extract_features(*model, data::make_source(items), t, eo).to_vector() == first);
  eo.seed = 1;  // another stream gives other fresh states
  CHECK(extract_features(*model, data::make_source(items), t, eo).to_vector() != first);
}

TEST_CASE("bf16 extraction runs the model on bf16 batches, their flips included", "[eval][bf16]") {
  test::TempDir dir;
  std::vector<data::ReidItem> items;
  for (int i = 0; i < 3; ++i) {
    items.push_back({dir.path() + "/img" + std::to_string(i) + ".jpg", i, 0});
    test::put_jpeg(items.back().path, i);
  }
  ModelOptions mo;
  mo.ptl.state_init = StateInit::Zeros;
  manual_seed(2);
  std::shared_ptr<Model> model = make_model("ptl_resnet20", 7, mo);  // the side branch reads x
  const data::Transform t = data::Transform::eval(64, 32);
  ExtractOptions eo;
  eo.batch = 2;
  eo.workers = 1;
  eo.precision = Precision::BF16;
  const Tensor got = extract_features(*model, data::make_source(items), t, eo);
  // The float32 images in bf16 precision: conv2d rounds them to the bf16 batch's values.
  model->eval();
  NoGradGuard ng;
  PrecisionScope bf16(Precision::BF16);
  const Tensor x = direct_batch(items, t);
  const Tensor want =
      l2_normalize(add(model->forward(x).feature, model->forward(flip(x, 3)).feature), 1);
  CHECK_WITHIN(got, want, (test::Bound{0, 1e-5}));
}
