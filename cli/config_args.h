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
// read_data false: the model alone (Experiment::WithoutData), for embed and search.
Experiment trained_experiment(const Args& a, bool read_data = true);
// The same from a config and a weights file.
Experiment trained_experiment(Config cfg, const std::string& weights, bool read_data);

}  // namespace ptl::cli
