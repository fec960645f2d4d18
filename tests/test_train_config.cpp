// Configs (YAML + overrides, unknown keys rejected) and atomic checkpoints.
#include <catch2/catch.hpp>

#include <algorithm>

#include <filesystem>
#include <fstream>

#include "data/class_datasets.h"
#include "data/reid_datasets.h"
#include "engine/ops.h"
#include "models/registry.h"
#include "tests/test_util.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/scheduler.h"
#include "train/settings.h"

using namespace ptl;
using Catch::Contains;
using Catch::Equals;

TEST_CASE("configs merge defaults, YAML and overrides, and reject unknown keys", "[config]") {
  Config c = Config::from_yaml(
      "model:\n  name: mgn_ptl\noptim:\n  lr: 3.5e-4\nschedule:\n  milestones: [10, 20]\n",
      "x.yaml");
  CHECK(c.str("model.name") == "mgn_ptl");
  CHECK(c.number("optim.lr") == 3.5e-4);
  CHECK(c.int_list("schedule.milestones") == std::vector<int64_t>{10, 20});
  CHECK(c.integer("data.p") == 4);  // default
  c.apply_override("train.epochs=7");
  c.apply_override("model.freeze=[conv1, layer1]");
  CHECK(c.integer("train.epochs") == 7);
  CHECK(c.string_list("model.freeze") == std::vector<std::string>{"conv1", "layer1"});
  CHECK_THROWS_WITH(Config::from_yaml("optim:\n  lrr: 1\n", "typo.yaml"),
                    Contains("typo.yaml: unknown config key 'optim.lrr'"));
  CHECK_THROWS_WITH(c.apply_override("epochs"), Contains("key=value"));
  CHECK_THROWS_WITH(Config::from_yaml("a: [", "bad.yaml"), Contains("bad.yaml: invalid YAML"));
  // The effective config round-trips through its YAML.
  Config back = Config::from_yaml(c.to_yaml(true), "effective");
  CHECK(back.to_yaml() == c.to_yaml());
}

TEST_CASE(
    "every value is checked when it is read: allowed values, ranges and types, naming file and key",
    "[config]") {
  // What a new user tried: each quietly trained before.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"data.sampler=shufle", "data.sampler = 'shufle': allowed: pk, pk_release, shuffle"},
      {"optim.lr=-0.01", "optim.lr = '-0.01': must be a number > 0"},
      {"data.flip=2", "data.flip = '2': must be a number from 0 to 1"},
      {"data.erasing=1.5", "data.erasing = '1.5': must be a number from 0 to 1"},
      {"loss.margin=-1", "loss.margin = '-1': must be a number >= 0"},
      {"train.epochs=0", "train.epochs = '0': must be an integer >= 1"},
      {"train.epochs=many", "train.epochs = 'many': must be an integer"},
      {"model.name=resnet51", "model.name = 'resnet51': allowed: resnet18, resnet34, resnet50"},
      {"data.format=market1510", "data.format = 'market1510': not a dataset format"},
      {"device=gpu", "device = 'gpu': allowed: cpu, cuda, cuda:N"},
      {"schedule.milestones=[a]", "schedule.milestones = '[a]': must be a list of integers"},
      {"eval.flip=maybe", "eval.flip = 'maybe': must be true or false"}};
  for (const auto& [kv, message] : bad) {
    Config c;
    CHECK_THROWS_WITH(c.apply_override(kv), Contains("override: " + message));
  }
  // From a file (through `base:` too), the message names the file that set the value.
  test::TempDir dir;
  std::ofstream(dir.path() + "/base.yaml") << "optim:\n  name: adma\n";
  std::ofstream(dir.path() + "/top.yaml") << "base: base.yaml\ntrain:\n  epochs: 3\n";
  CHECK_THROWS_WITH(
      Config::from_file(dir.path() + "/top.yaml"),
      Contains(dir.path() + "/base.yaml: optim.name = 'adma': allowed: adam, adamw, sgd"));
  // ptl train prints it as one line.
  const auto r = test::run_ptl("train --config " + dir.path() + "/top.yaml");
  CHECK(r.rc != 0);
  CHECK(r.out == "ptl: error: " + dir.path() +
                     "/base.yaml: optim.name = 'adma': allowed: adam, adamw, sgd\n");
  std::ofstream(dir.path() + "/range.yaml") << "data:\n  flip: 1.5\n";
  CHECK(test::run_ptl("train --config " + dir.path() + "/range.yaml").out ==
        "ptl: error: " + dir.path() +
            "/range.yaml: data.flip = '1.5': must be a number from 0 to 1\n");
  std::ofstream(dir.path() + "/typo.yaml") << "data:\n  flipp: 0.5\n";
  CHECK(test::run_ptl("train --config " + dir.path() + "/typo.yaml").out ==
        "ptl: error: " + dir.path() +
            "/typo.yaml: unknown config key 'data.flipp'; did you mean 'data.flip'? keys under "
            "data: format, root, "
            "height, width, sampler, p, k, batch_size, workers, flip, pad, erasing, classes, "
            "per_class, on_bad_image, msmt17_train_val "
            "(ptl train --help "
            "explains each)\n");
  // A section that does not exist lists the sections; a key far from every declared one
  // suggests none.
  Config c;
  CHECK_THROWS_WITH(
      c.apply_override("optimizer.lr=1"),
      Equals(
          "override: unknown config key 'optimizer.lr'; allowed at the top level: seed, threads, "
          "memory_limit_mb, device, tf32, cudnn_heuristics, model, data, optim, schedule, loss, "
          "train, eval, dist, study (ptl train --help explains each)"));
}

namespace {
// The typed settings of the defaults with `overrides` applied (key=value each).
Settings read(const std::vector<std::string>& overrides) {
  Config c;
  for (const std::string& o : overrides) c.apply_override(o);
  return read_settings(c);
}
}  // namespace

TEST_CASE("typed settings: each choice is the enum of the same name, each number its field",
          "[config]") {
  CHECK(read({"model.ptl=carry"}).model.ptl == PtlMode::Carry);
  CHECK(read({"model.ptl=reset_every_batch"}).model.ptl == PtlMode::ResetEveryBatch);
  CHECK(read({"model.ptl=off"}).model.ptl == PtlMode::Off);
  CHECK(read({"model.ptl=release"}).model.ptl == PtlMode::Release);
  CHECK(read({"model.state_init=normal"}).model.state_init == StateInit::Normal);
  CHECK(read({"model.state_init=zeros"}).model.state_init == StateInit::Zeros);
  CHECK(read({"model.last_stride=auto"}).model.last_stride == 0);
  CHECK(read({"model.last_stride=1"}).model.last_stride == 1);
  CHECK(read({"model.last_stride=2"}).model.last_stride == 2);
  CHECK(read({"data.sampler=pk"}).data.sampler == Sampler::Pk);
  CHECK(read({"data.sampler=pk_release"}).data.sampler == Sampler::PkRelease);
  CHECK(read({"data.sampler=shuffle"}).data.sampler == Sampler::Shuffle);
  CHECK(read({"data.on_bad_image=error"}).data.on_bad_image == data::OnBad::Error);
  CHECK(read({"data.on_bad_image=skip"}).data.on_bad_image == data::OnBad::Skip);
  CHECK(read({"optim.name=adam"}).optim.kind == OptimKind::Adam);
  CHECK(read({"optim.name=adamw"}).optim.kind == OptimKind::AdamW);
  CHECK(read({"optim.name=sgd"}).optim.kind == OptimKind::Sgd);
  CHECK(read({"schedule.kind=multistep"}).schedule.kind == ScheduleKind::Multistep);
  CHECK(read({"schedule.kind=cosine"}).schedule.kind == ScheduleKind::Cosine);
  CHECK(read({"schedule.kind=constant"}).schedule.kind == ScheduleKind::Constant);
  CHECK(read({"loss.kind=mgn"}).loss.kind == LossKind::Mgn);
  CHECK(read({"loss.kind=ce"}).loss.kind == LossKind::Ce);
  CHECK(read({"loss.kind=ce_triplet"}).loss.kind == LossKind::CeTriplet);
  CHECK(read({"eval.metric=euclidean"}).eval.metric == Metric::Euclidean);
  CHECK(read({"eval.metric=sqeuclidean"}).eval.metric == Metric::SqEuclidean);
  CHECK(read({"eval.metric=cosine"}).eval.metric == Metric::Cosine);
  const Settings s =
      read({"seed=7", "device=cpu", "data.p=6", "data.flip=0.25", "optim.lr=3e-4",
            "schedule.milestones=[5, 9]", "train.out=runs/x", "model.freeze=[conv1, bn1]"});
  CHECK(s.seed == 7);
  CHECK(s.device.device.is_cpu());
  CHECK(s.data.p == 6);
  CHECK(s.data.flip == 0.25);
  CHECK(s.optim.lr == 3e-4);
  CHECK(s.schedule.milestones == std::vector<int64_t>{5, 9});
  CHECK(s.train.out == "runs/x");
  CHECK(s.model.freeze == std::vector<std::string>{"conv1", "bn1"});
}

TEST_CASE("train.cuda_graphs is refused where a graph cannot replay the step, naming the key",
          "[config]") {
  CHECK_FALSE(read({}).train.cuda_graphs);  // off by default
  CHECK(read({"device=cuda", "train.cuda_graphs=true"}).train.cuda_graphs);
  CHECK(read({"device=cuda", "model.ptl=off", "train.cuda_graphs=true"}).train.cuda_graphs);
  CHECK_THROWS_WITH(read({"train.cuda_graphs=true"}),
                    Equals("config: train.cuda_graphs replays CUDA graphs and needs device: cuda "
                           "(device is cpu); set train.cuda_graphs=false"));
  for (const char* mode : {"reset_every_batch", "release"})
    CHECK_THROWS_WITH(
        read({"device=cuda", str("model.ptl=", mode), "train.cuda_graphs=true"}),
        Equals(str("config: train.cuda_graphs needs model.ptl carry or off (model.ptl=", mode,
                   " draws fresh BConv-Cell states on the host every batch, which a graph "
                   "cannot replay); set train.cuda_graphs=false")));
}

TEST_CASE("learning-rate schedules: multistep, cosine and warm-up", "[config]") {
  ScheduleSpec s;
  s.milestones = {3, 5};
  CHECK(lr_factor(s, 2, 0) == 1.0);
  CHECK(lr_factor(s, 3, 0) == Approx(0.1));
  CHECK(lr_factor(s, 9, 0) == Approx(0.01));
  s.warmup_iters = 10;
  CHECK(lr_factor(s, 0, 0) == Approx(0.1));
  CHECK(lr_factor(s, 0, 5) == Approx(0.55));
  CHECK(lr_factor(s, 0, 10) == 1.0);
  ScheduleSpec cos;
  cos.kind = ScheduleKind::Cosine;
  cos.t_max = 10;
  CHECK(lr_factor(cos, 0, 0) == 1.0);
  CHECK(lr_factor(cos, 5, 0) == Approx(0.5));
  CHECK(lr_factor(cos, 10, 0) == Approx(0.0).margin(1e-12));
}

TEST_CASE("checkpoints round-trip, are pruned, and a failed write keeps the previous one",
          "[checkpoint]") {
  test::TempDir dir;
  Checkpoint c;
  c.model["fc.weight"] = reshape(arange(6), {2, 3});
  c.optim["g0.p0.exp_avg"] = ones({2, 3});
  c.rng["global"] = {42, 1234567890123ull};
  c.epoch = 3;
  c.step = 300;
  c.best = 0.625;
  c.config_yaml = "seed: 1\n";
  const std::string path = dir.path() + "/" + checkpoint_name(3, 300);
  save_checkpoint(path, c);
  Checkpoint r = load_checkpoint(path);
  CHECK(r.model["fc.weight"].to_vector() == c.model["fc.weight"].to_vector());
  CHECK(r.optim.count("g0.p0.exp_avg") == 1);
  CHECK(r.rng["global"] == c.rng["global"]);
  CHECK((r.epoch == 3 && r.step == 300 && r.best == 0.625 && r.config_yaml == "seed: 1\n"));

  for (int e = 4; e <= 7; ++e) save_checkpoint(dir.path() + "/" + checkpoint_name(e, e * 100), c);
  prune_checkpoints(dir.path(), 2);
  auto left = list_checkpoints(dir.path());
  REQUIRE(left.size() == 2);
  CHECK(left[1].find(checkpoint_name(7, 700)) != std::string::npos);

  {
    test::FileSizeLimit full_disk(1024);
    c.model["big"] = zeros({100000});
    CHECK_THROWS_WITH(save_checkpoint(left[1], c), Contains("write failed"));
  }
  CHECK(load_checkpoint(left[1]).model.count("big") == 0);  // the old checkpoint is intact
  std::ofstream(dir.path() + "/weights.safetensors", std::ios::binary)
      << serialize_safetensors({{"w", ones({1})}});
  CHECK_THROWS_WITH(load_checkpoint(dir.path() + "/weights.safetensors"),
                    Contains("not a ptl checkpoint"));
}

TEST_CASE("every shipped config parses, names a known model and a known dataset format",
          "[config]") {
  int n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(PTL_SOURCE_DIR) + "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().string());
    Config c = Config::from_file(e.path().string());
    const auto& names = model_names();
    CHECK(std::find(names.begin(), names.end(), c.str("model.name")) != names.end());
    data::ReidFormat rf;
    data::ClassFormat cf;
    CHECK((data::parse_reid_format(c.str("data.format"), rf) ||
           data::parse_class_format(c.str("data.format"), cf)));
    CHECK(c.integer("train.epochs") > 0);
    ++n;
  }
  CHECK(n >= 19);
  // `base` chains: MGN-PTL on Duke = Market MGN recipe + Duke data + the side branch.
  Config duke = Config::from_file(std::string(PTL_SOURCE_DIR) + "/configs/dukemtmc_mgn_ptl.yaml");
  CHECK(duke.str("model.name") == "mgn_ptl");
  CHECK(duke.str("data.format") == "dukemtmc");
  CHECK(duke.number("optim.lr") == 2e-4);
  CHECK(duke.int_list("schedule.milestones") == std::vector<int64_t>{320, 360});
}
