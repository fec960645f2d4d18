// Models without PyTorch: parameter counts, output shapes, input geometry errors, the BConv-Cell
// state options, the baseline without side branch, key mappings and bad weights files.
#include <algorithm>
#include <cmath>
#include <fstream>

#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "models/mgn.h"
#include "models/registry.h"
#include "models/release_keys.h"
#include "models/summary.h"
#include "test_util.h"

using namespace ptl;
using Catch::Contains;

TEST_CASE("parameter counts equal docs/method.md's", "[models]") {
  CHECK(make_model("resnet50", 1000)->parameter_count() == 25557032);
  CHECK(make_model("resnet50", 751)->parameter_count() == 25046831);
  CHECK(make_model("mgn", 751)->parameter_count() == 66678200);
  CHECK(make_model("mgn_ptl", 751)->parameter_count() == 80887992);
  ModelOptions base;
  base.ptl.side_branch = false;
  CHECK(make_model("mgn_ptl", 751, base)->parameter_count() == 66678200);  // the baseline is MGN
}

TEST_CASE("the side branch is wired with the release's names and shapes", "[models]") {
  const TensorMap s = make_model("ptl_resnet50", 751)->state_dict();
  CHECK(s.at("ptl.bconv1.gates.weight").shape() == Shape{64, 3, 3, 3});
  CHECK(s.at("ptl.fuse1.0.weight").shape() == Shape{64, 96, 1, 1});
  CHECK(s.at("ptl.fuse4.0.weight").shape() == Shape{512, 1536, 1, 1});
  CHECK(s.at("ptl.bconv5.gates.weight").shape() == Shape{2048, 256, 3, 3});
  CHECK(s.at("ptl.bconv6.gates.weight").shape() == Shape{512, 512, 3, 3});
  CHECK(s.count("ptl.bconv7.gates.weight") == 0);
  CHECK(s.at("reduction.0.weight").shape() == Shape{256, 2176, 1, 1});
  CHECK(s.count("reduction.0.bias") == 1);
  CHECK(s.count("backbone.fc.weight") == 0);
}

TEST_CASE("CIFAR models take 32x32 and 1-channel 28x28 inputs", "[models]") {
  manual_seed(3);
  for (const char* name : {"resnet20", "ptl_resnet20"}) {
    for (int64_t c : {3, 1}) {
      ModelOptions opt;
      opt.in_channels = c;
      auto m = make_model(name, 10, opt);
      const int64_t hw = c == 3 ? 32 : 28;
      ModelOutput out = m->forward(randn({2, c, hw, hw}));
      INFO(name << " " << c << "x" << hw);
      CHECK(out.logits.at(0).shape() == Shape{2, 10});
      CHECK(out.feature.shape() == Shape{2, 64});
      CHECK(m->main_output(out).shape() == Shape{2, 10});
    }
  }
}

TEST_CASE("BConv-Cell state options reach every cell; the baseline has no side branch",
          "[models]") {
  manual_seed(4);
  Tensor x = randn({2, 3, 32, 32});
  auto logits = [&](StateMode mode) {
    ModelOptions opt;
    opt.ptl.state_mode = mode;
    opt.ptl.state_init = StateInit::Zeros;
    manual_seed(5);
    auto m = make_model("ptl_resnet20", 10, opt);
    NoGradGuard ng;
    std::vector<float> a = m->forward(x).logits[0].to_vector(),
                       b = m->forward(x).logits[0].to_vector();
    return a == b;  // the second batch sees the first one's state only when carried
  };
  CHECK_FALSE(logits(StateMode::Carry));
  CHECK(logits(StateMode::ResetEveryBatch));

  ModelOptions base;
  base.ptl.side_branch = false;
  const TensorMap s = make_model("ptl_resnet20", 10, base)->state_dict();
  for (auto& [k, t] : s) CHECK(k.rfind("ptl.", 0) != 0);
  CHECK(s.count("reduction.0.bias") == 0);
}

TEST_CASE("MGN and MGN-PTL start as the release's: classifier fans, fuse batch-norm weights",
          "[models]") {
  // Sample mean and standard deviation.
  auto stats = [](const std::vector<float>& v) {
    double sum = 0, sq = 0;
    for (float x : v) sum += x;
    const double mean = sum / static_cast<double>(v.size());
    for (float x : v) sq += (x - mean) * (x - mean);
    return std::pair<double, double>{mean, std::sqrt(sq / static_cast<double>(v.size()))};
  };
  manual_seed(3);
  // Kaiming-normal std sqrt(2 / fan): MGN (mgn.py) takes fan_out = 751 classes, MGN_PTL fan_in =
  // 256 features. 192,256 draws: the sample std is within 1% (6 standard errors).
  const TensorMap mgn = make_model("mgn", 751)->state_dict();
  const TensorMap mgn_ptl = make_model("mgn_ptl", 751)->state_dict();
  for (const std::string& fc : MGN::classifier_names()) {
    CHECK(stats(mgn.at(fc + ".weight").to_vector()).second ==
          Approx(std::sqrt(2.0 / 751)).epsilon(0.01));
    CHECK(stats(mgn_ptl.at(fc + ".weight").to_vector()).second ==
          Approx(std::sqrt(2.0 / 256)).epsilon(0.01));
  }
  // The fuse batch norms' weights: U(0, 1), PyTorch 0.4.1's default (the release's); 960 draws
  // in all, mean 0.5 within 0.05 (5 standard errors). ptl's own PTL-ResNets keep weight 1.
  std::vector<float> fuse;
  for (int k = 1; k <= 4; ++k) {
    const std::vector<float> w =
        mgn_ptl.at("ptl.fuse" + std::to_string(k) + ".1.weight").to_vector();
    fuse.insert(fuse.end(), w.begin(), w.end());
  }
  REQUIRE(fuse.size() == 960);
  CHECK(*std::min_element(fuse.begin(), fuse.end()) >= 0.0f);
  CHECK(*std::max_element(fuse.begin(), fuse.end()) < 1.0f);
  CHECK(stats(fuse).first == Approx(0.5).margin(0.05));
  const std::vector<float> own =
      make_model("ptl_resnet50", 751)->state_dict().at("ptl.fuse1.1.weight").to_vector();
  CHECK(std::all_of(own.begin(), own.end(), [](float w) { return w == 1.0f; }));
}

TEST_CASE("MGN rejects input sizes its stripes cannot divide, naming the branch", "[models]") {
  auto m = make_model("mgn", 10);
  NoGradGuard ng;
  m->eval();
  CHECK_THROWS_WITH(m->forward(zeros({1, 3, 64, 32})),
                    Contains("p3") && Contains("not divisible into 3"));
  CHECK_THROWS_WITH(m->forward(zeros({1, 1, 96, 32})), Contains("expects input (N, 3, H, W)"));
  CHECK_THROWS_WITH(make_model("mgn_ptl2", 10), Contains("unknown model") && Contains("mgn_ptl"));
}

TEST_CASE("release and torchvision key layouts map onto MGN", "[models]") {
  manual_seed(6);
  auto mgn = make_model("mgn", 751);
  // A release-style checkpoint: our keys, DataParallel's "module." prefix, the unused copies.
  TensorMap release;
  for (auto& [k, t] : mgn->state_dict()) release["module." + k] = t.clone();
  release["module.backbone.layer4.0.conv1.weight"] = zeros({512, 1024, 1, 1});
  release["module.backbone.layer3.3.bn1.weight"] = zeros({256});
  release["module.backbone.fc.weight"] = zeros({1000, 2048});
  MappedState m = adapt_state_dict(release, "mgn");
  CHECK(m.ignored.size() == 3);
  CHECK_THAT(m.notice(),
             Contains("ignored 3 keys") && Contains("backbone.layer4") && Contains("backbone.fc"));
  auto other = make_model("mgn", 751);
  other->load_state_dict(m.state);  // strict
  CHECK(other->state_dict().at("p2.1.0.conv2.weight").to_vector() ==
        mgn->state_dict().at("p2.1.0.conv2.weight").to_vector());

  // torchvision ResNet-50 -> MGN: layer3[1+k] -> p*.0.k, layer4 -> p*.1 (stride 1 or 2 alike).
  const TensorMap tv = make_model("resnet50", 1000)->state_dict();
  MappedState t = adapt_state_dict(tv, "mgn");
  CHECK(t.ignored == std::vector<std::string>{"fc.bias", "fc.weight"});
  Module::LoadReport r = other->load_state_dict(t.state, /*strict=*/false);
  CHECK(r.unexpected.empty());
  CHECK(r.mismatched.empty());
  for (const std::string& k : r.missing)
    CHECK((k.rfind("reduction.", 0) == 0 || k.rfind("fc_id_", 0) == 0));
  const TensorMap got = other->state_dict();
  CHECK(got.at("p3.1.0.conv2.weight").to_vector() == tv.at("layer4.0.conv2.weight").to_vector());
  CHECK(got.at("p1.0.4.conv1.weight").to_vector() == tv.at("layer3.5.conv1.weight").to_vector());
  CHECK(got.at("backbone.layer3.0.downsample.0.weight").to_vector() ==
        tv.at("layer3.0.downsample.0.weight").to_vector());
}

TEST_CASE("a release MGN checkpoint (mgn.py's Sequential backbone) loads into MGN", "[models]") {
  manual_seed(8);
  auto mgn = make_model("mgn", 751);
  // mgn.py: backbone = nn.Sequential(conv1, bn1, relu, maxpool, layer1, layer2, layer3[0]).
  const std::pair<std::string, std::string> seq[] = {{"backbone.conv1.", "backbone.0."},
                                                     {"backbone.bn1.", "backbone.1."},
                                                     {"backbone.layer1.", "backbone.4."},
                                                     {"backbone.layer2.", "backbone.5."},
                                                     {"backbone.layer3.0.", "backbone.6."}};
  for (const char* prefix : {"", "module."}) {  // saved alone, or from nn.DataParallel
    TensorMap release;
    for (auto& [k, t] : mgn->state_dict()) {
      std::string key = k;
      for (const auto& [ours, theirs] : seq)
        if (k.rfind(ours, 0) == 0) key = theirs + k.substr(ours.size());
      release[prefix + key] = t.clone();
    }
    REQUIRE(release.count(std::string(prefix) + "backbone.4.0.conv1.weight") == 1);
    REQUIRE(release.count(std::string(prefix) + "backbone.6.downsample.1.running_var") == 1);
    MappedState m = adapt_state_dict(release, "mgn");
    CHECK(m.ignored.empty());
    auto other = make_model("mgn", 751);
    other->load_state_dict(m.state);  // strict: every key of ours, no other
    for (const char* k : {"backbone.conv1.weight", "backbone.bn1.running_mean",
                          "backbone.layer1.2.conv3.weight", "backbone.layer2.3.bn2.weight",
                          "backbone.layer3.0.downsample.0.weight", "p1.0.0.conv1.weight"})
      CHECK(other->state_dict().at(k).to_vector() == mgn->state_dict().at(k).to_vector());
  }
}

TEST_CASE("bad weights give clear errors", "[models]") {
  manual_seed(7);
  auto model = make_model("ptl_resnet20", 10);
  const TensorMap good = model->state_dict();
  SECTION("wrong shape") {
    TensorMap bad = good;
    bad["fc.weight"] = zeros({11, 64});
    CHECK_THROWS_WITH(model->load_state_dict(bad),
                      Contains("fc.weight") && Contains("(10, 64)") && Contains("(11, 64)"));
  }
  SECTION("missing key") {
    TensorMap bad = good;
    bad.erase("ptl.bconv3.gates.weight");
    CHECK_THROWS_WITH(model->load_state_dict(bad),
                      Contains("missing keys") && Contains("ptl.bconv3.gates.weight"));
  }
  SECTION("wrong dtype") {
    TensorMap bad = good;
    bad["ptl.fuse1.0.bias"] = zeros({16}, DType::I64);
    CHECK_THROWS_WITH(model->load_state_dict(bad),
                      Contains("ptl.fuse1.0.bias") && Contains("int64"));
  }
  SECTION("truncated file") {
    test::TempDir dir;
    const std::string path = dir.path() + "/w.safetensors";
    save_safetensors(path, good);
    std::string bytes;
    {
      std::ifstream f(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
    CHECK_THROWS_WITH(load_safetensors(path), Contains(path));
  }
}

TEST_CASE("summary counts MACs from the autograd graph", "[models]") {
  auto m = make_model("resnet20", 10);
  const ModelSummary s = summarize(*m, {3, 32, 32});
  CHECK(s.parameters == m->parameter_count());
  // conv1: 16 x 32 x 32 outputs x 27 products; fc: 10 x 64.
  CHECK(s.layers.front().name == "conv1");
  CHECK(s.layers.front().macs == 16 * 32 * 32 * 27);
  CHECK(s.layers.back().name == "fc");
  CHECK(s.layers.back().macs == 640);
  int64_t total = 0;
  for (const auto& l : s.layers) total += l.macs;
  CHECK(total == s.macs);
}
