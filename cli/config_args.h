// The configuration a subcommand runs with: `--config FILE` (optional) and positional
// key=value overrides, as train, eval, extract and info take them.
#pragma once
#include "cli/args.h"
#include "train/config.h"

namespace ptl::cli {

Config load_config(const Args& a);

}  // namespace ptl::cli
