// The CUDA backend's kernels: every contract of kernels/contract/ declared in ptl::cuda.
// Implementations: kernels/cuda/*.cu, on the current stream of the current device (runtime.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/dtype.h"
#include "kernels/conv_geometry.h"
#include "kernels/elementwise_math.h"
#include "kernels/optim_math.h"
#include "kernels/pool_windows.h"

namespace ptl::cuda {
#include "kernels/contract/batchnorm.inc"
#include "kernels/contract/bconv.inc"
#include "kernels/contract/conv.inc"
#include "kernels/contract/conv_bf16.inc"
#include "kernels/contract/elementwise.inc"
#include "kernels/contract/gemm.inc"
#include "kernels/contract/gemm_bf16.inc"
#include "kernels/contract/normalize.inc"
#include "kernels/contract/optim.inc"
#include "kernels/contract/pool.inc"
#include "kernels/contract/reduce.inc"
#include "kernels/contract/softmax.inc"
#include "kernels/contract/triplet.inc"
}  // namespace ptl::cuda
