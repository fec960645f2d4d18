// CPU 2-d pooling: planes run in parallel. The declarations are the
// backend-neutral contract in kernels/contract/pool.inc.
#pragma once
#include <cstdint>
#include "kernels/pool_windows.h"

namespace ptl::cpu {
#include "kernels/contract/pool.inc"
}  // namespace ptl::cpu
