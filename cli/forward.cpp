// `ptl forward`: one forward (and optionally backward) pass of a model on tensors from a
// safetensors file; the parity and debugging tool (tests compare it with PyTorch).
#include <cstdio>
#include <optional>

#include "cli/args.h"
#include "cli/command.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/registry.h"
#include "models/weights.h"

namespace {

using namespace ptl;

int run(const std::vector<std::string>& argv) {
  cli::Args args(
      "usage: ptl forward --model NAME [--num-classes K] --weights W --input X.safetensors\n"
      "                   --output Y.safetensors [--train] [--backward] [--bconv-init "
      "normal|zeros]\n"
      "                   [--bconv-mode carry|reset] [--seed S] [--last-stride 1|2]\n"
      "X holds `input` (N, C, H, W) float32 and optionally `grad_output`. Y receives `output` "
      "(logits\n"
      "for classifiers, the retrieval feature for mgn/mgn_ptl) and `out.<name>` for every named "
      "output\n"
      "(feature, logits.<i>, triplet.<i>). --backward adds `grad.<parameter>` for every parameter "
      "and\n"
      "`grad.input`: gradients of sum(output * grad_output), grad_output defaulting to ones.\n"
      "--train uses training mode (batch statistics). W: weights, a training checkpoint or a .pth "
      "of\n"
      "torch.save, with our keys, the authors' release keys (MGN/MGN_PTL) or torchvision's ResNet "
      "keys\n"
      "(docs/models.md, docs/deploy.md); loading is strict.\n"
      "Without --weights the model keeps its seeded random initialisation. --last-stride 1 builds\n"
      "the ReID configs' network (model.last_stride auto on ReID data).",
      {"model", "num-classes", "weights", "input", "output", "bconv-init", "bconv-mode", "seed",
       "last-stride"},
      {"train", "backward"});
  if (!args.parse(argv)) return 0;
  const std::string name = args.require("model");
  manual_seed(static_cast<uint64_t>(args.get_int("seed", 0)));
  TensorMap in = load_safetensors(args.require("input"));
  PTL_CHECK(in.count("input"), args.get("input"), ": no tensor named `input`");
  Tensor x = in.at("input");
  PTL_CHECK(x.dim() == 4 && x.dtype() == DType::F32, args.get("input"),
            ": `input` must be float32 (N, C, H, W), got ", dtype_name(x.dtype()), x.shape_str());

  ModelOptions opt;
  opt.in_channels = x.size(1);
  opt.last_stride = args.get_int("last-stride", 2);  // 1: the ReID configs' (model.last_stride)
  const std::string init = args.get("bconv-init", "normal"), mode = args.get("bconv-mode", "carry");
  PTL_CHECK(init == "normal" || init == "zeros", "--bconv-init must be normal or zeros, got '",
            init, "'");
  PTL_CHECK(mode == "carry" || mode == "reset", "--bconv-mode must be carry or reset, got '", mode,
            "'");
  opt.ptl.state_init = init == "zeros" ? StateInit::Zeros : StateInit::Normal;
  opt.ptl.state_mode = mode == "reset" ? StateMode::ResetEveryBatch : StateMode::Carry;
  auto model = make_model(name, args.get_int("num-classes", default_num_classes(name)), opt);
  if (args.has("weights")) {
    MappedState m = load_weights_for(args.get("weights"), name);
    for (const std::string& line : m.lines())
      std::fprintf(stderr, "ptl forward: %s: %s\n", args.get("weights").c_str(), line.c_str());
    const Module::LoadReport r = model->load_state_dict(m.state, true, args.get("weights"));
    if (r.from_bf16 > 0)
      std::fprintf(stderr, "ptl forward: %s\n", r.conversion_note(args.get("weights")).c_str());
  }
  model->train(args.flag("train"));

  const bool backward = args.flag("backward");
  if (backward) x.set_requires_grad();
  ModelOutput out;
  {
    std::optional<NoGradGuard> ng;
    if (!backward) ng.emplace();
    out = model->forward(x);
  }
  Tensor y = model->main_output(out);
  TensorMap result{{"output", y.detach()}};
  for (auto& [n, t] : named_outputs(out)) result["out." + n] = t.detach();
  if (backward) {
    Tensor g = in.count("grad_output") ? in.at("grad_output") : ones(y.shape());
    PTL_CHECK(g.shape() == y.shape(), args.get("input"), ": `grad_output` ", g.shape_str(),
              " must match the output ", y.shape_str());
    sum(mul(y, g)).backward();
    for (auto& [n, p] : model->named_parameters())
      result["grad." + n] = p.grad().defined() ? p.grad() : zeros_like(p);
    result["grad.input"] = x.grad();
  }
  save_safetensors(args.require("output"), result, {{"model", name}});
  std::printf("ptl forward: %s %s -> output %s\n", name.c_str(), x.shape_str().c_str(),
              y.shape_str().c_str());
  return 0;
}

PTL_COMMAND("forward", "run a model on tensors from a file and save its outputs (and gradients)",
            run);

}  // namespace
