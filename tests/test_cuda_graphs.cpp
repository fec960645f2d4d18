// CUDA graphs (engine/device_graph.h, train/step_graph.h; train.cuda_graphs).
// [cuda][test_device]: on a GPU, and in cuda_logic on the CPU's stand-in for a graph (kernel
// calls recorded and replayed without the host code around them, kernels/cpu/recording.h);
// [cuda] alone: the trainer, GPU only. The allocator's capture pools are tested on the CPU in
// test_caching_allocator.cpp, the config's refusals in test_train_config.cpp. Tagged [caching]:
// a graph needs the caching allocator, which the sanitizer run turns off.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/device_graph.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "models/registry.h"
#include "tests/cuda_test_util.h"
#include "tests/tiny_run.h"
#include "train/checkpoint.h"
#include "train/optim.h"
#include "train/step_graph.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Matchers::Contains;

TEST_CASE("a graph replays its captured work on the data of the moment, in place",
          "[cuda][test_device][caching]") {
  PTL_SKIP_WITHOUT_CUDA();
  const Device dev = test::test_device();
  Tensor x = zeros({4}, DType::F32, dev), y;
  DeviceGraph g(dev, [&] { y = add(mul(x, 2.0), 1.0); });  // recorded, not run
  for (double base : {1.0, 10.0}) {
    Tensor host = Tensor::empty({4}, DType::F32);
    for (int i = 0; i < 4; ++i) host.data<float>()[i] = static_cast<float>(base + i);
    copy_(x, host.to(dev));
    g.replay();
    const std::vector<double> got = y.to_double_vector();
    INFO("x starts at " << base);
    for (int i = 0; i < 4; ++i) CHECK(got[static_cast<size_t>(i)] == 2 * (base + i) + 1);
  }
}

TEST_CASE("a capture that reads the device on the host fails, says why, and ends",
          "[cuda][test_device][caching]") {
  PTL_SKIP_WITHOUT_CUDA();
  const Device dev = test::test_device();
  const Tensor x = ones({8}, DType::F32, dev);
  CHECK_THROWS_WITH(DeviceGraph(dev, [&] { (void)sum(x).item(); }), Contains("cannot be captured"));
  if (dev.is_cuda())
    CHECK_THROWS_WITH(DeviceGraph(dev, [&] { (void)sum(x).item(); }),
                      Contains("capturing a CUDA graph") && Contains("train.cuda_graphs off"));
  CHECK(sum(x).item() == 8);  // the device works eagerly again
}

namespace {
// The graphed run's losses and state (num_batches_tracked included: the replays add the
// capture's increments) against the eager run's, bit for bit. Equal bits alone would let two
// runs that both diverged pass, so the eager side must be finite.
void check_same_run(const std::vector<double>& got_losses, const TensorMap& got_state,
                    const std::vector<double>& losses, const TensorMap& state) {
  for (double l : losses) CHECK(std::isfinite(l));
  CHECK_SAME_BITS(got_losses, losses);
  REQUIRE(got_state.size() == state.size());
  for (const auto& [name, want] : state) {
    size_t nonfinite = 0;
    for (double x : want.to_double_vector()) nonfinite += !std::isfinite(x);
    INFO(name);
    CHECK(nonfinite == 0);
    CHECK_SAME_BITS(got_state.at(name), want);
  }
}

struct Steps {
  std::vector<double> losses, accuracies;
  TensorMap state;  // on the CPU: parameters, running statistics, num_batches_tracked
  int replays = 0;
};

// 8 steps of PTL-ResNet-20 (carried BConv-Cell states) with AMSGrad on a PK batch of 3 x 2
// images of 3x32x16, the triplet + cross-entropy loss; the cells are reset before step 4 (an
// epoch boundary). With `graphs`, steps from the third on replay a StepGraph where they can.
Steps train_steps(const Device& dev, bool graphs) {
  manual_seed(11);
  std::shared_ptr<Model> model = make_model("ptl_resnet20", 3);
  model->to(dev);
  model->train();
  std::vector<Tensor> params = model->parameters();
  Adam adam({ParamGroup{"all", params, 1e-3, 1e-3, 1e-4, false}},
            AdamOptions{0.9, 0.999, 1e-8, true, false});
  StepGraph graph(*model, params);
  const Tensor labels = from_vector(std::vector<int64_t>{0, 0, 1, 1, 2, 2}, {6});
  const auto forward_loss = [&](const Tensor& images, const Tensor& y) {
    const ModelOutput o = model->forward(images);
    return mgn_loss(o.triplet.empty() ? std::vector<Tensor>{o.feature} : o.triplet, o.logits, y,
                    0.3);
  };
  Steps s;
  for (int step = 0; step < 8; ++step) {
    if (step == 4) model->reset_state();
    const Tensor images = randn({6, 3, 32, 16});  // on the host, as the loader's
    const bool replay = graphs && step >= 2 && graph.why_eager(images, labels).empty();
    const MgnLossResult l = replay ? graph.run(images, labels, forward_loss)
                                   : forward_loss(images.to(dev), labels.to(dev));
    s.replays += replay;
    s.losses.push_back(l.loss.item());
    s.accuracies.push_back(l.accuracy());
    if (!replay) {
      adam.zero_grad();
      l.loss.backward();
    }
    adam.step();
  }
  for (auto& [name, v] : model->state_dict()) s.state[name] = v.to(Device::cpu());
  return s;
}
}  // namespace

TEST_CASE("StepGraph replays PTL-ResNet-20's steps to the bits of eager steps",
          "[cuda][test_device][caching]") {
  PTL_SKIP_WITHOUT_CUDA();
  const Device dev = test::test_device();
  const Steps eager = train_steps(dev, false), graphs = train_steps(dev, true);
  // Steps 2 (the capture and its first replay), 3, then 5-7: step 4 starts from fresh states.
  CHECK(graphs.replays == 5);
  check_same_run(graphs.losses, graphs.state, eager.losses, eager.state);
  CHECK_SAME_BITS(graphs.accuracies, eager.accuracies);
}

namespace {
struct GraphRun {
  std::vector<double> losses;
  TensorMap weights;  // state_dict on the CPU: parameters, running statistics, counters
  std::string log;
};

// The tiny PTL-ResNet-20 run (carried BConv-Cell states, Adam, triplet + cross-entropy) on the
// GPU for 2 epochs of 4 steps, with or without graphs.
GraphRun tiny_gpu_run(const std::string& out, bool graphs) {
  Config cfg = test::tiny_run_config(out, 2);
  cfg.set("device", "cuda");
  cfg.set("train.max_iters_per_epoch", "4");
  cfg.set("train.cuda_graphs", graphs ? "true" : "false");
  Trainer t(cfg);
  GraphRun r;
  t.set_step_hook([&](int64_t, double loss) { r.losses.push_back(loss); });
  t.run();
  for (auto& [name, v] : t.model().state_dict()) r.weights[name] = v.to(Device::cpu());
  std::ifstream in(out + "/train.log");
  std::stringstream ss;
  ss << in.rdbuf();
  r.log = ss.str();
  return r;
}
}  // namespace

TEST_CASE("train.cuda_graphs trains the tiny PTL run to the bits of eager steps",
          "[cuda][caching]") {
  PTL_SKIP_WITHOUT_GPU();
  test::TempDir dir;
  const GraphRun eager = tiny_gpu_run(dir.path() + "/eager", false),
                 graphs = tiny_gpu_run(dir.path() + "/graphs", true);
  // Epoch 1: two warm-up steps, the capture (its first replay), a replay; epoch 2: a fresh
  // state drawn on the host, then three replays.
  CHECK_THAT(graphs.log, Contains("train.cuda_graphs: 2 steps of epoch 1 replayed the graph, 2 "
                                  "ran eagerly (the last: warm-up step)"));
  CHECK_THAT(graphs.log,
             Contains("train.cuda_graphs: 3 steps of epoch 2 replayed the graph, 1 ran eagerly "
                      "(the last: a BConv-Cell starts from a fresh state, drawn on the host)"));
  REQUIRE(eager.losses.size() == 8);
  check_same_run(graphs.losses, graphs.weights, eager.losses, eager.weights);
}
