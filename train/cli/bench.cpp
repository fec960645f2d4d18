// `ptl bench`: times a whole model's training step or inference in-process, after warm-up.
// Every benchmark of a whole model goes through it (docs/models.md).
#include <algorithm>
#include <cstdio>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/device_timer.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "models/registry.h"
#include "train/cli/args.h"
#include "train/cli/command.h"

namespace {

using namespace ptl;

Device check_device(const std::string& dev) {
  const Device d = Device::parse(dev);
  if (d.is_cpu()) return d;
  PTL_CHECK(cuda_compiled(), "ptl bench: --device ", dev,
            " needs a build with the CUDA backend; this ptl was built for the CPU only (configure with -DPTL_CUDA=ON on "
            "a machine with the CUDA toolkit)");
  PTL_CHECK(cuda_device_count() > d.index, "ptl bench: --device ", dev, ": ", cuda_device_count(),
            " usable CUDA device(s) found");
  return d;
}

// Forward, mean cross-entropy over the model's classifiers, backward, plain SGD (lr 0.01).
void train_step(Model& model, const Tensor& x, const Tensor& labels) {
  ModelOutput out = model.forward(x);
  Tensor loss;
  for (const Tensor& l : out.logits) {
    Tensor ce = cross_entropy(l, labels);
    loss = loss.defined() ? add(loss, ce) : ce;
  }
  mul(loss, 1.0 / static_cast<double>(out.logits.size())).backward();
  NoGradGuard ng;
  for (Tensor& p : model.parameters()) {
    if (!p.grad().defined()) continue;
    Tensor dst = p.detach();
    copy_(dst, sub(p.detach(), mul(p.grad(), 0.01)));
    p.zero_grad();
  }
}

int run(const std::vector<std::string>& argv) {
  cli::Args args(
      "usage: ptl bench --model NAME [--num-classes K] --batch N --input CxHxW (--train-step | --inference)\n"
      "                 [--threads T] [--repeat R] [--warmup W] [--device cpu|cuda]\n"
      "Times R steps (default 5) after W warm-up steps (default 1) and prints `median_ms: X` with the\n"
      "minimum and maximum. A train step is forward, the mean cross-entropy of the model's classifiers\n"
      "on random labels, backward and an SGD update; inference is an eval-mode forward without autograd.",
      {"model", "num-classes", "batch", "input", "threads", "repeat", "warmup", "device"}, {"train-step", "inference"});
  if (!args.parse(argv)) return 0;
  const Device device = check_device(args.get("device", "cpu"));
  PTL_CHECK(args.flag("train-step") != args.flag("inference"), "ptl bench: give exactly one of --train-step and --inference");
  if (args.has("threads")) set_num_threads(static_cast<int>(args.get_int("threads", 0)));
  const std::string name = args.require("model");
  const Shape in = parse_input_shape(args.require("input"));
  const int64_t batch = args.get_int("batch", 0), K = args.get_int("num-classes", default_num_classes(name));
  const int repeat = static_cast<int>(args.get_int("repeat", 5)), warmup = static_cast<int>(args.get_int("warmup", 1));
  PTL_CHECK(batch > 0 && repeat > 0 && warmup >= 0, "ptl bench: --batch and --repeat must be positive");

  manual_seed(0);
  ModelOptions opt;
  opt.in_channels = in[0];
  auto model = make_model(name, K, opt);
  model->to(device);
  const bool train = args.flag("train-step");
  model->train(train);
  const Tensor x = randn({batch, in[0], in[1], in[2]}).to(device);
  std::vector<int64_t> y(batch);
  for (int64_t i = 0; i < batch; ++i) y[i] = default_generator().randint(K);
  const Tensor labels = from_vector(y, {batch}).to(device);

  std::vector<double> ms;
  DeviceTimer timer(device);  // CUDA events on a GPU: the time the device spends on a step
  for (int i = 0; i < warmup + repeat; ++i) {
    timer.start();
    if (train) {
      train_step(*model, x, labels);
    } else {
      NoGradGuard ng;
      model->forward(x);
    }
    const double dt = timer.stop_ms();
    if (i >= warmup) ms.push_back(dt);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  std::printf("model %s, %s, batch %lld, input %s, %s, threads %d, %d warm-up + %d timed steps\n", name.c_str(),
              train ? "train step" : "inference", (long long)batch, shape_str(in).c_str(), device.str().c_str(),
              num_threads(), warmup, repeat);
  std::printf("median_ms: %.1f  min_ms: %.1f  max_ms: %.1f  (%.2f images/s)\n", median, ms.front(), ms.back(),
              1000.0 * batch / median);
  return 0;
}

PTL_COMMAND("bench", "time a model's training step or inference (median of repeats after warm-up)", run);

}  // namespace
