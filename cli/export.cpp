// `ptl export`: a model with its weights as an ONNX file (export/onnx_export.h, docs/deploy.md).
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "data/transform.h"
#include "engine/atomic_file.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/sha256.h"
#include "export/onnx_export.h"
#include "models/weights.h"
#include "train/checkpoint.h"
#include "train/experiment.h"
#include "train/task_data.h"

namespace ptl::cli {

namespace {
// What to build and how: from --config (the network `ptl train` builds) or --model (the
// network as published, as `ptl forward` and `ptl info --model` build it).
struct Plan {
  std::string name;
  ModelOptions options;
  Shape input;
  int64_t classes = 0;  // 0: from the weights, else the default for the model
  bool retrieval = false;
  std::string config_sha256 = "none (--model)";
  uint64_t seed = 0;  // of the random initialisation: the config's, else --seed
};

Plan plan_of(const Args& a) {
  Plan p;
  if (a.has("config")) {
    PTL_CHECK(!a.has("model") && !a.has("num-classes"),
              "ptl export: --config sets the model and its classes (model.name, "
              "model.num_classes); leave out --model and --num-classes");
    const Config cfg = load_config(a);
    const Settings s = read_settings(cfg);
    const int64_t channels = format_channels(s.data.format);
    p.name = s.model.name;
    p.retrieval = is_reid_format(s.data.format);
    p.options = model_options(s.model, p.retrieval, channels);
    p.input = {channels, s.data.height, s.data.width};
    p.classes = s.model.num_classes;
    Sha256 h;
    const std::string yaml = cfg.to_yaml();
    h.update(yaml.data(), yaml.size());
    p.config_sha256 = h.hex();
    p.seed = s.seed;
  } else {
    p.name = a.require("model");
    p.input = default_input(p.name);
    p.classes = a.get_int("num-classes", 0);
    p.retrieval = p.name.rfind("mgn", 0) == 0;  // `ptl forward`'s main output
    p.seed = static_cast<uint64_t>(a.get_int("seed", 0));
  }
  if (a.has("input")) {
    const Shape in = parse_input_shape(a.get("input"));
    PTL_CHECK(!a.has("config") || in[0] == p.input[0], "ptl export: --input ", a.get("input"),
              " has ", in[0], " channels but the config's data.format takes ", p.input[0]);
    p.input = in;
  }
  p.options.in_channels = p.input[0];
  return p;
}

std::string join(const std::array<float, 3>& v, int64_t n) {
  std::string s;
  for (int64_t i = 0; i < n; ++i) s += (i ? "," : "") + str(v[i]);
  return s;
}

int run(const std::vector<std::string>& argv) {
  Args a(
      "usage: ptl export --config configs/X.yaml [key=value ...] [--weights W] --out model.onnx\n"
      "       ptl export --model NAME [--num-classes K] [--seed S] [--weights W] --out model.onnx\n"
      "                  [--input CxHxW] [--batch N|dynamic] [--opset 17]\n"
      "                  [--output feature|logits] [--normalize]\n"
      "Writes the model's inference forward as an ONNX graph (input `input` (N, C, H, W) float32,\n"
      "normalised as in training: the mean and std are in the file's metadata). The output is\n"
      "what `ptl extract` ranks with, `feature`, for a ReID config (and mgn/mgn_ptl with "
      "--model),\n"
      "else the first classifier's `logits`; --normalize adds the L2 normalisation of the "
      "feature.\n"
      "Flip averaging stays outside the graph (docs/deploy.md). BConv-Cells start from a zero "
      "state.\n"
      "--config: the network `ptl train` builds (its input size unless --input); --model: as "
      "published.\n"
      "W: best.safetensors, a checkpoint, or release/torchvision weights; without it the seeded\n"
      "random initialisation. --batch: a fixed batch size, or dynamic (the default).",
      {"config", "model", "num-classes", "seed", "weights", "out", "input", "batch", "opset",
       "output"},
      {"normalize"});
  if (!a.parse(argv)) return 0;
  const std::string out_path = a.require("out");
  PTL_CHECK(a.has("config") || a.has("model"), "ptl export: give --config FILE or --model NAME");
  const Plan p = plan_of(a);

  TensorMap weights;
  if (a.has("weights")) {
    MappedState m = load_weights_for(a.get("weights"), p.name);
    for (const std::string& line : m.lines())
      std::fprintf(stderr, "ptl export: %s: %s\n", a.get("weights").c_str(), line.c_str());
    weights = std::move(m.state);
  }
  manual_seed(p.seed);  // the initialisation `ptl train` (--config) or `ptl forward` draws
  int64_t classes = p.classes > 0 ? p.classes : default_num_classes(p.name);
  std::shared_ptr<Model> model = make_model(p.name, classes, p.options);
  if (p.classes <= 0 && !weights.empty()) {
    const int64_t found = classifier_size(*model, weights, classes);
    if (found != classes) model = make_model(p.name, classes = found, p.options);
  }
  if (a.has("weights")) {
    const Module::LoadReport r = model->load_state_dict(weights, true, a.get("weights"));
    if (r.from_bf16 > 0)
      std::fprintf(stderr, "ptl export: %s\n", r.conversion_note(a.get("weights")).c_str());
  }

  const std::string output = a.get("output", p.retrieval ? "feature" : "logits");
  PTL_CHECK(output == "feature" || output == "logits",
            "ptl export: --output must be feature or "
            "logits, got '",
            output, "'");
  const bool normalize = a.flag("normalize");
  PTL_CHECK(!normalize || output == "feature",
            "ptl export: --normalize normalises the feature; leave it out with --output logits");
  const std::string batch = a.get("batch", "dynamic");
  OnnxExportSpec spec;
  spec.input = p.input;
  spec.batch = batch == "dynamic" ? 0 : a.get_int("batch", 0);
  PTL_CHECK(batch == "dynamic" || spec.batch > 0,
            "ptl export: --batch must be a positive size "
            "or dynamic, got '",
            batch, "'");
  spec.opset = a.get_int("opset", 17);
  spec.output_name = output;
  data::Transform t =
      data::Transform::eval(static_cast<int>(p.input[1]), static_cast<int>(p.input[2]));
  if (p.input[0] == 1) t.grey();
  const std::string input = str(p.input[0], "x", p.input[1], "x", p.input[2]);
  spec.metadata = {{"model", p.name},
                   {"input", input},
                   {"mean", join(t.mean, p.input[0])},
                   {"std", join(t.std, p.input[0])},
                   // as ptl's evaluation resizes: ReID bicubic, classification bilinear (PIL's)
                   {"resize", p.retrieval ? "bicubic" : "bilinear"},
                   {"ptl_version", PTL_VERSION},
                   {"config_sha256", p.config_sha256},
                   {"weights", a.get("weights", "none (seeded random initialisation)")},
                   {"num_classes", str(classes)},
                   {"output", output + (normalize ? " (L2-normalised)" : "")},
                   {"bconv_state", "zero (the mean of the release's N(0, 0.001^2) draw)"},
                   {"flip",
                    "not in the graph: average the outputs of an image and its "
                    "horizontal flip, then normalise (docs/deploy.md)"}};
  auto forward = [&](const Tensor& x) {
    ModelOutput o = model->forward(x);
    Tensor y = output == "feature" ? o.feature : o.logits.at(0);
    return normalize ? l2_normalize(y, 1) : y;
  };
  std::string bytes;
  try {
    bytes = export_onnx(*model, forward, spec);
  } catch (const Error& e) {
    fail(str("ptl export: ", p.name, " on input ", input,
             a.has("input")    ? " (--input)"
             : a.has("config") ? " (data.height, data.width)"
                               : "",
             ": ", e.what()));
  }
  write_file_atomic(out_path, bytes);
  std::printf("ptl export: %s, input (%s, %s) -> %s; %s, %.1f MB\n", p.name.c_str(),
              spec.batch ? str(spec.batch).c_str() : "batch", input.c_str(), output.c_str(),
              out_path.c_str(), bytes.size() / 1e6);
  return 0;
}
}  // namespace

PTL_COMMAND("export", "write a model with its weights as an ONNX file", run);

}  // namespace ptl::cli
