#include "cli/config_args.h"

namespace ptl::cli {

Config load_config(const Args& a) {
  Config cfg = a.has("config") ? Config::from_file(a.get("config")) : Config();
  for (const std::string& o : a.positional()) cfg.apply_override(o);
  return cfg;
}

Experiment trained_experiment(const Args& a) {
  Config cfg = load_config(a);
  cfg.set("model.pretrained", "");
  Experiment e(std::move(cfg));
  e.load_weights(a.require("weights"));
  return e;
}

}  // namespace ptl::cli
