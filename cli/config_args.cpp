#include "cli/config_args.h"

#include "engine/precision.h"

namespace ptl::cli {

Config load_config(const Args& a) {
  Config cfg = a.has("config") ? Config::from_file(a.get("config")) : Config();
  for (const std::string& o : a.positional()) cfg.apply_override(o);
  if (a.has("precision"))
    cfg.set("train.precision", precision_name(parse_precision(a.get("precision"), "--precision")));
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
