// Every configuration in configs/ run as a user runs it, end to end: the network the trainer
// builds is `ptl info --config`'s, two training steps and an evaluation run, and a config that
// claims the release's recipe has the release's epoch. Fashion-MNIST configs train on Debian's
// real data; the others on small generated stand-ins in their dataset's layout.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "data/image_encode.h"
#include "data/reid_datasets.h"
#include "data/synth_reid.h"
#include "models/summary.h"
#include "tests/data_test_util.h"
#include "tests/skip.h"
#include "tests/test_util.h"
#include "train/experiment.h"
#include "train/study.h"
#include "train/task_data.h"
#include "train/trainer.h"

using namespace ptl;
namespace fs = std::filesystem;

namespace {
constexpr const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

// Market-1501 layout with `ids` / 2 training and test identities each (tiny images: the
// transform resizes).
std::string market(const std::string& root, int ids) {
  data::SynthOptions so;
  so.out = root;
  so.ids = ids;
  so.seed = 11;
  so.height = 32;
  so.width = 16;
  data::write_synth_reid(so);
  return root;
}

// MSMT17 V1 layout made from the Market stand-in: train/ and test/ with list files whose file
// names carry the camera in their third field.
std::string msmt17(const std::string& root, int ids) {
  const std::string src = market(root + "_market", ids);
  const std::pair<const char*, const char*> splits[] = {
      {"bounding_box_train", "train"}, {"query", "query"}, {"bounding_box_test", "gallery"}};
  int n = 0;  // a running number: query and gallery share test/
  for (const auto& [from, list] : splits) {
    const std::string folder = std::string(list) == "train" ? "train" : "test";
    std::string lines;
    for (const auto& e : fs::directory_iterator(src + "/" + from)) {
      int64_t pid = 0, cam = 0;
      if (!data::parse_market_name(e.path().filename().string(), pid, cam) || pid < 0) continue;
      char rel[96];
      std::snprintf(rel, sizeof rel, "%04lld/%04lld_%03d_%02lld_0303morning_0001_0.jpg",
                    static_cast<long long>(pid), static_cast<long long>(pid), n++,
                    static_cast<long long>(cam));
      fs::create_directories(fs::path(root + "/" + folder + "/" + rel).parent_path());
      fs::copy_file(e.path(), root + "/" + folder + "/" + rel);
      lines += std::string(rel) + " " + std::to_string(pid) + "\n";
    }
    data::write_file(root + "/list_" + list + ".txt", lines);
  }
  return root;
}

// CIFAR binaries with a few records per file (labels cycling through the classes): 300 training
// images, two full batches of the configs' 128.
std::string cifar(const std::string& root, bool cifar100) {
  fs::create_directories(root);
  auto records = [&](int n, int offset) {
    std::string b;
    for (int i = 0; i < n; ++i)
      b += test::cifar_record((i + offset) % (cifar100 ? 100 : 10), cifar100);
    return b;
  };
  if (cifar100) {
    data::write_file(root + "/train.bin", records(300, 0));
    data::write_file(root + "/test.bin", records(12, 3));
  } else {
    for (int k = 1; k <= 5; ++k)
      data::write_file(root + "/data_batch_" + std::to_string(k) + ".bin", records(60, k));
    data::write_file(root + "/test_batch.bin", records(12, 0));
  }
  return root;
}

// Stand-in data in the layout of `format` under `dir` (ReID: `ids` identities, half of them for
// training); the real Fashion-MNIST for its formats.
std::string stand_in(const std::string& format, const std::string& dir, int ids) {
  if (format == "market1501" || format == "dukemtmc") return market(dir + "/" + format, ids);
  if (format == "cuhk03-detected" || format == "cuhk03-labeled") {
    market(dir + "/cuhk03/" + format.substr(7),
           ids);  // CUHK03-NP: <root>/detected or <root>/labeled
    return dir + "/cuhk03";
  }
  if (format == "msmt17") return msmt17(dir + "/msmt17", ids);
  if (format == "cifar10" || format == "cifar100")
    return cifar(dir + "/" + format, format == "cifar100");
  if (format == "fashion-mnist" || format == "mnist") return kFashionMnist;
  FAIL("no stand-in data for data.format " << format);
  return "";
}

int64_t number_after(const std::string& text, const std::string& key) {
  std::smatch m;
  REQUIRE(std::regex_search(text, m, std::regex(key + ": ([0-9]+)")));
  return std::stoll(m[1]);
}
}  // namespace

namespace {
bool is_fashion_mnist(const std::string& config) {
  const std::string format = Config::from_file(config).str("data.format");
  return format == "fashion-mnist" || format == "mnist";
}

// The files of configs/ that train on Debian's Fashion-MNIST (`fashion`) or on the others.
std::vector<std::string> config_files(bool fashion) {
  std::vector<std::string> configs;
  for (const auto& e : fs::directory_iterator(std::string(PTL_SOURCE_DIR) + "/configs"))
    if (is_fashion_mnist(e.path()) == fashion) configs.push_back(e.path());
  std::sort(configs.begin(), configs.end());
  return configs;
}

void check_config(const std::string& path) {
  INFO(path);
  test::TempDir dir;
  Config cfg = Config::from_file(path);
  const std::string format = cfg.str("data.format");
  if ((format == "fashion-mnist" || format == "mnist") && !fs::exists(kFashionMnist))
    PTL_SKIP(kFashionMnist << " is missing (apt-get install dataset-fashion-mnist)");
  // ReID: 4 training identities for the release's sampler with P = 4 (one whole batch per epoch:
  // it drops a short one), 2P for the others (the demo's P = 8: several batches).
  const bool release = cfg.str("data.sampler") == "pk_release";
  const std::string root =
      stand_in(format, dir.path(), release ? 8 : 4 * static_cast<int>(cfg.integer("data.p")));
  cfg.set("data.root", root);
  cfg.set("train.out", dir.path() + "/run");
  cfg.set("model.pretrained",
          "");  // torchvision weights are not shipped (tests/test_train_loop.cpp maps them)
  cfg.set("data.workers", "2");
  // Two steps: two whole epochs of the release's sampler (one batch each), or two capped
  // iterations of the others.
  cfg.set("train.epochs", release ? "2" : "1");
  cfg.set("train.max_iters_per_epoch", release ? "0" : "2");
  cfg.set("train.eval_every", "0");
  // CPU time: the 384x128 and 256x128 ReID inputs shrink to a quarter per side (a 16th of the
  // work; MGN at 384x128 takes about a minute per configuration here); `ptl info` gets the same.
  std::string size;
  if (cfg.integer("data.height") > 128) {
    size = str(" data.height=", cfg.integer("data.height") / 4,
               " data.width=", cfg.integer("data.width") / 4);
    cfg.set("data.height", std::to_string(cfg.integer("data.height") / 4));
    cfg.set("data.width", std::to_string(cfg.integer("data.width") / 4));
  }
  // A study shipped as one file: every arm's and the source stage's overrides are valid keys
  // and values of this config.
  for (const std::string& text : cfg.string_list("study.arms")) {
    Config arm = cfg;
    for (const std::string& kv : parse_arm(text).overrides) arm.apply_override(kv);
  }
  Config source = cfg;
  for (const std::string& kv : cfg.string_list("study.pretrain")) source.apply_override(kv);
  Trainer t(cfg);

  // The network: what `ptl info --config` describes.
  const ModelSummary built = summarize(
      t.model(), {format_channels(format), cfg.integer("data.height"), cfg.integer("data.width")});
  const auto info = test::run_ptl("info --config " + path + " --num-classes " +
                                  std::to_string(t.experiment().data().num_classes) +
                                  " data.root=" + root + size);
  REQUIRE(info.rc == 0);
  CHECK(number_after(info.out, "parameters") == built.parameters);
  CHECK(number_after(info.out, "macs") == built.macs);

  // ReID configs other than the demo's claim the release's recipe, and so its epoch.
  const bool claims_release =
      t.experiment().data().reid && cfg.str("model.name").find("resnet20") == std::string::npos;
  CHECK(release == claims_release);

  const TrainSummary s = t.run();
  CHECK(s.steps == 2);
  CHECK(s.last.reid == t.experiment().data().reid);
  CHECK(s.last.main() >= 0);
  CHECK(s.last.main() <= 100);
  // The one evaluation's weights are best.safetensors: `ptl eval`'s path (a fresh experiment
  // loading them) gives the logged final score exactly (evaluation has its own seeded stream).
  REQUIRE(fs::exists(dir.path() + "/run/best.safetensors"));
  Experiment again(cfg);
  again.load_weights(dir.path() + "/run/best.safetensors");
  const ModelScore e = again.evaluate();
  CHECK(e.reid == s.last.reid);
  CHECK(e.mAP == s.last.mAP);
  CHECK(e.rank1 == s.last.rank1);
  CHECK(e.rank5 == s.last.rank5);
  CHECK(e.mINP == s.last.mINP);
  CHECK(e.accuracy == s.last.accuracy);
}
}  // namespace

TEST_CASE(
    "every configuration in configs/ builds ptl info's network, trains two steps and evaluates",
    "[recipe]") {
  REQUIRE(config_files(false).size() + config_files(true).size() == 21);
  check_config(GENERATE(from_range(config_files(false))));  // once per file
}

// Apart, so that a machine without the dataset reports these as skipped and the rest as run.
TEST_CASE("the Fashion-MNIST configurations build, train two steps and evaluate",
          "[recipe][fashion_mnist]") {
  REQUIRE(config_files(true).size() == 3);
  check_config(GENERATE(from_range(config_files(true))));
}

// The Market-1501 configs' networks (751 classes, the configs' model options) against parameter
// counts from outside ptl, since `ptl info` and the trainer share model_options and summarize.
//
// torchvision 0.14.1 (Debian's, /usr/bin/python3):
//   python3 -c "import torch.nn as nn, torchvision; n=lambda m: sum(p.numel() for p in
//   m.parameters()); b=torchvision.models.resnet50(); b.fc=nn.Identity(); print(n(b),
//   n(nn.Conv2d(2048,256,1,bias=False))+n(nn.BatchNorm2d(256)), n(nn.Linear(256,751)))"
//   -> 23508032 524800 193007: ResNet-50 without fc; MGN's reduction (1x1 conv without bias, BN);
//   a 751-class classifier.
// The authors' release (github.com/ZJULearning/PTL at 699d47b), random init on CPU with Debian's
// torch 1.13, in a copy with `pretrained=True` made False in mgn.py and mgn_ptl.py:
//   python3 -c "from mgn import MGN; from mgn_ptl import MGN_PTL; n=lambda m: sum(p.numel() for p
//   in m.parameters()); a=MGN(); b=MGN_PTL(); r=b.backbone; p=b.ptl; print(n(a), n(b),
//   n(b)-n(r.fc)-n(r.layer3[1:])-n(r.layer4), n(p)-n(p.bconv7)-n(p.bconv8), n(b.reduction))"
//   -> 66678200 103487648 80887992 9458176 557824
// MGN_PTL keeps the whole torchvision ResNet-50 as `backbone` but its forward uses only the stem,
// layer1, layer2 and layer3[0] of it (p1..p3 run deep copies of layer3[1:] and layer4); the fc,
// layer3[1:] and layer4 it holds get no gradient (a backward through a 384x128 forward leaves
// exactly those 22599656 parameters without one). ptl builds no unused weights, so its MGN-PTL
// is the release's used count, 80887992, not the module's 103487648.
// The PTL-ResNet-50 has no release model: its side branch is the release's PTL module with one
// head cell (bconv6) instead of three (bconv7, bconv8 serve MGN's p2, p3): 9458176; its head is
// the release MGN_PTL's reduction (2048 + 128 -> 256 with bias, BN) and a classifier.
TEST_CASE("the Market-1501 configs' networks have torchvision's and the release's parameter counts",
          "[recipe][params]") {
  constexpr int64_t kResNet50NoFc = 23508032, kMgnReduction = 524800, kClassifier751 = 193007;
  constexpr int64_t kReleaseMgn = 66678200, kReleaseMgnPtlUsed = 80887992;
  constexpr int64_t kReleaseSideOneHead = 9458176, kReleasePtlReduction = 557824;
  const std::pair<const char*, int64_t> expected[] = {
      {"market1501_resnet50.yaml", kResNet50NoFc + kMgnReduction + kClassifier751},
      {"market1501_ptl_resnet50.yaml",
       kResNet50NoFc + kReleaseSideOneHead + kReleasePtlReduction + kClassifier751},
      {"market1501_mgn.yaml", kReleaseMgn},
      {"market1501_mgn_ptl.yaml", kReleaseMgnPtlUsed},
  };
  for (const auto& [file, count] : expected) {
    INFO(file);
    const Settings s =
        read_settings(Config::from_file(std::string(PTL_SOURCE_DIR) + "/configs/" + file));
    const auto model = make_model(s.model.name, 751, model_options(s.model, true, 3));
    CHECK(model->parameter_count() == count);
  }
}
