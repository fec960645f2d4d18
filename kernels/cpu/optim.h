// CPU optimizer updates: slots one after another, each slot's elements in parallel chunks.
// The declarations are the backend-neutral contract in kernels/contract/optim.inc.
#pragma once
#include <vector>

#include "kernels/optim_math.h"

namespace ptl::cpu {
#include "kernels/contract/optim.inc"
}  // namespace ptl::cpu
