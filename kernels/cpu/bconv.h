// CPU fused BConv-Cell gates: elements run in parallel. The declarations are the
// backend-neutral contract in kernels/contract/bconv.inc.
#pragma once
#include <cstdint>

namespace ptl::cpu {
#include "kernels/contract/bconv.inc"
}  // namespace ptl::cpu
