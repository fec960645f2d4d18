// Every differentiable op of engine/ops.h at several shapes, strides and paddings, as one list
// of cases that any checker can run (ggml's test-backend-ops idea): the float64 gradient
// checker (test_ops_grad.cpp) and the CUDA-vs-CPU comparison (test_cuda_ops.cpp) run the same
// cases, so an op added here is checked on every backend.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace ptl::test {

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;
// check(name, f, inputs): inputs are float64 CPU tensors; float64 leaves are differentiated.
using OpCheck = std::function<void(const std::string&, const OpFn&, std::vector<Tensor>)>;

// A tensor a case captures (targets, indices, running statistics), moved to the device of the
// case's inputs (and, if floating, to their dtype) so the case runs unchanged on any backend.
Tensor on(const Tensor& like, const Tensor& t);

void elementwise_cases(const OpCheck& check);
void reduction_cases(const OpCheck& check);
void shape_cases(const OpCheck& check);
void linalg_cases(const OpCheck& check);
void conv_cases(const OpCheck& check);
void batchnorm_cases(const OpCheck& check);
void pooling_cases(const OpCheck& check);
void loss_cases(const OpCheck& check);
void bconv_cases(const OpCheck& check);

}  // namespace ptl::test
