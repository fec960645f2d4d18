// The precision mode (issue #30), as PyTorch's CPU autocast: in BF16 mode the ops with a bf16
// path (conv2d, linear, and so the BConv-Cell's gate convolution) convert their float32 input,
// weight and, in backward, grad_output to bfloat16 tensors (base/bf16.h to_bf16: round to nearest
// even; an input already bfloat16, a batch the data loader wrote so, is taken as it is), multiply
// them with the bf16 kernels of the tensors' device (kernels/contract/gemm_bf16.inc and
// conv_bf16.inc: float32 accumulation; on CUDA cuDNN rounds a convolution's results to bf16,
// docs/cuda.md) and return float32. Every other op is float32 by rule and runs as in F32 mode:
// element-wise ops, batch norm, pooling, softmax, the losses, matmul (the triplet and evaluation
// distances), the gates' sigmoid and tanh, the optimizer. The graph's float tensors, the master
// weights and the checkpoints stay float32.
//
// The mode is per thread (the thread that runs the model: the loader's threads run no op) and is
// read when an op runs forward; its backward uses the precision its forward used.
#pragma once
#include <string>

namespace ptl {

enum class Precision { F32, BF16 };

const char* precision_name(Precision p);  // "float32", "bf16": the config's and logs' words
// "float32" or "bf16"; anything else throws one line naming `where` and the allowed values.
Precision parse_precision(const std::string& name, const std::string& where);

Precision current_precision();

// Sets this thread's mode until the scope ends (nested scopes restore the outer mode).
class PrecisionScope {
 public:
  explicit PrecisionScope(Precision p);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision outer_;
};

}  // namespace ptl
