// `ptl bench`: times a whole model's training step or inference in-process, after warm-up.
// Every benchmark of a whole model goes through it (docs/models.md). Started by mpirun as W
// processes, a train step is data parallel: each rank takes its rows of the batch and the
// gradients are summed over the ranks before the update (scripts/bench_dist.sh).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>

#include "base/parallel.h"
#include "cli/args.h"
#include "cli/command.h"
#include "dist/communicator.h"
#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/device_timer.h"
#include "engine/ops.h"
#include "engine/precision.h"
#include "kernels/cpu/isa.h"
#include "layers/bconv_cell.h"
#include "models/registry.h"
#include "train/data_parallel.h"
#include "train/optim.h"
#include "train/step_graph.h"

namespace {

using namespace ptl;

Device check_device(const std::string& dev) {
  const Device d = Device::parse(dev);
  if (d.is_cpu()) return d;
  PTL_CHECK(cuda_compiled(), "ptl bench: --device ", dev,
            " needs a build with the CUDA backend; this ptl was built for the CPU only (configure "
            "with -DPTL_CUDA=ON on "
            "a machine with the CUDA toolkit)");
  PTL_CHECK(cuda_device_count() > d.index, "ptl bench: --device ", dev, ": ", cuda_device_count(),
            " usable CUDA device(s) found");
  return d;
}

// Forward and the mean cross-entropy over the model's classifiers.
MgnLossResult mean_cross_entropy(Model& model, const Tensor& x, const Tensor& labels) {
  ModelOutput out = model.forward(x);
  Tensor loss;
  for (const Tensor& l : out.logits) {
    Tensor ce = cross_entropy(l, labels);
    loss = loss.defined() ? add(loss, ce) : ce;
  }
  loss = mul(loss, 1.0 / static_cast<double>(out.logits.size()));
  return {loss, Tensor(), loss, Tensor(), Tensor()};
}

// The mean cross-entropy's forward and backward, then `between` (the gradient sum of a
// data-parallel step), plain SGD (lr 0.01, no momentum) through the trainer's optimizer,
// gradients dropped. With `graph` (--cuda-graphs) forward and backward replay it after the first
// step (the trainer's train.cuda_graphs: the first step fills the caches a capture cannot fill).
void train_step(Model& model, Sgd& sgd, const Tensor& x, const Tensor& labels,
                const std::function<void()>& between, StepGraph* graph, bool first) {
  auto forward_loss = [&model](const Tensor& images, const Tensor& y) {
    return mean_cross_entropy(model, images, y);
  };
  if (graph && !first) {
    const std::string why = graph->why_eager(x, labels);
    PTL_CHECK(why.empty(), "ptl bench --cuda-graphs: the step cannot replay: ", why);
    graph->run(x, labels, forward_loss);
  } else {
    forward_loss(x, labels).loss.backward();
  }
  between();
  sgd.step();
  sgd.zero_grad();
}

// One BConv-Cell (Carry mode, training) on x of --input: forward, sum of the output, backward
// (input and weight gradients), as the side branch runs it. `spec` is OUT:STRIDE.
void cell_step(BConvCell& cell, const Tensor& x) {
  sum(cell.forward(x)).backward();
  cell.gates->weight.zero_grad();
}

struct Timing {
  double median, min, max;
};

// Runs `step` warmup + repeat times and times the last `repeat` on the device (DeviceTimer:
// CUDA events on a GPU, the time the device spends on a step).
template <class F>
Timing time_steps(Device device, int warmup, int repeat, const F& step) {
  DeviceTimer timer(device);
  std::vector<double> ms;
  for (int i = 0; i < warmup + repeat; ++i) {
    timer.start();
    step();
    const double dt = timer.stop_ms();
    if (i >= warmup) ms.push_back(dt);
  }
  std::sort(ms.begin(), ms.end());
  const double median =
      ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  return {median, ms.front(), ms.back()};
}

// On a GPU: the peak of device memory held by tensors during the timed steps.
void print_device_memory(Device device) {
  if (!device.is_cuda()) return;
  const DeviceMemory m = device_memory(device);
  std::printf(
      "device memory: peak %.1f MiB allocated, %.1f MiB reserved by the caching allocator\n",
      m.peak_allocated / 1048576.0, m.reserved / 1048576.0);
}

int run(const std::vector<std::string>& argv) {
  cli::Args args(
      "usage: ptl bench --model NAME [--num-classes K] --batch N --input CxHxW (--train-step | "
      "--inference)\n"
      "                 [--threads T] [--repeat R] [--warmup W] [--device cpu|cuda] [--tf32]\n"
      "                 [--nondeterministic] [--split-bn] [--cudnn-heuristics] [--cuda-graphs]\n"
      "                 [--precision float32|bf16]\n"
      "       ptl bench --cell OUT:STRIDE --batch N --input CxHxW --train-step [--threads T] ...\n"
      "Times R steps (default 5) after W warm-up steps (default 1) and prints `median_ms: X` with "
      "the\n"
      "minimum and maximum. A train step is forward, the mean cross-entropy of the model's "
      "classifiers\n"
      "on random labels, backward and an SGD update; inference is an eval-mode forward without "
      "autograd.\n"
      "--cell times one BConv-Cell (3x3 gates conv C -> 4*OUT, carried state) instead of a model: "
      "its\n"
      "train step is forward, sum of the output, backward to the input and the gates' weight.\n"
      "--tf32 lets float GEMMs and convolutions on CUDA use TF32 tensor cores (off: exact "
      "float32).\n"
      "--nondeterministic lets cuDNN take its fastest-ranked convolution algorithms, as PyTorch "
      "does by\n"
      "default (off: deterministic ones where they fit, the same bits on every run).\n"
      "--split-bn splits each batch-norm channel's statistics and gradient sums over several "
      "CUDA blocks\n"
      "where the channels are too few to fill the GPU (a fixed order: the same bits on every run; "
      "not yet\n"
      "proven on a GPU, so off by default).\n"
      "--cudnn-heuristics takes CUDA convolutions' engines from cuDNN's backend-API heuristics "
      "under the\n"
      "same rules, the legacy algorithms the fallback (off: the legacy algorithms only).\n"
      "--cuda-graphs replays a CUDA train step's forward and backward as one CUDA graph after the "
      "first\n"
      "warm-up step (train.cuda_graphs; needs --warmup 2 or more, one process).\n"
      "--precision bf16 runs convolutions and linear layers on bf16 operands with float32 sums, "
      "the\n"
      "model's batch in bf16 as the data loader writes it (train.precision; CPU or CUDA).",
      {"cell", "model", "num-classes", "batch", "input", "threads", "repeat", "warmup", "device",
       "precision"},
      {"train-step", "inference", "tf32", "nondeterministic", "split-bn", "cudnn-heuristics",
       "cuda-graphs"});
  if (!args.parse(argv)) return 0;
  const Device device = check_device(args.get("device", "cpu"));
  PTL_CHECK(args.flag("train-step") != args.flag("inference"),
            "ptl bench: give exactly one of --train-step and --inference");
  if (args.has("threads")) set_num_threads(static_cast<int>(args.get_int("threads", 0)));
  set_allow_tf32(args.flag("tf32"));
  set_deterministic_convolutions(!args.flag("nondeterministic"));
  set_split_batchnorm(args.flag("split-bn"));
  set_cudnn_engine_heuristics(args.flag("cudnn-heuristics"));
  const Precision precision = parse_precision(args.get("precision", "float32"), "--precision");
  PrecisionScope precision_scope(precision);
  // Printed under the header line of a bf16 run on a CPU path that emulates VDPBF16PS.
  const char* emulated =
      precision == Precision::BF16 && device.is_cpu() && cpu::current_isa() != cpu::Isa::avx512bf16
          ? "note: this CPU path has no AVX512_BF16: bf16 products are emulated with float32 FMAs, "
            "so bf16 may be slower than float32 here\n"
          : "";
  const Shape in = parse_input_shape(args.require("input"));
  if (args.has("cell")) {
    PTL_CHECK(args.flag("train-step"),
              "ptl bench --cell: only --train-step (forward + backward) is timed");
    const std::string spec = args.get("cell", "");
    const size_t colon = spec.find(':');
    PTL_CHECK(colon != std::string::npos && in.size() == 3,
              "ptl bench --cell: expected OUT:STRIDE and --input CxHxW, got ", spec);
    const int64_t out = std::stoll(spec.substr(0, colon)),
                  stride = std::stoll(spec.substr(colon + 1));
    const int64_t batch = args.get_int("batch", 0);
    const int repeat = static_cast<int>(args.get_int("repeat", 5)),
              warmup = static_cast<int>(args.get_int("warmup", 1));
    PTL_CHECK(batch > 0 && out > 0 && stride > 0 && repeat > 0 && warmup >= 0,
              "ptl bench --cell: bad arguments");
    manual_seed(0);
    BConvCell cell(BConvCellSpec{in[0], out, stride});
    cell.to(device);
    cell.train(true);
    Tensor x = randn({batch, in[0], in[1], in[2]}).to(device);
    x.set_requires_grad(true);
    const Timing t = time_steps(device, warmup, repeat, [&] {
      cell_step(cell, x);
      x.zero_grad();
    });
    std::printf(
        "bconv cell %lld -> %lld stride %lld, forward+backward, batch %lld, input %s, %s, threads "
        "%d, CPU path %s, precision %s, %d warm-up + %d timed\n%s",
        (long long)in[0], (long long)out, (long long)stride, (long long)batch,
        shape_str(in).c_str(), device.str().c_str(), num_threads(), cpu::isa_description().c_str(),
        precision_name(precision), warmup, repeat, emulated);
    std::printf("median_ms: %.2f  min_ms: %.2f  max_ms: %.2f\n", t.median, t.min, t.max);
    print_device_memory(device);
    return 0;
  }
  const std::string name = args.require("model");
  const int64_t batch = args.get_int("batch", 0),
                K = args.get_int("num-classes", default_num_classes(name));
  const int repeat = static_cast<int>(args.get_int("repeat", 5)),
            warmup = static_cast<int>(args.get_int("warmup", 1));
  PTL_CHECK(batch > 0 && repeat > 0 && warmup >= 0,
            "ptl bench: --batch and --repeat must be positive");

  manual_seed(0);
  ModelOptions opt;
  opt.in_channels = in[0];
  auto model = make_model(name, K, opt);
  model->to(device);
  const bool train = args.flag("train-step");
  model->train(train);
  Tensor x = randn({batch, in[0], in[1], in[2]}).to(device);
  if (precision == Precision::BF16) x = x.to(DType::BF16);  // as the loader hands it over
  std::vector<int64_t> y(batch);
  for (int64_t i = 0; i < batch; ++i) y[i] = default_generator().randint(K);
  Tensor labels = from_vector(y, {batch}).to(device);
  // Data parallel under mpirun: rank r trains rows [r N / W, (r + 1) N / W) of the batch.
  dist::Communicator& comm = dist::world();
  const int W = comm.size(), rank = comm.rank();
  PTL_CHECK(W == 1 || train, "ptl bench: several processes time train steps only");
  PTL_CHECK(batch >= W, "ptl bench: a batch of ", batch, " over ", W, " processes");
  const int64_t first = batch * rank / W, rows = batch * (rank + 1) / W - first;
  x = narrow(x, 0, first, rows).contiguous();
  labels = narrow(labels, 0, first, rows).contiguous();
  DataParallel dp(comm, *model);
  if (W > 1) dp.prepare_gradients(static_cast<double>(rows) / static_cast<double>(batch));
  // Of the timed steps: waiting for the slowest rank's backward (a barrier), then the sum.
  double wait_ms = 0, reduce_ms = 0;
  auto between = [&] {
    if (W == 1) return;
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    const Clock::time_point t0 = Clock::now();
    dist::any_rank(comm, false);
    const Clock::time_point t1 = Clock::now();
    dp.reduce_gradients();
    wait_ms += ms(t0, t1);
    reduce_ms += ms(t1, Clock::now());
  };

  ParamGroup all;
  all.name = "all";
  all.params = model->parameters();
  all.lr = all.base_lr = 0.01;
  Sgd sgd({all}, SgdOptions{0.0, 0.0, false});
  std::unique_ptr<StepGraph> graph;
  if (args.flag("cuda-graphs")) {
    PTL_CHECK(device.is_cuda() && train && W == 1 && warmup >= 2,
              "ptl bench --cuda-graphs: a CUDA --train-step of one process with --warmup 2 or "
              "more (the first step fills the caches, the second is captured)");
    graph = std::make_unique<StepGraph>(*model, all.params);
  }
  reset_peak_device_memory(device);
  int steps = 0;
  const Timing t = time_steps(device, warmup, repeat, [&] {
    if (++steps == warmup + 1) wait_ms = reduce_ms = 0;  // the timed steps only
    if (train) {
      train_step(*model, sgd, x, labels, between, graph.get(), steps == 1);
    } else {
      NoGradGuard ng;
      model->forward(x);
    }
  });
  if (rank != 0) return 0;  // rank 0 reports; the ranks step together
  std::printf(
      "model %s, %s%s, batch %lld, input %s, %s, threads %d, CPU path %s, precision %s, %d "
      "warm-up + %d timed steps\n%s",
      name.c_str(), train ? "train step" : "inference", graph ? " (CUDA graph)" : "",
      (long long)batch, shape_str(in).c_str(), device.str().c_str(), num_threads(),
      cpu::isa_description().c_str(), precision_name(precision), warmup, repeat, emulated);
  if (W > 1)
    std::printf(
        "data parallel: %d processes x %lld rows; gradient sum %.1f ms a step (%.1f%%), after "
        "%.1f ms waiting for the slowest rank\n",
        W, (long long)rows, reduce_ms / repeat, 100.0 * reduce_ms / repeat / t.median,
        wait_ms / repeat);
  std::printf("median_ms: %.1f  min_ms: %.1f  max_ms: %.1f  (%.2f images/s)\n", t.median, t.min,
              t.max, 1000.0 * batch / t.median);
  print_device_memory(device);
  return 0;
}

PTL_COMMAND("bench", "time a model's training step or inference (median of repeats after warm-up)",
            run);

}  // namespace
