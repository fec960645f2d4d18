// `ptl study`: paired multi-seed experiments (train/study.h) with their statistics
// (train/study_report.h): study.json, a table, and study.png.
#include <cstdio>

#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "engine/atomic_file.h"
#include "pictures/study_plot.h"
#include "train/run_folder.h"
#include "train/study.h"
#include "train/study_report.h"

namespace ptl::cli {

namespace {
int study(const std::vector<std::string>& argv) {
  Args a(
      "usage: ptl study --config BASE.yaml [--arm NAME[:key=value,...] ...] [--seeds 0-9] "
      "--out DIR\n"
      "                 [--pretrain key=value,...] [--precision float32|bf16] [key=value ...]\n"
      "--arm, --seeds and --pretrain default to the config's study.arms, study.seeds and\n"
      "study.pretrain (configs/study_*.yaml are whole studies).\n"
      "For each seed: the source stage (--pretrain: overrides of the base config, e.g.\n"
      "data.root=SRC,model.ptl=off,train.epochs=12), then every arm from its best weights and the\n"
      "same seed. Each run has its folder DIR/seed_S/ARM; running again skips finished runs and\n"
      "resumes a stopped one exactly. Writes DIR/study.json and DIR/study.png and prints, per "
      "arm,\n"
      "the mean and spread over seeds and, against the first arm, the mean paired difference with\n"
      "its bootstrap and t 95% intervals, the wins and the smallest detectable difference.\n"
      "docs/results.md, \"Does PTL help?\", explains how to read them.",
      {"config", "arm", "seeds", "out", "pretrain", "precision"});
  if (!a.parse(argv)) return 0;
  StudySpec spec;
  spec.base = load_config(a);
  // The command line overrides the study.* keys of the config (a study shipped as one file).
  const std::vector<std::string> arms =
      a.has("arm") ? a.all("arm") : spec.base.string_list("study.arms");
  for (const std::string& arm : arms) spec.arms.push_back(parse_arm(arm));
  PTL_CHECK(
      !spec.arms.empty(),
      "ptl study: give at least one --arm NAME[:key=value,...] (or study.arms in the config)");
  spec.seeds = parse_seeds(a.get("seeds", spec.base.str("study.seeds")));
  spec.out = a.require("out");
  create_output_folder(spec.out, "--out");
  spec.pretrain = a.has("pretrain") ? parse_overrides(a.get("pretrain"))
                                    : spec.base.string_list("study.pretrain");
  spec.command = "ptl study";
  for (const std::string& w : argv) spec.command += " " + shell_quote(w);
  const StudyResult r = run_study(spec);
  if (r.interrupted) {
    std::printf("study stopped; continue it with the same command: %s\n", spec.command.c_str());
    return 130;
  }
  const std::vector<MetricReport> reports = study_report(spec, r);
  write_file_atomic(spec.out + "/study.json", study_json(spec, reports));
  std::printf("%s", study_table(spec, reports).c_str());
  if (spec.arms.size() >= 2) {
    write_study_plot(spec.out + "/study.png", spec, reports);
    std::printf("\n%s/study.json, %s/study.png\n", spec.out.c_str(), spec.out.c_str());
  } else {
    std::printf(
        "\n%s/study.json (no study.png: it draws each arm's differences from the first, "
        "and this study has one arm)\n",
        spec.out.c_str());
  }
  return 0;
}
}  // namespace

PTL_COMMAND("study", "paired multi-seed experiments: does an arm beat the first, and by how much",
            study);

}  // namespace ptl::cli
