// `ptl plot`: the training curves of runs side by side, from each run folder's metrics.jsonl.
#include <cstdio>
#include <set>

#include "base/error.h"
#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "pictures/curves.h"

namespace {

const char* kUsage =
    "usage: ptl plot RUN_DIR... [--out FILE.png]\n"
    "\n"
    "Draws the training loss (epoch mean) and the evaluation score (mAP or accuracy) per epoch of\n"
    "each run folder (a train.out of `ptl train`: its metrics.jsonl), one coloured line per run,\n"
    "labelled by the folder's name. --out: the picture (default curves.png).";

int run(const std::vector<std::string>& argv) {
  using namespace ptl;
  cli::Args args(kUsage, {"out"});
  if (!args.parse(argv)) return 0;
  const std::vector<std::string>& dirs = args.positional();
  PTL_CHECK(!dirs.empty(), "ptl plot: give at least one run folder\n", kUsage);
  std::vector<std::string> names;
  for (const std::string& d : dirs) names.push_back(run_label(d));
  // Two folders of the same name (a/run, b/run) are told apart by the paths as given.
  if (std::set<std::string>(names.begin(), names.end()).size() < names.size()) names = dirs;
  const std::string out = args.get("out", "curves.png");
  write_training_curves(out, dirs, names);
  std::printf("wrote %s (%s)\n", out.c_str(), count_of(int64_t(dirs.size()), "run").c_str());
  return 0;
}

}  // namespace

PTL_COMMAND("plot", "training curves (loss, mAP or accuracy per epoch) of runs side by side", run);
