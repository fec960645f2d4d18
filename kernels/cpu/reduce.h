// CPU reductions: chunk boundaries depend only on the shape, so the result does not depend on
// the thread count. The declarations are the
// backend-neutral contract in kernels/contract/reduce.inc.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/reduce.inc"
}  // namespace ptl::cpu
