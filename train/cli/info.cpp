// `ptl info`: a model's layer table, parameter count and multiply-accumulates per image.
#include <cstdio>

#include "models/registry.h"
#include "models/summary.h"
#include "train/cli/args.h"
#include "train/cli/command.h"

namespace {

std::string human(int64_t n) {
  char b[32];
  if (n >= 1000000000)
    std::snprintf(b, sizeof b, "%.2f G", n / 1e9);
  else
    std::snprintf(b, sizeof b, "%.2f M", n / 1e6);
  return b;
}

std::string model_list() {
  std::string s;
  for (const std::string& n : ptl::model_names()) s += " " + n;
  return s;
}

int run(const std::vector<std::string>& argv) {
  ptl::cli::Args args(
      "usage: ptl info --model NAME [--num-classes K] [--input CxHxW]\n"
      "Prints every convolution and linear layer (weight, output shape for one image, uses,\n"
      "multiply-accumulates), then `parameters: N` and `macs: M` (per image).\n"
      "Defaults: K 751 for mgn/mgn_ptl, 10 for CIFAR models, else 1000; the model's usual input.\n"
      "models:" + model_list(),
      {"model", "num-classes", "input"});
  if (!args.parse(argv)) return 0;
  const std::string name = args.require("model");
  const ptl::Shape input = args.has("input") ? ptl::parse_input_shape(args.get("input")) : ptl::default_input(name);
  ptl::ModelOptions opt;
  opt.in_channels = input[0];
  auto model = ptl::make_model(name, args.get_int("num-classes", ptl::default_num_classes(name)), opt);
  const ptl::ModelSummary s = ptl::summarize(*model, input);

  std::printf("model %s, input %s\n\n", name.c_str(), ptl::shape_str(input).c_str());
  std::printf("%-28s %-22s %-22s %4s %14s\n", "layer", "weight", "output", "uses", "MACs");
  for (const auto& l : s.layers)
    std::printf("%-28s %-22s %-22s %4lld %14lld\n", l.name.c_str(), ptl::shape_str(l.weight).c_str(),
                ptl::shape_str(l.output).c_str(), (long long)l.uses, (long long)l.macs);
  std::printf("\nparameters: %lld (%s)\n", (long long)s.parameters, human(s.parameters).c_str());
  std::printf("macs: %lld (%s per image)\n", (long long)s.macs, human(s.macs).c_str());
  return 0;
}

PTL_COMMAND("info", "print a model's layers, parameter count and MACs per image", run);

}  // namespace
