// Messages that name the fix: `ptl info`'s model table and its class count from data.root, a
// missing dataset and an unusable output folder in ptl's words, counted nouns in the singular,
// paths with spaces quoted in printed commands, an unknown precision.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>

#include "base/text.h"
#include "kernels/cpu/isa.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"
#include "train/task_data.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Contains;

TEST_CASE("count_of and shell_quote", "[cli]") {
  CHECK(count_of(1, "epoch") == "1 epoch");
  CHECK(count_of(0, "epoch") == "0 epochs");
  CHECK(count_of(2, "query", "queries") == "2 queries");
  CHECK(shell_quote("runs/a_b-1.5:x=y") == "runs/a_b-1.5:x=y");
  CHECK(shell_quote("run one/ckpt.safetensors") == "'run one/ckpt.safetensors'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("$HOME") == "'$HOME'");
  CHECK(shell_quote("") == "''");
}

TEST_CASE("ptl info alone prints the model table; --config counts data.root's classes",
          "[cli][models]") {
  const auto table = test::run_ptl("info");
  INFO(table.out);
  CHECK(table.rc == 0);
  CHECK_THAT(table.out, Contains("resnet20       3x32x32          10") &&
                            Contains("mgn_ptl        3x384x128       751"));

  test::TempDir dir;
  const std::string yaml = dir.path() + "/tiny.yaml";
  const Config c = test::tiny_run_config(dir.path() + "/run", 1);
  std::ofstream(yaml) << c.to_yaml();
  const int64_t ids = load_task_data(read_settings(c).data).num_classes;
  const auto counted = test::run_ptl("info --config " + yaml);
  INFO(counted.out);
  CHECK(counted.rc == 0);
  CHECK_THAT(counted.out, Contains(count_of(ids, "class", "classes") + " (counted in data.root " +
                                   test::tiny_reid_root() + ")"));
  const auto given = test::run_ptl("info --config " + yaml + " --num-classes 3");
  CHECK_THAT(given.out, Contains("3 classes (--num-classes)"));
}

TEST_CASE("a missing dataset names data.root; an unusable output folder names its setting",
          "[cli][train]") {
  test::TempDir dir;
  const std::string yaml = dir.path() + "/tiny.yaml", out = dir.path() + "/run";
  std::ofstream(yaml) << test::tiny_run_config(out, 1).to_yaml();

  const auto missing =
      test::run_ptl("train --config " + yaml + " data.root=" + dir.path() + "/nope");
  CHECK(missing.rc == 1);
  CHECK_THAT(missing.out, Contains("data.root " + dir.path() +
                                   "/nope: no such folder; set "
                                   "data.root to the dataset folder"));
  CHECK(!std::filesystem::exists(out));  // a run that never started leaves no folder

  std::ofstream(dir.path() + "/file") << "x";
  const auto blocked =
      test::run_ptl("train --config " + yaml + " train.out=" + dir.path() + "/file/run");
  CHECK(blocked.rc == 1);
  CHECK_THAT(blocked.out, Contains("train.out " + dir.path() + "/file/run: ") &&
                              Contains(dir.path() + "/file is a file, not a folder; choose "
                                                    "another train.out"));
  CHECK_THAT(blocked.out, !Contains("filesystem error"));

  const auto synth = test::run_ptl("synth-reid --ids 4 --out " + dir.path() + "/file/synth");
  CHECK(synth.rc == 1);
  CHECK_THAT(synth.out, Contains("--out " + dir.path() + "/file/synth") &&
                            Contains("choose another --out") && !Contains("filesystem error"));
}

TEST_CASE("a bad image's error names data.on_bad_image=skip", "[train]") {
  test::TempDir dir;
  const std::string root = dir.path() + "/data";
  std::filesystem::copy(test::tiny_reid_root(), root, std::filesystem::copy_options::recursive);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(root + "/bounding_box_test"))
    files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::filesystem::resize_file(files.back(), 40);  // a person's image, cut in its header
  Config c = test::tiny_run_config(dir.path() + "/run", 1);
  c.set("data.root", root);
  c.set("train.max_iters_per_epoch", "1");
  CHECK_THROWS_WITH(Trainer(c).run(), Contains(files.back().string()) &&
                                          Contains("(data.on_bad_image=skip skips such inputs"));
}

TEST_CASE("the resume hint quotes a checkpoint path with a space; one epoch is 1 epoch",
          "[train]") {
  test::TempDir dir;
  const Config c = test::tiny_run_config(dir.path() + "/run one", 1);
  Trainer t(c);
  t.set_step_hook([](int64_t step, double) {
    if (step == 1) std::raise(SIGINT);
  });
  const TrainSummary s = t.run();
  REQUIRE(s.interrupted);
  CHECK_THAT(test::file_text(dir.path() + "/run one/train.log"),
             Contains("--resume " + shell_quote(s.last_checkpoint)));
  CHECK(shell_quote(s.last_checkpoint) == "'" + s.last_checkpoint + "'");
  Trainer(c, s.last_checkpoint).run();
  CHECK_THAT(test::file_text(dir.path() + "/run one/train.log"),
             Contains("done: 1 epoch, 3 steps in"));
}

TEST_CASE("--precision and train.precision take float32 or bf16, in one line; bench names it",
          "[cli]") {
  for (const char* cmd : {"train", "eval --weights w.safetensors",
                          "extract --weights w.safetensors --out f.safetensors",
                          "bench --model ptl_resnet20 --batch 2 --input 3x32x16 "
                          "--inference"})
    for (const std::string bad : {"fp16", "half"}) {
      INFO("ptl " << cmd << " --precision " << bad);
      const auto r = test::run_ptl(std::string(cmd) + " --precision " + bad);
      CHECK(r.rc == 1);
      CHECK_THAT(r.out,
                 Contains("--precision: unknown precision '" + bad + "' (allowed: float32, bf16)"));
      CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
    }
  const auto key = test::run_ptl("train train.precision=fp16");
  CHECK(key.rc == 1);
  CHECK_THAT(key.out, Contains("train.precision = 'fp16': allowed: float32, bf16"));

  const auto bench = test::run_ptl(
      "bench --model ptl_resnet20 --batch 2 --input 3x32x16 --inference --repeat 1 --warmup 0 "
      "--precision bf16");
  CHECK(bench.rc == 0);
  CHECK_THAT(bench.out, Contains("precision bf16"));
  const bool emulated = cpu::current_isa() != cpu::Isa::avx512bf16;
  CHECK((bench.out.find("bf16 products are emulated") != std::string::npos) == emulated);
}
