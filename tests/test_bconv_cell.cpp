// The BConv-Cell: the fused gates against the unfused equations (gradients: op_cases.cpp), and
// every latent-state rule of layers/bconv_cell.h.
#include "base/parallel.h"
#include "layers/bconv_cell.h"
#include "layers/init.h"
#include "tests/gradcheck.h"

using namespace ptl;
using ptl::test::uniform64;

namespace {
// The gate equations written with separate ops: the reference for the fused op.
Tensor unfused_h(const Tensor& z, const Tensor& c_prev) {
  auto g = chunk(z, 4, 1);
  Tensor c = add(mul(sigmoid(g[1]), c_prev), mul(sigmoid(g[0]), tanh(g[3])));
  return mul(sigmoid(g[2]), tanh(c));
}
}  // namespace

TEST_CASE("bconv_gates equals the unfused equations", "[bconv]") {
  Tensor z = uniform64({2, 12, 3, 4}, 1, -2, 2), c = uniform64({2, 3, 3, 4}, 2, -1, 1);
  BConvGates out = bconv_gates(z, c);
  std::vector<double> fused = out.h.to_double_vector(), ref = unfused_h(z, c).to_double_vector();
  for (size_t i = 0; i < ref.size(); ++i) REQUIRE(fused[i] == Approx(ref[i]).epsilon(1e-14));
  auto g = chunk(z, 4, 1);
  std::vector<double> state = out.c.to_double_vector();
  std::vector<double> state_ref =
      add(mul(sigmoid(g[1]), c), mul(sigmoid(g[0]), tanh(g[3]))).to_double_vector();
  for (size_t i = 0; i < state.size(); ++i)
    REQUIRE(state[i] == Approx(state_ref[i]).epsilon(1e-14));
  CHECK_FALSE(out.c.requires_grad());
  CHECK_THROWS_WITH(bconv_gates(zeros({2, 10, 3, 3}), zeros({2, 2, 3, 3})),
                    Catch::Contains("(N, 4C, H, W)"));
}

TEST_CASE("BConvCell carries the detached state across batches and resets on request", "[bconv]") {
  Generator rng(5);
  BConvCell cell({3, 4, 2}, &rng);
  Tensor x1 = randn({2, 3, 8, 6}), x2 = randn({2, 3, 8, 6});
  CHECK(cell.gates->weight.shape() == Shape{16, 3, 3, 3});
  Tensor h1 = cell.forward(x1);
  CHECK(h1.shape() == Shape{2, 4, 4, 3});
  Tensor s1 = cell.state();
  REQUIRE(s1.defined());
  CHECK_FALSE(s1.requires_grad());
  // The second batch starts from the first batch's state: h2 = f(z2, s1).
  Tensor h2 = cell.forward(x2);
  Tensor expect =
      bconv_gates(conv2d(x2, cell.gates->weight, Tensor(), {{2, 2}, {1, 1}, {1, 1}}), s1).h;
  CHECK(h2.to_vector() == expect.to_vector());
  // Backward through the second batch reaches only this batch's gates (no history): the gate
  // weights' gradient equals that of `expect`, which starts from s1 as a constant. A state that
  // kept the first batch's graph would add the first batch's part.
  sum(h2).backward();
  REQUIRE(cell.gates->weight.grad().defined());
  const std::vector<float> through_cell = cell.gates->weight.grad().to_vector();
  cell.gates->weight.zero_grad();
  sum(expect).backward();
  CHECK(cell.gates->weight.grad().to_vector() == through_cell);
  cell.reset_state();
  CHECK_FALSE(cell.state().defined());
}

TEST_CASE("BConvCell's fresh state is N(0, 0.001^2) from the seeded generator, or zeros",
          "[bconv]") {
  // With zero gate weights, z = 0: i = f = o = 1/2 and g = 0, so the new state is c_prev / 2
  // and the fresh state can be read back from state().
  auto first_state = [](StateInit init, uint64_t seed) {
    Generator g(seed);
    BConvCellSpec spec{2, 3, 1};
    spec.init = init;
    BConvCell cell(spec, &g);
    init::constant_(cell.gates->weight, 0.0);
    cell.forward(zeros({8, 2, 50, 50}));
    return mul(cell.state(), 2.0);
  };
  Tensor s = first_state(StateInit::Normal, 4);
  CHECK(std::abs(mean(s).item()) < 2e-5);
  CHECK(std::sqrt(mean(mul(s, s)).item()) == Approx(1e-3).epsilon(0.02));
  CHECK(s.to_vector() == first_state(StateInit::Normal, 4).to_vector());  // seeded
  CHECK(s.to_vector() != first_state(StateInit::Normal, 5).to_vector());
  CHECK(max(abs(first_state(StateInit::Zeros, 4))).item() == 0.0);
}

TEST_CASE("BConvCell truncates the state for smaller batches and extends it for larger ones",
          "[bconv]") {
  Generator rng(1);
  BConvCell cell({2, 3, 1}, &rng);
  cell.forward(randn({4, 2, 5, 5}));
  Tensor s4 = cell.state();
  Tensor x2 = randn({2, 2, 5, 5});
  Tensor h2 = cell.forward(x2);
  Tensor z2 = conv2d(x2, cell.gates->weight, Tensor(), {{1, 1}, {1, 1}, {1, 1}});
  CHECK(h2.to_vector() == bconv_gates(z2, narrow(s4, 0, 0, 2)).h.to_vector());
  CHECK(cell.state().size(0) == 2);
  Tensor s2 = cell.state();
  Tensor x3 = randn({3, 2, 5, 5});
  Tensor h3 = cell.forward(x3);
  CHECK(h3.shape() == Shape{3, 3, 5, 5});
  CHECK(cell.state().size(0) == 3);
  // The first two slots continued from s2; only slot 2 was fresh.
  Tensor z3 = conv2d(narrow(x3, 0, 0, 2), cell.gates->weight, Tensor(), {{1, 1}, {1, 1}, {1, 1}});
  CHECK(narrow(h3, 0, 0, 2).contiguous().to_vector() == bconv_gates(z3, s2).h.to_vector());
  // A different spatial size starts fresh instead of failing.
  CHECK(cell.forward(randn({3, 2, 7, 7})).shape() == Shape{3, 3, 7, 7});
}

TEST_CASE("BConvCell reset-every-batch mode and evaluation mode never use a carried state",
          "[bconv]") {
  Generator rng(2);
  BConvCellSpec spec{2, 3, 1};
  spec.init = StateInit::Zeros;  // fresh states are all equal, so outputs are comparable
  spec.mode = StateMode::ResetEveryBatch;
  BConvCell cell(spec, &rng);
  Tensor x = randn({2, 2, 4, 4});
  Tensor a = cell.forward(x), b = cell.forward(x);
  CHECK(a.to_vector() == b.to_vector());
  CHECK_FALSE(cell.state().defined());

  cell.spec().mode = StateMode::Carry;
  Tensor c1 = cell.forward(x);
  Tensor c2 = cell.forward(x);
  CHECK(c1.to_vector() != c2.to_vector());  // the second batch saw a non-zero state
  cell.eval();
  Tensor saved = cell.state();
  Tensor e1 = cell.forward(x), e2 = cell.forward(x);
  CHECK(e1.to_vector() == e2.to_vector());
  CHECK(e1.to_vector() == a.to_vector());   // evaluation starts from a fresh (zero) state
  CHECK(cell.state().same_storage(saved));  // ... and leaves the training state alone
}
