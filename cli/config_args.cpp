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

Experiment trained_experiment(const Args& a, bool read_data) {
  return trained_experiment(load_config(a), a.require("weights"), read_data);
}

Experiment trained_experiment(Config cfg, const std::string& weights, bool read_data) {
  cfg.set("model.pretrained", "");
  Experiment e = read_data ? Experiment(std::move(cfg))
                           : Experiment(std::move(cfg), Experiment::WithoutData{});
  e.load_weights(weights);
  return e;
}

}  // namespace ptl::cli
