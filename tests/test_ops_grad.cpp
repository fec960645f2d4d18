// Gradient checks of every differentiable op (tests/op_cases.h) against central differences.
#include "tests/gradcheck.h"
#include "tests/op_cases.h"

using namespace ptl::test;

namespace {
void check_gradient(const std::string& name, const OpFn& f, std::vector<ptl::Tensor> inputs) {
  gradcheck(name, f, std::move(inputs));
}
}  // namespace

TEST_CASE("element-wise ops and broadcasting have correct gradients", "[grad]") {
  elementwise_cases(check_gradient);
}
TEST_CASE("reductions have correct gradients", "[grad]") {
  reduction_cases(check_gradient);
}
TEST_CASE("shape ops have correct gradients", "[grad]") {
  shape_cases(check_gradient);
}
TEST_CASE("matmul and linear have correct gradients", "[grad]") {
  linalg_cases(check_gradient);
}
TEST_CASE("conv2d has correct gradients for strides, paddings, dilations and rectangular kernels",
          "[grad]") {
  conv_cases(check_gradient);
}
TEST_CASE("batch_norm has correct gradients in training and evaluation", "[grad]") {
  batchnorm_cases(check_gradient);
}
TEST_CASE("pooling has correct gradients", "[grad]") {
  pooling_cases(check_gradient);
}
TEST_CASE(
    "softmax, cross-entropy, distances, normalisation and the triplet gather have correct "
    "gradients",
    "[grad]") {
  loss_cases(check_gradient);
}
TEST_CASE("bconv_gates has correct gradients", "[grad]") {
  bconv_cases(check_gradient);
}
