// bf16 precision on the CUDA device (docs/cuda.md, "bf16 on CUDA"): the device's float32 <-> bf16
// casts against the CPU's bit for bit, conv2d and linear in bf16 (output and gradients) against
// the CPU's bf16 results within a bound derived from the operands, and a short bf16 training run
// (the loader's bf16 batches through the pinned copy, float32 weights and checkpoints). Tagged
// [cuda][test_device]: skipped without a GPU; PTL_TEST_DEVICE=cpu (ctest cuda_logic) runs them CPU
// against CPU, where every comparison asks for the same bits.
//
// The bound. Both sides multiply the same bf16 operands: the casts give the same bits (the first
// test), and grad_output is the same float32 weights rounded the same way. A product of two bf16
// values is exact in float32 (8 + 8 significant bits), so each result element is a float32 sum of
// the same k exact terms, differing between the sides only in the order (and grouping) of the
// additions. Any order of float32 additions of k terms p_i errs by at most (k - 1) u sum|p_i|
// (first order), with u = 2^-24 for rounding to nearest; we take u = 2^-23, which also covers a
// tensor-core adder that truncates the addends it aligns. So the two sides differ by at most
//   e = 2 k u S,  S = sum|p_i|  (times 1.01 for the second-order terms),
// and S is the same op in float64 on the operands' absolute values (|bf16 x|, |bf16 w|, |bias|,
// weights |grad_output|, which the test picks among bf16 values). Then:
//   - cuDNN's bf16 convolutions round y, dx and dw to bf16 (kernels/cuda/conv.cu): one more
//     relative error of 2^-8 on a value below S + e in magnitude;
//   - the bias is added after the sum in float32 on both sides (one rounding each, relative u of
//     a value below S + e, S counting |bias| as one more term).
// k counts the terms of an element: C*KH*KW for a convolution's y, Cout*KH*KW for dx, N*OH*OW for
// dw and the bias gradient (that one is a float64 sum rounded to float32 on both sides, well
// within the bound), the inner dimension for linear.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/precision.h"
#include "engine/safetensors.h"
#include "tests/cuda_test_util.h"
#include "tests/gradcheck.h"
#include "tests/tiny_run.h"
#include "train/trainer.h"

using namespace ptl;

namespace {

constexpr double kU = 0x1p-23;     // float32 addition, rounding to nearest or truncating
constexpr double kBf16U = 0x1p-8;  // rounding to bf16 (8 significant bits), to nearest

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// f's output and the gradients of sum(out * weights) with respect to every input, computed on
// `dev` from fresh leaves (in bf16 precision when `precision` says so), all copied to the CPU.
std::vector<Tensor> forward_backward(const Fn& f, const std::vector<Tensor>& inputs,
                                     const Tensor& weights, const Device& dev,
                                     Precision precision) {
  std::vector<Tensor> in;
  for (const Tensor& t : inputs) {
    Tensor leaf = t.clone().to(dev);
    leaf.set_requires_grad(true);
    in.push_back(leaf);
  }
  PrecisionScope scope(precision);
  const Tensor out = f(in);
  sum(mul(out, weights.to(dev))).backward();
  std::vector<Tensor> r{out.to(Device::cpu())};
  for (const Tensor& t : in) r.push_back(t.grad().to(Device::cpu()));
  return r;
}

// The inputs as the bf16 ops see them, in float64: the first `operands` rounded to bf16, the
// rest (a bias, added in float32) as they are.
std::vector<Tensor> as_seen(const std::vector<Tensor>& inputs, size_t operands) {
  std::vector<Tensor> r;
  for (size_t i = 0; i < inputs.size(); ++i)
    r.push_back((i < operands ? inputs[i].to(DType::BF16) : inputs[i]).to(DType::F64));
  return r;
}

std::vector<Tensor> abs_all(const std::vector<Tensor>& ts) {
  std::vector<Tensor> r;
  for (const Tensor& t : ts) r.push_back(abs(t));
  return r;
}

// Every element's bound (file comment): k terms, s the float64 sums of their magnitudes,
// `rounded` when the device rounds the result to bf16.
std::vector<double> bounds(int64_t k, const Tensor& s, bool rounded) {
  std::vector<double> b = s.to_double_vector();
  for (double& v : b) {
    const double e = 2.02 * static_cast<double>(k) * kU * v;
    v = e + (rounded ? kBf16U * (v + e) : 0.0) + 2 * kU * (v + e);
  }
  return b;
}

struct Expect {
  const char* name;
  int64_t terms;  // k of the file comment
  bool rounded;   // rounded to bf16 on CUDA (cuDNN's bf16 results)
};

// f in bf16 on the test device against the CPU, output then each input's gradient as `expect`
// lists them: within the bound on a GPU, the same bits with the CPU as the test device. The
// first `operands` inputs are f's bf16 operands; `weights` (of the output) must be bf16 values,
// so that grad_output is the same whether an op rounds it or not. The CPU's own results are
// checked against the float64 sums of the same bf16 operands within the bound without bf16
// rounding (half of it would do), which exercises the bound on any machine.
void compare_bf16(const Fn& f, const std::vector<Tensor>& inputs, size_t operands,
                  const Tensor& weights, const std::vector<Expect>& expect) {
  REQUIRE(weights.to(DType::BF16).to(DType::F32).to_double_vector() == weights.to_double_vector());
  const std::vector<Tensor> want =
      forward_backward(f, inputs, weights, Device::cpu(), Precision::BF16);
  const std::vector<Tensor> got =
      forward_backward(f, inputs, weights, test::test_device(), Precision::BF16);
  const std::vector<Tensor> seen = as_seen(inputs, operands);
  const Tensor weights64 = weights.to(DType::F64);
  const std::vector<Tensor> exact =
      forward_backward(f, seen, weights64, Device::cpu(), Precision::F32);
  const std::vector<Tensor> s =
      forward_backward(f, abs_all(seen), abs(weights64), Device::cpu(), Precision::F32);
  REQUIRE(got.size() == expect.size());
  for (size_t i = 0; i < expect.size(); ++i) {
    INFO(expect[i].name << " " << want[i].shape_str() << ", " << expect[i].terms << " terms");
    CHECK(want[i].dtype() == DType::F32);
    CHECK(got[i].dtype() == DType::F32);
    const std::vector<double> b = bounds(expect[i].terms, s[i], expect[i].rounded);
    // The CPU does not round to bf16: its results get the bound without that term.
    const std::string cpu_vs_exact =
        test::mismatch_each(want[i], exact[i], bounds(expect[i].terms, s[i], false));
    INFO("the CPU against the float64 sums: " << cpu_vs_exact);
    CHECK(cpu_vs_exact.empty());
    if (!test::test_device().is_cuda()) {
      CHECK_SAME_BITS(got[i], want[i]);
      continue;
    }
    const std::string device_vs_cpu = test::mismatch_each(got[i], want[i], b);
    INFO("the device against the CPU: " << device_vs_cpu << "; the device against the float64 "
                                        << "sums: " << test::mismatch_each(got[i], exact[i], b));
    CHECK(device_vs_cpu.empty());
  }
}

}  // namespace

TEST_CASE("bf16 casts on the device give the CPU's bits", "[cuda][test_device][bf16]") {
  PTL_SKIP_WITHOUT_CUDA();
  // Every bf16 value's float32 neighbourhood: each of the 2^16 upper halves (sign, exponent,
  // 7 mantissa bits: zeros, subnormals, infinities, NaNs) with the lower halves that decide the
  // rounding (0, the smallest, just below, at and just above half-way, the largest, and two
  // others). 2^19 patterns, of every class base/bf16.h treats.
  const uint32_t lows[] = {0x0000u, 0x0001u, 0x7FFFu, 0x8000u, 0x8001u, 0xFFFFu, 0x4000u, 0xC123u};
  std::vector<float> patterns;
  for (uint32_t hi = 0; hi < 0x10000u; ++hi)
    for (uint32_t lo : lows) patterns.push_back(float_from_bits((hi << 16) | lo));
  const int64_t n = static_cast<int64_t>(patterns.size());
  const Tensor f32 = from_vector(patterns, {n});
  const Tensor want16 = f32.to(DType::BF16),
               got16 = f32.to(test::test_device()).to(DType::BF16).to(Device::cpu());
  int64_t differ = 0, first = -1;
  for (int64_t i = 0; i < n; ++i)
    if (got16.data<bf16>()[i].bits != want16.data<bf16>()[i].bits && differ++ == 0) first = i;
  test::compared_elements() += static_cast<size_t>(n);
  INFO(differ << " of " << n << " float32 -> bf16 casts differ; first: float32 bits 0x" << std::hex
              << (first < 0 ? 0u : float_bits(patterns[static_cast<size_t>(first)])));
  CHECK(differ == 0);
  // bf16 -> float32 is exact: every bf16 pattern (the upper halves above) widens to its bits.
  const Tensor got32 = want16.to(test::test_device()).to(DType::F32).to(Device::cpu());
  int64_t wrong = 0;
  for (int64_t i = 0; i < n; ++i)
    if (float_bits(got32.data<float>()[i]) != uint32_t(want16.data<bf16>()[i].bits) << 16) ++wrong;
  test::compared_elements() += static_cast<size_t>(n);
  INFO(wrong << " of " << n << " bf16 -> float32 casts are not the bf16 bits shifted");
  CHECK(wrong == 0);
}

TEST_CASE("linear in bf16 on the device follows the CPU's bf16 results",
          "[cuda][test_device][bf16]") {
  PTL_SKIP_WITHOUT_CUDA();
  const int64_t N = 6, in = 70, out = 9;
  const Tensor x = test::uniform64({N, in}, 1, -2, 2).to(DType::F32),
               w = test::uniform64({out, in}, 2, -1, 1).to(DType::F32),
               b = test::uniform64({out}, 3, -1, 1).to(DType::F32),
               weights = test::uniform64({N, out}, 4, 0.5, 1.5).to(DType::BF16).to(DType::F32);
  compare_bf16([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {x, w, b}, 2,
               weights, {{"y", in, false}, {"dx", out, false}, {"dw", N, false}, {"db", N, false}});
}

TEST_CASE("conv2d in bf16 on the device follows the CPU's bf16 results",
          "[cuda][test_device][bf16]") {
  PTL_SKIP_WITHOUT_CUDA();
  test::DirectConvolutions direct;  // sums in some order, never FFT or Winograd transforms
  struct Case {
    Shape x, w;
    Conv2dOptions o;
  };
  const Case cases[] = {{{4, 5, 11, 9}, {7, 5, 3, 3}, {{2, 2}, {1, 1}, {1, 1}}},
                        {{3, 8, 6, 5}, {16, 8, 1, 1}, {}},
                        {{2, 3, 13, 12}, {4, 3, 3, 3}, {{1, 1}, {2, 2}, {2, 2}}}};
  // Through the legacy algorithms, then cuDNN's backend engines under the same rules.
  for (bool engines : {false, true}) {
    const test::EngineHeuristics heuristics(engines);
    uint64_t seed = 10;
    for (const Case& c : cases) {
      const Tensor x = test::uniform64(c.x, seed++, -2, 2).to(DType::F32),
                   w = test::uniform64(c.w, seed++, -1, 1).to(DType::F32),
                   b = test::uniform64({c.w[0]}, seed++, -1, 1).to(DType::F32);
      const Conv2dOptions o = c.o;
      const Fn f = [o](const std::vector<Tensor>& t) { return conv2d(t[0], t[1], t[2], o); };
      const Shape y_shape = f({x, w, b}).shape();
      const Tensor weights =
          test::uniform64(y_shape, seed++, 0.5, 1.5).to(DType::BF16).to(DType::F32);
      const int64_t k_y = c.w[1] * c.w[2] * c.w[3], k_dx = c.w[0] * c.w[2] * c.w[3],
                    k_dw = y_shape[0] * y_shape[2] * y_shape[3];
      INFO("input " << shape_str(c.x) << " weight " << shape_str(c.w) << ", backend engines "
                    << engines);
      compare_bf16(f, {x, w, b}, 2, weights,
                   {{"y", k_y, true}, {"dx", k_dx, true}, {"dw", k_dw, true}, {"db", k_dw, false}});
    }
  }
}

TEST_CASE("bf16 on the device: ops without a bf16 path and mixed devices fail naming the op",
          "[cuda][bf16]") {
  PTL_SKIP_WITHOUT_GPU();
  const Device gpu = Device::cuda(0);
  const Tensor x = test::uniform64({2, 4}, 5).to(DType::F32), w = test::uniform64({3, 4}, 6);
  PrecisionScope bf16_scope(Precision::BF16);
  CHECK_THROWS_WITH(linear(x.to(gpu), w.to(DType::F32)),
                    Catch::Contains("linear: devices differ (cuda:0 vs cpu)"));
  CHECK_THROWS_WITH(sigmoid(x.to(DType::BF16).to(gpu)),
                    Catch::Contains("(sigmoid has no bfloat16 path)"));
}

TEST_CASE("a bf16 training run on the device: bf16 batches, float32 weights and checkpoints",
          "[cuda][test_device][bf16]") {
  PTL_SKIP_WITHOUT_CUDA();
  test::TempDir dir;
  struct Run {
    std::vector<double> losses;
    std::vector<Tensor> params;  // on the CPU
  };
  // One epoch of 3 steps of the tiny PTL-ResNet-20 run (tests/tiny_run.h) on `device` in bf16:
  // its loader writes bf16 batches (pinned on CUDA), which the step copies to the device.
  auto run = [&](const Device& device, const std::string& name) {
    Config cfg = test::tiny_run_config(dir.path() + "/" + name, 1);
    cfg.set("train.precision", "bf16");
    cfg.set("device", device.str());
    Trainer t(cfg);
    Run r;
    t.set_step_hook([&](int64_t, double loss) { r.losses.push_back(loss); });
    const TrainSummary s = t.run();
    CHECK(s.steps == 3);
    for (auto& [pname, p] : t.model().named_parameters()) {
      INFO(pname);
      CHECK(p.device() == device);
      CHECK(p.dtype() == DType::F32);  // the master weights
      r.params.push_back(p.detach().to(Device::cpu()));
    }
    for (const auto& [tname, v] : load_safetensors(s.last_checkpoint)) {
      INFO(tname);
      CHECK((v.dtype() == DType::F32 || !is_floating(v.dtype())));
    }
    return r;
  };
  const Run want = run(Device::cpu(), "cpu"), got = run(test::test_device(), "device");
  REQUIRE(got.losses.size() == 3);
  REQUIRE(want.losses.size() == 3);
  for (double l : got.losses) CHECK(std::isfinite(l));
  if (test::test_device().is_cuda()) {
    // The steps' rounding differs (cuDNN rounds convolution results to bf16): the losses are
    // reported for the record, not bounded.
    WARN("bf16 losses on the device " << got.losses[0] << " " << got.losses[1] << " "
                                      << got.losses[2] << ", on the CPU " << want.losses[0] << " "
                                      << want.losses[1] << " " << want.losses[2]);
    return;
  }
  CHECK_SAME_BITS(got.losses, want.losses);
  REQUIRE(got.params.size() == want.params.size());
  for (size_t i = 0; i < got.params.size(); ++i) CHECK_SAME_BITS(got.params[i], want.params[i]);
}
