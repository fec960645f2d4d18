// `ptl study` (train/study.h, train/study_report.h, evaluation/paired_stats.h): the paired
// statistics against hand-computed values and exact enumerations, and a two-seed two-arm study
// with a source stage end to end: its folders, a stopped run resumed to the bits of an
// uninterrupted study, finished runs skipped, and the command's outputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "evaluation/paired_stats.h"
#include "tests/test_util.h"
#include "tests/tiny_run.h"
#include "train/study.h"
#include "train/study_report.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Contains;
namespace fs = std::filesystem;

TEST_CASE("Student t quantiles equal the tabulated values", "[study]") {
  // scipy.stats.t.ppf to 10 digits.
  CHECK(student_t_quantile(0.975, 1) == Approx(12.706204736).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 4) == Approx(2.7764451052).epsilon(1e-9));
  CHECK(student_t_quantile(0.8, 4) == Approx(0.9409645772).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 9) == Approx(2.2621571627).epsilon(1e-9));
  CHECK(student_t_quantile(0.8, 9) == Approx(0.8834038597).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 30) == Approx(2.0422724563).epsilon(1e-9));
  CHECK(student_t_quantile(0.025, 9) == Approx(-2.2621571627).epsilon(1e-9));
}

TEST_CASE("paired statistics: mean, spread, t interval, wins and detectable difference by hand",
          "[study]") {
  const std::vector<double> d = {1, 2, 3, 4, -5};
  const PairedStats s = paired_stats(d, 10000, 7);
  // mean 1; squares of deviations 0 + 1 + 4 + 9 + 36 = 50; sd = sqrt(50 / 4); se = sd / sqrt(5).
  const double sd = std::sqrt(12.5), se = sd / std::sqrt(5.0);
  CHECK(s.n == 5);
  CHECK(s.mean == Approx(1.0));
  CHECK(s.sd == Approx(sd));
  CHECK(s.t_lo == Approx(1 - 2.7764451052 * se));
  CHECK(s.t_hi == Approx(1 + 2.7764451052 * se));
  CHECK(s.detectable == Approx((2.7764451052 + 0.9409645772) * se));
  CHECK(s.wins == 4);
  CHECK_THROWS_WITH(paired_stats({1.0}), Contains("at least two seeds"));
}

TEST_CASE("the bootstrap interval matches the exact distribution of resampled means", "[study]") {
  // Three differences: each of the 27 equally likely resamples has probability 3.7% > 2.5%, so
  // the interval is exactly [smallest, largest] mean: [1, 6].
  const PairedStats three = paired_stats({1, 2, 6}, 10000, 1);
  CHECK(three.boot_lo == 1.0);
  CHECK(three.boot_hi == 6.0);
  // Five differences: the 2.5% and 97.5% quantiles of all 5^5 resample means, enumerated.
  const std::vector<double> d = {-3, 0.5, 1, 2, 7};
  std::vector<double> means;
  for (int i = 0; i < 3125; ++i) {
    double sum = 0;
    for (int k = 0, c = i; k < 5; ++k, c /= 5) sum += d[static_cast<size_t>(c % 5)];
    means.push_back(sum / 5);
  }
  std::sort(means.begin(), means.end());
  const double lo = means[78], hi = means[3046];  // 2.5% and 97.5% of 3125
  const PairedStats s = paired_stats(d, 10000, 1);
  CHECK(s.boot_lo == Approx(lo).margin(0.25));  // neighbouring means are 0.1 apart here
  CHECK(s.boot_hi == Approx(hi).margin(0.25));
  // A fixed seed gives the same interval; another seed a close one.
  const PairedStats again = paired_stats(d, 10000, 1);
  CHECK(again.boot_lo == s.boot_lo);
  CHECK(again.boot_hi == s.boot_hi);
  const PairedStats other = paired_stats(d, 10000, 2);
  CHECK(other.boot_lo == Approx(lo).margin(0.25));
  CHECK(other.boot_hi == Approx(hi).margin(0.25));
}

TEST_CASE("study arguments: arms with list values, seed ranges, and their errors", "[study]") {
  const StudyArm a = parse_arm("carry:model.ptl=carry,schedule.milestones=[3, 5],optim.lr=1e-3");
  CHECK(a.name == "carry");
  CHECK(a.overrides ==
        std::vector<std::string>{"model.ptl=carry", "schedule.milestones=[3, 5]", "optim.lr=1e-3"});
  CHECK(parse_arm("plain").overrides.empty());
  CHECK_THROWS_WITH(parse_arm("x:model.ptl"), Contains("'model.ptl' is not key=value"));
  CHECK(parse_seeds("0-3") == std::vector<uint64_t>{0, 1, 2, 3});
  CHECK(parse_seeds("2,7") == std::vector<uint64_t>{2, 7});
  CHECK_THROWS_WITH(parse_seeds("4"), Contains("at least two seeds"));
  CHECK_THROWS_WITH(parse_seeds("a-b"), Contains("use a range like 0-9"));
}

namespace {
using test::file_text;

StudySpec tiny_study(const std::string& out) {
  StudySpec spec;
  spec.base = test::tiny_run_config(out, 2);
  spec.pretrain = {"model.ptl=off", "train.epochs=1", "train.eval_every=1"};
  spec.arms = {parse_arm("plain:model.ptl=off"), parse_arm("carry:model.ptl=carry")};
  spec.seeds = {0, 1};
  spec.out = out;
  return spec;
}
}  // namespace

TEST_CASE("a two-seed study: folders, a stopped run resumed to the same bits, finished runs kept",
          "[study][train]") {
  test::TempDir dir;
  const StudySpec straight = tiny_study(dir.path() + "/straight");
  const StudyResult a = run_study(straight);
  REQUIRE(!a.interrupted);
  for (const char* run :
       {"seed_0/pretrain/best.safetensors", "seed_0/plain/result.json", "seed_0/carry/result.json",
        "seed_1/pretrain/result.json", "seed_1/plain/result.json", "seed_1/carry/result.json"})
    CHECK(fs::exists(straight.out + "/" + run));
  // Both arms of a seed start from that seed's source-stage weights.
  CHECK_THAT(file_text(straight.out + "/seed_1/carry/train.log"),
             Contains("pretrained weights " + straight.out + "/seed_1/pretrain/best.safetensors"));
  const std::string report = study_json(straight, study_report(straight, a));

  // The same study, stopped in seed 1's carry run (mid-epoch), then run again.
  const StudySpec stopped = tiny_study(dir.path() + "/stopped");
  const StudyResult b = run_study(stopped, [&](Trainer& t) {
    if (t.experiment().settings().train.out != stopped.out + "/seed_1/carry") return;
    t.set_step_hook([](int64_t step, double) {
      if (step == 4) Trainer::request_stop();
    });
  });
  CHECK(b.interrupted);
  CHECK(!fs::exists(stopped.out + "/seed_1/carry/result.json"));
  const StudyResult c = run_study(stopped);
  REQUIRE(!c.interrupted);
  CHECK_THAT(file_text(stopped.out + "/seed_1/carry/train.log"), Contains("(mid-epoch)"));
  for (const char* run : {"seed_0/carry", "seed_1/pretrain", "seed_1/plain", "seed_1/carry"})
    CHECK(file_text(stopped.out + "/" + run + "/result.json") ==
          file_text(straight.out + "/" + run + "/result.json"));
  CHECK(study_json(stopped, study_report(stopped, c)) == report);

  // Finished runs are read, not trained again.
  const auto stamp = fs::last_write_time(straight.out + "/seed_0/plain/result.json");
  const StudyResult again = run_study(straight);
  CHECK(fs::last_write_time(straight.out + "/seed_0/plain/result.json") == stamp);
  CHECK(study_json(straight, study_report(straight, again)) == report);
}

TEST_CASE("a study run again with other settings stops, naming the run and the keys", "[study]") {
  test::TempDir dir;
  StudySpec spec;
  spec.base = test::tiny_run_config(dir.path() + "/unused", 1);
  spec.arms = {parse_arm("plain:model.ptl=off")};
  spec.seeds = {0};
  spec.out = dir.path() + "/study";
  REQUIRE(!run_study(spec).interrupted);
  auto files = [&] { return test::folder_snapshot(spec.out); };
  const auto before = files();
  StudySpec changed = spec;
  changed.arms = {parse_arm("plain:model.ptl=reset_every_batch")};
  changed.base.set("optim.lr", "5e-3");
  changed.base.set("data.workers", "1");  // changes nothing computed
  CHECK_THROWS_WITH(run_study(changed),
                    Contains("the run in " + spec.out + "/seed_0/plain was trained with other") &&
                        Contains("model.ptl: off in ") && Contains("reset_every_batch now") &&
                        Contains("optim.lr: 1e-3 in ") && !Contains("data.workers") &&
                        Contains("Delete that folder"));
  CHECK(files() == before);
  // A stopped run is compared too.
  fs::remove(spec.out + "/seed_0/plain/result.json");
  const auto stopped = files();
  CHECK_THROWS_WITH(run_study(changed), Contains("seed_0/plain was trained with other"));
  CHECK(files() == stopped);
}

TEST_CASE("ptl study writes study.json, study.png and the table", "[study][cli]") {
  test::TempDir dir;
  const std::string cfg = dir.path() + "/base.yaml";
  // The study as one file (study.* keys), as configs/study_*.yaml ship.
  Config base = test::tiny_run_config(dir.path() + "/unused", 1);
  base.set("study.arms", "[\"plain:model.ptl=off\", \"reset:model.ptl=reset_every_batch\"]");
  base.set("study.seeds", "0-1");
  std::ofstream(cfg) << base.to_yaml();
  const auto r = test::run_ptl("study --config " + cfg + " --out " + dir.path() + "/study");
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK_THAT(r.out, Contains("mAP over 2 seeds") && Contains("rank1 over 2 seeds") &&
                        Contains("minus plain: mean [bootstrap 95%]"));
  {  // the columns line up under their headers
    std::istringstream lines(r.out);
    std::string line, header, row;
    while (std::getline(lines, line)) {
      if (header.empty() && line.find("detectable") != std::string::npos) header = line;
      if (!header.empty() && line.rfind("reset ", 0) == 0) {
        row = line;
        break;
      }
    }
    REQUIRE(!row.empty());
    const size_t boot = header.find("minus plain"), t = header.find("t 95%");
    CHECK(row[boot] != ' ');
    CHECK(row[boot - 1] == ' ');
    CHECK(row[t] == '[');
    CHECK(row[t - 1] == ' ');
    CHECK(row.size() == header.size());  // wins and detectable end under their headers
  }
  CHECK(fs::file_size(dir.path() + "/study/study.png") > 1000);
  const std::string json = file_text(dir.path() + "/study/study.json");
  CHECK_THAT(json, Contains("\"paired_vs_plain\"") && Contains("\"reset\": {\"mean\"") &&
                       Contains("\"bootstrap\": {\"resamples\": 10000") &&
                       Contains("\"score\": \"the last evaluation of each run"));
  // The command line overrides the file (seed 1 first); the runs have finished already.
  const auto again =
      test::run_ptl("study --config " + cfg + " --seeds 1,0 --out " + dir.path() + "/study");
  INFO(again.out);
  CHECK(again.rc == 0);
  CHECK_THAT(again.out, Contains("finished earlier: ") && !Contains("effective config"));
  CHECK(again.out.find("seed 1: arm plain") < again.out.find("seed 0: arm plain"));
  // One arm: no differences to draw, and the output says so.
  const auto one = test::run_ptl("study --config " + cfg + " --arm plain:model.ptl=off --out " +
                                 dir.path() + "/study");
  INFO(one.out);
  CHECK(one.rc == 0);
  CHECK_THAT(one.out, Contains("no study.png: it draws each arm's differences from the first, "
                               "and this study has one arm"));
}
