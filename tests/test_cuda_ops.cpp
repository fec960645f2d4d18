// Every op, model and a few training steps on the CUDA device, compared with the CPU backend
// (ggml's one-test-for-every-op-on-every-backend idea; the op list is tests/op_cases.h).
// Tagged [cuda]: left out of the default run, and skipped where no CUDA device exists.
// PTL_TEST_DEVICE=cpu runs them CPU against CPU, which checks the tests themselves.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "layers/convert.h"
#include "models/registry.h"
#include "tests/cuda_test_util.h"
#include "tests/gradcheck.h"
#include "tests/op_cases.h"
#include "train/optim.h"

using namespace ptl;
using ptl::test::expect_close;

namespace {

// Runs one case on the CPU and on the test device (cuda:0) in `dtype`: outputs and the gradients of
// sum(out * w) with respect to every floating input must agree.
void compare_case(const std::string& name, const test::OpFn& f, const std::vector<Tensor>& inputs, DType dtype) {
  INFO(name << " in " << dtype_name(dtype));
  const double rtol = dtype == DType::F64 ? 1e-10 : 1e-4;
  std::vector<Tensor> cpu_in, cuda_in;
  for (const Tensor& t : inputs) {
    Tensor c = is_floating(t.dtype()) ? t.detach().to(dtype).clone() : t.detach();
    Tensor g = c.clone().to(test::test_device());  // a leaf of its own, also when the test device is the CPU
    if (is_floating(t.dtype())) {
      c.set_requires_grad(true);
      g.set_requires_grad(true);
    }
    cpu_in.push_back(c);
    cuda_in.push_back(g);
  }
  Tensor out_cpu = f(cpu_in), out_cuda = f(cuda_in);
  REQUIRE(out_cuda.device() == test::test_device());
  expect_close("output", out_cuda, out_cpu, rtol);
  Tensor w = test::uniform64(out_cpu.shape(), 1234, 0.5, 1.5).to(dtype);
  sum(mul(out_cpu, w)).backward();
  sum(mul(out_cuda, w.to(test::test_device()))).backward();
  for (size_t i = 0; i < cpu_in.size(); ++i) {
    if (!cpu_in[i].grad().defined()) continue;
    REQUIRE(cuda_in[i].grad().defined());
    expect_close("gradient of input " + std::to_string(i), cuda_in[i].grad(), cpu_in[i].grad(), rtol);
  }
}

void compare_on_cuda(const std::string& name, const test::OpFn& f, std::vector<Tensor> inputs) {
  for (DType dt : {DType::F64, DType::F32}) compare_case(name, f, inputs, dt);
}

}  // namespace

TEST_CASE("every op on CUDA matches the CPU in float64 and float32", "[cuda]") {
  PTL_SKIP_WITHOUT_CUDA();
  test::elementwise_cases(compare_on_cuda);
  test::reduction_cases(compare_on_cuda);
  test::shape_cases(compare_on_cuda);
  test::linalg_cases(compare_on_cuda);
  test::conv_cases(compare_on_cuda);
  test::batchnorm_cases(compare_on_cuda);
  test::pooling_cases(compare_on_cuda);
  test::loss_cases(compare_on_cuda);
  test::bconv_cases(compare_on_cuda);
}

TEST_CASE("copies, fills, dtype casts and masks on CUDA are exact", "[cuda]") {
  PTL_SKIP_WITHOUT_CUDA();
  const Device gpu = test::test_device();
  Tensor x = test::uniform64({3, 4, 5}, 7, -3, 3);
  for (DType from : {DType::F32, DType::F64, DType::I64, DType::I32})
    for (DType to : {DType::F32, DType::F64, DType::I64, DType::I32}) {
      INFO(dtype_name(from) << " -> " << dtype_name(to));
      Tensor c = x.to(from);
      expect_close("cast", c.to(gpu).to(to), c.to(to), 0);
    }
  Tensor view = permute(x, {2, 0, 1});
  expect_close("strided copy", view.to(gpu).contiguous(), view.contiguous(), 0);
  expect_close("flip", flip(x.to(gpu), 1), flip(x, 1), 0);
  Tensor filled = zeros({4, 6}, DType::F32, gpu);
  Tensor column = narrow(filled, 1, 2, 3);
  fill_(column, 2.5);
  Tensor want = zeros({4, 6});
  Tensor want_column = narrow(want, 1, 2, 3);
  fill_(want_column, 2.5);
  expect_close("fill of a strided view", filled, want, 0);
}

TEST_CASE("batch norm running statistics, BConv states and loss checks on CUDA match the CPU", "[cuda]") {
  PTL_SKIP_WITHOUT_CUDA();
  const Device gpu = test::test_device();
  Tensor x = test::uniform64({4, 3, 5, 2}, 11).to(DType::F32);
  Tensor rm = zeros({3}), rv = ones({3});
  Tensor rm_g = rm.to(gpu).clone(), rv_g = rv.to(gpu).clone();
  batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.1);
  batch_norm(x.to(gpu), Tensor(), Tensor(), rm_g, rv_g, true, 0.1);
  expect_close("running_mean", rm_g, rm, 1e-6);
  expect_close("running_var", rv_g, rv, 1e-6);

  Tensor z = test::uniform64({2, 8, 3, 3}, 12, -2, 2), c = test::uniform64({2, 2, 3, 3}, 13);
  expect_close("BConv new state", bconv_gates(z.to(gpu), c.to(gpu)).c, bconv_gates(z, c).c, 1e-12);

  // A CUDA kernel cannot throw: a target outside [0, K) makes the loss NaN (the CPU op throws).
  Tensor logits = zeros({2, 3}, DType::F32, gpu);
  Tensor bad = from_vector(std::vector<int64_t>{0, 3}, {2}).to(gpu);
  if (gpu.is_cuda())
    CHECK(std::isnan(cross_entropy(logits, bad).item()));
  else
    CHECK_THROWS_WITH(cross_entropy(logits, bad), Catch::Contains("outside [0, 3)"));
}

namespace {
// The same model (same seed) on the CPU and on the test device (cuda:0), both in training mode
// and in `dtype`.
struct ModelPair {
  std::shared_ptr<Model> cpu, gpu;
  ModelPair(const std::string& name, int64_t classes, DType dtype) {
    manual_seed(3);
    cpu = make_model(name, classes);
    manual_seed(3);
    gpu = make_model(name, classes);
    convert_floats(*cpu, dtype);
    convert_floats(*gpu, dtype);
    gpu->to(test::test_device());
  }
};

Tensor mean_cross_entropy(const ModelOutput& out, const Tensor& labels) {
  Tensor loss;
  for (const Tensor& l : out.logits) loss = loss.defined() ? add(loss, cross_entropy(l, labels)) : cross_entropy(l, labels);
  return mul(loss, 1.0 / static_cast<double>(out.logits.size()));
}

// Float64 checks that the CUDA model computes what the CPU one does: both round alike to about
// 1e-16, and the tolerance leaves room for the deep models' batch norms over a few elements,
// which magnify differences. Float32 checks the float kernels (cuDNN in FP32, cuBLAS), whose
// summation orders differ from the CPU's.
double model_rtol(DType dtype) { return dtype == DType::F64 ? 1e-9 : 1e-3; }

// The largest gradient element of the model: the absolute floor for gradients that cancel to
// about zero (a float32 sum of terms of this size carries about 1e-5 of it in rounding).
double largest_gradient(Model& m) {
  double largest = 0;
  for (auto& [n, p] : m.named_parameters())
    if (p.grad().defined()) largest = std::max(largest, max(abs(p.grad())).to(Device::cpu()).item());
  return largest;
}

void compare_models(DType dtype) {
  struct Case {
    std::string model;
    Shape input;
  };
  const double rtol = model_rtol(dtype);
  for (const Case& c : {Case{"resnet20", {4, 3, 32, 32}}, Case{"ptl_resnet20", {4, 3, 32, 32}},
                        Case{"resnet50", {2, 3, 64, 32}}, Case{"mgn_ptl", {4, 3, 96, 32}}}) {
    INFO(c.model << " " << shape_str(c.input) << " in " << dtype_name(dtype));
    ModelPair m(c.model, 10, dtype);
    manual_seed(4);
    Tensor x = randn(c.input).to(dtype);
    Tensor y = from_vector(std::vector<int64_t>{1, 7, 3, 1}, {4});
    y = narrow(y, 0, 0, c.input[0]).contiguous();
    manual_seed(5);  // the BConv-Cells draw their initial states from the engine's generator
    ModelOutput out_cpu = m.cpu->forward(x);
    manual_seed(5);
    ModelOutput out_gpu = m.gpu->forward(x.to(test::test_device()));
    expect_close("feature", out_gpu.feature, out_cpu.feature, rtol);
    mean_cross_entropy(out_cpu, y).backward();
    mean_cross_entropy(out_gpu, y.to(test::test_device())).backward();
    const double floor = (dtype == DType::F64 ? 1e-13 : 1e-5) * largest_gradient(*m.cpu);
    auto pc = m.cpu->named_parameters(), pg = m.gpu->named_parameters();
    REQUIRE(pc.size() == pg.size());
    for (size_t i = 0; i < pc.size(); ++i)
      if (pc[i].second.grad().defined())
        expect_close(pc[i].first + " gradient", pg[i].second.grad(), pc[i].second.grad(), rtol, floor);
  }
}

void compare_sgd_steps(DType dtype) {
  ModelPair m("ptl_resnet20", 10, dtype);
  auto make_sgd = [](Model& model) {
    ParamGroup g{"all", model.parameters(), 0.05, 0.05, 5e-4, false};
    return Sgd({g}, SgdOptions{0.9, 0, true});
  };
  Sgd sgd_cpu = make_sgd(*m.cpu), sgd_gpu = make_sgd(*m.gpu);
  for (int step = 0; step < 3; ++step) {
    manual_seed(100 + step);
    Tensor x = randn({8, 3, 32, 32}).to(dtype);
    Tensor y = from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}, {8});
    manual_seed(200 + step);
    mean_cross_entropy(m.cpu->forward(x), y).backward();
    manual_seed(200 + step);
    mean_cross_entropy(m.gpu->forward(x.to(test::test_device())), y.to(test::test_device())).backward();
    sgd_cpu.step();
    sgd_gpu.step();
    sgd_cpu.zero_grad();
    sgd_gpu.zero_grad();
  }
  const double rtol = model_rtol(dtype);
  auto pc = m.cpu->named_parameters(), pg = m.gpu->named_parameters();
  for (size_t i = 0; i < pc.size(); ++i) expect_close(pc[i].first + " after 3 steps", pg[i].second, pc[i].second, rtol);
  auto bc = m.cpu->named_buffers(), bg = m.gpu->named_buffers();
  for (size_t i = 0; i < bc.size(); ++i) expect_close(bc[i].first + " after 3 steps", bg[i].second, bc[i].second, rtol);
}
}  // namespace

TEST_CASE("models on CUDA give the CPU's outputs and gradients in float64", "[cuda]") {
  PTL_SKIP_WITHOUT_CUDA();
  compare_models(DType::F64);
}

TEST_CASE("models on CUDA give the CPU's outputs and gradients in float32", "[cuda]") {
  PTL_SKIP_WITHOUT_CUDA();
  compare_models(DType::F32);
}

TEST_CASE("a few SGD training steps on CUDA follow the CPU in float64", "[cuda]") {
  PTL_SKIP_WITHOUT_CUDA();
  compare_sgd_steps(DType::F64);
}

TEST_CASE("a few SGD training steps on CUDA follow the CPU in float32", "[cuda]") {
  PTL_SKIP_WITHOUT_CUDA();
  compare_sgd_steps(DType::F32);
}
