// CPU L2 normalisation; rows run in parallel, each summed in double in index order. The
// declarations are the backend-neutral contract in kernels/contract/normalize.inc.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/normalize.inc"
}  // namespace ptl::cpu
