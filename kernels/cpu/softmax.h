// CPU (log-)softmax and cross-entropy; rows run in parallel, the loss sums rows in order. The
// declarations are the backend-neutral contract in kernels/contract/softmax.inc.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/softmax.inc"
}  // namespace ptl::cpu
