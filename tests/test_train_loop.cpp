// The trainer end to end on a tiny synthetic ReID set: exact resume (at an epoch boundary and
// mid-epoch after SIGINT), the NaN stop, failed checkpoint writes, the best model, and
// pretrained torchvision weights mapped into MGN-PTL's branches, and the network it builds.
#include <catch2/catch.hpp>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "data/image_encode.h"
#include "data/loader.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/safetensors.h"
#include "engine/storage.h"
#include "layers/bconv_cell.h"
#include "models/registry.h"
#include "models/summary.h"
#include "tests/data_test_util.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {
Config tiny(const std::string& out, int64_t epochs) {
  return test::tiny_run_config(out, epochs);
}

using test::file_text;

std::vector<float> weights(Trainer& t) {
  std::vector<float> all;
  for (auto& [name, p] : t.model().named_parameters()) {
    std::vector<float> v = p.to_vector();
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}
}  // namespace

TEST_CASE("4 epochs in one run equal 2 epochs, stop, resume, 2 epochs, bit for bit", "[train]") {
  test::TempDir dir;
  Trainer a(tiny(dir.path() + "/straight", 4));
  TrainSummary sa = a.run();
  CHECK(sa.epochs == 4);
  CHECK(fs::exists(dir.path() + "/straight/best.safetensors"));
  CHECK(fs::exists(dir.path() + "/straight/config.yaml"));

  Trainer b(tiny(dir.path() + "/split", 2));
  b.run();
  Trainer c(tiny(dir.path() + "/split", 4), "auto");  // the newest checkpoint in train.out
  TrainSummary sc = c.run();
  CHECK(sc.steps == sa.steps);
  CHECK(weights(c) == weights(a));
  CHECK(sc.last.mAP == sa.last.mAP);
}

TEST_CASE("SIGINT mid-epoch writes a checkpoint; resuming from it is exact, in float32 and bf16",
          "[train]") {
  const std::string precision = GENERATE("float32", "bf16");
  INFO("train.precision " << precision);
  auto tiny = [&](const std::string& out, int64_t epochs) {
    Config c = test::tiny_run_config(out, epochs);
    c.set("train.precision", precision);
    return c;
  };
  test::TempDir dir;
  Trainer a(tiny(dir.path() + "/straight", 2));
  a.run();

  Trainer b(tiny(dir.path() + "/stopped", 2));
  b.set_step_hook([](int64_t step, double) {
    if (step == 4) std::raise(SIGINT);  // epoch 2, iteration 1 of 3: BConv-Cell states in flight
  });
  TrainSummary sb = b.run();
  REQUIRE(sb.interrupted);
  CHECK(sb.steps == 4);
  Checkpoint ck = load_checkpoint(sb.last_checkpoint);
  CHECK(ck.epoch_step == 1);
  CHECK_FALSE(ck.states.empty());  // the carried BConv-Cell states went into the checkpoint

  Trainer c(tiny(dir.path() + "/stopped", 2), sb.last_checkpoint);
  TrainSummary sc = c.run();
  CHECK_FALSE(sc.interrupted);
  CHECK(weights(c) == weights(a));
  // The logs: metrics.jsonl as the uninterrupted run's, bit for bit (epoch 2's epoch_loss
  // averages its 3 iterations, not the 2 after the resume); train.log has every console line.
  const std::string straight = file_text(dir.path() + "/straight/metrics.jsonl");
  CHECK(straight.find("epoch_loss") != std::string::npos);
  CHECK(file_text(dir.path() + "/stopped/metrics.jsonl") == straight);
  CHECK_THAT(file_text(dir.path() + "/stopped/train.log"),
             Contains("checkpoint " + sb.last_checkpoint) &&
                 Contains("interrupted at epoch 2 iter 1/3 (step 4); resume with") &&
                 Contains("resumed from " + sb.last_checkpoint + ": epoch 1, step 4 (mid-epoch)") &&
                 Contains("done: 2 epochs, 6 steps") &&
                 Contains("threads, precision " + precision));
}

TEST_CASE("a NaN loss stops training naming the step, the loss terms and the last checkpoint",
          "[train]") {
  test::TempDir dir;
  Trainer t(tiny(dir.path() + "/nan", 3));
  t.set_step_hook([&t](int64_t step, double) {
    if (step != 4) return;
    NoGradGuard ng;
    Tensor w = t.model().named_parameters().front().second.detach();
    fill_(w, NAN);  // poisons every later forward
  });
  CHECK_THROWS_WITH(t.run(), Contains("loss is nan at epoch 2 step 5") && Contains("triplet") &&
                                 Contains("Last good checkpoint: ") &&
                                 Contains("ckpt_e00001_s000000003"));
}

TEST_CASE(
    "a step that does not fit in memory_limit_mb stops with what it asked for and what to change",
    "[train]") {
  test::TempDir dir;
  Config c = tiny(dir.path() + "/big", 1);
  for (const char* kv : {"data.height=256", "data.width=128", "memory_limit_mb=48"})
    c.apply_override(kv);
  Trainer t(c);
  CHECK_THROWS_WITH(t.run(),
                    Contains("out of CPU memory: a tensor of") &&
                        Contains("past the 48.0 MiB this run may use") &&
                        Contains("at epoch 1 step 1 with a batch of 6 images of 256x128") &&
                        Contains("raise memory_limit_mb"));
  CHECK(cpu_memory_budget() == 0);  // the budget ends with the run
  Config fits = tiny(dir.path() + "/small", 1);
  fits.apply_override("memory_limit_mb=400");
  CHECK(Trainer(fits).run().steps == 3);
}

TEST_CASE("a failed checkpoint write stops with the reason and keeps the previous checkpoint",
          "[train]") {
  test::TempDir dir;
  Trainer t(tiny(dir.path() + "/full", 2));
  std::unique_ptr<test::FileSizeLimit> full_disk;
  t.set_step_hook([&](int64_t step, double) {
    if (step == 4)
      full_disk = std::make_unique<test::FileSizeLimit>(4096);  // the disk fills up in epoch 2
  });
  CHECK_THROWS_WITH(t.run(), Contains("write failed") && Contains("untouched"));
  full_disk.reset();
  auto left = list_checkpoints(dir.path() + "/full");
  REQUIRE(left.size() == 1);
  CHECK(load_checkpoint(left[0]).epoch == 1);
}

TEST_CASE("MGN-PTL starts every branch from torchvision-named ResNet-50 weights", "[train]") {
  test::TempDir dir;
  // A torchvision-named ResNet-50 (conv1, layer1..4, fc) with its own random weights.
  manual_seed(21);
  const TensorMap tv = make_model("resnet50", 1000)->state_dict();
  const std::string path = dir.path() + "/resnet50_torchvision.safetensors";
  save_safetensors(path, tv);
  Config c = tiny(dir.path() + "/mgn", 1);
  for (const char* kv : {"model.name=mgn_ptl", "data.height=96", "data.width=32", "loss.kind=mgn",
                         "loss.margin=1.2"})
    c.apply_override(kv);
  c.set("model.pretrained", path);
  Trainer t(c);
  const TensorMap ours = t.model().state_dict();
  auto same = [&](const std::string& mine, const std::string& theirs) {
    INFO(mine << " from " << theirs);
    REQUIRE(ours.count(mine));
    const bool equal = ours.at(mine).to_vector() ==
                       tv.at(theirs).to_vector();  // not the vectors: Catch would print them
    CHECK(equal);
  };
  same("backbone.conv1.weight", "conv1.weight");
  same("backbone.layer3.0.conv2.weight", "layer3.0.conv2.weight");
  for (const char* branch : {"p1", "p2", "p3"}) {
    same(std::string(branch) + ".0.0.conv1.weight",
         "layer3.1.conv1.weight");  // layer3.k -> .0.(k-1)
    same(std::string(branch) + ".0.4.conv3.weight", "layer3.5.conv3.weight");
    same(std::string(branch) + ".1.0.conv2.weight", "layer4.0.conv2.weight");  // layer4 -> .1
    same(std::string(branch) + ".1.2.conv3.weight", "layer4.2.conv3.weight");
  }
}

TEST_CASE(
    "the trainer builds ptl info's network: stride 2 last stage for classification, 1 for ReID",
    "[train]") {
  test::TempDir dir;
  const std::string cifar = dir.path() + "/cifar-10-batches-bin";
  fs::create_directories(cifar);
  for (int b = 1; b <= 5; ++b)
    data::write_file(cifar + "/data_batch_" + std::to_string(b) + ".bin",
                     test::cifar_record(b, false) + test::cifar_record(9, false));
  data::write_file(cifar + "/test_batch.bin", test::cifar_record(3, false));
  auto macs_of = [](Model& m) { return summarize(m, {3, 32, 32}).macs; };
  const int64_t published =
      macs_of(*make_model("resnet20", 10));  // what `ptl info --model resnet20` counts

  Config c = tiny(dir.path() + "/cifar", 1);
  for (const char* kv :
       {"model.name=resnet20", "data.format=cifar10", "data.height=32", "data.width=32",
        "data.sampler=shuffle", "loss.kind=ce", "model.num_classes=10"})
    c.apply_override(kv);
  c.set("data.root", cifar);
  Trainer classification(c);
  CHECK(macs_of(classification.model()) == published);

  Config reid = tiny(dir.path() + "/reid", 1);
  reid.apply_override("model.name=resnet20");
  Trainer retrieval(reid);
  CHECK(macs_of(retrieval.model()) > published);  // the last stage at 16x16, not 8x8

  CHECK_THROWS_WITH(c.apply_override("model.last_stride=3"),
                    Contains("model.last_stride = '3': allowed: auto, 1, 2"));
}

TEST_CASE("a bad evaluation setting stops the run before its first step", "[train]") {
  test::TempDir dir;
  Config metric = tiny(dir.path() + "/metric", 1);
  CHECK_THROWS_WITH(metric.apply_override("eval.metric=cosin"),
                    Contains("eval.metric = 'cosin': allowed: euclidean, sqeuclidean, cosine"));
  CHECK_THROWS_WITH(metric.apply_override("data.batch_size=0"),
                    Contains("data.batch_size = '0': must be an integer >= 1"));
  CHECK_FALSE(fs::exists(dir.path() + "/metric/train.log"));
}

TEST_CASE("every file a run writes can be evaluated, extracted from (in both precisions) and drawn",
          "[train][cli]") {
  test::TempDir dir;
  const std::string out = dir.path() + "/run";
  Config cfg = tiny(out, 2);
  cfg.set("train.eval_every", "1");
  Trainer t(cfg);
  const TrainSummary s = t.run();
  const std::string config = dir.path() + "/config.yaml";
  data::write_file(config, cfg.to_yaml());
  const auto checkpoints = list_checkpoints(out);
  REQUIRE(checkpoints.size() == 2);
  // The final checkpoint holds the final weights: it scores what the run's last evaluation did.
  for (const std::string& weights : {checkpoints.back(), out + "/best.safetensors"}) {
    const auto r = test::run_ptl("eval --config " + config + " --weights " + weights);
    INFO(r.out);
    REQUIRE(r.rc == 0);
    if (weights == checkpoints.back()) CHECK_THAT(r.out, Contains(s.last.summary()));
  }
  const std::string features = dir.path() + "/features.safetensors";
  const auto x = test::run_ptl("extract --config " + config + " --weights " + checkpoints.front() +
                               " --out " + features);
  INFO(x.out);
  REQUIRE(x.rc == 0);
  // --precision bf16 reaches the extraction: the same weights give other features.
  const auto xb = test::run_ptl("extract --config " + config + " --weights " + checkpoints.front() +
                                " --out " + features + ".bf16 --precision bf16");
  INFO(xb.out);
  REQUIRE(xb.rc == 0);
  CHECK(load_safetensors(features + ".bf16").at("query_features").to_vector() !=
        load_safetensors(features).at("query_features").to_vector());
  const auto v = test::run_ptl("visrank --features " + features + " --out " + dir.path() +
                               "/vis --num-queries 2");
  INFO(v.out);
  CHECK(v.rc == 0);
  CHECK_THAT(v.out, Contains("wrote 2 pictures"));
}

namespace {
// A copy of the tiny dataset with one training and one gallery JPEG cut short.
std::string damaged_copy(const std::string& to) {
  fs::copy(test::tiny_reid_root(), to, fs::copy_options::recursive);
  for (const char* split : {"bounding_box_train", "bounding_box_test"}) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(to + "/" + split)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    fs::resize_file(files.back(),
                    40);  // a person's image (junk and distractors sort first), cut in its header
  }
  return to;
}
}  // namespace

TEST_CASE(
    "an evaluation that fails keeps the epoch's checkpoint; on_bad_image=skip drops bad images and "
    "says so",
    "[train]") {
  test::TempDir dir;
  const std::string root = damaged_copy(dir.path() + "/damaged");
  Config strict = tiny(dir.path() + "/strict", 2);
  strict.set("data.root", root);
  strict.set("train.eval_every", "1");
  strict.set("train.max_iters_per_epoch",
             "1");  // one batch: the damaged training image is not drawn
  Trainer t(strict);
  CHECK_THROWS_WITH(t.run(), Contains("bounding_box_test"));
  CHECK(list_checkpoints(dir.path() + "/strict").size() ==
        1);  // epoch 1's, written before its evaluation

  Config lenient = tiny(dir.path() + "/lenient", 2);
  lenient.set("data.root", root);
  lenient.set("data.on_bad_image", "skip");
  Trainer u(lenient);  // drops the damaged images before drawing any batch
  CHECK(u.experiment().data().train->size() == 58);    // of 59
  CHECK(u.experiment().data().gallery->size() == 51);  // of 52
  CHECK_THAT(u.experiment().data().description,
             Contains("skipped 2 bad inputs (2 of them unreadable images), first: "));
  const TrainSummary s = u.run();
  CHECK(s.epochs == 2);
  CHECK_THAT(file_text(dir.path() + "/lenient/train.log"), Contains("skipped 2 bad inputs"));
}

TEST_CASE("messages say what is true: the side branch, train --help's model names and outputs",
          "[train][cli]") {
  test::TempDir dir;
  Config plain = tiny(dir.path() + "/plain", 1);
  plain.set("model.name", "resnet20");
  plain.set("train.max_iters_per_epoch", "1");
  Trainer(plain).run();
  Config off = tiny(dir.path() + "/off", 1);
  off.set("model.ptl", "off");
  off.set("train.max_iters_per_epoch", "1");
  Trainer(off).run();
  for (const char* run : {"/plain", "/off"}) {
    const std::string log = file_text(dir.path() + run + "/train.log");
    CHECK_THAT(log, Contains("classes, no side branch"));
    CHECK_THAT(log, !Contains("side branch carry"));
  }
  const auto help = test::run_ptl("train --help");
  CHECK_THAT(help.out, Contains("mgn, mgn_ptl") && Contains("ptl_resnet20") &&
                           Contains("metrics.jsonl, best.safetensors"));
  CHECK_THAT(help.out, !Contains("plots") && !Contains("ptl info --help lists"));
}

TEST_CASE("the trainer's steps work alone: epoch plans, one update, a checkpoint that resumes",
          "[train]") {
  test::TempDir dir;
  Trainer t(tiny(dir.path() + "/steps", 2));
  // An epoch's plan is a function of (seed, epoch) alone: asked in any order, it is the same.
  const data::BatchPlan second = t.epoch_plan(1), first = t.epoch_plan(0);
  CHECK(t.epoch_plan(1) == second);
  CHECK(first != second);
  CHECK(first.size() == 3);  // train.max_iters_per_epoch
  // One update moves the weights and reports a finite loss.
  const std::vector<float> before = weights(t);
  const TaskData& data = t.experiment().data();
  data::Loader loader(data.train, data.train_transform, {first[0]}, data::LoaderOptions{});
  data::Batch batch;
  REQUIRE(loader.next(batch));
  const StepResult r = t.train_step(batch.images, batch.labels);
  CHECK(std::isfinite(r.loss));
  CHECK(r.loss > 0);
  CHECK(weights(t) != before);
  // A checkpoint taken between steps resumes into the same weights.
  const std::string path = t.save_checkpoint(1, r.loss, r.accuracy);
  CHECK(fs::path(path).filename() == checkpoint_name(0, 0));
  Trainer resumed(tiny(dir.path() + "/steps", 2), path);
  CHECK(weights(resumed) == weights(t));
}

TEST_CASE("a bf16 run trains on bfloat16 batches: no float32 copy of a batch", "[train][bf16]") {
  test::TempDir dir;
  Config cfg = tiny(dir.path() + "/bf16", 1);
  cfg.set("train.precision", "bf16");
  Trainer t(cfg);
  const TaskData& data = t.experiment().data();
  data::Loader f32_loader(data.train, data.train_transform, {t.epoch_plan(0)[0]}, {});
  data::Batch f32_batch;
  REQUIRE(f32_loader.next(f32_batch));
  REQUIRE_THROWS_WITH(t.train_step(f32_batch.images, f32_batch.labels),
                      Contains("a bf16 run takes bfloat16 batches") && Contains("float32"));
  // The trainer's own loop gets through the check: its loader writes bf16 batches.
  const TrainSummary sum = t.run();
  CHECK(sum.steps == static_cast<int64_t>(t.epoch_plan(0).size()));
}

TEST_CASE(
    "model.ptl=release carries the state in epoch 1, resets every batch after, and resumes "
    "exactly across the switch",
    "[train]") {
  // Per step: whether the BConv-Cells hold a carried state after it, and the loss.
  struct Steps {
    std::vector<bool> carried;
    std::vector<double> losses;
  };
  auto run = [](Trainer& t) {
    Steps s;
    t.set_step_hook([&](int64_t, double loss) {
      bool any = false;
      for (auto& [name, cell] : bconv_cells(t.model())) any = any || cell->state().defined();
      s.carried.push_back(any);
      s.losses.push_back(loss);
    });
    t.run();
    return s;
  };
  auto with = [](Config c, const char* mode) {
    c.set("model.ptl", mode);
    return c;
  };
  test::TempDir dir;
  Trainer release(with(tiny(dir.path() + "/release", 3), "release"));
  const Steps r = run(release);
  CHECK(r.carried == std::vector<bool>{true, true, true, false, false, false, false, false, false});
  // Epoch 1 is carry's to the bit; epoch 2 is not (carry's second batch sees a carried state).
  Trainer carry(with(tiny(dir.path() + "/carry", 2), "carry"));
  const Steps c = run(carry);
  CHECK(std::vector<double>(r.losses.begin(), r.losses.begin() + 3) ==
        std::vector<double>(c.losses.begin(), c.losses.begin() + 3));
  CHECK(r.losses[4] != c.losses[4]);

  // Stopped after epoch 1 and resumed: the new trainer builds its cells in carry mode and must
  // switch them by the epoch it resumes in.
  Trainer first(with(tiny(dir.path() + "/split", 1), "release"));
  first.run();
  Trainer rest(with(tiny(dir.path() + "/split", 3), "release"), "auto");
  const Steps rs = run(rest);
  CHECK(rs.carried == std::vector<bool>(6, false));
  CHECK(rs.losses == std::vector<double>(r.losses.begin() + 3, r.losses.end()));
  CHECK(weights(rest) == weights(release));
}
