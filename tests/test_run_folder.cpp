// A run's folder (train/run_folder.h): an earlier run is never overwritten, mixed with another
// or resumed under another config without a word; pretrained weights of another model stop;
// a model trained on one dataset evaluates on another.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "engine/safetensors.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {
size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

RunStart overwrite() {
  RunStart s;
  s.overwrite = true;
  return s;
}
}  // namespace

TEST_CASE("a folder that holds a run is refused and left as it was; --overwrite replaces it whole",
          "[train]") {
  test::TempDir dir;
  const std::string out = dir.path() + "/run";
  Trainer(test::tiny_run_config(out, 3)).run();
  const auto before = test::folder_snapshot(out);
  Config other = test::tiny_run_config(out, 1);
  other.set("optim.lr", "5e-3");
  CHECK_THROWS_WITH(Trainer(other), Contains("train.out " + out + " already holds a run") &&
                                        Contains("--resume auto") && Contains("--overwrite"));
  CHECK(test::folder_snapshot(out) == before);

  Trainer(other, overwrite()).run();
  // Only the new run is there: one epoch's checkpoint, its metrics and log alone.
  CHECK(list_checkpoints(out).size() == 1);
  const std::string metrics = test::file_text(out + "/metrics.jsonl");
  CHECK(metrics.find("\"epoch\": 2") == std::string::npos);
  CHECK(count(test::file_text(out + "/train.log"), "effective config") == 1);
  CHECK_THAT(test::file_text(out + "/train.log"),
             Contains("--overwrite: removed the earlier run's files"));

  // An --overwrite killed halfway leaves its marker: every start but another --overwrite refuses.
  fs::create_directories(out + "/.ptl-overwrite");
  CHECK_THROWS_WITH(Trainer(test::tiny_run_config(out, 2), "auto"),
                    Contains("interrupted --overwrite") && Contains("--overwrite again"));
  CHECK_THROWS_WITH(Trainer(test::tiny_run_config(out, 1)), Contains("interrupted --overwrite"));
  Trainer again(test::tiny_run_config(out, 1), overwrite());
  CHECK(!fs::exists(out + "/.ptl-overwrite"));
  CHECK(list_checkpoints(out).empty());
}

TEST_CASE(
    "--resume refuses a changed computing key, naming both values; accepted ones are recorded",
    "[train]") {
  test::TempDir dir;
  const std::string out = dir.path() + "/run";
  Trainer(test::tiny_run_config(out, 2)).run();
  const auto before = test::folder_snapshot(out);
  Config changed = test::tiny_run_config(out, 3);
  changed.set("optim.lr", "5e-2");
  changed.set("loss.margin", "0.9");
  changed.set("train.log_every", "7");  // changes nothing computed: passes with a note
  CHECK_THROWS_WITH(Trainer(changed, "auto"),
                    Contains("optim.lr: 1e-3 in the checkpoint, 5e-2 now") &&
                        Contains("loss.margin: 0.3 in the checkpoint, 0.9 now") &&
                        Contains("--allow-config-change optim.lr,loss.margin") &&
                        !Contains("log_every"));
  CHECK(test::folder_snapshot(out) == before);

  RunStart allow("auto");
  allow.allow_config_change = {"optim.lr", "loss.margin"};
  Trainer(changed, allow).run();
  CHECK_THAT(test::file_text(out + "/metrics.jsonl"),
             Contains("{\"epoch\": 2, \"step\": 6, \"config_change\": {\"optim.lr\": [\"1e-3\", "
                      "\"5e-2\"], \"loss.margin\": [\"0.3\", \"0.9\"]}}"));
  const std::string yaml = test::file_text(out + "/config.yaml");
  CHECK_THAT(yaml, Contains("# config change at epoch 2, step 6 (--allow-config-change): "
                            "optim.lr: 1e-3 -> 5e-2") &&
                       Contains("# config change at epoch 2, step 6: train.epochs: 2 -> 3") &&
                       Contains("lr: 5e-2"));
  CHECK_THAT(test::file_text(out + "/train.log"),
             Contains("config change accepted (--allow-config-change): loss.margin: 0.3 -> 0.9") &&
                 Contains("config change (nothing computed changes): train.log_every: 100 -> 7"));
  // The history stays when the run is resumed again.
  Trainer(test::tiny_run_config(out, 4), allow).run();
  CHECK_THAT(test::file_text(out + "/config.yaml"),
             Contains("step 6 (--allow-config-change): optim.lr: 1e-3 -> 5e-2") &&
                 Contains("step 9 (--allow-config-change): optim.lr: 5e-2 -> 1e-3"));
  CHECK_THROWS_WITH(
      [&] {
        RunStart bad("auto");
        bad.allow_config_change = {"optim.rate"};
        Trainer t(test::tiny_run_config(out, 4), bad);
      }(),
      Contains("--allow-config-change: 'optim.rate' is not a config key"));
}

TEST_CASE("--resume refuses another train.precision: float32 and bf16 compute differently",
          "[train]") {
  test::TempDir dir;
  const std::string out = dir.path() + "/run";
  Trainer(test::tiny_run_config(out, 1)).run();
  Config bf16 = test::tiny_run_config(out, 2);
  bf16.set("train.precision", "bf16");
  CHECK_THROWS_WITH(Trainer(bf16, "auto"),
                    Contains("train.precision: float32 in the checkpoint, bf16 now") &&
                        Contains("--allow-config-change train.precision"));
}

TEST_CASE("--resume auto: no checkpoint starts fresh and says so; a truncated newest falls back",
          "[train]") {
  test::TempDir dir;
  const std::string out = dir.path() + "/run";
  Trainer(test::tiny_run_config(out, 1), "auto").run();
  CHECK_THAT(test::file_text(out + "/train.log"),
             Contains("no checkpoint in " + out + ": starting fresh"));
  Trainer(test::tiny_run_config(out, 3), "auto").run();
  Trainer straight(test::tiny_run_config(dir.path() + "/straight", 3));
  straight.run();

  const std::vector<std::string> all = list_checkpoints(out);
  REQUIRE(all.size() == 3);
  fs::resize_file(all[2], fs::file_size(all[2]) / 2);  // a disk that filled, say
  Trainer resumed(test::tiny_run_config(out, 3), "auto");
  resumed.run();
  CHECK_THAT(test::file_text(out + "/train.log"),
             Contains("warning: the newest checkpoint " + all[2] + " cannot be read") &&
                 Contains("resuming from the one before it, " + all[1]));
  for (const auto& [name, t] : straight.model().state_dict()) {
    INFO(name);
    CHECK(resumed.model().state_dict().at(name).to_vector() == t.to_vector());
  }
}

TEST_CASE("pretrained weights that match less than half of the model stop, unless partial",
          "[train]") {
  test::TempDir dir;
  Trainer(test::tiny_run_config(dir.path() + "/src", 1)).run();
  TensorMap two;
  for (const auto& [k, t] : load_safetensors(dir.path() + "/src/best.safetensors"))
    if (two.size() < 2) two[k] = t;
  save_safetensors(dir.path() + "/two.safetensors", two);
  Config c = test::tiny_run_config(dir.path() + "/run", 1);
  c.set("model.pretrained", dir.path() + "/two.safetensors");
  CHECK_THROWS_WITH(Trainer(c), Contains("only 2 of model ptl_resnet20's") &&
                                    Contains("is it the weights of another model?") &&
                                    Contains("model.pretrained_partial=true"));
  c.set("model.pretrained_partial", "true");
  Trainer t(c);
  CHECK_THAT(t.experiment().notes().back(), Contains(": 2 tensors loaded"));
}

TEST_CASE("a ReID model trained on one dataset evaluates on another without model.num_classes",
          "[train]") {
  test::TempDir dir;
  Trainer(test::tiny_run_config(dir.path() + "/run", 1)).run();
  Config c = test::tiny_run_config(dir.path() + "/unused", 1);
  c.set("data.root", test::write_tiny_reid(dir.path() + "/other", 20, 9));
  Experiment e(c);
  REQUIRE(e.data().num_classes !=
          Experiment(test::tiny_run_config(dir.path() + "/u", 1)).data().num_classes);
  e.load_weights(dir.path() + "/run/best.safetensors");
  CHECK_THAT(e.notes().back(),
             Contains("a classifier of") && Contains("retrieval does not use it"));
  const ModelScore s = e.evaluate();
  CHECK(s.mAP > 0);
  CHECK(s.mAP <= 100);
  // A class count the config states is kept: the weights must then match it.
  c.set("model.num_classes", "3");
  Experiment stated(c);
  CHECK_THROWS_WITH(stated.load_weights(dir.path() + "/run/best.safetensors"),
                    Contains("shape or dtype mismatches"));
}
