// `ptl info`: a model's layer table, parameter count and multiply-accumulates per image; with no
// arguments, the table of models.
#include <cstdio>
#include <map>

#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "models/registry.h"
#include "models/summary.h"
#include "models/weights.h"
#include "train/experiment.h"
#include "train/task_data.h"

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

// Every model with its usual input and the class count assumed without one (building each to
// count its parameters takes half a minute: `ptl info --model NAME` does it for one).
void print_model_table() {
  std::printf("%-14s %-10s %8s\n", "model", "input", "classes");
  for (const std::string& n : ptl::model_names()) {
    const ptl::Shape in = ptl::default_input(n);
    const std::string input = ptl::str(in[0], "x", in[1], "x", in[2]);
    std::printf("%-14s %-10s %8lld\n", n.c_str(), input.c_str(),
                (long long)ptl::default_num_classes(n));
  }
  std::printf(
      "\nptl info --model NAME: its layers, parameters and MACs; ptl info --help: the options\n");
}

// What the weights file at `path` holds and, given a model, how its keys map to it.
void print_weights(const std::string& path, ptl::Model* model, const std::string& name) {
  ptl::WeightsFile file = ptl::read_weights_file(path);
  std::map<std::string, int64_t> dtypes;
  int64_t values = 0;
  for (const auto& [k, t] : file.tensors) {
    ++dtypes[ptl::dtype_name(t.dtype())];
    values += t.numel();
  }
  std::string kinds;
  for (const auto& [d, n] : dtypes) kinds += (kinds.empty() ? "" : ", ") + ptl::str(n, " ", d);
  std::printf("weights %s: %s, %s, %lld values (%s)\n", path.c_str(), file.format.c_str(),
              ptl::count_of(static_cast<int64_t>(file.tensors.size()), "tensor", "tensors").c_str(),
              (long long)values, kinds.c_str());
  for (const std::string& line : file.notes) std::printf("  %s\n", line.c_str());
  if (model == nullptr) {
    std::printf("ptl info --weights W --model NAME (or --config C): how its keys map to a model\n");
    return;
  }
  const ptl::MappedState m = ptl::map_weights_file(std::move(file), name);
  if (!m.ignored.empty()) std::printf("  %s\n", m.notice().c_str());
  const ptl::Module::LoadReport r = model->load_state_dict(m.state, false, path);
  std::printf(
      "for model %s: %lld of its %lld tensors loaded, %zu missing, %zu unexpected, %zu "
      "shape mismatches%s\n",
      name.c_str(), (long long)(r.model_tensors - r.missing.size() - r.mismatched.size()),
      (long long)r.model_tensors, r.missing.size(), r.unexpected.size(), r.mismatched.size(),
      r.ok() ? " (a strict load succeeds)" : r.str().c_str());
}

int run(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    print_model_table();
    return 0;
  }
  ptl::cli::Args args(
      "usage: ptl info   (the table of models)\n"
      "       ptl info --model NAME [--num-classes K] [--input CxHxW]\n"
      "       ptl info --config configs/X.yaml [--num-classes K] [key=value ...]\n"
      "       ptl info --weights W [--model NAME | --config C ...]\n"
      "Prints every convolution and linear layer (weight, output shape for one image, uses,\n"
      "multiply-accumulates), then `parameters: N` and `macs: M` (per image).\n"
      "--model: the network as published (CIFAR and ImageNet ResNets with a stride-2 last stage).\n"
      "--config: the network `ptl train` builds from that config (its model.* keys, its input "
      "size\n"
      "and channels; a ReID dataset keeps the last stage at stride 1 unless model.last_stride "
      "says).\n"
      "Classes: model.num_classes, else --num-classes, else (--config) the training ids or "
      "classes\n"
      "counted in data.root, else 751 for mgn/mgn_ptl, 10 for CIFAR models, else 1000.\n"
      "Input: the model's usual one unless --input or --config gives it.\n"
      "--weights: what a weights file, training checkpoint or .pth holds (its format, tensors and\n"
      "dtypes), and with a model how its keys map to it (docs/deploy.md).\n"
      "models:" +
          model_list(),
      {"model", "num-classes", "input", "config", "weights"});
  if (!args.parse(argv)) return 0;
  if (args.has("weights") && !args.has("model") && !args.has("config")) {
    print_weights(args.get("weights"), nullptr, "");
    return 0;
  }
  ptl::ModelOptions opt;
  std::string name;
  ptl::Shape input;
  int64_t classes = 0;
  std::string classes_from = "model.num_classes";
  if (args.has("config")) {
    const ptl::Settings s = ptl::read_settings(ptl::cli::load_config(args));
    PTL_CHECK(!args.has("model") && !args.has("input"),
              "ptl info: --config sets the model and input; leave out ", "--model and --input");
    name = s.model.name;
    const int64_t channels = ptl::format_channels(s.data.format);
    input = {channels, s.data.height, s.data.width};
    opt = ptl::model_options(s.model, ptl::is_reid_format(s.data.format), channels);
    classes = s.model.num_classes;
    if (classes <= 0 && !args.has("num-classes") && !s.data.root.empty()) {
      classes = ptl::load_task_data(s.data).num_classes;  // what `ptl train` would count
      classes_from = "counted in data.root " + s.data.root;
    }
  } else {
    name = args.require("model");
    input =
        args.has("input") ? ptl::parse_input_shape(args.get("input")) : ptl::default_input(name);
    opt.in_channels = input[0];
  }
  if (classes <= 0) {
    classes = args.get_int("num-classes", ptl::default_num_classes(name));
    classes_from = args.has("num-classes")
                       ? "--num-classes"
                       : "assumed for " + name + "; --num-classes K" +
                             (args.has("config") ? ", model.num_classes or data.root" : "") +
                             " sets it";
  }
  auto model = ptl::make_model(name, classes, opt);
  const ptl::ModelSummary s = ptl::summarize(*model, input);

  std::printf("model %s, input %s, %s (%s)\n\n", name.c_str(), ptl::shape_str(input).c_str(),
              ptl::count_of(classes, "class", "classes").c_str(), classes_from.c_str());
  std::printf("%-28s %-22s %-22s %4s %14s\n", "layer", "weight", "output", "uses", "MACs");
  for (const auto& l : s.layers)
    std::printf("%-28s %-22s %-22s %4lld %14lld\n", l.name.c_str(),
                ptl::shape_str(l.weight).c_str(), ptl::shape_str(l.output).c_str(),
                (long long)l.uses, (long long)l.macs);
  std::printf("\nparameters: %lld (%s)\n", (long long)s.parameters, human(s.parameters).c_str());
  std::printf("macs: %lld (%s per image)\n", (long long)s.macs, human(s.macs).c_str());
  if (args.has("weights")) {
    std::printf("\n");
    print_weights(args.get("weights"), model.get(), name);
  }
  return 0;
}

PTL_COMMAND("info", "a model's layers, parameter count and MACs per image; alone, the models", run);

}  // namespace
