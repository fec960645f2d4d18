// The configuration a subcommand runs with: `--config FILE` (optional), positional key=value
// overrides, as train, eval, extract and info take them, and `--precision float32|bf16`
// (train.precision) where the command accepts it.
#pragma once
#include "cli/args.h"
#include "train/config.h"
#include "train/experiment.h"

namespace ptl::cli {

Config load_config(const Args& a);
// The config's experiment with the trained weights of --weights (best.safetensors or any
// checkpoint; no pretrained weights loaded first): what eval and extract score or run.
Experiment trained_experiment(const Args& a);

}  // namespace ptl::cli
