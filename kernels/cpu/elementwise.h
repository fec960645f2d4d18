// CPU element-wise kernels: OpenMP-style parallel_for over fixed chunks. The declarations are the
// backend-neutral contract in kernels/contract/elementwise.inc.
#pragma once
#include <cstdint>
#include <vector>
#include "base/dtype.h"
#include "kernels/elementwise_math.h"

namespace ptl::cpu {
#include "kernels/contract/elementwise.inc"
}  // namespace ptl::cpu
