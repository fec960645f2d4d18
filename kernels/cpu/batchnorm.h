// CPU batch normalisation: statistics accumulate in double per channel; channels run in parallel.
// The declarations are the backend-neutral contract in kernels/contract/batchnorm.inc.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/batchnorm.inc"
}  // namespace ptl::cpu
