// `ptl train`: trains from a YAML config with key=value overrides.
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "train/config.h"
#include "train/trainer.h"

namespace ptl::cli {

namespace {
std::string keys_help() {
  std::string s;
  for (const ConfigKey& k : config_keys())
    s += str("  ", k.key, " (default ", k.value, "): ", k.help, "\n");
  return s;
}

int train(const std::vector<std::string>& argv) {
  Args a(
      "usage: ptl train --config configs/X.yaml [--resume auto|CKPT] [key=value ...]\n"
      "Trains as the config says; checkpoints, config.yaml, train.log and metrics.jsonl go to "
      "train.out.\n"
      "--resume auto continues from the newest checkpoint in train.out. Ctrl-C writes a checkpoint "
      "and exits.\n"
      "config keys:\n" +
          keys_help(),
      {"config", "resume"});
  if (!a.parse(argv)) return 0;
  Trainer t(load_config(a), a.get("resume"));
  // run() prints and logs the closing lines (done, or interrupted with the checkpoint to resume).
  return t.run().interrupted ? 130 : 0;
}

}  // namespace

PTL_COMMAND("train", "train a model from a YAML config (configs/)", train);

}  // namespace ptl::cli
