// CUDA graphs (engine/device_graph.h, train/step_graph.h; train.cuda_graphs). [cuda]: skipped
// without a GPU. The allocator's capture pools are tested on the CPU in
// test_caching_allocator.cpp, the config's refusals in test_train_config.cpp. Tagged [caching]:
// a graph needs the caching allocator, which the sanitizer run turns off.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "engine/device_graph.h"
#include "engine/ops.h"
#include "tests/cuda_test_util.h"
#include "tests/tiny_run.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

using namespace ptl;
using Catch::Matchers::Contains;

TEST_CASE("a CUDA graph replays its captured work on the data of the moment, in place",
          "[cuda][caching]") {
  PTL_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  Tensor x = zeros({4}, DType::F32, gpu), y;
  DeviceGraph g(gpu, [&] { y = add(mul(x, 2.0), 1.0); });  // recorded, not run
  for (double base : {1.0, 10.0}) {
    Tensor host = Tensor::empty({4}, DType::F32);
    for (int i = 0; i < 4; ++i) host.data<float>()[i] = static_cast<float>(base + i);
    copy_(x, host);
    g.replay();
    const std::vector<double> got = y.to_double_vector();
    INFO("x starts at " << base);
    for (int i = 0; i < 4; ++i) CHECK(got[static_cast<size_t>(i)] == 2 * (base + i) + 1);
  }
}

TEST_CASE("a capture that reads the device on the host fails, names the switch, and ends",
          "[cuda][caching]") {
  PTL_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  const Tensor x = ones({8}, DType::F32, gpu);
  CHECK_THROWS_WITH(DeviceGraph(gpu, [&] { (void)sum(x).item(); }),
                    Contains("capturing a CUDA graph") && Contains("cannot be captured") &&
                        Contains("train.cuda_graphs off"));
  CHECK(sum(x).item() == 8);  // the stream works eagerly again
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
  CHECK_SAME_BITS(graphs.losses, eager.losses);
  REQUIRE(graphs.weights.size() == eager.weights.size());
  for (const auto& [name, want] : eager.weights) {
    INFO(name);  // num_batches_tracked included: the replays add the capture's increments
    CHECK_SAME_BITS(graphs.weights.at(name), want);
  }
}
