// `ptl eval`: scores trained weights on the config's evaluation split.
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"

namespace ptl::cli {

namespace {
int eval(const std::vector<std::string>& argv) {
  Args a(
      "usage: ptl eval --config configs/X.yaml --weights W.safetensors [--precision float32|bf16] "
      "[key=value ...]\n"
      "Evaluates a trained model on the config's dataset (ReID: mAP, CMC, mINP; classification: "
      "accuracy).\n"
      "W: best.safetensors or any checkpoint a run wrote (train.out/ckpt_e*_s*.safetensors).",
      {"config", "weights", "precision"});
  if (!a.parse(argv)) return 0;
  Experiment e = trained_experiment(a);
  std::printf("%s\n", e.evaluate().summary().c_str());
  return 0;
}
}  // namespace

PTL_COMMAND("eval", "evaluate trained weights on the config's dataset", eval);

}  // namespace ptl::cli
