// Every op checks its arguments and names itself and the shapes in the message.
#include <catch2/catch.hpp>

#include "engine/ops.h"

using namespace ptl;
using Catch::Contains;

TEST_CASE("shape errors name the op and the shapes", "[errors]") {
  CHECK_THROWS_WITH(
      conv2d(zeros({1, 64, 8, 8}), zeros({32, 128, 3, 3})),
      Contains("conv2d: input has 64 channels but weight (32, 128, 3, 3) expects 128"));
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 8}), zeros({4, 3, 3, 3})),
                    Contains("conv2d: input must be (N, C, H, W)"));
  CHECK_THROWS_WITH(conv2d(zeros({1, 3, 2, 2}), zeros({4, 3, 5, 5})),
                    Contains("smaller than the dilated kernel"));
  CHECK_THROWS_WITH(add(zeros({2, 3}), zeros({4})),
                    Contains("add: shapes (2, 3) and (4) cannot be broadcast"));
  CHECK_THROWS_WITH(matmul(zeros({2, 3}), zeros({4, 5})),
                    Contains("matmul: inner dimensions differ: (2, 3) x (4, 5)"));
  CHECK_THROWS_WITH(linear(zeros({2, 3}), zeros({5, 4})), Contains("linear: input has 3 features"));
  CHECK_THROWS_WITH(reshape(zeros({2, 3}), {4, 2}),
                    Contains("cannot reshape (2, 3) (6 elements) into (4, 2)"));
  CHECK_THROWS_WITH(narrow(zeros({2, 3}), 1, 2, 2),
                    Contains("narrow: [2, 4) is outside dimension 1 of (2, 3)"));
  CHECK_THROWS_WITH(cat({zeros({2, 3}), zeros({2, 4})}, 0), Contains("cat: along dimension 0"));
  CHECK_THROWS_WITH(sum(zeros({2, 3}), {2}),
                    Contains("sum: dimension 2 is out of range for a 2-d tensor"));
  CHECK_THROWS_WITH(max_pool2d(zeros({1, 1, 4, 4}), {{5, 5}}),
                    Contains("max_pool2d: kernel 5x5 is larger"));
  CHECK_THROWS_WITH(
      batch_norm(zeros({2, 3, 4, 4}), zeros({4}), zeros({3}), Tensor(), Tensor(), true),
      Contains("batch_norm: weight (4)"));
  CHECK_THROWS_WITH(batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                    Contains("more than one value per channel"));
  CHECK_THROWS_WITH(cross_entropy(zeros({2, 3}), from_vector(std::vector<int64_t>{0, 3}, {2})),
                    Contains("cross_entropy: target 3 is outside [0, 3)"));
  CHECK_THROWS_WITH(cross_entropy(zeros({2, 3}), zeros({2})), Contains("targets must be int64"));
}

TEST_CASE("dtype and integer-tensor errors are clear", "[errors]") {
  CHECK_THROWS_WITH(add(zeros({2}), zeros({2}, DType::F64)),
                    Contains("add: dtypes differ (float32 (2) vs float64 (2))"));
  CHECK_THROWS_WITH(relu(zeros({2}, DType::I64)),
                    Contains("relu: input must be float32 or float64, got int64"));
  CHECK_THROWS_WITH(zeros({2, 2}).item(), Contains("item(): tensor (2, 2) has 4 elements"));
}
